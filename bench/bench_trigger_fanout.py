"""Trigger fan-out: 500 export triggers polling the emulator in one event loop, as a triggerer runs them.

Section 2 of bench/RESULTS.md. The emulator runs in its own process with call limits raised far above
Marketo's
(100 calls / 20 s, 10 concurrent would only measure the limiter: here they are 10**9 and 10**4).
Its jobs are left Created, so every trigger keeps polling "pending" until its ``end_time`` and then
yields its one "timeout" event. All triggers start at once, as after a triggerer restart.

Measured in this process: event-loop lag (a ticker sleeping 10 ms records its overshoot), CPU seconds
(``time.process_time``), RSS growth per trigger, and, in a second pass with asyncio debug mode
(``slow_callback_duration = 0.05``), every "Executing ... took" warning: any would mean a call blocks
the loop. Prints one line per pass and writes bench/out/fanout.json.

    .venv/bin/python bench/bench_trigger_fanout.py [--triggers 500] [--poll 5] [--seconds 30] [--rounds 2]

With ``--rounds N`` the passes run N times in turn and the JSON's ``passes`` hold the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from emulator_service import EmulatorService

HERE = Path(__file__).resolve().parent
TICK = 0.010


class SlowCallbackLog(logging.Handler):
    """Collects asyncio's debug-mode "Executing <handle> took N seconds" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing"):
            self.messages.append(message)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def fan_out(export_ids: list[str], poll: float, seconds: float, stagger: bool) -> dict[str, Any]:
    """Run one trigger per export id until their deadline; measure the loop meanwhile.

    Tasks are created one per loop iteration, as the triggerer's ``create_triggers`` does. With
    ``stagger`` each trigger starts after a random delay within one poll interval (triggers that
    arrived over time); without it they all start together and stay in phase (after a restart).
    No export ids: the ticker alone, the machine's own noise floor.
    """
    from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger

    process = psutil.Process()
    lags: list[float] = []
    rss_peak = rss_before = process.memory_info().rss
    stop = asyncio.Event()
    rng = random.Random(7)

    async def ticker() -> None:
        nonlocal rss_peak
        last_rss = time.monotonic()
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            lags.append(time.perf_counter() - before - TICK)
            if time.monotonic() - last_rss > 0.5:
                rss_peak, last_rss = max(rss_peak, process.memory_info().rss), time.monotonic()

    async def consume(trigger: MarketoProgramMemberExportTrigger, delay: float) -> list[str]:
        await asyncio.sleep(delay)
        return [event.payload["status"] async for event in trigger.run()]

    tick_task = asyncio.create_task(ticker())
    await asyncio.sleep(0.5)  # lag baseline before the herd starts
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    end_time = time.time() + seconds
    tasks = []
    for export_id in export_ids:
        trigger = MarketoProgramMemberExportTrigger(
            export_id=export_id, poll_interval=poll, end_time=end_time
        )
        tasks.append(asyncio.create_task(consume(trigger, rng.uniform(0, poll) if stagger else 0.0)))
        await asyncio.sleep(0)
    results = await asyncio.gather(*tasks) if tasks else []
    if not tasks:
        await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
    stop.set()
    await tick_task
    events: dict[str, int] = {}
    for statuses in results:
        key = ",".join(statuses)
        events[key] = events.get(key, 0) + 1
    return {
        "triggers": len(export_ids),
        "stagger": stagger,
        "wall_s": wall,
        "cpu_s": cpu,
        "lag_samples": len(lags),
        "lag_p50_ms": 1000 * percentile(lags, 0.50),
        "lag_p99_ms": 1000 * percentile(lags, 0.99),
        "lag_max_ms": 1000 * max(lags),
        "rss_growth_mib": (rss_peak - rss_before) / 2**20,
        "rss_per_trigger_kib": (rss_peak - rss_before) / 1024 / max(len(export_ids), 1),
        "events": events,
    }


