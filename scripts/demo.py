"""`make demo`: run the backfill example DAG against the bundled Marketo emulator, end to end, offline.

Starts the emulator on loopback, prepares a throw-away Airflow home in ``.airflow-home/`` (SQLite), runs
``marketo_program_members_backfill`` with ``dag.test()`` over several months for a dozen programs, writes
the files under ``demo-output/``, then checks every file against the checksum the emulator advertised and
prints a summary. Exits non-zero if anything failed.

``--kind leads|activities|custom_objects`` (``make demo KIND=leads``) runs that kind's example DAG over the
same range instead: ``marketo_leads_daily`` (the last days up to ``--end``, by ``updatedAt``),
``marketo_activities_daily`` (by ``createdAt``, one job per activity type) or
``marketo_custom_object_snapshot`` (the ``car_c`` records updated since ``--start``).

The demo empties its folders before each run, so it only ever empties a folder it made: each one gets a
marker file, and a folder that is not empty and has no marker is refused (nothing in it is touched).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_HOME = REPO_ROOT / ".airflow-home"
DAGS_FOLDER = REPO_ROOT / "example_dags"
DAG_ID = "marketo_program_members_backfill"
#: ``--kind``: the example DAG each kind's demo runs (program members: the backfill, DAG_ID).
KIND_DAGS = {
    "program_members": DAG_ID,
    "leads": "marketo_leads_daily",
    "activities": "marketo_activities_daily",
    "custom_objects": "marketo_custom_object_snapshot",
}
POOL = "marketo_bulk_export"
DEMO_MEMBERS = 60_000
#: Seconds between status checks: the emulator completes jobs in well under a second.
POLL_INTERVAL = 0.5
#: The emulator's data follows the clock; the demo pins its day, so it prints the same figures any day.
DATA_UNTIL = "2026-11-01"
#: The file that says "the demo made this folder and may empty it".
MARKER = ".marketo-pm-demo"

HELP_EPILOG = f"""\
The demo empties --output and --airflow-home before each run, but only folders it made itself: it marks
them with a {MARKER} file. A folder that does not exist or is empty is used (and marked); a folder
that is not empty and has no {MARKER} file is refused, and nothing in it is deleted.
"""


class FolderNotOurs(SystemExit):
    """The demo was pointed at a folder it did not make; exit with a message, touching nothing."""


def claim_folder(folder: Path, purpose: str) -> None:
    """Make ``folder`` an empty, marked demo folder: create it, or empty it if the demo made it earlier."""
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / MARKER).is_file():
            raise FolderNotOurs(
                f"Refusing to use {folder} as the {purpose}: it is not empty and the demo did not create it "
                f"(no {MARKER} file in it), and the demo empties its folders before each run. "
                "Choose a new or empty folder (or, if an older demo made it, delete it yourself); "
                "nothing was deleted."
            )
        shutil.rmtree(folder)
    elif folder.exists() and not folder.is_dir():
        raise FolderNotOurs(f"Refusing to use {folder} as the {purpose}: it is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(
        f"Made by scripts/demo.py ({purpose}); the demo empties this folder each run.\n"
    )


class _DropShortSecretNotice(logging.Filter):
    """
    Drop Airflow's "Skipping masking for a secret as it's too short" notice in the demo.

    Airflow logs it for every short Variable it reads, even one whose name is not sensitive and that it
    would never mask, such as the demo's poll interval (``0.5``): nothing for a demo user to do.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Skipping masking for a secret as it's too short")


