"""Bulk Activity Extract as an export kind (:data:`ACTIVITIES`): its create request, activity type names
resolved to ids, its table, and its 1003 and 1035 hints.

Marketo's rules (Bulk Activity Extract page): ``filter.createdAt`` required (at most 31 days);
``activityTypeIds`` optional, ids from ``GET /rest/v1/activities/types.json`` ("Delete Lead" cannot be
exported: deleted leads come from Get Deleted Leads); ``primaryAttributeValueIds`` or
``primaryAttributeValues``, not both, at most 50, and only with ``activityTypeIds`` (of the one asset
group the values belong to: Marketo checks that, the request cannot know it); ``fields`` optional, by
default :data:`DEFAULT_FIELDS`, ``attributes`` being a JSON object per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_provider_marketo_pm.exceptions import MarketoMalformedAnswerError, MarketoRequestError
from airflow_provider_marketo_pm.export_kind import ExportKind
from airflow_provider_marketo_pm.kind_tables import KindTable
from airflow_provider_marketo_pm.kinds.request_rules import (
    MAX_ID,
    create_body,
    date_range,
    did_you_mean,
    filter_mapping,
    id_list,
    name_list,
    positive_id,
    shown,
    unsupported_filter_hint,
)
from airflow_provider_marketo_pm.validation import parse_fields

PATH = "/bulk/v1/activities/export"
"""The jobs' REST path: ``<PATH>/create.json``, ``<PATH>/<exportId>/status.json`` ..."""
TYPES_PATH = "/rest/v1/activities/types.json"
"""Get Activity Types: the ids (and names) of ``activityTypeIds``."""
DELETED_LEADS_PATH = "/rest/v1/activities/deletedleads.json"
DEFAULT_FIELDS = (
    "marketoGUID",
    "leadId",
    "activityDate",
    "activityTypeId",
    "campaignId",
    "primaryAttributeValueId",
    "primaryAttributeValue",
    "attributes",
)
"""The columns of an export without ``fields``, in Marketo's order."""
FIELDS = (*DEFAULT_FIELDS, "actionResult")
"""Every column an activity export can have: ``actionResult`` (succeeded, skipped, failed) on request."""
FILTER_KEYS = ("createdAt", "activityTypeIds", "primaryAttributeValueIds", "primaryAttributeValues")
MAX_PRIMARY_ATTRIBUTE_VALUES = 50
DELETE_LEAD = "Delete Lead"
DELETE_LEAD_TYPE_ID = 37
"""The id of Marketo's standard "Delete Lead" activity type."""
_NOT_EXPORTABLE = (
    "Delete Lead activities cannot be exported in bulk: deleted leads come from Get Deleted Leads "
    f"(GET {DELETED_LEADS_PATH})"
)
_EXAMPLE = "{'createdAt': {'startAt': '2024-01-01', 'endAt': '2024-01-31'}, 'activityTypeIds': [1, 12]}"
_INSTEAD = {
    "primaryAttributeValueIds": "export the activity types without it and filter the rows on "
    "primaryAttributeValueId after the download.",
    "primaryAttributeValues": "export the activity types without it and filter the rows on "
    "primaryAttributeValue after the download.",
    "activityTypeIds": "export every type (no activityTypeIds) and filter the rows on activityTypeId.",
}


