"""What one backfill job costs Airflow as the backfill grows: the old one-run shape against runs per window.

The question (issue 21): does a job's share of scheduling and XCom stay the same as the plan grows? The
old shape maps one DAG run over every job of the plan, each item a full job (``fields``, ``export_filter``,
``destination``, ``dest_conn_id``); the new shape (``backfill_runs``) runs one DAG run per 31-day window,
mapped over that window's batches only, with ``fields`` and ``dest_conn_id`` given once by ``partial``.

What is measured, with Airflow's own code and a real metadata DB (SQLite under /dev/shm):

- ``dag.test()`` of DAGs with exactly the export group's mapping shape, its three tasks trivial: a mapped
  task group over ``expand_kwargs`` whose ``start_export`` takes ``fields``, ``filter``, ``destination``
  and ``dest_conn_id``, ``wait_for_export`` the start's output, ``download_export`` ``destination``,
  ``dest_conn_id`` and ``program_ids``, as the real group passes them (each such mapped argument is one
  resolution of the whole list it is mapped over, in Airflow 3's ``MappedArgument.resolve``). So the
  scheduler's expansion (``TaskMap``, ``expand_mapped_task``), the task runner's argument resolution and
  the Execution API's XCom reads are Airflow's; no Marketo, no trigger, no real download.
- XCom read per job: every ``XCom.get_one`` / ``get_all`` a task makes, the JSON length of what it
  returned, summed over the run(s) and divided by the jobs.
- Wall and CPU seconds per job of the run(s); dag.test runs the tasks in this process, so CPU seconds are
  the scheduling loop, the task runner and SQLite together, and less sensitive than wall to other load.
- The plan: ``plan_backfill_runs`` and the window runs' items, up to 10 years x 5,000 programs, timed.

The new shape at N jobs is N / batches window runs of identical shape (``--batches`` jobs, items of the
same length); ``--sample-runs`` of them are run (``dag.test`` with the window's conf, as the scheduler runs
the runs ``start_window_runs`` creates): the first and the last window of the plan. ``dag.test`` costs
about a second per job on 2 shared cores, so running all of a 5,000-job plan's runs would take hours.
The old shape's sizes above 1,024 need ``[core] max_map_length`` raised, which this script does for both
shapes (the new shape never needs it: its runs map ``--batches`` jobs).

    .venv/bin/python bench/bench_backfill_scale.py [--old 50 100 200] [--new 500 2000 5000]
        [--batches 50] [--sample-runs 2] [--json bench/out/backfill_scale.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's provider, not an installed one

DAG_FILE = '''
"""Bench DAGs: the backfill's mapping shape, trivial tasks (bench/bench_backfill_scale.py)."""
import pendulum
from airflow.sdk import dag, task, task_group

from airflow_provider_marketo_pm.backfill_runs import BackfillRuns
from airflow_provider_marketo_pm.task_groups.program_members import (
    DEFAULT_PROGRAM_MEMBER_FIELDS,
    ProgramMemberExportSettings,
)
from airflow_provider_marketo_pm.windows import DEFAULT_EXPORT_PATH, batch_program_ids, split_updated_at


@task
def start_export(fields, filter, destination, dest_conn_id):
    return "export-id"


@task
def wait_for_export(export_id):
    return {"exportId": export_id, "status": "Completed"}


@task
def download_export(record, destination, dest_conn_id, program_ids):
    return {"uri": destination, "records": 0, "bytes": 0}


@task_group(group_id="export_job")
def export_job(fields, export_filter, destination, dest_conn_id):
    started = start_export(fields, export_filter, destination, dest_conn_id)
    return download_export(wait_for_export(started), destination, dest_conn_id, export_filter)


def settings(batches):
    return ProgramMemberExportSettings(
        program_batches=batches,
        destination="s3://marketo-history/exports",
        dest_conn_id="aws_default",
        fields=list(DEFAULT_PROGRAM_MEMBER_FIELDS),
    )


