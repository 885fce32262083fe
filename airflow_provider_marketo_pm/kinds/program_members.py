"""Marketo's Bulk Program Member Extract as an export kind: its paths, describes, filter rules and table.

Everything program member specific lives here; the rules every kind shares (REST field names, the format,
column headers, time bounds and date windows, program ids) are those of
:mod:`~airflow_provider_marketo_pm.validation`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.export_kind import ExportKind, ExportRequest
from airflow_provider_marketo_pm.kind_tables import KindTable
from airflow_provider_marketo_pm.kinds.leads import DESCRIBE_PATH as LEAD_DESCRIBE2_PATH
from airflow_provider_marketo_pm.validation import (
    parse_column_header_names,
    parse_date_window,
    parse_fields,
    parse_format,
    parse_program_id,
)

EXPORT_PATH = "/bulk/v1/program/members/export"
DESCRIBE_PATH = "/rest/v1/programs/members/describe.json"
"""Describe program members: the program member fields (a file also carries lead fields)."""
LEAD_DESCRIBE_PATH = "/rest/v1/leads/describe.json"
"""Describe Lead: the lead fields' REST names, which a program member export takes too."""
STATE_KEY = "marketo_program_member_export"
"""The task state store key of a start's job since 0.1.0: renaming it would orphan the jobs of retries."""
STATUS_TRIGGER = "airflow_provider_marketo_pm.triggers.program_members.MarketoProgramMemberExportTrigger"

FILTER_KEYS = ("programId", "programIds", "updatedAt", "statusNames", "isExhausted", "nurtureCadence")
MAX_PROGRAM_IDS = 10
"""A ``programIds`` filter holds at most 10 programs."""
PROGRAM_ID_COLUMN = "programId"
"""The column Marketo adds first to a ``programIds`` export by itself."""
_log = logging.getLogger(__name__)


