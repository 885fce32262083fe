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

**Large backfills: one DAG run per window.** Airflow maps one task to at most `[core] max_map_length`
instances per DAG run (1,024 by default), and every mapped task reads the whole list it is mapped over.
`plan_exports` therefore counts the whole plan first: up to `max_jobs_per_run` jobs (default: that
limit) run here, in this run; a larger plan becomes one run of `marketo_program_members_backfill_window`
per window, each mapped over that window's batches only, started by `start_window_runs` (at most
`max_runs`, default the same limit). 10 years x 5,000 programs is 120 runs of 500 jobs. A plan that cannot
fit (a window with more batches than one run maps, more windows than `max_runs`) fails `plan_exports`
at once, without retry and before any Marketo call, with the numbers, the option and the remedy. The log
shows the plan's summary, never the plan.

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
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, dag, task

from airflow_provider_marketo_pm.backfill_runs import BackfillRuns, plan_backfill_runs
from airflow_provider_marketo_pm.export_status import counted
from airflow_provider_marketo_pm.operators.plan_approval import (
    MarketoPlanApprovalOperator,
    approve_plan_param,
    mb_per_job_param,
)
from airflow_provider_marketo_pm.retry_policy import marketo_retry_policy_args
from airflow_provider_marketo_pm.task_groups.program_members import (
    ProgramMemberExportSettings,
    export_results,
    program_member_export_group,
)
from airflow_provider_marketo_pm.windows import DEFAULT_EXPORT_PATH, split_updated_at

export_job = program_member_export_group(
    marketo_conn_id="{{ var.value.get('marketo_pm_conn_id', 'marketo_default') }}",
    poll_interval="{{ var.value.get('marketo_pm_poll_interval', 60) }}",
    pool="marketo_bulk_export",
)


#: The demo's fallbacks when neither a DAG param nor a marketo_pm_* Variable is set.
DEMO_DEFAULTS = {"program_ids": [1044], "destination": "file:///tmp/marketo_program_members"}
#: The DAG that runs one window of a plan too large for one run.
WINDOW_DAG_ID = "marketo_program_members_backfill_window"
PLAN_TASK_ID = "plan_exports"
DEFAULT_ARGS = {"retries": 1, "retry_delay": timedelta(minutes=1)}


