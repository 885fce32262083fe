"""Our call rate against Marketo's 100 calls per 20 s: serial tiny jobs, then jobs bound by the 2 slots.

Section 8 of bench/RESULTS.md (issue 21, point 4). The emulator runs in its own process with Marketo's
limits (100 calls / 20 s per instance, 10 concurrent, 2 jobs processing, 10 queued). Each run is a child
process that makes, per job, the calls a deferrable program member export makes in ``dag.test()``
(tasks and triggers in one process): create, enqueue, the start's status check, the status trigger's
polls (an event loop per wait, as ``dag.test()`` runs a deferred task's trigger), the wait's confirming
check, the download's status read and the file. Two passes:

- *serial tiny jobs*: one job after another at the emulator's fast pace (0.2 s processing, polls every
  ``--poll`` s): the calls pile up faster than Marketo allows;
- *slot-bound*: ``--workers`` threads each running jobs one after another, ``--processing`` s per job
  (polls every ``--slot-poll`` s): jobs per minute can at best be 2 slots x 60 / processing. Time is
  compressed less than in the other benchmarks on purpose: a job's calls are the same whatever its length,
  so compressing Marketo's minutes into seconds multiplies the calls per 20 s (about
  ``40 x 8 / processing + 40 / poll`` here: 36 at the defaults; at Marketo's pace, 2 or 3).

From the emulator's request log: the most Marketo-counted calls (token calls aside) in any 20 s, 606
answers, and jobs per minute. ``--before DIR`` runs the same child on an older tree first (see
``bench_trigger_sockets.py``).

    .venv/bin/python bench/bench_call_rate.py [--jobs 30] [--slot-jobs 12] [--workers 4] [--before DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from child_runs import add_tree_arguments, run_child
from emulator_service import EmulatorService
from queue_figures import max_in_window

HERE = Path(__file__).resolve().parent
MARKETO_WINDOW = 20.0


def child(args: argparse.Namespace) -> dict[str, Any]:
    """The jobs of one pass, in this process; returns when each job's file was read."""
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the hook logs each call
    import airflow_provider_marketo_pm
    from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
    from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
    from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger

    request = PROGRAM_MEMBERS.request(fields=["leadId"], filter={"programId": 1044})

    async def wait(export_id: str) -> str:
        trigger = MarketoProgramMemberExportTrigger(export_id=export_id, poll_interval=args.poll)
        return ",".join([event.payload["status"] async for event in trigger.run()])

    def job(_: int) -> tuple[float, float, str]:
        started = time.time()
        hook = MarketoHook()
        export_id = str(hook.create_export(request)["exportId"])
        hook.enqueue_export(PROGRAM_MEMBERS, export_id)
        hook.get_export_status(PROGRAM_MEMBERS, export_id)  # the start's check before it defers
        status = asyncio.run(wait(export_id))
        hook.get_export_status(PROGRAM_MEMBERS, export_id)  # the wait's confirming check
        record = hook.get_export_status(PROGRAM_MEMBERS, export_id)  # the download's fileSize read
        with hook.open_export_file(PROGRAM_MEMBERS, export_id) as export_file:
            size = sum(len(chunk) for chunk in export_file.iter_chunks())
        assert size == int(record["fileSize"]), (size, record)
        return started, time.time(), status

    started = time.time()
    with ThreadPoolExecutor(args.workers) as pool:
        jobs = list(pool.map(job, range(args.jobs)))
    return {
        "package": str(Path(airflow_provider_marketo_pm.__file__).parent.parent),
        "jobs": args.jobs,
        "workers": args.workers,
        "wall_s": time.time() - started,
        "events": sorted({status for *_, status in jobs}),
        "load": os.getloadavg()[0],
    }


def measure(
    name: str, root: Path | None, jobs: int, workers: int, processing: float, poll: float
) -> dict[str, Any]:
    """One pass on one tree, against a fresh emulator with Marketo's limits."""
    with EmulatorService(processing_seconds=processing, members=200) as emu:
        argv = ["--jobs", str(jobs), "--workers", str(workers), "--poll", str(poll)]
        result = run_child(__file__, argv, emu.connection_env(), root)
        requests = emu.dump()["requests"]
    counted = [r["at"] for r in requests if r["endpoint"] != "token"]
    ideal_jobs_per_min = 2 * 60 / processing
    result.update(
        name=name,
        processing_s=processing,
        poll_s=poll,
        calls=len(counted),
        token_calls=len(requests) - len(counted),
        max_calls_any_20s=max_in_window(counted, MARKETO_WINDOW),
        answers_606=sum(1 for r in requests if r["code"] == "606"),
        answers_615=sum(1 for r in requests if r["code"] == "615"),
        jobs_per_min=60 * jobs / result["wall_s"],
        slot_bound_jobs_per_min=ideal_jobs_per_min,
    )
    return result


def line(tree: str, r: dict[str, Any]) -> str:
    return (
        f"{tree:6s} {r['name']:16s} {r['jobs']} jobs x {r['workers']} workers, {r['processing_s']:g} s each,"
        f" poll {r['poll_s']:g} s:"
        f" most calls in 20 s {r['max_calls_any_20s']}, 606 {r['answers_606']}, 615 {r['answers_615']},"
        f" {r['calls']} calls (+{r['token_calls']} token) | {r['jobs_per_min']:.1f} jobs/min"
        f" (2 slots allow {r['slot_bound_jobs_per_min']:.0f}) in {r['wall_s']:.0f} s | events {r['events']}"
        f" | load {r['load']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=30, help="serial tiny jobs")
    parser.add_argument("--slot-jobs", type=int, default=8, help="jobs of the slot-bound pass")
    parser.add_argument("--workers", type=int, default=4, help="threads of the slot-bound pass")
    parser.add_argument("--processing", type=float, default=20.0, help="seconds per job, slot-bound pass")
    parser.add_argument("--poll", type=float, default=1.0, help="poll_interval of the tiny jobs (s)")
    parser.add_argument("--slot-poll", type=float, default=2.0, help="poll_interval of the slot-bound pass")
    add_tree_arguments(parser, HERE / "out" / "call_rate.json")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)), file=sys.__stdout__, flush=True)
        return
    trees = [("before", args.before)] if args.before else []
    runs: dict[str, list[dict[str, Any]]] = {}
    for tree, root in [*trees, ("after", None)]:
        runs[tree] = [
            measure("serial tiny jobs", root, args.jobs, 1, 0.2, args.poll),
            measure("slot-bound", root, args.slot_jobs, args.workers, args.processing, args.slot_poll),
        ]
        for result in runs[tree]:
            print(line(tree, result), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"runs": runs}, indent=1))


if __name__ == "__main__":
    main()
