"""Backfill pacing and API economy: the backfill example DAG on a real scheduler, triggerer and LocalExecutor.

Sections 3 and 4 of bench/RESULTS.md. The emulator runs in its own process at a scaled-down Marketo pace
(``--processing`` seconds per job, status refreshed every ``--refresh`` seconds; Marketo: minutes and
60 s) with Marketo's own limits: 2 jobs processing, 10 in the queue, 100 calls / 20 s, 10 concurrent.
A second integration enqueues ``--foreign`` jobs (``occupy_queue``) as the DAG creates its first one.
The DAG polls every ``--poll`` seconds (``marketo_pm_poll_interval``, an Airflow Variable rendered when
each task runs) and uses its pool (``--pool`` slots, default 4 as its docstring says, deferred tasks
included): ``start_export`` holds one slot from create to completion, so our jobs in Marketo's queue
never exceed the slots.

Pacing: the span from the first job starting to the last one finishing, against the ideal (all
processing time, the other integration's included, divided by the 2 slots) and against one job at a
time (computed from this run's own per-job turnaround). Safety: 1029 answers, and the most jobs ever
Queued or Processing at once (from the emulator's job records). Economy: calls per window by endpoint,
token calls per process, status poll spacing, and the most calls in any 20 s.

    .venv/bin/python bench/bench_backfill_pacing.py [--windows 24] [--processing 6] [--refresh 2] [--poll 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from emulator_service import EmulatorService
from queue_figures import max_in_window, max_overlap

from airflow_provider_marketo_pm.testing.airflow_cluster import AirflowCluster

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

DAG_ID = "marketo_program_members_backfill"
DAG_FILE = REPO / "example_dags" / "marketo_program_members_backfill.py"
POOL = "marketo_bulk_export"
MARKETO_TASKS = ("start_export", "wait_for_export", "download_export")


def _ts(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def analyse(dump: dict[str, Any], args: argparse.Namespace, run: dict[str, Any], tis: list[dict]) -> dict:
    """Pacing, safety and economy figures from the emulator's request log and job records."""
    now = dump["now"]
    jobs = dump["jobs"]
    ours = [j for j in jobs if not j["foreign"] and j["queued_at"] is not None]
    foreign = [j for j in jobs if j["foreign"]]
    processed = [j for j in jobs if j["started_at"] is not None and j["finished_at"] is not None]
    busy = sum(j["finished_at"] - j["started_at"] for j in processed)
    span_start = min(j["started_at"] for j in processed)
    span_end = max(j["finished_at"] for j in ours)
    span = span_end - span_start
    ideal = busy / 2
    requests = [r for r in dump["requests"] if r["at"] is not None]
    by_endpoint = Counter(r["endpoint"] for r in requests)
    first_file: dict[str, float] = {}
    for r in requests:
        if r["endpoint"] == "file" and r["export_id"] not in first_file:
            first_file[r["export_id"]] = r["at"]
    processing = [j["finished_at"] - j["started_at"] for j in ours]
    create_to_queue = [j["queued_at"] - j["created_at"] for j in ours]
    done_to_download = [
        first_file[j["export_id"]] - j["finished_at"] for j in ours if j["export_id"] in first_file
    ]
    # One job at a time: each job waits for the previous one's download to start before it is created.
    per_job_serial = (
        statistics.median(create_to_queue)
        + statistics.median(processing)
        + statistics.median(done_to_download)
    )
    serial = len(ours) * per_job_serial + sum(j["finished_at"] - j["started_at"] for j in foreign) / 2

    status_times: dict[str, list[float]] = defaultdict(list)
    for r in requests:
        if r["endpoint"] == "status":
            status_times[r["export_id"]].append(r["at"])
    gaps = [b - a for times in status_times.values() for a, b in itertools.pairwise(times)]
    early = [g for g in gaps if g < args.poll - 0.25]
    # The hook's two clients send the same User-Agent, so calls are told apart by time: up to the first
    # call at or after the job finished, the calls are the start task's check and the trigger's polls
    # (``poll_gaps``); after it come the tasks' single checks (wait_for_export's confirmation and the
    # download's read of fileSize/fileChecksum), counted apart.
    finished = {j["export_id"]: j["finished_at"] for j in ours}
    poll_gaps: list[float] = []
    after_done_gaps: list[float] = []
    for export_id, times in status_times.items():
        if export_id not in finished or finished[export_id] is None:
            continue
        seen = next((i for i, t in enumerate(times) if t >= finished[export_id]), len(times) - 1)
        poll_gaps += [b - a for a, b in itertools.pairwise(times[: seen + 1])]
        after_done_gaps += [b - a for a, b in itertools.pairwise(times[seen:])]
    counted = [r["at"] for r in requests if r["endpoint"] not in ("token", "unknown")]
    # Every try of a task that talks to Marketo is a process of its own; plus the triggerer.
    processes = sum(int(ti.get("try_number") or 1) for ti in tis if ti["task_id"].endswith(MARKETO_TASKS)) + 1
    active = [(j["queued_at"], j["finished_at"] or now) for j in jobs if j["queued_at"] is not None]
    our_active = [(j["queued_at"], j["finished_at"] or now) for j in ours]
    run_wall = _ts(run["end_date"]) - _ts(run["start_date"])
    windows = len(ours)
    task_latency: dict[str, list[float]] = defaultdict(list)
    task_duration: dict[str, list[float]] = defaultdict(list)
    for ti in tis:
        kind = ti["task_id"].rsplit(".", 1)[-1]
        if ti.get("scheduled_when") and ti.get("start_date"):
            task_latency[kind].append(_ts(ti["start_date"]) - _ts(ti["scheduled_when"]))
        if ti.get("start_date") and ti.get("end_date"):
            task_duration[kind].append(_ts(ti["end_date"]) - _ts(ti["start_date"]))
    timeline = [
        {
            "foreign": j["foreign"],
            "queued": j["queued_at"] - span_start,
            "started": j["started_at"] - span_start,
            "finished": j["finished_at"] - span_start,
            "download": first_file.get(j["export_id"], j["finished_at"]) - span_start,
            "status_polls": [t - span_start for t in status_times.get(j["export_id"], [])],
        }
        for j in sorted(processed, key=lambda j: j["started_at"])
    ]
    return {
        "run_state": run["state"],
        "windows": windows,
        "foreign_jobs": len(foreign),
        "processing_s_median": statistics.median(processing),
        "busy_s_total": busy,
        "ideal_s": ideal,
        "span_s": span,
        "span_over_ideal": span / ideal,
        "run_wall_s": run_wall,
        "run_wall_over_ideal": run_wall / ideal,
        "one_at_a_time_s": serial,
        "span_over_one_at_a_time": span / serial,
        "median_create_to_queued_s": statistics.median(create_to_queue),
        "median_completed_to_download_s": statistics.median(done_to_download),
        "answers_1029": sum(1 for r in requests if r["code"] == "1029"),
        "answers_606_615": sum(1 for r in requests if r["code"] in ("606", "615")),
        "max_jobs_in_queue": max_overlap(active),
        "max_our_jobs_in_queue": max_overlap(our_active),
        "calls_by_endpoint": dict(by_endpoint),
        "calls_per_window": {k: v / windows for k, v in sorted(by_endpoint.items())},
        "token_calls": by_endpoint.get("token", 0),
        "marketo_processes": processes,
        "token_calls_per_process": by_endpoint.get("token", 0) / processes,
        "status_gaps_min_s": min(gaps, default=None),
        "status_gaps_median_s": statistics.median(gaps) if gaps else None,
        "status_gaps_below_poll": len(early),
        "status_gaps_total": len(gaps),
        "poll_gaps_below_poll": sum(1 for g in poll_gaps if g < args.poll - 0.25),
        "poll_gaps_total": len(poll_gaps),
        "poll_gaps_min_s": min(poll_gaps, default=None),
        "after_done_gaps_below_poll": sum(1 for g in after_done_gaps if g < args.poll - 0.25),
        "after_done_gaps_total": len(after_done_gaps),
        "max_calls_any_20s": max_in_window(counted, 20.0),
        "max_calls_any_20s_with_token": max_in_window([r["at"] for r in requests], 20.0),
        "task_scheduled_to_start_s_median": {k: statistics.median(v) for k, v in task_latency.items()},
        "task_duration_s_median": {k: statistics.median(v) for k, v in task_duration.items()},
        "timeline": timeline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=24, help="31-day updatedAt windows (one job each)")
    parser.add_argument("--processing", type=float, default=6.0, help="seconds a job spends Processing")
    parser.add_argument("--refresh", type=float, default=2.0, help="emulator status refresh tick (s)")
    parser.add_argument("--poll", type=float, default=2.0, help="the DAG's poll_interval (s)")
    parser.add_argument("--foreign", type=int, default=3, help="queue places held by another integration")
    parser.add_argument("--pool", type=int, default=4, help="slots of the marketo_bulk_export pool")
    parser.add_argument("--parallelism", type=int, default=4, help="LocalExecutor worker processes")
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument("--json", type=Path, default=HERE / "out" / "backfill.json")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    dags = workdir / "dags"
    dags.mkdir()
    shutil.copy(DAG_FILE, dags / DAG_FILE.name)
    start = dt.date(2024, 1, 1)
    end = start + dt.timedelta(days=31 * args.windows)
    pace = {"processing_seconds": args.processing, "status_refresh_seconds": args.refresh}
    loads: list[tuple[float, ...]] = [os.getloadavg()]
    try:
        with EmulatorService(**pace) as emu:
            env = {**emu.connection_env(), "AIRFLOW_VAR_MARKETO_PM_POLL_INTERVAL": str(args.poll)}
            started = time.monotonic()
            with AirflowCluster(
                dags, env=env, home=workdir / "home", parallelism=args.parallelism
            ) as cluster:
                print(f"Airflow up in {time.monotonic() - started:.0f} s; load {os.getloadavg()}", flush=True)
                description = "Marketo bulk export jobs in flight"
                cluster.cli("pools", "set", POOL, str(args.pool), description, "--include-deferred")
                cluster.wait_for_dag(DAG_ID, timeout=180)
                run_id = cluster.trigger(
                    DAG_ID,
                    conf={
                        "start": start.isoformat(),
                        "end": end.isoformat(),
                        "program_ids": [1044],
                        "destination": (workdir / "files").as_uri(),
                    },
                )
                deadline = time.monotonic() + args.timeout
                # The other integration enqueues its jobs as our first job is created: they compete.
                while not any(r["endpoint"] == "create" for r in emu.dump()["requests"]):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"no export created after {args.timeout} s\n{cluster.log_tails()}")
                    time.sleep(0.2)
                emu.occupy_queue(args.foreign, seconds=args.processing)
                while (state := cluster.dag_run(DAG_ID, run_id)["state"]) not in ("success", "failed"):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"run still {state} after {args.timeout} s\n{cluster.log_tails()}")
                    loads.append(os.getloadavg())
                    time.sleep(5)
                run = cluster.dag_run(DAG_ID, run_id)
                answer = cluster.api(
                    "GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 1000}
                )
                tis = answer["task_instances"]
                dump = emu.dump()
        result = analyse(dump, args, run, tis)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["settings"] = vars(args) | {"json": str(args.json)}
    result["load"] = {"start": loads[0], "max_1min": max(load[0] for load in loads), "end": os.getloadavg()}
    for key, value in result.items():
        if key == "timeline":
            continue
        print(f"{key:32s} {value:.2f}" if isinstance(value, float) else f"{key:32s} {value}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
