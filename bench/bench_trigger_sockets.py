"""Sockets per trigger: 1,100 status triggers in one event loop under a 1,024 file-descriptor limit.

Section 7 of bench/RESULTS.md (issue 21, point 2). A common systemd default is ``LimitNOFILE=1024``;
Airflow's default ``[triggerer] capacity`` is 1,000. Each run is a child process that lowers its own
soft ``RLIMIT_NOFILE`` (``resource.setrlimit``), creates ``--triggers`` jobs (left Created, so every
trigger polls "pending" until its ``end_time`` and yields "timeout"), then runs one status trigger per
job in one event loop, all started together as after a triggerer restart. It counts every poll's
outcome (the hook's ``aget_export_status`` wrapped), failed polls by cause (EMFILE: "Too many open
files"), the trigger events (5 failed polls in a row fail the task: an "error" event), and samples the
open file descriptors (``/proc/self/fd``) and how many of them are sockets every 0.5 s.

The emulator runs in its own process with Marketo's limits raised (10**9 calls, 10**4 concurrent): this
bench measures sockets, not the rate limiter. It keeps an idle connection open ``--keep-alive`` seconds
(default 75, nginx's default; the emulator's own default is uvicorn's 5 s, which closes a trigger's idle
socket between two polls 5 s apart and so hides what a server that keeps it does). For the same reason
as the raised limits, the code under test gets the whole rate share in a shortened window
(``call_pacing.RATE_WINDOW``, when it has one): pacing is section 8.

    .venv/bin/python bench/bench_trigger_sockets.py [--triggers 1100] [--nofile 1024] [--poll 5]
        [--seconds 30] [--before DIR]

``--before DIR``: also run the same child with ``DIR`` (a tree holding the package as it was, e.g.
``git archive main | tar -x -C DIR``) first on ``PYTHONPATH``: the before and after figures side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from child_runs import add_tree_arguments, run_child
from emulator_service import EmulatorService

HERE = Path(__file__).resolve().parent
SAMPLE = 0.5


def child(args: argparse.Namespace) -> dict[str, Any]:
    """One run, in this process: the limit lowered, the jobs created, the triggers run and counted."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, hard))
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - each poll logs a line, as in a triggerer
    import airflow_provider_marketo_pm
    from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
    from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
    from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger

    try:
        from airflow_provider_marketo_pm.hooks import call_pacing
    except ImportError:  # the code before: no pacing
        paced = False
    else:
        call_pacing.RATE_WINDOW = 0.2  # the whole share every 0.2 s: out of this bench's way
        paced = True

    hook = MarketoHook()
    request = PROGRAM_MEMBERS.request(fields=["leadId"], filter={"programId": 1044})
    ids = [str(hook.create_export(request)["exportId"]) for _ in range(args.triggers)]
    MarketoHook.clear_token_cache()
    outcomes: Counter[str] = Counter()
    original = MarketoHook.aget_export_status

    async def counted(self: Any, kind: Any, export_id: str) -> dict[str, Any]:
        try:
            record = await original(self, kind, export_id)
        except Exception as err:
            text = f"{err} {err.__cause__}"
            outcomes["EMFILE" if "Too many open files" in text else type(err).__name__] += 1
            raise
        outcomes["ok"] += 1
        return record

    MarketoHook.aget_export_status = counted  # type: ignore[method-assign]

    async def run() -> dict[str, Any]:
        fds: list[int] = []
        sockets: list[int] = []
        stop = asyncio.Event()

        async def sampler() -> None:
            while not stop.is_set():
                try:
                    links = [_link(fd) for fd in os.listdir("/proc/self/fd")]
                except OSError:  # EMFILE: listing needs a descriptor too; every one is taken
                    links = ["socket:"] * args.nofile
                fds.append(len(links))
                sockets.append(sum(1 for link in links if link.startswith("socket:")))
                await asyncio.sleep(SAMPLE)

        async def consume(trigger: MarketoProgramMemberExportTrigger) -> str:
            return ",".join([event.payload["status"] async for event in trigger.run()])

        baseline = len(os.listdir("/proc/self/fd"))
        sample_task = asyncio.create_task(sampler())
        end_time = time.time() + args.seconds
        tasks = []
        for export_id in ids:
            trigger = MarketoProgramMemberExportTrigger(
                export_id=export_id, poll_interval=args.poll, end_time=end_time
            )
            tasks.append(asyncio.create_task(consume(trigger)))
            await asyncio.sleep(0)  # one per loop iteration, as the triggerer's create_triggers
        events = Counter(await asyncio.gather(*tasks))
        stop.set()
        await sample_task
        return {
            "fd_baseline": baseline,
            "fd_peak": max(fds),
            "fd_median": sorted(fds)[len(fds) // 2],
            "sockets_peak": max(sockets),
            "sockets_median": sorted(sockets)[len(sockets) // 2],
            "events": dict(events),
        }

    started = time.perf_counter()
    result = asyncio.run(run())
    polls = sum(outcomes.values())
    failed = polls - outcomes["ok"]
    return {
        "package": str(Path(airflow_provider_marketo_pm.__file__).parent.parent),
        "paced": paced,
        "triggers": args.triggers,
        "nofile": args.nofile,
        "poll": args.poll,
        "seconds": args.seconds,
        "wall_s": time.perf_counter() - started,
        "polls": polls,
        "failed_polls": failed,
        "lost_polls_pct": 100 * failed / max(polls, 1),
        "outcomes": dict(outcomes),
        "load": os.getloadavg()[0],
        **result,
    }


def _link(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:  # closed meanwhile
        return ""


def run(args: argparse.Namespace, emu: EmulatorService, root: Path | None) -> dict[str, Any]:
    return run_child(__file__, _passed(args), emu.connection_env(), root)


def _passed(args: argparse.Namespace) -> list[str]:
    return [
        *("--triggers", str(args.triggers), "--nofile", str(args.nofile)),
        *("--poll", str(args.poll), "--seconds", str(args.seconds)),
    ]


def line(name: str, r: dict[str, Any]) -> str:
    return (
        f"{name:6s} {r['triggers']} triggers, poll {r['poll']:g} s, nofile {r['nofile']}: "
        f"fds peak {r['fd_peak']} (baseline {r['fd_baseline']}), "
        f"sockets peak {r['sockets_peak']} median {r['sockets_median']} | "
        f"polls {r['polls']}, lost {r['failed_polls']} ({r['lost_polls_pct']:.1f} %) {r['outcomes']} | "
        f"events {r['events']} | {r['wall_s']:.0f} s | load {r['load']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=1100)
    parser.add_argument("--nofile", type=int, default=1024, help="soft RLIMIT_NOFILE of the run")
    parser.add_argument("--poll", type=float, default=5.0, help="poll_interval of every trigger (s)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the triggers poll")
    parser.add_argument("--keep-alive", type=int, default=75, help="the server's idle keep-alive (s)")
    add_tree_arguments(parser, HERE / "out" / "trigger_sockets.json")
    args = parser.parse_args()
    if args.child:
        result = child(args)
        print(json.dumps(result), file=sys.__stdout__, flush=True)
        return
    runs: dict[str, Any] = {}
    limits = {"rate_limit_calls": 10**9, "max_concurrent": 10**4}
    with EmulatorService(**limits, members=200, keep_alive_seconds=args.keep_alive) as emu:
        plan = [("before", args.before)] if args.before else []
        for name, root in [*plan, ("after", None)]:
            runs[name] = run(args, emu, root)
            print(line(name, runs[name]), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"keep_alive": args.keep_alive, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
