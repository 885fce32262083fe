"""Operators that start a Marketo activity export and download its verified file.

The lifecycle and every argument of it are written once, in
:mod:`airflow_provider_marketo_pm.operators.bulk_export`; these classes name the activity kind
(:data:`~airflow_provider_marketo_pm.kinds.activities.ACTIVITIES`) and declare its request arguments. The
start also takes activity types by name: they are resolved to ids (``GET /rest/v1/activities/types.json``)
when it runs, before the job is created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.export_kind import ExportRequest
from airflow_provider_marketo_pm.kinds.activities import (
    ACTIVITIES,
    activity_fields,
    activity_filter,
    resolve_activity_type_ids,
)
from airflow_provider_marketo_pm.operators.bulk_export import (
    MarketoDownloadExportOperator,
    MarketoStartExportOperator,
)
from airflow_provider_marketo_pm.task_arguments import (
    REQUEST_TEMPLATE_FIELDS,
    CreateRequestArguments,
)

__all__ = ["MarketoDownloadActivityExportOperator", "MarketoStartActivityExportOperator"]

_BY_VALUE = ("primaryAttributeValueIds", "primaryAttributeValues")


class MarketoStartActivityExportOperator(CreateRequestArguments, MarketoStartExportOperator):
    """
    Create and enqueue an activity export; the XCom return value is its ``exportId``.

    ``fields``, ``filter``, ``format`` and ``column_header_names`` are Marketo's create request (templated,
    nested values included), validated by :func:`~airflow_provider_marketo_pm.kinds.activities.
    build_activity_export_request` before any call. Every other argument is
    :class:`~airflow_provider_marketo_pm.operators.bulk_export.MarketoStartExportOperator`'s.

    :param filter: ``createdAt`` (``{"startAt", "endAt"}``, at most 31 days, required), optional
        ``activityTypeIds`` (ids) and with them ``primaryAttributeValueIds`` or ``primaryAttributeValues``
        (not both, at most 50).
    :param activity_types: activity types by name (``"Visit Webpage"``) or id (templated), instead of
        ``filter.activityTypeIds``: resolved with Get Activity Types when the task runs, before create; an
        unknown name fails naming it (and the name meant, if one is close).
    :param fields: the columns, a subset of ``marketoGUID``, ``leadId``, ``activityDate``,
        ``activityTypeId``, ``campaignId``, ``primaryAttributeValueId``, ``primaryAttributeValue``,
        ``attributes`` (a JSON object per row) and ``actionResult``; by default all but ``actionResult``.
    :param format: ``CSV`` (default), ``TSV`` or ``SSV``.
    :param column_header_names: map from a column to the header written for it.
    """

    export_kind = ACTIVITIES

    template_fields: Sequence[str] = (
        *REQUEST_TEMPLATE_FIELDS,
        "activity_types",
        *MarketoStartExportOperator.template_fields,
    )

    def __init__(
        self,
        *,
        filter: dict[str, Any],
        activity_types: Sequence[str | int] | None = None,
        fields: Sequence[str] | None = None,
        format: str = "CSV",
        column_header_names: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            filter=filter, fields=fields, format=format, column_header_names=column_header_names, **kwargs
        )
        self.activity_types = activity_types

    def export_request(self) -> ExportRequest:
        """The create request; ``activity_types`` become ``filter.activityTypeIds`` (one types call)."""
        if self.activity_types in (None, [], ()):
            return super().export_request()
        if isinstance(self.filter, Mapping) and "activityTypeIds" in self.filter:
            raise MarketoRequestError(
                "activity_types",
                self.activity_types,
                "give activity_types or filter.activityTypeIds, not both",
            )
        # Everything but the types is checked before the call (values need types: checked after it).
        given = self.filter
        activity_filter(
            {key: value for key, value in given.items() if key not in _BY_VALUE}
            if isinstance(given, Mapping)
            else given
        )
        if self.fields is not None:
            activity_fields(self.fields)
        type_ids = resolve_activity_type_ids(self.activity_types, self.hook.describe_activity_types())
        self.log.info("Activity types %s are the ids %s.", self.activity_types, type_ids)
        return self.job_kind().request(
            fields=self.fields,
            filter={**self.filter, "activityTypeIds": type_ids},
            format=self.format,
            column_header_names=self.column_header_names,
        )


class MarketoDownloadActivityExportOperator(MarketoDownloadExportOperator):
    """
    Stream a Completed activity export's file to any Airflow object store, verified before it is published
    (:class:`~airflow_provider_marketo_pm.operators.bulk_export.MarketoDownloadExportOperator`, whose
    arguments it takes).
    """

    export_kind = ACTIVITIES
