"""
### Marketo activities: daily, one export per activity type

Every day at 00:00 UTC, exports the activities **created during the previous day** (Marketo's
activity filter is `createdAt`, required), one job and one file per activity type:
`{destination}/activities/created_date=YYYY-MM-DD/type=change_data_value/part=00.csv`. The export group
is mapped over the types, so each type is its own task in the UI, retried on its own, and lands in
its own partition.

**Activity types** are given by name (`Change Data Value`) or id (`13`): names are resolved with
Marketo's Get Activity Types when each start runs, before its create, and an unknown name fails
naming it. "Delete Lead" is not exportable (deleted leads come from Get Deleted Leads).

**A rolling window.** The param `days` (default 1) exports the last N days up to the end of the
run's data interval (31 days per job), planned by `backfill_plan.plan_recent_days`.

**Pacing.** Every start holds one slot of the pool `marketo_bulk_export` from create to completion
(`airflow pools set marketo_bulk_export 4 "Marketo bulk export jobs in flight" --include-deferred`):
the same pool as the lead and program member DAGs, because Marketo has one queue for every kind, so
five types do not put five jobs in it at once. The tasks come from the provider's
`activity_export_group`.

**Settings** (DAG params): `days` (default 1), `activity_types` (names or ids, default Change Status
in Progression and Change Data Value), `fields` (null: Marketo's default columns), `destination` (default
`file:///tmp/marketo_activities`), `dest_conn_id`. `marketo_pm_conn_id` and
`marketo_pm_poll_interval` are Variables read through templates when the tasks run.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

try:
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 3.0 keeps timetables in core
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[no-redef]

from airflow_provider_marketo_pm.backfill_plan import plan_recent_days
from airflow_provider_marketo_pm.destination import destination_url
from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.retry_policy import marketo_retry_policy_args
from airflow_provider_marketo_pm.task_groups.activities import activity_export_group

export_job = activity_export_group(
    group_id="export_job",
    marketo_conn_id="{{ var.value.get('marketo_pm_conn_id', 'marketo_default') }}",
    poll_interval="{{ var.value.get('marketo_pm_poll_interval', 60) }}",
    pool="marketo_bulk_export",
)

DEFAULT_TYPES = ["Change Status in Progression", "Change Data Value"]
DEFAULT_DESTINATION = "file:///tmp/marketo_activities"


def type_partition(activity_type: str | int) -> str:
    """A type's partition name: ``Change Data Value`` -> ``change_data_value``, ``13`` -> ``13``."""
    return re.sub(r"[^a-z0-9]+", "_", str(activity_type).strip().lower()).strip("_")


@dag(
    dag_id="marketo_activities_daily",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    doc_md=__doc__,
    tags=["marketo", "example", "activities"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "days": Param(1, type="integer", minimum=1, description="export the last N days of the run"),
        "activity_types": Param(
            DEFAULT_TYPES, type="array", items={"type": ["string", "integer"]}, minItems=1
        ),
        "fields": Param(None, type=["null", "array"], items={"type": "string"}),
        "destination": Param(DEFAULT_DESTINATION, type="string"),
        "dest_conn_id": Param(None, type=["null", "string"]),
    },
)
def marketo_activities_daily() -> None:
    @task(**marketo_retry_policy_args())  # bad input fails at once on 3.3+, not after a retry
    def plan_exports(interval_end: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One job per activity type and 31 days of the last `days` days of this run (createdAt)."""
        params = params or {}
        types = params.get("activity_types") or DEFAULT_TYPES
        partitions = [type_partition(activity_type) for activity_type in types]
        if isinstance(types, str) or len(set(partitions)) != len(types) or not all(partitions):
            raise MarketoRequestError("activity_types", types, "must be a list of distinct type names or ids")
        # One job per window; each is then mapped once per type (resolved by name when its start runs).
        plan = plan_recent_days(  # refuses a `days` that is not a whole number >= 1
            params.get("days", 1),
            interval_end,
            {"activities": {"path": "activities/created_date={last_day}/type={{type}}/part={job:02d}.csv"}},
        )
        print(f"{plan} x {len(types)} activity types")
        destination = str(params.get("destination") or DEFAULT_DESTINATION).rstrip("/")
        return [
            {
                "export_filter": job.arguments["filter"],
                "activity_types": [activity_type],
                "fields": params.get("fields"),
                "destination": destination_url(f"{destination}/{job.path.replace('{type}', partition)}"),
                "dest_conn_id": params.get("dest_conn_id"),
            }
            for job in plan.jobs
            for activity_type, partition in zip(types, partitions, strict=True)
        ]

    export_job.expand_kwargs(plan_exports(interval_end="{{ data_interval_end | ts }}"))


marketo_activities_daily()
