"""Validates a create-job body the way Marketo does and turns its filter into a row selection.

The rules every bulk extract kind shares (``fields``, ``format``, ``columnHeaderNames``, date ranges) are
here, with the program member request; each other kind's module adds its own filters on top of them.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from airflow_provider_marketo_pm.testing.emulator.dataset import EXPORTABLE_FIELDS, Dataset, custom_value
from airflow_provider_marketo_pm.testing.emulator.errors import MarketoApiFault, invalid

_FRACTION = re.compile(r"T\d{2}:\d{2}:\d{2}[.,]\d")
FORMATS = {"CSV": ",", "TSV": "\t", "SSV": " "}
MAX_PROGRAM_IDS = 10
MAX_UPDATED_AT_DAYS = 31  # every bulk extract's date ranges: 31 days at most
# nurtureCadence as Marketo's copies spell it: the docs page (pause, norm), the Swagger spec of the
# marketo-apis repository (paused, normal) and the one of the docs repository (paus, norm). Exactly these.
NURTURE_CADENCES = {"pause": "paus", "paused": "paus", "paus": "paus", "norm": "norm", "normal": "norm"}


class ExportSelection(Protocol):
    """What a job of any kind writes: its format, its columns and header, and its rows (values as
    ``dataset.cell`` renders them; a row may carry more keys than columns)."""

    @property
    def format(self) -> str: ...

    @property
    def columns(self) -> tuple[str, ...]: ...

    @property
    def header(self) -> list[str]: ...

    def rows(self) -> list[dict[str, object]]: ...


@dataclass(frozen=True)
class Columns:
    """What every kind's selection writes the same way: ``fields`` in order, each under its header (a
    ``columnHeaderNames`` rename, else its name), in ``format``. The lead, activity and custom object specs
    add their filter and rows to it."""

    fields: tuple[str, ...]
    format: str
    column_header_names: dict[str, str]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.fields

    @property
    def header(self) -> list[str]:
        return [self.column_header_names.get(column, column) for column in self.columns]


@dataclass(frozen=True)
class ExportSpec:
    """A validated program member export request: what to select and how to write it."""

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
    dataset: Dataset | None = field(default=None, compare=False, repr=False)  # what ``rows()`` reads

    @property
    def columns(self) -> tuple[str, ...]:
        return ("programId", *self.fields) if self.multi_program else self.fields

    @property
    def header(self) -> list[str]:
        return [self.column_header_names.get(column, column) for column in self.columns]

    def select(self, dataset: Dataset) -> list[dict[str, object]]:
        """The members the job exports (filters are ANDed, status names ORed)."""
        return [m for m in dataset.members_of(list(self.program_ids)) if self._matches(m)]

    def rows(self) -> list[dict[str, object]]:
        """The selected members, with a value for each lead custom field of your own in ``fields``."""
        assert self.dataset is not None, "an ExportSpec built by parse_export_request knows its dataset"
        return with_custom_values(self.select(self.dataset), self.fields, EXPORTABLE_FIELDS)

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
    fields, export_format, headers = parse_common(
        body, EXPORTABLE_FIELDS | set(custom_fields), ("programId",)
    )

    flt = filter_object(body, "programId or programIds")
    program_ids, multi = _program_ids(flt, dataset)
    spec = ExportSpec(
        fields=fields,
        program_ids=program_ids,
        multi_program=multi,
        format=export_format,
        column_header_names=headers,
        status_names=_status_names(flt, program_ids, dataset),
        is_exhausted=_optional_bool(flt, "isExhausted"),
        nurture_cadence=_nurture_cadence(flt),
        dataset=dataset,
    )
    if "updatedAt" in flt:
        if not updated_at_filter:
            raise MarketoApiFault("1035", "Unsupported filter type for target subscription: updatedAt")
        start, end = date_range(flt["updatedAt"], "updatedAt")
        spec = ExportSpec(**{**spec.__dict__, "updated_from": start, "updated_to": end})
    refuse_unknown_filters(
        flt, ("programId", "programIds", "statusNames", "isExhausted", "nurtureCadence", "updatedAt")
    )
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


def parse_common(
    body: Any, known_fields: Collection[str], extra_columns: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], str, dict[str, str]]:
    """``fields`` (required, each one known), ``format`` and ``columnHeaderNames``, as every kind checks
    them; ``extra_columns`` are columns a file may get besides ``fields`` (programId with programIds)."""
    if not isinstance(body, dict):
        raise MarketoApiFault("609", "Invalid JSON")
    fields = body.get("fields")
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise invalid("fields must be a non-empty array of field names")
    unknown = [f for f in fields if f not in known_fields]
    if unknown:
        raise invalid(f"Invalid fields: {', '.join(unknown)}")
    return tuple(fields), parse_format(body), parse_headers(body, fields, extra_columns)


def parse_format(body: dict[str, Any]) -> str:
    export_format = body.get("format", "CSV")
    if not isinstance(export_format, str) or export_format.upper() not in FORMATS:
        raise invalid(f"Invalid format '{export_format}': use one of CSV, TSV, SSV")
    return export_format.upper()


def parse_headers(
    body: dict[str, Any], columns: Collection[str], extra_columns: tuple[str, ...] = ()
) -> dict[str, str]:
    headers = body.get("columnHeaderNames") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise invalid("columnHeaderNames must be an object mapping field names to header names")
    stray = [name for name in headers if name not in columns and name not in extra_columns]
    if stray:
        raise invalid(f"columnHeaderNames refers to fields not in the export: {', '.join(stray)}")
    return dict(headers)


def filter_object(body: dict[str, Any], needs: str) -> dict[str, Any]:
    """The request's ``filter``: an object, or 1003 saying what it must contain."""
    flt = body.get("filter")
    if not isinstance(flt, dict):
        raise invalid(f"filter is required and must contain {needs}")
    return flt