class GcPauses:
    """Times every garbage collection: a long gen-2 pass stalls the loop like a blocking call would."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)


def run_pass(
    export_ids: list[str], poll: float, seconds: float, *, stagger: bool, debug: bool, freeze: bool = False
) -> dict[str, Any]:
    """One pass in a fresh event loop; in debug mode also collect slow-callback warnings.

    ``freeze``: ``gc.freeze()`` first, so collections skip everything allocated so far (Airflow's
    import graph): shows how much of the lag is the collector walking objects that never die.
    """
    gc.collect()
    if freeze:
        gc.freeze()
    handler = SlowCallbackLog()
    asyncio_log = logging.getLogger("asyncio")
    asyncio_log.addHandler(handler)
    gc_pauses = GcPauses()
    gc.callbacks.append(gc_pauses)
    try:
        with asyncio.Runner(debug=debug) as runner:
            runner.get_loop().slow_callback_duration = 0.05
            result = runner.run(fan_out(export_ids, poll, seconds, stagger))
    finally:
        asyncio_log.removeHandler(handler)
        gc.callbacks.remove(gc_pauses)
        gc.unfreeze()
    result["gc_pause_max_ms"] = 1000 * max(gc_pauses.pauses, default=0.0)
    result["gc_pauses_over_50ms"] = sum(1 for p in gc_pauses.pauses if p > 0.05)
    result["debug"], result["gc_frozen"] = debug, freeze
    result["slow_callbacks"] = handler.messages
    return result


def median_pass(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One pass's figures over its rounds: medians of the numbers, every slow callback kept."""
    merged = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            merged[key] = statistics.median(run[key] for run in runs)
    merged["slow_callbacks"] = [m for run in runs for m in run["slow_callbacks"]]
    merged["rounds"] = len(runs)
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=500)
    parser.add_argument("--poll", type=float, default=5.0, help="poll_interval of every trigger (s)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each pass polls")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the passes, alternating them")
    parser.add_argument("--json", type=Path, default=HERE / "out" / "fanout.json")
    args = parser.parse_args()
    # Each poll logs a line (as in a triggerer, where it goes to the trigger's log): keep that cost,
    # but send it to /dev/null so the report stays readable. structlog binds the stream on first use.
    report = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    limits = {"rate_limit_calls": 10**9, "max_concurrent": 10**4, "members": 200}
    with EmulatorService(**limits) as emu:
        os.environ.update(emu.connection_env())
        from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
        from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS

        hook = MarketoHook()
        export_ids = [
            str(
                hook.create_export(PROGRAM_MEMBERS.request(fields=["leadId"], filter={"programId": 1044}))[
                    "exportId"
                ]
            )
            for _ in range(args.triggers)
        ]
        MarketoHook.clear_token_cache()  # the triggers start cold, as in a fresh triggerer
        print(
            f"{args.triggers} triggers, poll_interval {args.poll} s, {args.seconds} s per pass, "
            f"emulator pid {emu.pid} (limits raised: {limits}); load {os.getloadavg()}",
            file=report,
            flush=True,
        )
        passes = []
        plan = [
            ("noise floor (no triggers)", [], False, False, False),
            ("in phase (all start together)", export_ids, False, False, False),
            ("staggered over one poll", export_ids, True, False, False),
            ("in phase, gc.freeze()", export_ids, False, False, True),
            ("in phase, asyncio debug", export_ids, False, True, False),
            ("staggered, asyncio debug", export_ids, True, True, False),
            ("in phase, debug, gc.freeze()", export_ids, False, True, True),
        ]
        for round_no, (name, ids, stagger, debug, freeze) in enumerate(plan * args.rounds):
            before = len(emu.dump()["requests"])
            MarketoHook.clear_token_cache()
            result = run_pass(ids, args.poll, args.seconds, stagger=stagger, debug=debug, freeze=freeze)
            calls = emu.dump()["requests"][before:]
            result["name"] = name
            result["round"] = round_no // len(plan) + 1
            result["status_calls"] = sum(1 for c in calls if c["endpoint"] == "status")
            result["token_calls"] = sum(1 for c in calls if c["endpoint"] == "token")
            result["errors"] = sum(1 for c in calls if c["status"] != 200 or c["code"])
            result["cpu_ms_per_poll"] = 1000 * result["cpu_s"] / max(result["status_calls"], 1)
            result["load"] = os.getloadavg()
            took = [
                float(m.rsplit(" took ", 1)[1].split()[0]) for m in result["slow_callbacks"] if " took " in m
            ]
            result["slow_callback_max_s"] = max(took, default=0.0)
            passes.append(result)
            print(
                f"{name:31s} lag p50 {result['lag_p50_ms']:5.1f} ms  p99 {result['lag_p99_ms']:6.1f} ms"
                f"  max {result['lag_max_ms']:6.1f} ms"
                f" | CPU {result['cpu_s']:4.1f} s in {result['wall_s']:4.1f} s"
                f" ({result['cpu_ms_per_poll']:.2f} ms/poll) | {result['status_calls']} polls,"
                f" {result['token_calls']} token calls, {result['errors']} errors"
                f" | RSS/trigger {result['rss_per_trigger_kib']:.0f} KiB"
                f" | slow callbacks {len(result['slow_callbacks'])}"
                f" (max {result['slow_callback_max_s']:.3f} s)"
                f" | GC pause max {result['gc_pause_max_ms']:.0f} ms | load {result['load'][0]:.2f}",
                file=report,
                flush=True,
            )
            for message in result["slow_callbacks"][:3]:
                print(f"    {message[:160]} ... {message[-40:]}", file=report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "triggers": args.triggers,
        "poll": args.poll,
        "seconds": args.seconds,
        # RSS only grows: the first pass with triggers is the one that shows what they cost.
        "rss_per_trigger_kib_cold": next(p["rss_per_trigger_kib"] for p in passes if p["triggers"]),
        "passes": [median_pass([p for p in passes if p["name"] == name]) for name, *_ in plan],
        "all_passes": passes,
    }
    args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
