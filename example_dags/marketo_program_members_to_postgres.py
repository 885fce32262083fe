"""
### Marketo program members into PostgreSQL: typed, merged, removals soft-deleted

Exports program members, writes each verified CSV as a typed Parquet file (schema from Marketo's
describe), and merges them into one PostgreSQL table keyed by (`leadId`, `programId`), keeping each
membership's newest `updatedAt`: `COPY` into a staging table, then `INSERT ... ON CONFLICT`, in one
transaction (the `postgres` and `parquet` extras). Re-running a run, or loading windows that overlap,
changes nothing.

Two modes (the `mode` param):

- `increments` (default, and every scheduled run): the members updated in the run's data interval
  (the previous UTC day), or in `start`..`end` when given (31-day windows, like the backfill DAG), to
  `{destination}/postgres/updated_from=YYYY-MM-DD/updated_to=YYYY-MM-DD/batch=NN.csv`;
- `snapshot`: every current member, to `{destination}/postgres/snapshot/snapshot_date=YYYY-MM-DD/`.
  `removed_memberships` compares it with the previous complete snapshot and writes the memberships
  that disappeared (`removed_memberships.parquet`); the load marks them `_marketo_removed_at` (a soft
  delete) and restores any that a snapshot shows again. Increments never show a lead leaving a program.

**Pacing.** `start_export` holds a slot of the pool `marketo_bulk_export` (`airflow pools set
marketo_bulk_export 4 "Marketo bulk export jobs in flight" --include-deferred`) from create to
completion; the sensor, the download, the Parquet conversion and the load run outside it.

**Settings**: `program_ids`, `destination`, `dest_conn_id`, `fields` as in the other example DAGs
(DAG params, then `marketo_pm_*` Variables); `postgres_conn_id` (default `postgres_default`) and
`table` (default `marketo.program_members`; its schema must exist). `fields` must include
`leadId` and `updatedAt` (the defaults do); batches of 10 programs add the `programId` column.
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

from airflow_provider_marketo_pm.operators.postgres import MarketoExportToPostgresOperator
from airflow_provider_marketo_pm.operators.removed_memberships import MarketoRemovedMembershipsOperator
from airflow_provider_marketo_pm.retry_policy import marketo_retry_policy_args
from airflow_provider_marketo_pm.task_groups.program_members import (
    ProgramMemberExportSettings,
    program_member_export_group,
)
from airflow_provider_marketo_pm.windows import split_updated_at, to_utc

export_job = program_member_export_group(
    marketo_conn_id="{{ var.value.get('marketo_pm_conn_id', 'marketo_default') }}",
    poll_interval="{{ var.value.get('marketo_pm_poll_interval', 60) }}",
    pool="marketo_bulk_export",
    parquet=True,
)

#: The demo's fallbacks when neither a DAG param nor a marketo_pm_* Variable is set.
DEMO_DEFAULTS = {"program_ids": [1044], "destination": "file:///tmp/marketo_program_members"}


@dag(
    dag_id="marketo_program_members_to_postgres",
    schedule=CronDataIntervalTimetable("0 1 * * *", timezone="UTC"),  # each run: the previous UTC day
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # one load of the table at a time (the load also locks it)
    doc_md=__doc__,
    tags=["marketo", "example"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "mode": Param("increments", enum=["increments", "snapshot"]),
        "start": Param(None, type=["null", "string"], description="increments from (default: the interval)"),
        "end": Param(None, type=["null", "string"], description="increments until, exclusive"),
        "postgres_conn_id": Param("postgres_default", type="string"),
        "table": Param("marketo.program_members", type="string"),
        **ProgramMemberExportSettings.dag_params(),
    },
)
def marketo_program_members_to_postgres() -> None:
    @task(**marketo_retry_policy_args())  # bad input fails at once on 3.3+, not after a retry
    def plan_exports(
        ds: str,
        data_interval_start: Any = None,
        data_interval_end: Any = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """A snapshot's jobs (one per 10 programs), or each window x batch of the increments."""
        params = params or {}
        settings = ProgramMemberExportSettings.from_params(params, defaults=DEMO_DEFAULTS)
        if params.get("mode") == "snapshot":
            return [
                settings.job({"programIds": batch}, f"postgres/snapshot/snapshot_date={ds}/batch={n:02d}.csv")
                for n, batch in enumerate(settings.program_batches)
            ]
        start = params.get("start") or data_interval_start
        end = params.get("end") or data_interval_end
        jobs = []
        for window in split_updated_at(start, end):
            first, last = (to_utc(window[bound]).to_date_string() for bound in ("startAt", "endAt"))
            days = f"updated_from={first}/updated_to={last}"
            for n, batch in enumerate(settings.program_batches):
                export_filter = {"programIds": batch, "updatedAt": window}
                jobs.append(settings.job(export_filter, f"postgres/{days}/batch={n:02d}.csv"))
        return jobs

    jobs = plan_exports()
    exported = export_job.expand_kwargs(jobs)
    removed = MarketoRemovedMembershipsOperator(task_id="removed_memberships", snapshot=exported, jobs=jobs)
    MarketoExportToPostgresOperator(
        task_id="load_postgres",
        exports=exported,
        removed=removed.output,
        snapshot="{{ params.mode == 'snapshot' }}",
        table="{{ params.table }}",
        postgres_conn_id="{{ params.postgres_conn_id }}",
        source_conn_id="{{ params.dest_conn_id or var.value.get('marketo_pm_dest_conn_id', '') }}",
    )


marketo_program_members_to_postgres()
