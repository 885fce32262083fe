"""Bulk Lead Extract as an export kind (:data:`LEADS`): its create request, checked before any call, its table
and its 1035 hint.

Marketo's rules (Bulk Lead Extract page): ``fields`` required (REST names from Describe Lead2, custom
fields included); exactly one filter type among ``createdAt``, ``updatedAt``, ``staticListId``,
``staticListName``, ``smartListId`` and ``smartListName``; date ranges of at most 31 days, ISO-8601
without milliseconds. ``updatedAt`` (the time of a lead's latest field change, not its ``updatedAt``
field) and the smart list filters are not on every subscription: Marketo answers 1035 there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_marketo_pm.export_kind import ExportKind
from airflow_provider_marketo_pm.kind_tables import KindTable
from airflow_provider_marketo_pm.kinds.request_rules import (
    LIST_FILTERS,
    create_body,
    one_date_or_list_filter,
    unsupported_filter_hint,
)

PATH = "/bulk/v1/leads/export"
"""The jobs' REST path: ``<PATH>/create.json``, ``<PATH>/<exportId>/status.json`` ..."""
DESCRIBE_PATH = "/rest/v1/leads/describe2.json"
"""Describe Lead2: the REST names ``fields`` are chosen from."""
DATE_FILTERS = ("createdAt", "updatedAt")
FILTER_TYPES = (*DATE_FILTERS, *LIST_FILTERS)
NOT_ON_EVERY_SUBSCRIPTION = ("updatedAt", "smartListId", "smartListName")
"""The filters Marketo answers 1035 to on a subscription without them."""
_EXAMPLE = "{'createdAt': {'startAt': '2024-01-01', 'endAt': '2024-01-31'}} or {'staticListId': 1081}"
# What to filter on when the subscription lacks a filter (Marketo: 1035).
_INSTEAD = {
    "updatedAt": (
        "export new leads by createdAt windows (changes to older leads are then not exported), or the "
        "leads of a static list (staticListId or staticListName)."
    ),
    "smartListId": "put the leads in a static list and filter on staticListId, or use createdAt windows.",
    "smartListName": "put the leads in a static list and filter on staticListName, or use createdAt windows.",
}


def build_lead_export_request(
    fields: Sequence[str],
    filter: Mapping[str, Any],
    format: str = "CSV",
    column_header_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """
    Return the exact JSON body of the lead ``create.json``, or raise :class:`MarketoRequestError`.

    :param fields: REST API field names (unique; letters, digits and underscores), as Describe Lead2
        names them.
    :param filter: exactly one of ``createdAt`` / ``updatedAt`` (``{"startAt", "endAt"}``, each read by
        :func:`validation.parse_instant`, at most 31 days), ``staticListId`` / ``smartListId`` (a positive
        int, or its decimal string) or ``staticListName`` / ``smartListName`` (the list's name).
    :param format: CSV, TSV or SSV in any case.
    :param column_header_names: optional map from a field in ``fields`` to the header written for it.
    """
    return create_body(fields, format, lead_filter(filter), column_header_names)


def lead_filter(value: Any) -> dict[str, Any]:
    """A lead export's filter as Marketo takes it: one filter type, checked."""
    return one_date_or_list_filter(value, FILTER_TYPES, DATE_FILTERS, _EXAMPLE)


def lead_unsupported_filter_hint(message: str) -> str:
    """The hint of Marketo's 1035 on a lead export: which filter the subscription lacks, what to use."""
    return unsupported_filter_hint(message, "lead", _INSTEAD, usual=NOT_ON_EVERY_SUBSCRIPTION)


LEAD_TABLE = KindTable("lead", ("id",), "updatedAt", describes=(DESCRIBE_PATH,))
"""A lead is one ``id``; its newest copy has the greatest ``updatedAt``; column types from Describe Lead2."""

LEADS = ExportKind(
    "lead",
    PATH,
    build_lead_export_request,
    field_describes=(DESCRIBE_PATH,),
    table=LEAD_TABLE,
    unsupported_filter_hint=lead_unsupported_filter_hint,
)
"""Bulk Lead Extract, whose request is :func:`build_lead_export_request`."""


__all__ = [
    "DATE_FILTERS",
    "DESCRIBE_PATH",
    "FILTER_TYPES",
    "LEADS",
    "LEAD_TABLE",
    "NOT_ON_EVERY_SUBSCRIPTION",
    "PATH",
    "build_lead_export_request",
    "lead_filter",
    "lead_unsupported_filter_hint",
]