def plan_of(params):
    batches = batch_program_ids(range(100_000, 100_000 + 10 * params["batches"]))
    end = pendulum.datetime(2016, 1, 1, tz="UTC").add(days=31 * params["windows"])
    windows = split_updated_at("2016-01-01", end)
    return BackfillRuns(windows, batches, "backfill/" + DEFAULT_EXPORT_PATH, True, 1024)


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False,
     params={"windows": 1, "batches": 1})
def bench_old_one_run():
    @task(show_return_value_in_logs=False)
    def plan_exports(params=None):
        plan = plan_of(params)
        return [settings(plan.batches).job(**export) for export in plan.exports()]

    export_job.expand_kwargs(plan_exports())


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False,
     params={"windows": 1, "batches": 1, "window": 0})
def bench_new_window_run():
    @task(multiple_outputs=True, show_return_value_in_logs=False)
    def plan_window(params=None):
        plan = plan_of(params)
        chosen = settings(plan.batches)
        jobs = [chosen.compact_job(**export) for export in plan.window_exports(params["window"])]
        return {"jobs": jobs, **chosen.constants()}

    @task(show_return_value_in_logs=False)
    def jobs_of_this_run(jobs):
        return jobs

    plan = plan_window()
    export_job.partial(fields=plan["fields"], dest_conn_id=plan["dest_conn_id"]).expand_kwargs(
        jobs_of_this_run(plan["jobs"])
    )


