"""Operators that start a Marketo custom object export and download its verified file.

Every task of a custom object export takes the object's ``api_name`` (templated); the lifecycle, written
once in :mod:`airflow_provider_marketo_pm.operators.bulk_export`, binds the kind
(:data:`~airflow_provider_marketo_pm.kinds.custom_objects.CUSTOM_OBJECTS`) to it when the task runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_marketo_pm.kinds.custom_objects import CUSTOM_OBJECTS
from airflow_provider_marketo_pm.operators.bulk_export import (
    MarketoDownloadExportOperator,
    MarketoStartExportOperator,
)
from airflow_provider_marketo_pm.task_arguments import (
    REQUEST_TEMPLATE_FIELDS,
    ApiNameArgument,
    CreateRequestArguments,
)

__all__ = ["MarketoDownloadCustomObjectExportOperator", "MarketoStartCustomObjectExportOperator"]


class MarketoStartCustomObjectExportOperator(
    ApiNameArgument, CreateRequestArguments, MarketoStartExportOperator
):
    """
    Create and enqueue an export of one custom object's records; the XCom return value is its ``exportId``.

    ``fields``, ``filter``, ``format`` and ``column_header_names`` are Marketo's create request (templated,
    nested values included), validated by :func:`~airflow_provider_marketo_pm.kinds.custom_objects.
    build_custom_object_export_request` before any call: ``fields`` the object's field names (from its
    describe), ``filter`` exactly one of ``updatedAt`` (``{"startAt", "endAt"}``, at most 31 days),
    ``staticListId`` / ``staticListName`` or ``smartListId`` / ``smartListName`` (the records of the list's
    leads), ``format`` CSV (default), TSV or SSV. Every other argument is
    :class:`~airflow_provider_marketo_pm.operators.bulk_export.MarketoStartExportOperator`'s.

    :param api_name: the object's API name (templated; ``car_c``, as ``GET /rest/v1/customobjects.json``
        lists it): the start, its sensor and its download bind the kind's path to it when they run.
    """

    export_kind = CUSTOM_OBJECTS

    template_fields: Sequence[str] = (
        "api_name",
        *REQUEST_TEMPLATE_FIELDS,
        *MarketoStartExportOperator.template_fields,
    )


class MarketoDownloadCustomObjectExportOperator(ApiNameArgument, MarketoDownloadExportOperator):
    """
    Stream a Completed custom object export's file to any Airflow object store, verified before it is
    published (:class:`~airflow_provider_marketo_pm.operators.bulk_export.MarketoDownloadExportOperator`,
    whose arguments it takes).

    :param api_name: the object's API name (templated), the one its start was given.
    """

    export_kind = CUSTOM_OBJECTS

    template_fields: Sequence[str] = ("api_name", *MarketoDownloadExportOperator.template_fields)
