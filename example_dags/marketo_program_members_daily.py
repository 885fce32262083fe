"""
### Marketo program members: daily changes

Every day at 00:00 UTC, exports the members of a list of programs whose membership was **updated
during the previous day** and writes one file per batch of 10 programs to a date-partitioned path:
`{destination}/daily/updated_date=YYYY-MM-DD/batch=NN.csv`.

**A rolling window.** The param `days` (default 1) makes each run export the last N days up to
the end of its data interval instead (`plan_last_days` from the provider's `windows` module), into
the partition of the last day it covers: `days=3` re-exports two more days every day, so late
changes are caught; a manual run with `{"days": 31}` exports the last 31 days.

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
other integration. `start_export` creates the job and waits (deferred) until it is Completed, in
the pool `marketo_bulk_export` (create it once: `airflow pools set marketo_bulk_export 4 "Marketo
bulk export jobs in flight" --include-deferred`): one slot per job from create to completion, so
however many days a backfill runs in parallel, at most 4 of our jobs are queued or processing. The
three tasks come from the provider's `program_member_export_group` (`export_job.start_export` ->
`wait_for_export`, one confirming status call outside the pool -> `download_export`).

**Settings** (DAG params win, then Airflow Variables, then defaults): `days` (the param only,
default 1), `program_ids` /
`marketo_pm_program_ids` (JSON list, `all` or a filter such as `{"workspace": "Default"}`, default
`[1044]`), `destination` / `marketo_pm_destination`
(default `file:///tmp/marketo_program_members`), `dest_conn_id` / `marketo_pm_dest_conn_id`,
`fields` / `marketo_pm_fields` (JSON list). `marketo_pm_conn_id` (default `marketo_default`) and
`marketo_pm_poll_interval` (default 60 s, Marketo's status refresh) are read through templates when
the tasks run; nothing is read when the DAG file is parsed.
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

from airflow_provider_marketo_pm.retry_policy import marketo_retry_policy_args
from airflow_provider_marketo_pm.task_groups.program_members import (
    ProgramMemberExportSettings,
    program_member_export_group,
)
from airflow_provider_marketo_pm.windows import plan_last_days

export_job = program_member_export_group(
    marketo_conn_id="{{ var.value.get('marketo_pm_conn_id', 'marketo_default') }}",
    poll_interval="{{ var.value.get('marketo_pm_poll_interval', 60) }}",
    pool="marketo_bulk_export",
)


#: The demo's fallbacks when neither a DAG param nor a marketo_pm_* Variable is set.
DEMO_DEFAULTS = {"program_ids": [1044], "destination": "file:///tmp/marketo_program_members"}


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
        "days": Param(
            1, type="integer", minimum=1, description="export the last N days of the run (1: its day)"
        ),
        **ProgramMemberExportSettings.dag_params(),
    },
)
def marketo_program_members_daily() -> None:
    @task(**marketo_retry_policy_args())  # bad input fails at once on 3.3+, not after a retry
    def plan_exports(interval_end: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One job per batch of 10 programs (and per 31 days), over the last `days` days of this run."""
        params = params or {}
        settings = ProgramMemberExportSettings.from_params(params, defaults=DEMO_DEFAULTS)
        # The partition is the last day covered, not `ds`: a manual run's logical date is its trigger
        # time, whose interval is the day before. More than 31 days simply number more files.
        plan = plan_last_days(
            params.get("days", 1),  # plan_last_days refuses anything but a whole number >= 1
            interval_end,
            settings.program_batches,
            path="daily/updated_date={last_day}/batch={job:02d}.csv",
        )
        print(plan)
        return [settings.job(**export) for export in plan.exports]

    # The interval's end arrives through a template: for this timetable, the end of the day the run covers.
    export_job.expand_kwargs(plan_exports(interval_end="{{ data_interval_end | ts }}"))


marketo_program_members_daily()
