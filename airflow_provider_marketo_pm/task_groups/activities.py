"""The activity export as one reusable task group: start (and wait, deferred) -> confirm -> download.

Map it over jobs, each with exactly the keys ``export_filter`` (``createdAt`` and the optional narrowing
keys), ``activity_types`` (names or ids, or None), ``fields`` (None: Marketo's default columns),
``destination`` and ``dest_conn_id`` (a mapped group's job must give every key)::

    activities = activity_export_group(poll_interval=60)
    activities.expand_kwargs([
        {"export_filter": {"createdAt": {"startAt": "2024-01-01", "endAt": "2024-01-31"}},
         "activity_types": ["Visit Webpage", "Fill Out Form"], "fields": None,
         "destination": "s3://bucket/activities/2024-01.csv", "dest_conn_id": "aws_default"},
    ])
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import task_group

from airflow_provider_marketo_pm.operators.activities import (
    MarketoDownloadActivityExportOperator,
    MarketoStartActivityExportOperator,
)
from airflow_provider_marketo_pm.sensors.activities import MarketoActivityExportSensor
from airflow_provider_marketo_pm.task_groups.bulk_export import FILTER_START_LABEL, export_tasks

__all__ = ["activity_export_group"]


def activity_export_group(*, group_id: str = "activity_export", **settings: Any) -> Any:
    """
    Return a task group of one activity export job: ``start_export`` -> ``wait_for_export`` ->
    ``download_export`` (-> ``to_parquet`` with ``parquet=True``).

    :param group_id: id of the task group; task ids are ``<group_id>.start_export`` etc.
    :param settings: the group's settings and any argument of the start, documented once in
        :func:`~airflow_provider_marketo_pm.task_groups.bulk_export.export_tasks`.
    """
    tasks = export_tasks(
        MarketoStartActivityExportOperator,
        MarketoActivityExportSensor,
        MarketoDownloadActivityExportOperator,
        start_label=FILTER_START_LABEL,
        **settings,
    )

    @task_group(group_id=group_id)
    def activity_export(
        export_filter: dict[str, Any],
        activity_types: list[str | int] | None,
        fields: list[str] | None,
        destination: str,
        dest_conn_id: str | None,
    ) -> Any:
        """Start one activity export, wait for it without holding a worker, then stream its file."""
        return tasks(
            request={"fields": fields, "filter": export_filter, "activity_types": activity_types},
            destination=destination,
            dest_conn_id=dest_conn_id,
            export_filter=export_filter,
        )

    return activity_export
