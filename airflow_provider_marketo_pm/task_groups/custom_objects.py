"""The custom object export as one reusable task group: start (and wait, deferred) -> confirm -> download.

Map it over jobs, each with exactly the keys ``api_name`` (the object), ``fields``, ``export_filter``
(one filter type), ``destination`` and ``dest_conn_id``; one group may export several objects::

    records = custom_object_export_group(poll_interval=60)
    records.expand_kwargs([
        {"api_name": "car_c", "fields": ["marketoGUID", "leadId", "vin"],
         "export_filter": {"updatedAt": {"startAt": "2024-01-01", "endAt": "2024-01-31"}},
         "destination": "s3://bucket/car_c/2024-01.csv", "dest_conn_id": "aws_default"},
    ])
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import task_group

from airflow_provider_marketo_pm.operators.custom_objects import (
    MarketoDownloadCustomObjectExportOperator,
    MarketoStartCustomObjectExportOperator,
)
from airflow_provider_marketo_pm.sensors.custom_objects import MarketoCustomObjectExportSensor
from airflow_provider_marketo_pm.task_groups.bulk_export import FILTER_START_LABEL, export_tasks

__all__ = ["custom_object_export_group"]


def custom_object_export_group(*, group_id: str = "custom_object_export", **settings: Any) -> Any:
    """
    Return a task group of one custom object export job: ``start_export`` -> ``wait_for_export`` ->
    ``download_export``, each task bound to the job's ``api_name``. (``parquet=True`` is not available for
    custom objects yet.)

    :param group_id: id of the task group; task ids are ``<group_id>.start_export`` etc.
    :param settings: the group's settings and any argument of the start, documented once in
        :func:`~airflow_provider_marketo_pm.task_groups.bulk_export.export_tasks`.
    """
    tasks = export_tasks(
        MarketoStartCustomObjectExportOperator,
        MarketoCustomObjectExportSensor,
        MarketoDownloadCustomObjectExportOperator,
        start_label="{% if task.api_name is string %}{{ task.api_name }} {% endif %}" + FILTER_START_LABEL,
        **settings,
    )

    @task_group(group_id=group_id)
    def custom_object_export(
        api_name: str,
        fields: list[str],
        export_filter: dict[str, Any],
        destination: str,
        dest_conn_id: str | None,
    ) -> Any:
        """Start one custom object export, wait for it without holding a worker, then stream its file."""
        return tasks(
            request={"fields": fields, "filter": export_filter},
            destination=destination,
            dest_conn_id=dest_conn_id,
            kind_arguments={"api_name": api_name},
        )

    return custom_object_export
