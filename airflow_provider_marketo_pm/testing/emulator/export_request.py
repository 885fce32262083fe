"""Validates a create-job body the way Marketo does and turns its filter into a row selection."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_marketo_pm.testing.emulator.dataset import EXPORTABLE_FIELDS, Dataset
from airflow_provider_marketo_pm.testing.emulator.errors import MarketoApiFault, invalid

_FRACTION = re.compile(r"T\d{2}:\d{2}:\d{2}[.,]\d")
FORMATS = {"CSV": ",", "TSV": "\t", "SSV": " "}
MAX_PROGRAM_IDS = 10
MAX_UPDATED_AT_DAYS = 31
# nurtureCadence as Marketo's copies spell it: the docs page (pause, norm), the Swagger spec of the
# marketo-apis repository (paused, normal) and the one of the docs repository (paus, norm). Exactly these.
NURTURE_CADENCES = {"pause": "paus", "paused": "paus", "paus": "paus", "norm": "norm", "normal": "norm"}


@dataclass(frozen=True)
class ExportSpec:
    """A validated export request: what to select and how to write it."""

    fields: tuple[str, ...]
    program_ids: tuple[int, ...]
    multi_program: bool  # the programIds filter was used, which adds a first column programId
    format: str
    column_header_names: dict[str, str]
    status_names: frozenset[str] | None = None
    is_exhausted: bool | None = None
    nurture_cadence: str | None = None
    updated_from: float | None = None
    updated_to: float | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return ("programId", *self.fields) if self.multi_program else self.fields

    @property
    def header(self) -> list[str]:
        return [self.column_header_names.get(column, column) for column in self.columns]

    def select(self, dataset: Dataset) -> list[dict[str, object]]:
        """The members the job exports (filters are ANDed, status names ORed)."""
        return [m for m in dataset.members_of(list(self.program_ids)) if self._matches(m)]

    def _matches(self, member: dict[str, Any]) -> bool:
        if self.status_names is not None and member["statusName"] not in self.status_names:
            return False
        if self.is_exhausted is not None and bool(member["isExhausted"]) is not self.is_exhausted:
            return False
        if self.nurture_cadence is not None and _cadence(member["nurtureCadence"]) != self.nurture_cadence:
            return False
        if self.updated_from is not None and member["updatedAt"] < self.updated_from:
            return False
        return not (self.updated_to is not None and member["updatedAt"] > self.updated_to)


def parse_export_request(
    body: Any, dataset: Dataset, *, updated_at_filter: bool, custom_fields: tuple[str, ...] = ()
) -> ExportSpec:
    """Raise the error Marketo would answer for a bad request, else return the spec."""
    if not isinstance(body, dict):
        raise MarketoApiFault("609", "Invalid JSON")
    fields = body.get("fields")
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise invalid("fields must be a non-empty array of field names")
    unknown = [f for f in fields if f not in EXPORTABLE_FIELDS and f not in custom_fields]
    if unknown:
        raise invalid(f"Invalid fields: {', '.join(unknown)}")
    export_format = body.get("format", "CSV")
    if not isinstance(export_format, str) or export_format.upper() not in FORMATS:
        raise invalid(f"Invalid format '{export_format}': use one of CSV, TSV, SSV")
    headers = body.get("columnHeaderNames") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise invalid("columnHeaderNames must be an object mapping field names to header names")
    stray = [name for name in headers if name not in fields and name != "programId"]
    if stray:
        raise invalid(f"columnHeaderNames refers to fields not in the export: {', '.join(stray)}")

    flt = body.get("filter")
    if not isinstance(flt, dict):
        raise invalid("filter is required and must contain programId or programIds")
    program_ids, multi = _program_ids(flt, dataset)
    spec = ExportSpec(
        fields=tuple(fields),
        program_ids=program_ids,
        multi_program=multi,
        format=export_format.upper(),
        column_header_names=dict(headers),
        status_names=_status_names(flt, program_ids, dataset),
        is_exhausted=_optional_bool(flt, "isExhausted"),
        nurture_cadence=_nurture_cadence(flt),
    )
    if "updatedAt" in flt:
        if not updated_at_filter:
            raise MarketoApiFault("1035", "Unsupported filter type for target subscription: updatedAt")
        start, end = _updated_at(flt["updatedAt"])
        spec = ExportSpec(**{**spec.__dict__, "updated_from": start, "updated_to": end})
    unknown_filters = sorted(
        set(flt) - {"programId", "programIds", "statusNames", "isExhausted", "nurtureCadence", "updatedAt"}
    )
    if unknown_filters:
        raise invalid(f"Unsupported filter type: {', '.join(unknown_filters)}")
    return spec


def _program_ids(flt: dict[str, Any], dataset: Dataset) -> tuple[tuple[int, ...], bool]:
    if ("programId" in flt) == ("programIds" in flt):
        raise invalid("filter must contain exactly one of programId or programIds")
    multi = "programIds" in flt
    raw = flt["programIds"] if multi else [flt["programId"]]
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_PROGRAM_IDS:
        raise invalid(f"programIds must be an array of 1 to {MAX_PROGRAM_IDS} program ids")
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in raw):
        raise invalid(f"program ids must be integers, got {raw!r}")
    missing = [p for p in raw if p not in dataset.programs]
    if missing:
        raise MarketoApiFault("1003", f"Program not found: {', '.join(map(str, missing))}")
    return tuple(raw), multi


def _status_names(
    flt: dict[str, Any], program_ids: tuple[int, ...], dataset: Dataset
) -> frozenset[str] | None:
    if "statusNames" not in flt:
        return None
    names = flt["statusNames"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise invalid("statusNames must be a non-empty array of status names")
    known = {status for p in program_ids for status in dataset.programs[p].statuses}
    for name in names:
        if name not in known:
            raise invalid(f"Invalid data: status name '{name}' not found in program(s) {list(program_ids)}")
    return frozenset(names)


def _optional_bool(flt: dict[str, Any], key: str) -> bool | None:
    value = flt.get(key)
    if value is not None and not isinstance(value, bool):
        raise invalid(f"{key} must be true or false, got {value!r}")
    return value


def _nurture_cadence(flt: dict[str, Any]) -> str | None:
    value = flt.get("nurtureCadence")
    if value is None:
        return None
    if not isinstance(value, str) or value not in NURTURE_CADENCES:
        raise invalid(f"Invalid nurtureCadence '{value}': use one of {', '.join(NURTURE_CADENCES)}")
    return NURTURE_CADENCES[value]


def _cadence(value: object) -> str | None:
    """A member's cadence as files write it (``paus`` or ``norm``, the describe's 4 characters)."""
    return value if isinstance(value, str) else None


def _updated_at(value: Any) -> tuple[float, float]:
    if not isinstance(value, dict) or "startAt" not in value or "endAt" not in value:
        raise invalid("updatedAt must be an object with startAt and endAt")
    start, end = _timestamp(value["startAt"], "startAt"), _timestamp(value["endAt"], "endAt")
    if end < start:
        raise invalid("updatedAt.endAt must not be before updatedAt.startAt")
    if end - start > MAX_UPDATED_AT_DAYS * 86400:
        raise invalid(f"updatedAt date range must be {MAX_UPDATED_AT_DAYS} days or fewer")
    return start, end


def _timestamp(value: Any, name: str) -> float:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise invalid(f"updatedAt.{name} is not an ISO-8601 datetime: {value!r}") from None
    if parsed.tzinfo is None:
        raise invalid(f"updatedAt.{name} needs a time zone (Z or an offset): {value!r}")
    if parsed.microsecond or _FRACTION.search(value):
        raise invalid(f"updatedAt.{name} must be ISO-8601 without milliseconds: {value!r}")
    return parsed.timestamp()
