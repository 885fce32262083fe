"""Bulk Custom Object Extract as an export kind (:data:`CUSTOM_OBJECTS`, bound per task to one object's
``apiName``): the object's path, its create request (checked before any call), its table and its 1035 hint.

Marketo's rules (Bulk Custom Object Extract page): first-level objects linked to leads only (no
CRM-managed objects), named by their ``apiName`` in the path; ``fields`` required, from the object's
describe (``GET /rest/v1/customobjects/{apiName}/describe.json``); exactly one filter type among
``updatedAt`` (the records' own, at most 31 days), ``staticListName``/``staticListId`` and
``smartListName``/``smartListId`` (the records of the list's leads). The smart list filters are not on
every subscription: Marketo answers 1035 there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_marketo_pm import arguments
from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.export_kind import ExportKind
from airflow_provider_marketo_pm.kind_tables import KindTable
from airflow_provider_marketo_pm.kinds.request_rules import (
    LIST_FILTERS,
    create_body,
    one_date_or_list_filter,
    shown,
    unsupported_filter_hint,
)

PATH = "/bulk/v1/customobjects/{apiName}/export"
"""The jobs' REST path, its ``apiName`` bound per task (:meth:`ExportKind.bind`)."""
DESCRIBE_PATH = "/rest/v1/customobjects/{apiName}/describe.json"
"""Describe Custom Object: the object's fields (what ``fields`` names) and their ``dataType``."""
LIST_PATH = "/rest/v1/customobjects.json"
"""List Custom Objects: the objects of the instance (their ``apiName``)."""
FILTER_TYPES = ("updatedAt", *LIST_FILTERS)
NOT_ON_EVERY_SUBSCRIPTION = ("smartListId", "smartListName")
"""The filters Marketo answers 1035 to on a subscription without them."""
API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
"""An object's ``apiName``: ASCII letters, digits and underscores from a letter (Marketo's own end in
``_c``), at most 100 characters. Nothing in it needs escaping in a URL path."""
_EXAMPLE = (
    "{'updatedAt': {'startAt': '2024-01-01', 'endAt': '2024-01-31'}} or {'staticListName': 'Car Buyers'}"
)
_INSTEAD = {
    "smartListId": "filter on updatedAt windows, or put the leads in a static list and use staticListId.",
    "smartListName": "filter on updatedAt windows, or put the leads in a static list and use staticListName.",
    "updatedAt": "export the records of a static list's leads (staticListId or staticListName).",
}


def parse_api_name(value: Any) -> str:
    """A custom object's ``apiName`` as it goes into the path (``car_c``), or MarketoRequestError."""
    if not isinstance(value, str) or not API_NAME.fullmatch(value):
        raise MarketoRequestError(
            "api_name",
            shown(value),
            "must be the custom object's API name (e.g. car_c, as GET /rest/v1/customobjects.json lists it): "
            "ASCII letters, digits and underscores, from a letter, at most 100 characters",
        )
    return value


def export_path(api_name: Any) -> str:
    """The jobs' REST path of one object: ``/bulk/v1/customobjects/<apiName>/export``."""
    return PATH.format(apiName=parse_api_name(api_name))


def describe_path(api_name: Any) -> str:
    """The object's describe, whose ``fields`` name what ``fields`` may hold."""
    return DESCRIBE_PATH.format(apiName=parse_api_name(api_name))


def build_custom_object_export_request(
    fields: Sequence[str],
    filter: Mapping[str, Any],
    format: str = "CSV",
    column_header_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """
    Return the exact JSON body of a custom object ``create.json``, or raise :class:`MarketoRequestError`.

    The object itself is in the path (:func:`export_path`), not in the body.

    :param fields: the object's field names (unique; letters, digits and underscores), from its describe.
    :param filter: exactly one of ``updatedAt`` (``{"startAt", "endAt"}``, each read by
        :func:`validation.parse_instant`, at most 31 days), ``staticListId`` / ``smartListId`` (a positive
        int, or its decimal string) or ``staticListName`` / ``smartListName`` (the list's name).
    :param format: CSV, TSV or SSV in any case.
    :param column_header_names: optional map from a field in ``fields`` to the header written for it.
    """
    return create_body(fields, format, custom_object_filter(filter), column_header_names)


def custom_object_filter(value: Any) -> dict[str, Any]:
    """A custom object export's filter as Marketo takes it: one filter type, checked."""
    return one_date_or_list_filter(value, FILTER_TYPES, ("updatedAt",), _EXAMPLE)


def custom_object_unsupported_filter_hint(message: str) -> str:
    """The hint of Marketo's 1035 on a custom object export: the filter it lacks, and what instead."""
    return unsupported_filter_hint(message, "custom object", _INSTEAD, usual=NOT_ON_EVERY_SUBSCRIPTION)


def api_name_argument(value: Any) -> Any:
    """A task's ``api_name``: checked now, unless a template or XComArg renders it later (then at run)."""
    return value if arguments.rendered_later(value) else parse_api_name(value)


CUSTOM_OBJECT_TABLE = KindTable("custom object", ("marketoGUID",), "updatedAt", describes=(DESCRIBE_PATH,))
"""A record is one ``marketoGUID`` (the object's ``idField``); column types from the object's describe."""

CUSTOM_OBJECTS = ExportKind(
    "custom object",
    PATH,
    build_custom_object_export_request,
    field_describes=(DESCRIBE_PATH,),
    table=CUSTOM_OBJECT_TABLE,
    unsupported_filter_hint=custom_object_unsupported_filter_hint,
    path_arguments=(("apiName", "api_name"),),
)
"""Bulk Custom Object Extract, whose request is :func:`build_custom_object_export_request`; bind it to an
object (``CUSTOM_OBJECTS.bind(apiName="car_c")``) before a request or a job path."""


__all__ = [
    "API_NAME",
    "CUSTOM_OBJECTS",
    "CUSTOM_OBJECT_TABLE",
    "FILTER_TYPES",
    "LIST_PATH",
    "NOT_ON_EVERY_SUBSCRIPTION",
    "build_custom_object_export_request",
    "custom_object_filter",
    "custom_object_unsupported_filter_hint",
    "describe_path",
    "export_path",
    "parse_api_name",
]