@task(show_return_value_in_logs=False)
def jobs_of_this_run(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The list the export group maps over: this run's jobs (none when the plan runs window by window)."""
    print(f"{counted(len(jobs), 'export job')} in this run")
    return jobs


@task(show_return_value_in_logs=False)  # it prints a line per file, not its value (up to 1,024 files)
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


def export_and_report(plan: Any, after: Any = None) -> Any:
    """The mapped export group over a planning task's ``jobs`` (once ``after`` let them through), its
    constants given once, then the report."""
    jobs = jobs_of_this_run(plan["jobs"])
    if after is not None:
        after >> jobs
    return report(
        export_job.partial(fields=plan["fields"], dest_conn_id=plan["dest_conn_id"]).expand_kwargs(jobs)
    )


@dag(
    dag_id="marketo_program_members_backfill",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["marketo", "example"],
    default_args=DEFAULT_ARGS,
    params={
        "start": Param("2024-01-01", type="string", description="first instant (UTC unless an offset)"),
        "end": Param("2024-04-01", type="string", description="end of the range, exclusive"),
        **ProgramMemberExportSettings.dag_params(),
        "max_jobs_per_run": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            description="most jobs in one DAG run; more: one run per window (default [core] max_map_length)",
        ),
        "max_runs": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            description="most window runs the backfill may start (default [core] max_map_length)",
        ),
        "approve_plan": approve_plan_param(),
        "mb_per_job": mb_per_job_param(),
    },
)
def marketo_program_members_backfill() -> None:
    # Bad input (and a plan too large) fails at once, not after a retry; Marketo errors still retry.
    @task(
        task_id=PLAN_TASK_ID,
        multiple_outputs=True,
        show_return_value_in_logs=False,
        **marketo_retry_policy_args(),
    )
    def plan_exports(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """
        The whole plan, checked before any Marketo call: one job per 31-day window x 10-program batch, in this
        run or in one run per window. A plan that cannot fit fails here, for good (no retry).
        """
        params = params or {}
        split_updated_at(params["start"], params["end"])  # bad dates fail before "all" looks programs up
        settings = ProgramMemberExportSettings.from_params(params, defaults=DEMO_DEFAULTS)
        plan = plan_backfill_runs(
            params["start"],
            params["end"],
            settings.program_batches,
            path=f"backfill/{DEFAULT_EXPORT_PATH}",
            max_jobs_per_run=params.get("max_jobs_per_run"),
            max_runs=params.get("max_runs"),
        )
        print(plan)  # "4 windows x 2 batches = 8 export jobs, in one DAG run (at most 1024 jobs per run)"
        jobs = [] if plan.split else [settings.compact_job(**export) for export in plan.exports()]
        return {
            "summary": str(plan),
            "plan": plan.as_dict(),
            "destination": settings.destination,
            "jobs": jobs,
            **settings.constants(),
        }

    @task(show_return_value_in_logs=False)
    def window_runs(plan: dict[str, Any], dag_run: Any = None) -> list[dict[str, Any]]:
        """One run of the window DAG per window when the plan is split (none otherwise): what it reads."""
        runs = BackfillRuns.from_dict(plan)
        if not runs.split:
            return []
        print(f"starting {counted(runs.runs, 'run')} of {WINDOW_DAG_ID}")
        return [
            {
                "trigger_run_id": f"{dag_run.run_id}__window_{number:04d}",
                "conf": {"plan_dag_id": dag_run.dag_id, "plan_run_id": dag_run.run_id, "window": number},
            }
            for number in range(runs.runs)
        ]

    # The plan's figures, and with approve_plan a person's approval, before any job: both readers of the
    # plan (this run's jobs and the window runs) come after review_plan, and a rejection skips them.
    plan = plan_exports()
    review = MarketoPlanApprovalOperator(
        task_id="review_plan",
        plan=plan["plan"],
        approve="{{ params.approve_plan }}",
        mb_per_job="{{ params.mb_per_job or '' }}",
    )
    export_and_report(plan, after=review)
    TriggerDagRunOperator.partial(
        task_id="start_window_runs", trigger_dag_id=WINDOW_DAG_ID, skip_when_already_exists=True
    ).expand_kwargs(window_runs(review.output))


@dag(
    dag_id=WINDOW_DAG_ID,
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=2,  # the next window starts while one drains; the pool still paces Marketo's queue
    doc_md="""
### Marketo program members: one window of a large backfill

Started by `marketo_program_members_backfill` (its `start_window_runs`), one run per 31-day window, when
its plan has more jobs than one DAG run maps. `plan_window` reads that plan (the DAG run and window in
this run's conf: `plan_dag_id`, `plan_run_id`, `window`) and maps the export group over the window's
batches, paced by the pool `marketo_bulk_export` like every export. Not meant to be triggered by hand.
""",
    tags=["marketo", "example"],
    default_args=DEFAULT_ARGS,
    params={
        "plan_dag_id": Param("marketo_program_members_backfill", type="string"),
        "plan_run_id": Param("", type="string", description="the backfill run whose plan this run exports"),
        "window": Param(0, type="integer", minimum=0, description="the window's number in that plan, from 0"),
    },
)
def marketo_program_members_backfill_window() -> None:
    @task(multiple_outputs=True, show_return_value_in_logs=False, **marketo_retry_policy_args())
    def plan_window(params: dict[str, Any] | None = None, ti: Any = None) -> dict[str, Any]:
        """This window's jobs, from the backfill's plan: read once here, not by every mapped task."""
        params = params or {}
        source = {"dag_id": params["plan_dag_id"], "run_id": params["plan_run_id"], "task_ids": PLAN_TASK_ID}
        plan = BackfillRuns.from_dict(ti.xcom_pull(key="plan", **source))
        settings = ProgramMemberExportSettings(
            program_batches=plan.batches,
            destination=ti.xcom_pull(key="destination", **source),
            fields=ti.xcom_pull(key="fields", **source),
            dest_conn_id=ti.xcom_pull(key="dest_conn_id", **source),
        )
        exports = plan.window_exports(params["window"])
        window = plan.windows[params["window"]]
        print(f"window {params['window'] + 1} of {len(plan.windows)}, {window['startAt']}..{window['endAt']}")
        return {"jobs": [settings.compact_job(**export) for export in exports], **settings.constants()}

    export_and_report(plan_window())


marketo_program_members_backfill()
marketo_program_members_backfill_window()