def refuse_unknown_filters(flt: dict[str, Any], known: Collection[str]) -> None:
    unknown_filters = sorted(set(flt) - set(known))
    if unknown_filters:
        raise invalid(f"Unsupported filter type: {', '.join(unknown_filters)}")


def one_filter_type(flt: dict[str, Any], choices: tuple[str, ...]) -> str:
    """The one filter type a lead or custom object job may have (Marketo: "only one filter type")."""
    given = [name for name in choices if name in flt]
    if len(given) != 1:
        found = f"; got {', '.join(given)}" if given else ""
        raise invalid(f"filter must contain exactly one of {', '.join(choices)}{found}")
    return given[0]


def date_range(value: Any, name: str) -> tuple[float, float]:
    """A ``{startAt, endAt}`` filter of at most 31 days, ISO-8601 without milliseconds."""
    if not isinstance(value, dict) or "startAt" not in value or "endAt" not in value:
        raise invalid(f"{name} must be an object with startAt and endAt")
    start = _timestamp(value["startAt"], f"{name}.startAt")
    end = _timestamp(value["endAt"], f"{name}.endAt")
    if end < start:
        raise invalid(f"{name}.endAt must not be before {name}.startAt")
    if end - start > MAX_UPDATED_AT_DAYS * 86400:
        raise invalid(f"{name} date range must be {MAX_UPDATED_AT_DAYS} days or fewer")
    return start, end


def with_custom_values(
    rows: list[dict[str, object]], fields: Collection[str], built_in: Collection[str]
) -> list[dict[str, object]]:
    """Fill each lead custom field of your own (a field not ``built_in``) with its value per lead."""
    custom = [name for name in fields if name not in built_in]
    if not custom:
        return rows
    return [{**row, **{name: custom_value(name, int(str(row["leadId"]))) for name in custom}} for row in rows]


def _timestamp(value: Any, name: str) -> float:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise invalid(f"{name} is not an ISO-8601 datetime: {value!r}") from None
    if parsed.tzinfo is None:
        raise invalid(f"{name} needs a time zone (Z or an offset): {value!r}")
    if parsed.microsecond or _FRACTION.search(value):
        raise invalid(f"{name} must be ISO-8601 without milliseconds: {value!r}")
    return parsed.timestamp()