bench_old_one_run()
bench_new_window_run()
'''


def setup(home: Path) -> None:
    """An Airflow home in /dev/shm: its SQLite DB migrated, the bench DAGs its one DAG folder."""
    dags = home / "dags"
    dags.mkdir(parents=True)
    (dags / "bench_backfill_scale_dags.py").write_text(DAG_FILE)
    bundle = {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle"}
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
                [{**bundle, "kwargs": {"path": str(dags)}}]
            ),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__MAX_MAP_LENGTH": "100000",  # the old shape beyond 1,024; the new never needs it
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        }
    )
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


class XComMeter:
    """Counts the XCom reads of the tasks run in this process and the bytes (JSON) they returned."""

    def __init__(self) -> None:
        from airflow.sdk.execution_time.xcom import XCom

        self.reads = 0
        self.bytes = 0
        for name in ("get_one", "get_all"):
            real = getattr(XCom, name)
            setattr(XCom, name, classmethod(self._metered(real.__func__)))

    def _metered(self, real: Any) -> Any:
        def read(cls: Any, *args: Any, **kwargs: Any) -> Any:
            value = real(cls, *args, **kwargs)
            self.reads += 1
            self.bytes += len(json.dumps(value, default=str))
            return value

        return read

    def reset(self) -> tuple[int, int]:
        reads, size = self.reads, self.bytes
        self.reads = self.bytes = 0
        return reads, size


def measure(dag: Any, confs: list[dict[str, Any]], jobs: int, meter: XComMeter) -> dict[str, Any]:
    from airflow.utils.state import DagRunState

    meter.reset()
    wall, cpu = time.perf_counter(), time.process_time()
    for conf in confs:
        run = dag.test(run_conf=conf)
        if run.state != DagRunState.SUCCESS:
            raise SystemExit(f"{dag.dag_id} {conf}: {run.state}")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    reads, size = meter.reset()
    return {
        "jobs": jobs,
        "runs": len(confs),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "ms_per_job_wall": round(1000 * wall / jobs, 2),
        "ms_per_job_cpu": round(1000 * cpu / jobs, 2),
        "xcom_reads_per_job": round(reads / jobs, 2),
        "xcom_kib_per_job": round(size / jobs / 1024, 2),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def shapes(
    old_sizes: list[int], new_sizes: list[int], batches: int, sample: int
) -> dict[str, list[dict[str, Any]]]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    assert not bag.import_errors, bag.import_errors
    meter = XComMeter()
    result: dict[str, list[dict[str, Any]]] = {"old_one_run": [], "new_window_runs": []}
    for size in old_sizes:
        windows = max(1, size // batches)
        conf = {"windows": windows, "batches": size // windows}
        figures = measure(bag.dags["bench_old_one_run"], [conf], windows * conf["batches"], meter)
        result["old_one_run"].append(figures)
        print(f"old, one run  {figures}", flush=True)
    for size in new_sizes:
        windows = size // batches
        numbers = sorted(
            {*range(windows)[: sample // 2], *range(windows)[windows - (sample - sample // 2) :]}
        )
        confs = [{"windows": windows, "batches": batches, "window": n} for n in numbers]
        figures = measure(bag.dags["bench_new_window_run"], confs, len(confs) * batches, meter)
        figures |= {"plan_jobs": windows * batches, "plan_runs": windows, "runs_measured": numbers}
        result["new_window_runs"].append(figures)
        print(f"new, per window {figures}", flush=True)
    return result


def planning() -> list[dict[str, Any]]:
    """plan_backfill_runs and every window run's items, timed, up to 120 windows x 5,000 programs."""
    import pendulum

    from airflow_provider_marketo_pm.backfill_runs import plan_backfill_runs
    from airflow_provider_marketo_pm.task_groups.program_members import ProgramMemberExportSettings
    from airflow_provider_marketo_pm.windows import batch_program_ids

    figures = []
    for windows, programs in ((10, 500), (40, 500), (120, 5000)):
        batches = batch_program_ids(range(100_000, 100_000 + programs))
        end = pendulum.datetime(2016, 1, 1, tz="UTC").add(days=31 * windows)
        settings = ProgramMemberExportSettings(
            batches, "s3://marketo-history/exports", "aws_default", ["leadId"]
        )
        started = time.perf_counter()
        plan = plan_backfill_runs(
            "2016-01-01", end, batches, path="backfill/{start_day}/batch={batch:02d}.csv"
        )
        planned = time.perf_counter() - started
        largest_run = 0
        for number in range(plan.runs):
            items = [settings.compact_job(**export) for export in plan.window_exports(number)]
            largest_run = max(largest_run, len(json.dumps(items)))
        total = time.perf_counter() - started
        figure = {
            "jobs": plan.jobs,
            "summary": str(plan),
            "plan_ms": round(1000 * planned, 1),
            "plan_and_all_items_ms": round(1000 * total, 1),
            "plan_xcom_kib": round(len(json.dumps(plan.as_dict())) / 1024, 1),
            "largest_run_items_kib": round(largest_run / 1024, 1),
            "load_1m": round(os.getloadavg()[0], 2),
        }
        figures.append(figure)
        print(f"plan {figure}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=int, nargs="*", default=[50, 100, 200], help="jobs, one run")
    parser.add_argument("--new", type=int, nargs="*", default=[500, 2000, 5000], help="jobs, runs per window")
    parser.add_argument("--batches", type=int, default=50, help="batches per window (jobs per window run)")
    parser.add_argument(
        "--sample-runs", type=int, default=2, help="window runs measured per size (first and last windows)"
    )
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "backfill_scale.json")
    args = parser.parse_args()
    load_start = os.getloadavg()
    home = Path(tempfile.mkdtemp(prefix="bench_backfill_scale_", dir="/dev/shm"))
    try:
        setup(home)  # before anything imports Airflow: its DB is the one under /dev/shm
        raised = os.environ.pop("AIRFLOW__CORE__MAX_MAP_LENGTH")
        plans = planning()  # with Airflow's default [core] max_map_length
        os.environ["AIRFLOW__CORE__MAX_MAP_LENGTH"] = raised
        result = {
            "batches_per_window": args.batches,
            "load_start": load_start,
            "nproc": os.cpu_count(),
            "planning": plans,
            **shapes(args.old, args.new, args.batches, args.sample_runs),
            "load_end": os.getloadavg(),
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)
    for name in ("old_one_run", "new_window_runs"):
        rows = result[name]
        if len(rows) > 1:
            first, last = rows[0], rows[-1]
            growth = {
                "jobs_x": round(
                    last.get("plan_jobs", last["jobs"]) / first.get("plan_jobs", first["jobs"]), 1
                ),
                "xcom_per_job_x": round(last["xcom_kib_per_job"] / first["xcom_kib_per_job"], 2),
                "cpu_per_job_x": round(last["ms_per_job_cpu"] / first["ms_per_job_cpu"], 2),
            }
            result[f"{name}_growth"] = growth
            print(f"{name}: {growth}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
