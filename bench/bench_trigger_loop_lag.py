"""Event-loop lag of 1,000-5,000 export triggers at Marketo's cadence, and the burst after a restart.

Issue 21 point 3. The emulator runs in its own process, call limits raised (as in
``bench_trigger_fanout.py``), its jobs left Created so every trigger polls "pending" until a common
``end_time``. The triggers run in this process's one event loop, created one per loop iteration as the
triggerer's ``create_triggers`` does. Two scenarios:

* ``steady``: triggers deferred over one poll interval (each ``first_poll_at`` = its defer time + one
  ``jittered_interval``, as the start task sets it), then polling for ``--seconds``;
* ``restart``: a triggerer restart re-creates every trigger at once; their ``first_poll_at`` has passed
  (the tasks deferred long ago), so without a spread of the first polls all of them poll together.

Measured: event-loop lag (a ticker sleeping 10 ms records its overshoot), p50/p99/max while the
triggers poll and over the first poll interval (the last second, when the bench's common ``end_time``
makes every trigger poll and end at once, is reported apart as the deadline herd); CPU ms per status
call (``time.process_time`` / the emulator's count of status calls); the mean interval between one
trigger's polls against ``poll_interval`` (the loop keeping up or not); how late the last event came after
``end_time``. Prints one line per pass with the 1-minute load average and appends it to ``--json``.

    .venv/bin/python bench/bench_trigger_loop_lag.py --triggers 1000 5000 --poll 60 --seconds 150
    .venv/bin/python bench/bench_trigger_loop_lag.py --triggers 500 --poll 5 --seconds 20 --profile 30

``--profile N`` runs the pass under cProfile and prints its N costliest functions (own time), and the
profile's CPU per poll (cProfile slows the code, so compare profiles with profiles only).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import itertools
import json
import os
import pstats
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from emulator_service import EmulatorService

HERE = Path(__file__).resolve().parent
TICK = 0.010
SCENARIOS = ["steady", "restart"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def run_triggers(export_ids: list[str], poll: float, seconds: float, scenario: str) -> dict[str, Any]:
    """Run one trigger per export id until their common deadline; measure the loop meanwhile."""
    from airflow_provider_marketo_pm.export_status import jittered_interval
    from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger

    lags: list[tuple[float, float]] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            lags.append((before, time.perf_counter() - before - TICK))

    ends: list[float] = []

    async def consume(trigger: MarketoProgramMemberExportTrigger) -> str:
        statuses = [event.payload["status"] async for event in trigger.run()]
        ends.append(time.time())
        return ",".join(statuses)

    tick_task = asyncio.create_task(ticker())
    await asyncio.sleep(0.5)  # lag baseline
    started = time.perf_counter()
    cpu_before = time.process_time()
    now = time.time()
    end_time = now + seconds
    tasks = []
    for index, export_id in enumerate(export_ids):
        if scenario == "restart":
            first_poll_at = now - 600.0  # deferred long ago: due at once
        else:  # deferred over the last interval, each waiting one jittered interval from its own defer
            first_poll_at = now - poll * index / len(export_ids) + jittered_interval(poll)
        trigger = MarketoProgramMemberExportTrigger(
            export_id=export_id, poll_interval=poll, end_time=end_time, first_poll_at=first_poll_at
        )
        tasks.append(asyncio.create_task(consume(trigger)))
        await asyncio.sleep(0)
    results = await asyncio.gather(*tasks)
    cpu = time.process_time() - cpu_before
    stop.set()
    await tick_task
    events: dict[str, int] = defaultdict(int)
    for key in results:
        events[key] += 1
    # The common end_time is the bench's own herd (every trigger's last wait is cut short to it, so all of
    # them poll and end in the same second): the lag while polling leaves its last second out.
    polling_until = started + seconds - 1.0
    polling = [lag for at, lag in lags if started <= at < polling_until]
    first = [lag for at, lag in lags if started <= at < min(started + poll, polling_until)]
    end = [lag for at, lag in lags if at >= polling_until]
    return {
        "cpu_s": cpu,
        "lag_p50_ms": 1000 * percentile(polling, 0.50),
        "lag_p99_ms": 1000 * percentile(polling, 0.99),
        "lag_max_ms": 1000 * max(polling, default=0.0),
        "first_interval_p99_ms": 1000 * percentile(first, 0.99),
        "first_interval_max_ms": 1000 * max(first, default=0.0),
        "deadline_herd_max_ms": 1000 * max(end, default=0.0),
        "last_event_late_s": max(ends) - end_time,
        "events": dict(events),
    }


def poll_intervals(calls: list[dict[str, Any]]) -> list[float]:
    """
    Each trigger's gaps between its status calls (emulator arrival times), but its last: the wait before the
    final poll is cut short at ``end_time``.
    """
    by_job: dict[str, list[float]] = defaultdict(list)
    for call in calls:
        if call["endpoint"] == "status" and call["at"] is not None:
            by_job[call["export_id"]].append(call["at"])
    return [b - a for times in by_job.values() for a, b in itertools.pairwise(times[:-1])]


def measure(
    emu: EmulatorService, export_ids: list[str], scenario: str, args: argparse.Namespace, report: Any
) -> dict[str, Any]:
    """One pass of ``scenario`` over ``export_ids``: run it, print its line (and profile), return its row."""
    from airflow_provider_marketo_pm.hooks.marketo import MarketoHook

    MarketoHook.clear_token_cache()
    gc.collect()
    before = len(emu.dump()["requests"])
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    result = asyncio.run(run_triggers(export_ids, args.poll, args.seconds, scenario))
    if profiler:
        profiler.disable()
    calls = emu.dump()["requests"][before:]
    polls = sum(1 for c in calls if c["endpoint"] == "status")
    gaps = poll_intervals(calls)
    result.update(
        label=args.label,
        scenario=scenario,
        triggers=len(export_ids),
        poll=args.poll,
        seconds=args.seconds,
        polls=polls,
        errors=sum(1 for c in calls if c["status"] != 200 or c["code"]),
        cpu_ms_per_poll=1000 * result["cpu_s"] / max(polls, 1),
        interval_mean_s=statistics.fmean(gaps) if gaps else None,
        load=os.getloadavg()[0],
        profiled=bool(profiler),
    )
    interval = f"{result['interval_mean_s']:.2f}" if gaps else "-"
    print(
        f"{args.label or '-'} {scenario:7s} {len(export_ids)} x {args.poll:g} s: lag p50"
        f" {result['lag_p50_ms']:.1f} p99 {result['lag_p99_ms']:.1f}"
        f" max {result['lag_max_ms']:.0f} ms"
        f" | first interval p99 {result['first_interval_p99_ms']:.1f} max"
        f" {result['first_interval_max_ms']:.0f} ms | deadline herd max"
        f" {result['deadline_herd_max_ms']:.0f} ms | {polls} polls, {result['errors']} errors,"
        f" CPU {result['cpu_ms_per_poll']:.2f} ms/poll | interval {interval} s"
        f" | last event {result['last_event_late_s']:+.1f} s | {result['events']}"
        f" | load {result['load']:.2f}",
        file=report,
        flush=True,
    )
    if profiler:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(args.profile)
        stats.sort_stats("cumulative").print_stats(args.profile)
        print(text.getvalue(), file=report, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, nargs="+", default=[1000], help="one pass set per count")
    parser.add_argument("--poll", type=float, default=60.0)
    parser.add_argument("--seconds", type=float, default=150.0, help="how long each pass polls")
    parser.add_argument("--scenarios", nargs="+", default=["steady", "restart"], choices=SCENARIOS)
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions")
    parser.add_argument("--label", default="", help="a name for the code measured (before / after)")
    parser.add_argument("--json", type=Path, default=HERE / "out" / "loop_lag.json")
    args = parser.parse_args()
    report = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the triggers' log lines, kept but not shown
    limits = {"rate_limit_calls": 10**9, "max_concurrent": 10**5, "members": 200}
    with EmulatorService(**limits) as emu:
        os.environ.update(emu.connection_env())
        from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
        from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS

        try:
            from airflow_provider_marketo_pm.hooks import call_pacing
        except ImportError:  # code from before the pacing: nothing to widen
            pass
        else:
            # One instance's share (50 calls per 20 s) lets 5,000 triggers poll once in 2,000 s: the bench
            # stands for many instances in one triggerer. Every call still takes its place in the window
            # (its cost is measured), but the window is 1 ms long, so no call waits.
            call_pacing.RATE_WINDOW = 0.001
            call_pacing.forget_windows()
        hook = MarketoHook()
        request = PROGRAM_MEMBERS.request(fields=["leadId"], filter={"programId": 1044})
        rows = []
        for triggers in args.triggers:
            export_ids = [str(hook.create_export(request)["exportId"]) for _ in range(triggers)]
            for scenario in args.scenarios:
                rows.append(measure(emu, export_ids, scenario, args, report))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(args.json.read_text()) if args.json.exists() else []
    args.json.write_text(json.dumps(previous + rows, indent=1))


if __name__ == "__main__":
    main()