def quiet_notices_nobody_can_act_on() -> None:
    """Silence two notices of Airflow's own stack that a demo user cannot act on, and only those two."""
    # svcs (Airflow's execution API) imports fastapi.testclient, and starlette >= 1.10 warns there that
    # it prefers httpx2 to httpx; Airflow pins neither, and dag.test() never uses that client.
    warnings.filterwarnings(
        "ignore",
        message=r"Using `httpx` with `starlette\.testclient` is deprecated",
        category=UserWarning,  # starlette's StarletteDeprecationWarning is a UserWarning
        module=r"fastapi\.testclient",
    )
    logging.getLogger("airflow.sdk._shared.secrets_masker.secrets_masker").addFilter(_DropShortSecretNotice())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--start", default="2024-01-01", help="first updatedAt day (UTC)")
    parser.add_argument("--end", default="2024-05-01", help="end of the range, exclusive")
    parser.add_argument(
        "--program-ids",
        default="1044,1001,1002,1003,1004,1005,1006,1007,1008,1009,1010,1011",
        help="comma-separated program ids (batched 10 per export job)",
    )
    parser.add_argument(
        "--output",
        default=str(REPO_ROOT / "demo-output"),
        help=f"destination folder: new, empty, or an earlier demo output (one with a {MARKER} file)",
    )
    parser.add_argument(
        "--airflow-home",
        default=str(AIRFLOW_HOME),
        help=f"the throw-away Airflow home: new, empty, or an earlier demo's (one with a {MARKER} file)",
    )
    parser.add_argument(
        "--kind",
        choices=sorted(KIND_DAGS),
        default="program_members",
        help="which kind's example DAG to run (default: the program member backfill)",
    )
    parser.add_argument("--verbose", action="store_true", help="show Airflow's task logs")
    parser.add_argument(
        "--fail-one-job", action="store_true", help="make the emulator fail one export (to see a failure)"
    )
    return parser.parse_args()


def prepare_airflow_home(home: Path, verbose: bool) -> None:
    """A fresh home every time, configured before Airflow is first imported (it reads config at import)."""
    bundle = {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle"}
    for name in [k for k in os.environ if k.startswith(("AIRFLOW_VAR_MARKETO_PM_", "AIRFLOW_CONN_MARKETO"))]:
        del os.environ[name]  # settings of the caller's own Airflow must not leak into the demo
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
                [{**bundle, "kwargs": {"path": str(DAGS_FOLDER)}}]
            ),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO" if verbose else "WARNING",
            "AIRFLOW_VAR_MARKETO_PM_CONN_ID": "marketo_default",
        }
    )
    airflow = [sys.executable, "-m", "airflow"]
    for command in (
        ["db", "migrate"],
        # dag.test() runs tasks one by one and ignores pools; a scheduler needs this one (see the DAG doc).
        ["pools", "set", POOL, "4", "Marketo bulk export jobs in flight", "--include-deferred"],
    ):
        done = subprocess.run([*airflow, *command], capture_output=True, text=True, env=os.environ.copy())
        if done.returncode != 0:
            raise SystemExit(f"`airflow {' '.join(command)}` failed:\n{done.stdout}\n{done.stderr}")


def download_results(run_id: str, dag_id: str = DAG_ID) -> list[dict[str, Any]]:
    """What each download task returned: uri, bytes, records, sha256, export_id."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(
                run_id=run_id,
                dag_ids=dag_id,
                task_ids="export_job.download_export",
                key="return_value",
            )
        ).all()
        return [XComModel.deserialize_value(row) for row in rows]


def failed_tasks(run_id: str, dag_id: str = DAG_ID) -> dict[int, list[str]]:
    """The export group's failed task instances of the run, by map index (one index per export job)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    failed: dict[int, list[str]] = {}
    with create_session() as session:
        rows = session.query(TaskInstance.task_id, TaskInstance.map_index).filter(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id == run_id,
            TaskInstance.state == TaskInstanceState.FAILED,
        )
        for task_id, map_index in rows:
            failed.setdefault(map_index, []).append(task_id)
    return failed


def planned_jobs(run_id: str) -> list[dict[str, Any]]:
    """The jobs plan_exports handed to the export group, in map-index order."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run_id, dag_ids=DAG_ID, task_ids="plan_exports", key="jobs")
        ).first()
        return list(XComModel.deserialize_value(row)) if row is not None else []


def emulator_export(emulator: Any, export_filter: dict[str, Any]) -> dict[str, Any] | None:
    """The status record of the last job the emulator created for this filter (its programs and window)."""
    programs = tuple(export_filter.get("programIds") or [export_filter.get("programId")])
    window = export_filter.get("updatedAt") or {}
    start = window.get("startAt")
    since = None if start is None else dt.datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
    for job in reversed(emulator.instance.jobs.recent(None)):
        if job.spec.program_ids == programs and job.spec.updated_from == since:
            return dict(job.record())
    return None


def describe_failures(run_id: str, emulator: Any) -> list[str]:
    """One line per failed export job: its window, batch and exportId, Marketo's status, the failed task."""
    plan = planned_jobs(run_id)
    lines = []
    for index, task_ids in sorted(failed_tasks(run_id).items()):
        tasks = ", ".join(sorted(task_ids))
        if not 0 <= index < len(plan):
            lines.append(f"{tasks} failed")
            continue
        job = plan[index]
        window = job["export_filter"].get("updatedAt") or {}
        span = f"{window['startAt'][:10]}..{window['endAt'][:10]}" if window else "no updatedAt"
        batch = re.search(r"batch=(\d+)", job["destination"])
        programs = ",".join(map(str, job["export_filter"].get("programIds") or []))
        where = f"window {span}, batch {batch.group(1) if batch else '?'} (programs {programs})"
        record = emulator_export(emulator, job["export_filter"])
        if record is None:
            lines.append(f"{where}: no export created; {tasks} failed")
            continue
        status = str(record.get("status"))
        if record.get("errorMsg"):
            status += f" ({record['errorMsg']})"
        lines.append(f"{where}: exportId {record['exportId']} {status}; {tasks} failed")
    return lines


