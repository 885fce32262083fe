"""
### Marketo program members: current membership snapshot

Exports the **current** members of a list of programs (no `updatedAt` filter: every member, whenever
last changed), one file per batch of 10 programs:
`{destination}/snapshot/snapshot_date=YYYY-MM-DD/batch=NN.csv`. Runs every Monday at 06:00 UTC
and on demand; a snapshot is a point in time, so a trigger timetable (no data interval) fits.

Each batch file also gets a typed Parquet file and its schema sidecar beside it
(`batch=NN.parquet`, `batch=NN.schema.json`: the `parquet` extra). **Removed memberships**:
`removed_memberships` compares the snapshot with the previous complete one (the latest earlier
`snapshot_date=` folder with a `_manifest.json`) and writes the memberships that disappeared,
among the programs both exported, to `removed_memberships.parquet` (`leadId`, `programId`); then
it writes this snapshot's `_manifest.json`. `updatedAt` windows never show a lead leaving a
program: only two snapshots do. (A snapshot filtered by `status_names` is not compared: a member
gone from it may only have changed status.)

Use it to seed a table before switching to `marketo_program_members_daily`, or to reconcile. Mind
the daily export quota (500 MB by default, shared by all bulk extracts of the instance, reset at
midnight US Central): a snapshot of large programs can use much of it. Narrow it with the
`status_names` param (Marketo ORs the names; each must exist in one of the programs).

**Pacing.** `start_export` creates each job and waits (deferred) until it is Completed, in the pool
`marketo_bulk_export` (`airflow pools set marketo_bulk_export 4 "Marketo bulk export jobs in flight"
--include-deferred`): one slot per job from create to completion, so at most 4 of our jobs hold
places in Marketo's shared 10-job queue. `wait_for_export` (one confirming status call) and
`download_export` run outside the pool. The three tasks come from the provider's
`program_member_export_group`.

**Settings** (DAG params win, then Airflow Variables, then defaults): `program_ids` /
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
    from airflow.sdk import CronTriggerTimetable
except ImportError:  # Airflow 3.0 keeps timetables in core
    from airflow.timetables.trigger import CronTriggerTimetable  # type: ignore[no-redef]

from airflow_provider_marketo_pm.operators.removed_memberships import MarketoRemovedMembershipsOperator
from airflow_provider_marketo_pm.retry_policy import marketo_retry_policy_args
from airflow_provider_marketo_pm.task_groups.program_members import (
    ProgramMemberExportSettings,
    program_member_export_group,
)

export_job = program_member_export_group(
    marketo_conn_id="{{ var.value.get('marketo_pm_conn_id', 'marketo_default') }}",
    poll_interval="{{ var.value.get('marketo_pm_poll_interval', 60) }}",
    pool="marketo_bulk_export",
    parquet=True,  # a typed Parquet file beside each verified CSV
)


#: The demo's fallbacks when neither a DAG param nor a marketo_pm_* Variable is set.
DEMO_DEFAULTS = {"program_ids": [1044], "destination": "file:///tmp/marketo_program_members"}


@dag(
    dag_id="marketo_program_members_snapshot",
    schedule=CronTriggerTimetable("0 6 * * 1", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["marketo", "example"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        **ProgramMemberExportSettings.dag_params(),
        "status_names": Param(None, type=["null", "array"], items={"type": "string"}),
    },
)
def marketo_program_members_snapshot() -> None:
    @task(**marketo_retry_policy_args())  # bad input fails at once on 3.3+, not after a retry
    def plan_exports(ds: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One job per batch of 10 programs, with no updatedAt filter."""
        settings = ProgramMemberExportSettings.from_params(params, defaults=DEMO_DEFAULTS)
        status_names = (params or {}).get("status_names")
        jobs = []
        for number, batch in enumerate(settings.program_batches):
            export_filter: dict[str, Any] = {"programIds": batch}
            if status_names:
                export_filter["statusNames"] = status_names
            jobs.append(settings.job(export_filter, f"snapshot/snapshot_date={ds}/batch={number:02d}.csv"))
        return jobs

    jobs = plan_exports(ds="{{ ds }}")
    snapshot = export_job.expand_kwargs(jobs)
    MarketoRemovedMembershipsOperator(
        task_id="removed_memberships",
        snapshot=snapshot,
        jobs=jobs,  # their programs, and the files' connection
    )


marketo_program_members_snapshot()
