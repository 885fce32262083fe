"""Which programs to export: a list of ids, ``"all"``, or a filter of Marketo's program browse.

``program_ids="all"`` (or a filter such as ``{"workspace": "Default"}``) is resolved when the DAG runs, in a
task, by reading Marketo's Asset API (``GET /rest/asset/v1/programs.json``, :meth:`MarketoHook.list_programs
<airflow_provider_marketo_pm.hooks.marketo.MarketoHook.list_programs>`); never when the DAG file is parsed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, Protocol

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.validation import parse_program_id

PROGRAMS_PATH = "/rest/asset/v1/programs.json"
MAX_RETURN = 200
"""The Asset API's largest page (its default is 20)."""
FILTER_TYPES = ("id", "programId", "folderId", "workspace")
"""The ``filterType`` values Marketo documents for the program browse."""
ALL_PROGRAMS = "all"

_RULE = (
    'must be a list of program ids, "all", or one filter of Marketo\'s program browse: '
    '{"workspace": "Default"}, {"folderId": 1023}, {"id": [1044, 1045]} or '
    '{"filterType": "workspace", "filterValues": ["Default"]}'
)


def program_list_params(
    filter_type: str | None = None,
    filter_values: str | int | Sequence[str | int] | None = None,
    *,
    earliest_updated_at: str | None = None,
    latest_updated_at: str | None = None,
    max_return: int = MAX_RETURN,
) -> dict[str, Any]:
    """The query of the first page, checked before any call (filterValues go comma-separated)."""
    if isinstance(max_return, bool) or not isinstance(max_return, int) or not 1 <= max_return <= MAX_RETURN:
        raise MarketoRequestError("max_return", max_return, f"must be an integer from 1 to {MAX_RETURN}")
    params: dict[str, Any] = {"maxReturn": max_return, "offset": 0}
    if filter_type is not None or filter_values is not None:
        if filter_type not in FILTER_TYPES:
            raise MarketoRequestError("filter_type", filter_type, f"must be one of {', '.join(FILTER_TYPES)}")
        values = [filter_values] if isinstance(filter_values, str | int) else list(filter_values or [])
        texts = [str(value).strip() for value in values if str(value).strip()]
        if not texts or any("," in text for text in texts):
            raise MarketoRequestError(
                "filter_values", filter_values, f"must name at least one {filter_type} (without commas)"
            )
        params["filterType"] = filter_type
        params["filterValues"] = ",".join(texts)
    if earliest_updated_at is not None:
        params["earliestUpdatedAt"] = earliest_updated_at
    if latest_updated_at is not None:
        params["latestUpdatedAt"] = latest_updated_at
    return params


def parse_program_selection(value: Any, *, field: str = "program_ids") -> list[int] | dict[str, Any]:
    """
    A list of program ids as given, or ``{"filter_type", "filter_values"}`` for programs to look up
    (``"all"``: no filter). JSON text (a Variable, a rendered template) is read first.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == ALL_PROGRAMS:
            return {"filter_type": None, "filter_values": None}
        try:
            decoded = json.loads(text)
        except ValueError:
            _refuse(field, value)
        return parse_program_selection(decoded, field=field) if decoded != value else _refuse(field, value)
    if isinstance(value, Mapping):
        if set(value) == {"filterType", "filterValues"}:
            filter_type, filter_values = value["filterType"], value["filterValues"]
        elif len(value) == 1:
            ((filter_type, filter_values),) = value.items()
        else:
            _refuse(field, value)
        try:
            program_list_params(filter_type, filter_values)
        except MarketoRequestError as err:
            raise MarketoRequestError(field, dict(value), f"{_RULE} ({err})") from None
        return {"filter_type": filter_type, "filter_values": filter_values}
    if isinstance(value, int | str):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, str | bytes) or not value:
        _refuse(field, value)
    return [parse_program_id(field, pid) for pid in value]


def _refuse(field: str, value: Any) -> NoReturn:
    raise MarketoRequestError(field, value, _RULE)


class ProgramLister(Protocol):
    """What :func:`resolve_program_ids` needs of a hook (a ``MarketoHook``); this module imports none."""

    def list_programs(
        self, filter_type: str | None = None, filter_values: str | int | Sequence[str | int] | None = None
    ) -> list[dict[str, Any]]: ...


def resolve_program_ids(selection: list[int] | dict[str, Any], hook: ProgramLister) -> list[int]:
    """The program ids of a selection: a list as is, a filter (or ``"all"``) read from Marketo, sorted."""
    if isinstance(selection, list):
        return selection
    programs = hook.list_programs(selection["filter_type"], selection["filter_values"])
    ids = sorted({int(program["id"]) for program in programs})
    if not ids:
        raise MarketoRequestError(
            "program_ids", selection, "Marketo lists no program for it (check the workspace or folder)"
        )
    return ids


__all__ = [
    "ALL_PROGRAMS",
    "FILTER_TYPES",
    "MAX_RETURN",
    "PROGRAMS_PATH",
    "parse_program_selection",
    "program_list_params",
    "resolve_program_ids",
]
