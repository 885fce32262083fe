"""
### Marketo leads: daily changes

Every day at 00:00 UTC, exports the leads **updated during the previous day** (Marketo's lead
`updatedAt` filter: the time of a lead's latest field change) into one file per run:
`{destination}/leads/updated_date=YYYY-MM-DD/part=00.csv`.

**Where `updatedAt` is unavailable.** Not every subscription has the lead `updatedAt` filter
(Marketo answers 1035 "Unsupported filter type for target subscription"). Set the param
`date_filter` to `createdAt`: the run then exports the leads **created** that day
(`leads/created_date=YYYY-MM-DD/part=00.csv`); changes to older leads are not exported then.

**A rolling window.** The param `days` (default 1) makes each run export the last N days up to the
end of its data interval (31 days per job, Marketo's longest filter), into the partition of the
last day it covers: `days=3` catches late changes. The jobs are planned by the provider's
`backfill_plan.plan_recent_days` (the multi-kind backfill planner's rolling window), with one kind.

**Why `CronDataIntervalTimetable`.** Each run covers exactly the UTC day before it (a plain cron
string gives a zero-length interval in Airflow 3); the windows are contiguous and re-running a day
replaces its file.

**Pacing.** `start_export` creates the job and waits (deferred) until it is Completed, in the pool
`marketo_bulk_export` (create it once: `airflow pools set marketo_bulk_export 4 "Marketo bulk
export jobs in flight" --include-deferred`): the same pool as the program member and activity
DAGs, because Marketo has one queue for every kind. The tasks come from the provider's
`lead_export_group`.

**Settings** (DAG params): `days` (default 1), `date_filter` (`updatedAt` or `createdAt`), `fields`
(REST names from Describe Lead2), `destination` (default `file:///tmp/marketo_leads`),
`dest_conn_id`. `marketo_pm_conn_id` (default `marketo_default`) and `marketo_pm_poll_interval`
(default 60 s) are Variables read through templates when the tasks run.
"""

from __future__ import annotations

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
from airflow_provider_marketo_pm.retry_policy import marketo_retry_policy_args
from airflow_provider_marketo_pm.task_groups.leads import lead_export_group

export_job = lead_export_group(
    group_id="export_job",
    marketo_conn_id="{{ var.value.get('marketo_pm_conn_id', 'marketo_default') }}",
    poll_interval="{{ var.value.get('marketo_pm_poll_interval', 60) }}",
    pool="marketo_bulk_export",
)

DEFAULT_FIELDS = ["id", "email", "firstName", "lastName", "company", "createdAt", "updatedAt"]
DEFAULT_DESTINATION = "file:///tmp/marketo_leads"


@dag(
    dag_id="marketo_leads_daily",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    doc_md=__doc__,
    tags=["marketo", "example", "leads"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "days": Param(1, type="integer", minimum=1, description="export the last N days of the run"),
        "date_filter": Param(
            "updatedAt",
            enum=["updatedAt", "createdAt"],
            description="createdAt where the subscription lacks the lead updatedAt filter (1035)",
        ),
        "fields": Param(DEFAULT_FIELDS, type="array", items={"type": "string"}),
        "destination": Param(DEFAULT_DESTINATION, type="string"),
        "dest_conn_id": Param(None, type=["null", "string"]),
    },
)
def marketo_leads_daily() -> None:
    @task(**marketo_retry_policy_args())  # bad input fails at once on 3.3+, not after a retry
    def plan_exports(interval_end: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One lead job per 31 days of the last `days` days of this run, filtered on `date_filter`."""
        params = params or {}
        date_filter = params.get("date_filter") or "updatedAt"
        prefix = "created" if date_filter == "createdAt" else "updated"
        plan = plan_recent_days(  # refuses a `days` that is not a whole number >= 1
            params.get("days", 1),
            interval_end,
            {
                "leads": {
                    "fields": params.get("fields") or DEFAULT_FIELDS,
                    "date_filter": date_filter,
                    "path": f"leads/{prefix}_date={{last_day}}/part={{job:02d}}.csv",
                }
            },
        )
        print(plan)
        destination = str(params.get("destination") or DEFAULT_DESTINATION).rstrip("/")
        return [
            {
                "fields": job.arguments["fields"],
                "export_filter": job.arguments["filter"],
                "destination": destination_url(f"{destination}/{job.path}"),
                "dest_conn_id": params.get("dest_conn_id"),
            }
            for job in plan.jobs
        ]

    export_job.expand_kwargs(plan_exports(interval_end="{{ data_interval_end | ts }}"))


marketo_leads_daily()
