"""A second export kind, defined here only: Marketo's Bulk Lead Extract, its whole cost in this provider.

A request builder with the filter rules only leads have (the shared ones come from ``validation``), the
kind's data, three thin classes that declare only their request arguments, and the task group. The
lifecycle (create, enqueue, queue and quota waits, re-attach, the deferred wait, the verified download)
is the core's; the status trigger is the generic one, loaded by its classpath in the triggerer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import task_group

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.export_kind import ExportKind
from airflow_provider_marketo_pm.kind_tables import LEAD_TABLE
from airflow_provider_marketo_pm.operators.bulk_export import (
    MarketoDownloadExportOperator,
    MarketoStartExportOperator,
)
from airflow_provider_marketo_pm.sensors.bulk_export import MarketoExportSensor
from airflow_provider_marketo_pm.task_groups.bulk_export import export_tasks
from airflow_provider_marketo_pm.validation import parse_date_window, parse_fields, parse_format

LEAD_FILTERS = ("createdAt", "updatedAt", "staticListId", "staticListName", "smartListId", "smartListName")


def build_lead_request(
    fields: Sequence[str], filter: Mapping[str, Any], format: str = "CSV"
) -> dict[str, Any]:
    """The create body of a lead export: exactly one filter type; a date window at most 31 days."""
    if not isinstance(filter, Mapping) or len(filter) != 1 or next(iter(filter)) not in LEAD_FILTERS:
        raise MarketoRequestError("filter", filter, f"needs exactly one of {', '.join(LEAD_FILTERS)}")
    ((key, value),) = filter.items()
    if key in ("createdAt", "updatedAt"):
        value = parse_date_window(f"filter.{key}", value)
    elif key.endswith("Id") and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise MarketoRequestError(f"filter.{key}", value, "must be a positive integer list id")
    elif key.endswith("Name") and (not isinstance(value, str) or not value.strip()):
        raise MarketoRequestError(f"filter.{key}", value, "must be a non-empty list name")
    return {"fields": parse_fields(fields), "format": parse_format(format), "filter": {key: value}}


LEADS = ExportKind(
    "lead",
    "/bulk/v1/leads/export",
    build_lead_request,
    field_describes=("/rest/v1/leads/describe.json",),
    table=LEAD_TABLE,
)


class MarketoStartLeadExportOperator(MarketoStartExportOperator):
    """Create and enqueue a lead export (``fields``, ``filter``, ``format``: Marketo's create request)."""

    export_kind = LEADS
    template_fields = ("fields", "filter", "format", *MarketoStartExportOperator.template_fields)

    def __init__(self, *, fields: list[str], filter: dict[str, Any], format: str = "CSV", **kwargs: Any):
        super().__init__(**kwargs)
        self.fields, self.filter, self.format = fields, filter, format


class MarketoLeadExportSensor(MarketoExportSensor):
    export_kind = LEADS


class MarketoDownloadLeadExportOperator(MarketoDownloadExportOperator):
    export_kind = LEADS


def lead_export_group(*, group_id: str = "export_job", **settings: Any) -> Any:
    """One lead export job: ``fields``, ``export_filter``, ``destination``, ``dest_conn_id``."""
    tasks = export_tasks(
        MarketoStartLeadExportOperator, MarketoLeadExportSensor, MarketoDownloadLeadExportOperator, **settings
    )

    @task_group(group_id=group_id)
    def export_job(
        fields: list[str], export_filter: dict[str, Any], destination: str, dest_conn_id: Any
    ) -> Any:
        request = {"fields": fields, "filter": export_filter}
        return tasks(request=request, destination=destination, dest_conn_id=dest_conn_id)

    return export_job
