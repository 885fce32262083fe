"""
### Marketo program members: backfill a date range

Exports the members of a list of programs **updated** between `start` (inclusive) and `end`
(exclusive), for a manual, one-off load of history. Trigger it with params, e.g.
`{"start": "2024-01-01", "end": "2024-07-01", "program_ids": [1044, 1045]}`, or every program with
`"program_ids": "all"` (or one workspace: `{"workspace": "Default"}`), looked up in Marketo's
Asset API when `plan_exports` runs.

**How the range becomes jobs.** Marketo takes at most 31 days of `updatedAt` and at most 10
programs per export job, so `plan_exports` splits the range into contiguous 31-day UTC windows
(`split_updated_at`: each window's `endAt` is the next one's `startAt`, nothing is lost whichever
way Marketo treats the bounds) and the programs into batches of 10 (`programIds`; the file gets a
`programId` column). Every window x batch is one job, mapped over the `export_job` task group (the provider's
`program_member_export_group`, reusable in your own DAGs): `start_export` (create + enqueue, then
wait deferred until Marketo completes the job) -> `wait_for_export` (confirms Completed with one
status call, hands on the status record) -> `download_export` (streamed, checked against Marketo's
sha256, published atomically).

**Why the pool.** Marketo runs at most 2 bulk jobs at a time per instance and queues at most 10,
in **one queue shared with every other integration** (lead, activity and custom object exports of
other tools). Enqueueing a whole backfill at once would fill that queue and make every other
integration's exports fail with 1029 "Too many jobs in queue". `start_export` runs in the pool
`marketo_bulk_export` and holds its slot from creating the job until Marketo completes it (it
waits itself, deferred, like dbt Cloud's `wait_for_termination`); created with 4 slots and
`--include-deferred`, the pool therefore counts exactly our jobs in Marketo's queue: at most 4,
2 processing and 2 waiting, so Marketo's two processing slots never idle between our jobs, while
8 queue places stay free for others. Create the pool once:

    airflow pools set marketo_bulk_export 4 "Marketo bulk export jobs in flight" --include-deferred

(docker-compose's `airflow-init` does it). Without the pool, the tasks stay scheduled and the
scheduler logs that the pool does not exist. Raise the slots only if nothing else exports from
the instance. `wait_for_export` and the downloads are outside the pool: their job has left the
queue already.

**Settings** (DAG params win, then Airflow Variables, then the defaults below):

| param | Variable | default |
| --- | --- | --- |
| `program_ids` | `marketo_pm_program_ids` (JSON list, `all`, or a filter) | `[1044]` |
| `destination` | `marketo_pm_destination` | `file:///tmp/marketo_program_members` |
| `dest_conn_id` | `marketo_pm_dest_conn_id` | none (e.g. an aws connection for `s3://`) |
| `fields` | `marketo_pm_fields` (JSON list) | a few lead and membership fields |
|  | `marketo_pm_conn_id` | `marketo_default` |
|  | `marketo_pm_poll_interval` | `60` seconds (Marketo refreshes status once a minute) |

**A plan to approve.** `review_plan` logs the plan's figures before any job is created (jobs, estimated
MB from `mb_per_job` or a measured default, quota days of the 500 MB daily quota, the first and last
window). With `"approve_plan": true` it waits for a person: the run shows *Required actions* in the UI
(Airflow 3.1+); Approve starts the exports, Reject ends the run with none.

Nothing is read when the DAG file is parsed: the params and Variables are read by `plan_exports`,
and `marketo_pm_conn_id` / `marketo_pm_poll_interval` through templates when each task runs.

Files land in
`{destination}/backfill/updated_from=YYYY-MM-DD/updated_to=YYYY-MM-DD/batch=NN.csv`, replacing a
file of an earlier run of the same window (re-running is safe). Rows updated exactly on a window
boundary can appear in two files: deduplicate on (`leadId`, `programId`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from airflow_provider_marketo_pm.export_status import counted
from airflow_provider_marketo_pm.operators.plan_approval import (
    MarketoPlanApprovalOperator,
    approve_plan_param,
    mb_per_job_param,
)
from airflow_provider_marketo_pm.task_groups.program_members import (
    ProgramMemberExportSettings,
    export_results,
    program_member_export_group,
)
from airflow_provider_marketo_pm.windows import DEFAULT_EXPORT_PATH, plan_updated_at, split_updated_at

export_job = program_member_export_group(
    marketo_conn_id="{{ var.value.get('marketo_pm_conn_id', 'marketo_default') }}",
    poll_interval="{{ var.value.get('marketo_pm_poll_interval', 60) }}",
    pool="marketo_bulk_export",
)


#: The demo's fallbacks when neither a DAG param nor a marketo_pm_* Variable is set.
DEMO_DEFAULTS = {"program_ids": [1044], "destination": "file:///tmp/marketo_program_members"}


@dag(
    dag_id="marketo_program_members_backfill",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["marketo", "example"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
    params={
        "start": Param("2024-01-01", type="string", description="first instant (UTC unless an offset)"),
        "end": Param("2024-04-01", type="string", description="end of the range, exclusive"),
        **ProgramMemberExportSettings.dag_params(),
        "approve_plan": approve_plan_param(),
        "mb_per_job": mb_per_job_param(),
    },
)
def marketo_program_members_backfill() -> None:
    @task
    def plan_exports(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One job per 31-day window x 10-program batch; fails before any Marketo call on bad input."""
        params = params or {}
        split_updated_at(params["start"], params["end"])  # bad dates fail before "all" looks programs up
        settings = ProgramMemberExportSettings.from_params(params, defaults=DEMO_DEFAULTS)
        plan = plan_updated_at(
            params["start"], params["end"], settings.program_batches, path=f"backfill/{DEFAULT_EXPORT_PATH}"
        )
        print(plan)  # "4 windows x 2 batches = 8 export jobs"
        return [settings.job(**export) for export in plan.exports]

    @task
    def report(results: Any) -> dict[str, Any]:
        """One line per file and the totals, so a run's output can be checked at a glance."""
        # A list, also when the run made one job (Airflow then hands over that job's result alone).
        files = sorted(export_results(results), key=lambda r: r["uri"])
        for item in files:
            counts = f"{counted(item['records'], 'record')}, {counted(item['bytes'], 'byte')}"
            print(f"{item['uri']}: {counts}, sha256 {item['sha256']}")
        return {
            "jobs": len(files),
            "records": sum(r["records"] for r in files),
            "bytes": sum(r["bytes"] for r in files),
            "files": files,
        }

    # The plan's figures, and with approve_plan a person's approval, before any job: the exports map
    # over what review_plan hands on.
    approved = MarketoPlanApprovalOperator(
        task_id="review_plan",
        plan=plan_exports(),
        approve="{{ params.approve_plan }}",
        mb_per_job="{{ params.mb_per_job or '' }}",
    ).output
    report(export_job.expand_kwargs(approved))


marketo_program_members_backfill()