def build_request(
    fields: Sequence[str],
    filter: Mapping[str, Any],
    format: str = "CSV",
    column_header_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """
    Return the exact JSON body of ``create.json``, or raise :class:`MarketoRequestError`.

    :param fields: REST API field names to export (unique; letters, digits and underscores). With a
        ``programIds`` filter Marketo adds a ``programId`` column first by itself: a ``programId`` in
        ``fields`` would be a second one, so it is dropped, with a warning.
    :param filter: exactly one of ``programId`` / ``programIds`` (positive ints, or canonical decimal
        strings such as ``"1044"`` as Jinja renders them; sent as ints), plus optional ``updatedAt``
        (``{"startAt", "endAt"}``, each read by :func:`~airflow_provider_marketo_pm.validation.parse_instant`,
        at most 31 days), ``statusNames``, ``isExhausted`` and ``nurtureCadence``.
    :param format: CSV, TSV or SSV in any case.
    :param column_header_names: optional map from a field in ``fields`` to the header written for it.
    """
    body: dict[str, Any] = {
        "fields": parse_fields(fields),
        "format": parse_format(format),
        "filter": _filter(filter),
    }
    if "programIds" in body["filter"] and PROGRAM_ID_COLUMN in body["fields"]:
        body["fields"] = _without_program_id_column(body["fields"], column_header_names)
    headers = parse_column_header_names(column_header_names, body["fields"])
    if headers:
        body["columnHeaderNames"] = headers
    return body


def _without_program_id_column(fields: list[str], column_header_names: Any) -> list[str]:
    """A ``programIds`` export gets Marketo's own ``programId`` column first: drop the requested twin."""
    if isinstance(column_header_names, Mapping) and PROGRAM_ID_COLUMN in column_header_names:
        raise MarketoRequestError(
            f"columnHeaderNames.{PROGRAM_ID_COLUMN}",
            column_header_names[PROGRAM_ID_COLUMN],
            "with a programIds filter Marketo adds the programId column by itself, and whether a header "
            "name applies to it is not documented: remove programId from fields and columnHeaderNames",
        )
    rest = [name for name in fields if name != PROGRAM_ID_COLUMN]
    if not rest:
        raise MarketoRequestError(
            "fields",
            fields,
            "with a programIds filter Marketo adds the programId column by itself: name other fields too",
        )
    _log.warning(
        "fields: dropped programId. With a programIds filter Marketo writes a programId column first by "
        "itself; asking for it too would give the file two programId columns."
    )
    return rest


def _filter(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise MarketoRequestError("filter", value, "must be a mapping such as {'programId': 1044}")
    unknown = sorted(str(key) for key in value if key not in FILTER_KEYS)
    if unknown:
        raise MarketoRequestError(
            f"filter.{unknown[0]}",
            value[unknown[0]],
            f"unknown filter key; allowed keys are {', '.join(FILTER_KEYS)}",
        )
    has_one, has_many = "programId" in value, "programIds" in value
    if has_one == has_many:
        raise MarketoRequestError(
            "filter", dict(value), "needs exactly one of programId (an integer) or programIds (1 to 10 ints)"
        )
    result: dict[str, Any] = {}
    if has_one:
        result["programId"] = parse_program_id("filter.programId", value["programId"])
    else:
        result["programIds"] = _program_ids(value["programIds"])
    if "updatedAt" in value:
        result["updatedAt"] = parse_date_window("filter.updatedAt", value["updatedAt"])
    if "statusNames" in value:
        result["statusNames"] = _status_names(value["statusNames"])
    if "isExhausted" in value:
        if not isinstance(value["isExhausted"], bool):
            raise MarketoRequestError("filter.isExhausted", value["isExhausted"], "must be true or false")
        result["isExhausted"] = value["isExhausted"]
    if "nurtureCadence" in value:
        cadence = value["nurtureCadence"]
        if not isinstance(cadence, str) or not cadence.strip():
            raise MarketoRequestError("filter.nurtureCadence", cadence, "must be a non-empty string")
        result["nurtureCadence"] = cadence
    return result


def _program_ids(value: Any) -> list[int]:
    key = "filter.programIds"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise MarketoRequestError(
            key,
            value,
            "must be a list of 1 to 10 integer program ids (a templated list renders as a string "
            "unless the DAG sets render_template_as_native_obj=True)",
        )
    if not 1 <= len(value) <= MAX_PROGRAM_IDS:
        rule = f"must hold 1 to {MAX_PROGRAM_IDS} program ids, not {len(value)}"
        raise MarketoRequestError(key, value, rule)
    ids = [parse_program_id(key, item) for item in value]
    if len(set(ids)) != len(ids):
        raise MarketoRequestError(key, value, "program ids must not repeat")
    return ids


def _status_names(value: Any) -> list[str]:
    key = "filter.statusNames"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
        raise MarketoRequestError(key, value, "must be a non-empty list of program status names")
    for name in value:
        if not isinstance(name, str) or not name.strip():
            raise MarketoRequestError(key, name, "every status name must be a non-empty string")
    return list(value)


def refusal_hint(body: Mapping[str, Any]) -> str | None:
    """A 1003 naming no field, for a request with ``statusNames``: most likely a status of no channel."""
    status_names = (body.get("filter") or {}).get("statusNames")
    if not status_names:
        return None
    return (
        f"Check filter.statusNames {status_names!r}: each value must be a program status of the "
        "channel of at least one of the programs (see the program's channel in Marketo Admin)."
    )


def program_id_of_filter(export_filter: Mapping[str, Any]) -> dict[str, Any]:
    """A one-program export (``programId``) has no programId column: the filter says which it is."""
    program_id = export_filter.get("programId")
    return {} if program_id is None else {"programId": int(program_id)}


PROGRAM_MEMBER_TABLE = KindTable(
    "program member",
    key=("leadId", "programId"),
    newest_by="updatedAt",
    # A member export carries lead fields too; createdAt and updatedAt are in both describes, and the file
    # holds the membership's: the program member describe, read last, wins.
    describes=(LEAD_DESCRIBE2_PATH, DESCRIBE_PATH),
    implied=program_id_of_filter,
)

PROGRAM_MEMBERS = ExportKind(
    "program member",
    EXPORT_PATH,
    build_request,
    state_key=STATE_KEY,
    field_describes=(DESCRIBE_PATH, LEAD_DESCRIBE_PATH),
    refusal_hint=refusal_hint,
    table=PROGRAM_MEMBER_TABLE,
    status_trigger=STATUS_TRIGGER,
)
"""Bulk Program Member Extract, whose request is :func:`build_request`."""


def program_member_export_request(
    fields: Any, filter: Any, format: str = "CSV", column_header_names: Any = None
) -> ExportRequest:
    """A program member create request, validated (see :func:`build_request`)."""
    return PROGRAM_MEMBERS.request(
        fields=fields, filter=filter, format=format, column_header_names=column_header_names
    )


__all__ = ["PROGRAM_MEMBERS", "PROGRAM_MEMBER_TABLE"]