def verify(results: list[dict[str, Any]], emulator: Any) -> tuple[int, list[str]]:
    """Recompute each file's sha256 and size from disk and compare them with what the emulator advertised."""
    from urllib.parse import unquote, urlsplit

    verified, problems = 0, []
    for result in results:
        path = Path(unquote(urlsplit(result["uri"]).path))
        data = path.read_bytes()
        advertised = emulator.job(result["export_id"])
        expected_sha = str(advertised["fileChecksum"]).removeprefix("sha256:")
        if hashlib.sha256(data).hexdigest() != expected_sha:
            problems.append(f"{path}: sha256 differs from the emulator's fileChecksum")
        elif len(data) != int(advertised["fileSize"]):
            problems.append(f"{path}: {len(data)} bytes, the emulator said {advertised['fileSize']}")
        else:
            verified += 1
    return verified, problems


def report_files(
    results: list[dict[str, Any]], output: Path, verified: int, elapsed: float, problems: list[str]
) -> int:
    """The summary's lines every demo ends with (records, bytes, files, checksums), then OK or FAILED."""
    files = sorted(output.rglob("*.csv"))
    print(f"  records    {sum(r['records'] for r in results)}")
    print(f"  bytes      {sum(r['bytes'] for r in results)}")
    shown = output.relative_to(REPO_ROOT) if output.is_relative_to(REPO_ROOT) else output
    print(f"  files      {len(files)} under {shown}/")
    for path in files:
        print(f"               {path.relative_to(output)}")
    print(f"  checksums  {verified}/{len(results)} verified (sha256 of each file on disk = the emulator's)")
    print(f"  elapsed    {elapsed:.1f} s")
    if problems:
        print("\nFAILED:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print("\nOK")
    return 0


@contextmanager
def demo_emulator(args: argparse.Namespace) -> Iterator[tuple[Any, Any]]:
    """
    The running emulator and the example DAGs parsed (``None`` once their import errors are printed): a
    bigger dataset than the tests' default, so the files look like a real program's membership, and the
    connection and the poll interval Variable pointed at it (at the emulator's pace; Marketo's is 60 s).
    """
    from airflow.dag_processing.dagbag import DagBag

    from airflow_provider_marketo_pm.testing import MarketoEmulator

    with MarketoEmulator(members=DEMO_MEMBERS, data_until=DATA_UNTIL) as emulator:
        os.environ.update(emulator.connection_env(conn_id="marketo_default", poll_interval=POLL_INTERVAL))
        print(f"Marketo emulator listening on {emulator.base_url}", flush=True)
        if args.fail_one_job:
            emulator.fail_next_job(error_msg="Injected by scripts/demo.py --fail-one-job")
        bag = DagBag(dag_folder=str(DAGS_FOLDER))
        if bag.import_errors:
            print(f"DAG import errors: {bag.import_errors}", file=sys.stderr)
            yield emulator, None
        else:
            yield emulator, bag


def kind_run_conf(kind: str, start: str, end: str, output: Path) -> tuple[dict[str, Any], dt.datetime]:
    """The run's conf and logical date of a kind's example DAG over [start, end)."""
    first, last = (dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC) for day in (start, end))
    if kind == "custom_objects":  # a snapshot: the records updated since start, up to the run at end
        return {"api_name": "car_c", "since": start, "destination": output.as_uri()}, last
    # the daily DAGs: the run at `end` covers the day before it; `days` reaches back to `start`
    return {"days": max(1, (last - first).days), "destination": output.as_uri()}, last