def build_activity_export_request(
    filter: Mapping[str, Any],
    fields: Sequence[str] | None = None,
    format: str = "CSV",
    column_header_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """
    Return the exact JSON body of the activity ``create.json``, or raise :class:`MarketoRequestError`.

    :param filter: ``createdAt`` (``{"startAt", "endAt"}``, each read by :func:`validation.parse_instant`,
        at most 31 days), optional ``activityTypeIds`` (distinct positive ints; names are resolved by
        :func:`resolve_activity_type_ids` first), and with them either ``primaryAttributeValueIds`` (ints)
        or ``primaryAttributeValues`` (strings, ``<program>.<asset>`` for programs, lists and forms), 1 to
        50 of them.
    :param fields: a subset of :data:`FIELDS`; ``None`` (leave it out) for :data:`DEFAULT_FIELDS`.
    :param format: CSV, TSV or SSV in any case.
    :param column_header_names: optional map from an exported column to the header written for it.
    """
    checked = activity_filter(filter)
    columns = None if fields is None else activity_fields(fields)
    return create_body(columns, format, checked, column_header_names, default_fields=DEFAULT_FIELDS)


def activity_fields(fields: Any) -> list[str]:
    """``fields`` as REST names (:func:`validation.parse_fields`), each one of :data:`FIELDS`."""
    names = parse_fields(fields)
    for name in names:
        if name not in FIELDS:
            raise MarketoRequestError(
                "fields",
                name,
                f"an activity export has the columns {', '.join(FIELDS)}.{did_you_mean(name, FIELDS)}",
            )
    return names


def activity_filter(value: Any) -> dict[str, Any]:
    """An activity export's filter as Marketo takes it: ``createdAt``, then the optional narrowing ones."""
    checked = filter_mapping(value, FILTER_KEYS, _EXAMPLE)
    if "createdAt" not in checked:
        raise MarketoRequestError(
            "filter.createdAt",
            None,
            "is required: an activity export covers the activities created in a range",
        )
    result: dict[str, Any] = {"createdAt": date_range("filter.createdAt", checked["createdAt"])}
    if "activityTypeIds" in checked:
        type_ids = id_list("filter.activityTypeIds", checked["activityTypeIds"], "activity type id")
        if DELETE_LEAD_TYPE_ID in type_ids:
            raise MarketoRequestError("filter.activityTypeIds", DELETE_LEAD_TYPE_ID, _NOT_EXPORTABLE)
        result["activityTypeIds"] = type_ids
    by_id, by_value = "primaryAttributeValueIds" in checked, "primaryAttributeValues" in checked
    if by_id and by_value:
        raise MarketoRequestError(
            "filter.primaryAttributeValues",
            shown(checked["primaryAttributeValues"]),
            "cannot be used with primaryAttributeValueIds: give one of them",
        )
    if by_id or by_value:
        key = "primaryAttributeValueIds" if by_id else "primaryAttributeValues"
        if "activityTypeIds" not in result:
            raise MarketoRequestError(
                f"filter.{key}",
                shown(checked[key]),
                "needs activityTypeIds too: the activity types (of one asset group) the values belong to",
            )
        most = MAX_PRIMARY_ATTRIBUTE_VALUES
        if by_id:
            result[key] = id_list(f"filter.{key}", checked[key], "primary attribute value id", most=most)
        else:
            result[key] = name_list(f"filter.{key}", checked[key], "primary attribute value", most=most)
    return result


def resolve_activity_type_ids(names_or_ids: Any, types_answer: Any) -> list[int]:
    """
    ``activityTypeIds`` from names or ids, read against the ``result`` of Get Activity Types
    (``GET /rest/v1/activities/types.json``).

    A name (``"Visit Webpage"``) is matched exactly, else case-insensitively; an unknown one is refused
    with the closest known name. An id (an int, or its decimal string) must be a type of the answer.
    "Delete Lead" is refused (not exportable). The ids come back in the order given, each once.

    :raises MarketoRequestError: a name or id that is no exportable type of the instance.
    :raises MarketoMalformedAnswerError: an answer that is not a list of types with an int ``id`` and a
        string ``name``.
    """
    names = _type_names(types_answer)
    if isinstance(names_or_ids, str | bytes | int) or not isinstance(names_or_ids, Iterable):
        names_or_ids = [names_or_ids]
    by_lower: dict[str, int] = {}
    for type_id, name in names.items():
        by_lower.setdefault(name.lower(), type_id)
    by_name = {name: type_id for type_id, name in names.items()}
    resolved: dict[int, None] = {}
    for given in names_or_ids:
        type_id = _resolve_one(given, names, by_name, by_lower)
        if names[type_id].lower() == DELETE_LEAD.lower() or type_id == DELETE_LEAD_TYPE_ID:
            raise MarketoRequestError("activity_types", given, _NOT_EXPORTABLE)
        resolved[type_id] = None
    if not resolved:
        raise MarketoRequestError("activity_types", [], "name at least one activity type (or leave it out)")
    return list(resolved)


def _resolve_one(given: Any, names: dict[int, str], by_name: dict[str, int], by_lower: dict[str, int]) -> int:
    """One type's id: a name of the answer (exact, else case-insensitive) or an id (int, decimal string)."""
    key = "activity_types"
    source = f"see GET {TYPES_PATH}"
    if isinstance(given, str) and given in by_name:
        return by_name[given]
    if isinstance(given, str) and not (given.isascii() and given.isdigit()):
        found = by_lower.get(given.strip().lower())
        if found is None:
            hint = did_you_mean(given, by_name) if given.strip() else ""
            raise MarketoRequestError(
                key, shown(given), f"is no activity type of this instance ({source}).{hint}"
            )
        return found
    if isinstance(given, bool) or not isinstance(given, int | str):
        raise MarketoRequestError(
            key, shown(given), "each activity type is a name (a string) or an id (an int)"
        )
    type_id = positive_id(key, given, "activity type id")
    if type_id not in names:
        raise MarketoRequestError(key, shown(given), f"is no activity type id of this instance ({source})")
    return type_id


def _type_names(types_answer: Any) -> dict[int, str]:
    """The id -> name map of a types answer (its ``result`` list), checked: it is Marketo's word."""

    def malformed(what: str) -> MarketoMalformedAnswerError:
        return MarketoMalformedAnswerError(
            f"the activity types answer is malformed: {what}", field="result", endpoint="activity types"
        )

    if isinstance(types_answer, str | bytes | Mapping) or not isinstance(types_answer, Sequence):
        raise malformed("it is not a list of activity types")
    names: dict[int, str] = {}
    for entry in types_answer:
        if not isinstance(entry, Mapping):
            raise malformed("an entry is not an object")
        type_id, name = entry.get("id"), entry.get("name")
        if isinstance(type_id, bool) or not isinstance(type_id, int) or not 0 < type_id <= MAX_ID:
            raise malformed(f"an id is not a positive int32: {shown(type_id)!r}")
        if not isinstance(name, str) or not name.strip():
            raise malformed(f"the name of type {type_id} is not a non-empty string")
        if type_id in names:
            raise malformed(f"type {type_id} is listed twice")
        names[type_id] = name
    return names


def activity_unsupported_filter_hint(message: str) -> str:
    """The hint of Marketo's 1035 on an activity export (createdAt is on every subscription)."""
    return unsupported_filter_hint(message, "activity", _INSTEAD)


def activity_refusal_hint(body: Mapping[str, Any]) -> str | None:
    """A 1003 naming no field: a type id unknown to the instance, or values of another asset group."""
    export_filter = body.get("filter") or {}
    if "activityTypeIds" not in export_filter:
        return None
    hint = f"Check filter.activityTypeIds: each must be an activity type of this instance (GET {TYPES_PATH})"
    if any(key in export_filter for key in ("primaryAttributeValueIds", "primaryAttributeValues")):
        hint += (
            ", all of one asset group (programs, static lists, web forms or fields), the group the primary "
            "attribute values belong to"
        )
    return hint + "."


# Activities have fixed columns (Marketo's docs, Bulk Activity Extract): attributes is a JSON text.
ACTIVITY_COLUMNS: Mapping[str, str] = {
    "marketoGUID": "string",
    "leadId": "integer",
    "activityDate": "datetime",
    "activityTypeId": "integer",
    "campaignId": "integer",
    "primaryAttributeValueId": "integer",
    "primaryAttributeValue": "string",
    "attributes": "text",
    "actionResult": "string",
}
ACTIVITY_TABLE = KindTable("activity", ("marketoGUID",), None, columns=ACTIVITY_COLUMNS)
"""An activity is one ``marketoGUID`` and never changes; its columns are fixed (no describe)."""

ACTIVITIES = ExportKind(
    "activity",
    PATH,
    build_activity_export_request,
    refusal_hint=activity_refusal_hint,
    table=ACTIVITY_TABLE,
    unsupported_filter_hint=activity_unsupported_filter_hint,
)
"""Bulk Activity Extract, whose request is :func:`build_activity_export_request` (type names resolved first,
with :func:`resolve_activity_type_ids`)."""


__all__ = [
    "ACTIVITIES",
    "ACTIVITY_COLUMNS",
    "ACTIVITY_TABLE",
    "DEFAULT_FIELDS",
    "DELETE_LEAD_TYPE_ID",
    "FIELDS",
    "FILTER_KEYS",
    "MAX_PRIMARY_ATTRIBUTE_VALUES",
    "PATH",
    "TYPES_PATH",
    "activity_fields",
    "activity_filter",
    "activity_refusal_hint",
    "activity_unsupported_filter_hint",
    "build_activity_export_request",
    "resolve_activity_type_ids",
]
