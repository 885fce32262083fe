"""The lead export as one reusable task group: start (and wait, deferred) -> confirm -> download.

Map it over jobs, each with exactly the keys ``fields``, ``export_filter`` (one filter type),
``destination`` and ``dest_conn_id``::

    leads = lead_export_group(poll_interval=60)
    leads.expand_kwargs([
        {"fields": ["id", "email"], "export_filter": {"staticListId": 1081},
         "destination": "s3://bucket/leads/list=1081.csv", "dest_conn_id": "aws_default"},
    ])
"""

from __future__ import annotations

from typing import Any

from airflow_provider_marketo_pm.operators.leads import (
    MarketoDownloadLeadExportOperator,
    MarketoStartLeadExportOperator,
)
from airflow_provider_marketo_pm.sensors.leads import MarketoLeadExportSensor
from airflow_provider_marketo_pm.task_groups.bulk_export import FILTER_START_LABEL, fields_and_filter_group

__all__ = ["lead_export_group"]


def lead_export_group(*, group_id: str = "lead_export", **settings: Any) -> Any:
    """
    Return a task group of one lead export job: ``start_export`` -> ``wait_for_export`` ->
    ``download_export`` (-> ``to_parquet`` with ``parquet=True``).

    :param group_id: id of the task group; task ids are ``<group_id>.start_export`` etc.
    :param settings: the group's settings and any argument of the start, documented once in
        :func:`~airflow_provider_marketo_pm.task_groups.bulk_export.export_tasks`.
    """
    return fields_and_filter_group(
        MarketoStartLeadExportOperator,
        MarketoLeadExportSensor,
        MarketoDownloadLeadExportOperator,
        group_id=group_id,
        start_label=FILTER_START_LABEL,
        **settings,
    )