def run_kind_demo(args: argparse.Namespace, output: Path, started: float) -> int:
    """Run one kind's example DAG (leads, activities, a custom object); check its files as the backfill's."""
    from airflow.utils.state import DagRunState

    from airflow_provider_marketo_pm.export_status import counted

    dag_id = KIND_DAGS[args.kind]
    conf, logical_date = kind_run_conf(args.kind, args.start, args.end, output)
    with demo_emulator(args) as (emulator, bag):
        if bag is None:
            return 1
        print(f"Running {dag_id} with dag.test(): {args.start} -> {args.end} ...", flush=True)
        run = bag.dags[dag_id].test(logical_date=logical_date, run_conf=conf)
        results = download_results(run.run_id, dag_id)
        problems = [] if run.state == DagRunState.SUCCESS else [f"DAG run ended {run.state}"]
        problems += [
            f"job {index}: {', '.join(sorted(task_ids))} failed"
            for index, task_ids in sorted(failed_tasks(run.run_id, dag_id).items())
        ]
        verified, mismatches = verify(results, emulator)
        problems += mismatches
        creates = len(emulator.calls("create"))
    if len(results) != creates:
        problems.append(f"{len(results)} files downloaded for {creates} export jobs")
    print()
    print(f"Marketo {args.kind.replace('_', ' ')} demo ({dag_id})")
    print(f"  jobs       {counted(creates, 'export job')} created")
    return report_files(results, output, verified, time.monotonic() - started, problems)


def main() -> int:
    args = parse_args()
    started = time.monotonic()
    output = Path(args.output).resolve()
    home = Path(args.airflow_home).resolve()
    program_ids = [int(part) for part in args.program_ids.split(",") if part.strip()]
    claim_folder(output, "output folder")
    claim_folder(home, "Airflow home")

    shown_home = home.relative_to(REPO_ROOT) if home.is_relative_to(REPO_ROOT) else home
    print(f"Preparing a throw-away Airflow home in {shown_home}/ (SQLite, db migrate, pool) ...", flush=True)
    prepare_airflow_home(home, args.verbose)
    quiet_notices_nobody_can_act_on()
    if args.kind != "program_members":
        return run_kind_demo(args, output, started)

    from airflow.utils.state import DagRunState

    from airflow_provider_marketo_pm.export_status import counted
    from airflow_provider_marketo_pm.windows import batch_program_ids, split_updated_at

    windows = split_updated_at(args.start, args.end)
    batches = batch_program_ids(program_ids)
    with demo_emulator(args) as (emulator, bag):
        if bag is None:
            return 1
        print(
            f"Running {DAG_ID} with dag.test(): {args.start} -> {args.end}, {len(program_ids)} programs, "
            f"{len(windows)} windows x {len(batches)} batches ...",
            flush=True,
        )
        run = bag.dags[DAG_ID].test(
            run_conf={
                "start": args.start,
                "end": args.end,
                "program_ids": program_ids,
                "destination": output.as_uri(),
            }
        )
        results = download_results(run.run_id)
        problems = [] if run.state == DagRunState.SUCCESS else [f"DAG run ended {run.state}"]
        problems += describe_failures(run.run_id, emulator)
        verified, mismatches = verify(results, emulator)
        problems += mismatches
        creates = len(emulator.calls("create"))
        polls = len(emulator.calls("status"))
    elapsed = time.monotonic() - started

    expected_jobs = len(windows) * len(batches)
    if len(results) != expected_jobs:
        problems.append(f"{len(results)} files downloaded, expected {expected_jobs}")
    print()
    print("Marketo program member backfill demo")
    window_count = counted(len(windows), "updatedAt window")
    print(f"  windows    {window_count} of <= 31 days, {args.start} -> {args.end} (UTC)")
    batch_count = counted(len(batches), "batch", "batches")
    print(f"  programs   {len(program_ids)} in {batch_count} of <= 10 (programIds)")
    print(f"  jobs       {counted(creates, 'export job')} created ({counted(polls, 'status call')})")
    return report_files(results, output, verified, elapsed, problems)


if __name__ == "__main__":
    sys.exit(main())
