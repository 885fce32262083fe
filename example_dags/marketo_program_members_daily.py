"""
### Marketo program members: daily changes

Every day at 00:00 UTC, exports the members of a list of programs whose membership was **updated
during the previous day** and writes one file per batch of 10 programs to a date-partitioned path:
`{destination}/daily/updated_date=YYYY-MM-DD/batch=NN.csv`.

**Why `CronDataIntervalTimetable`.** In Airflow 3 a plain cron string gives runs whose data
interval has zero length (`data_interval_start == data_interval_end`); this timetable makes each
run cover exactly the day before it, and `updatedAt` is taken from `data_interval_start` /
`data_interval_end` (UTC, contiguous: day N's `endAt` is day N+1's `startAt`). Re-running a day
replaces that day's files, so runs are idempotent.

**History.** `catchup` is off; fill past days with a backfill, which the scheduler runs day by day:

    airflow backfill create --dag-id marketo_program_members_daily \\
        --from-date 2024-01-01 --to-date 2024-01-31 --max-active-runs 2

or export long ranges with fewer jobs (31 days per job) with `marketo_program_members_backfill`.

**Pacing.** Marketo runs 2 bulk jobs at a time and queues 10 per instance, shared with every
other integration. `start_export` and `wait_for_export` run in the pool `marketo_bulk_export`
(create it once: `airflow pools set marketo_bulk_export 4 "Marketo bulk export jobs in flight"
--include-deferred`), so that however many days a backfill runs in parallel, at most 4 of our
jobs are queued or processing.

**Settings** (DAG params win, then Airflow Variables, then defaults): `program_ids` /
`marketo_pm_program_ids` (JSON list, default `[1044]`), `destination` / `marketo_pm_destination`
(default `file:///tmp/marketo_program_members`), `dest_conn_id` / `marketo_pm_dest_conn_id`,
`fields` / `marketo_pm_fields` (JSON list). `marketo_pm_conn_id` (default `marketo_default`) and
`marketo_pm_poll_interval` (default 60 s, Marketo's status refresh) are read at parse time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, Variable, dag, task, task_group

from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor
from airflow_provider_marketo_pm.windows import batch_program_ids, split_updated_at

POOL = "marketo_bulk_export"
DEFAULT_FIELDS = [
    "leadId",
    "firstName",
    "lastName",
    "email",
    "statusName",
    "statusReason",
    "membershipDate",
    "reachedSuccess",
    "updatedAt",
]
DEFAULT_DESTINATION = "file:///tmp/marketo_program_members"
# Read at parse time: the operators take the connection id and the poll interval untemplated.
MARKETO_CONN_ID = Variable.get("marketo_pm_conn_id", default="marketo_default")
POLL_INTERVAL = float(Variable.get("marketo_pm_poll_interval", default=60))


def _setting(params: dict[str, Any], name: str, default: Any, *, json: bool = False) -> Any:
    """A DAG param if given, else the ``marketo_pm_<name>`` Variable, else the default."""
    value = params.get(name)
    if value in (None, "", []):
        value = Variable.get(f"marketo_pm_{name}", default=default, deserialize_json=json)
    return value


@dag(
    dag_id="marketo_program_members_daily",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    doc_md=__doc__,
    tags=["marketo", "example"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "program_ids": Param(None, type=["null", "array"], items={"type": "integer"}),
        "destination": Param(None, type=["null", "string"], description="object storage URL"),
        "dest_conn_id": Param(None, type=["null", "string"]),
        "fields": Param(None, type=["null", "array"], items={"type": "string"}),
    },
)
def marketo_program_members_daily() -> None:
    @task
    def plan_exports(
        interval_start: str, interval_end: str, day: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """One job per batch of 10 programs, all filtered on this run's data interval."""
        params = params or {}
        windows = split_updated_at(interval_start, interval_end)
        batches = batch_program_ids(_setting(params, "program_ids", [1044], json=True))
        destination = str(_setting(params, "destination", DEFAULT_DESTINATION)).rstrip("/")
        dest_conn_id = _setting(params, "dest_conn_id", None)
        fields = _setting(params, "fields", DEFAULT_FIELDS, json=True)
        # A day is one window; a longer custom interval would simply number more files.
        jobs = [{"programIds": batch, "updatedAt": window} for window in windows for batch in batches]
        return [
            {
                "fields": fields,
                "export_filter": export_filter,
                "destination": f"{destination}/daily/updated_date={day}/batch={number:02d}.csv",
                "dest_conn_id": dest_conn_id,
            }
            for number, export_filter in enumerate(jobs)
        ]

    @task_group
    def export_job(fields: list[str], export_filter: dict[str, Any], destination: str, dest_conn_id: Any):
        """Start one export, wait for it without holding a worker, then stream its file."""
        start = MarketoStartProgramMemberExportOperator(
            task_id="start_export",
            marketo_conn_id=MARKETO_CONN_ID,
            fields=fields,
            filter=export_filter,
            pool=POOL,
            # absolute: with the default "downstream" rule the start would add up the sensor's weight
            # and outrank it, starting new jobs before waiting on started ones
            priority_weight=1,
            weight_rule="absolute",
            map_index_template="programs {{ task.filter.programIds | join(',') }}",
        )
        wait = MarketoProgramMemberExportSensor(
            task_id="wait_for_export",
            marketo_conn_id=MARKETO_CONN_ID,
            export_id=start.output,
            poll_interval=POLL_INTERVAL,
            deferrable=True,
            pool=POOL,
            priority_weight=100,
            weight_rule="absolute",
        )
        download = MarketoDownloadProgramMemberExportOperator(
            task_id="download_export",
            marketo_conn_id=MARKETO_CONN_ID,
            export_id=start.output,
            destination=destination,
            dest_conn_id=dest_conn_id,
            overwrite=True,
            map_index_template="{{ task.destination }}",
        )
        wait >> download

    # The interval arrives through templates. The partition is named after the interval's start, not
    # after `ds`: a manual run's logical date is its trigger time, whose interval is the day before.
    jobs = plan_exports(
        interval_start="{{ data_interval_start | ts }}",
        interval_end="{{ data_interval_end | ts }}",
        day="{{ data_interval_start | ds }}",
    )
    export_job.expand_kwargs(jobs)


marketo_program_members_daily()
