"""A backfill of several kinds on one quota: program members, leads and two activity types, same range.

Marketo meters one daily export quota and runs one bulk queue for every kind, so a backfill of program
members, leads and activities is one plan (``backfill_plan.plan_backfill``, newest windows first by
default) paced by one pool. The question is the quota benchmark's (``bench_quota_backfill.py``), asked of
the mixed plan: how close to the minimum number of quota days it gets, unattended, when the kinds share
the quota and the queue.

The plan is exact: every job of the plan (window x program batch, one lead job, one job per activity type)
is sized by rendering the emulator's own seeded dataset with the emulator's own parser and file writer, so
the expected bytes are the bytes the emulator will meter; the quota is then scaled so that the data is
``--data-multiple`` times it. The run checks each served ``fileSize`` against its planned size.

The figures, against their goals:

- quota days used (compressed days, first create to last completion) against the lower bound, total MB
  / quota;
- export jobs created per window x batch x kind (goal: exactly 1 each);
- failed tasks (goal: 0);
- our jobs Queued or Processing at once in Marketo's queue, all kinds together (goal: at most the pool);
- which windows each quota day finished (newest first: recent data lands on the first day).

The run is simulated as in ``bench_quota_backfill.py``: a real emulator on loopback with the plan's quota,
days compressed to ``--day-seconds``, and the provider's real start operators of each kind (with
``wait_for_completion=True``) and downloads, driven the way Airflow drives them; each of ``--pool`` threads
is one slot of the one pool (``marketo_bulk_export``) and takes the plan's next job, whatever its kind.

    .venv/bin/python bench/bench_mixed_backfill.py [--start 2023-01-01] [--end 2026-11-01] [--programs 40]
        [--activity-types 1 104] [--order newest_first|by_kind] [--data-multiple 3.5] [--day-seconds 15]
        [--pool 4] [--plan-only] [--json bench/out/mixed_backfill.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_quota_backfill import (  # noqa: E402
    DATASET_MEMBERS,
    DATASET_SEED,
    DATASET_UNTIL,
    _drive,
    _TaskInstance,
)
from queue_figures import max_overlap  # noqa: E402

from airflow_provider_marketo_pm import backfill_plan  # noqa: E402
from airflow_provider_marketo_pm.export_budget import BYTES_PER_MB  # noqa: E402
from airflow_provider_marketo_pm.task_groups.program_members import DEFAULT_PROGRAM_MEMBER_FIELDS  # noqa: E402
from airflow_provider_marketo_pm.testing.emulator.dataset import FIRST_PROGRAM_ID, build_dataset  # noqa: E402
from airflow_provider_marketo_pm.testing.emulator.export_file import render_lines  # noqa: E402
from airflow_provider_marketo_pm.testing.emulator.kinds import KINDS as EMULATED_KINDS  # noqa: E402
from airflow_provider_marketo_pm.testing.emulator.kinds import Records  # noqa: E402
from airflow_provider_marketo_pm.testing.emulator.options import EmulatorOptions  # noqa: E402
from airflow_provider_marketo_pm.windows import batch_program_ids  # noqa: E402

DATASET_PROGRAMS = (
    60  # the emulator's dataset (the quota benchmark's); the backfill exports --programs of them
)
LEAD_FIELDS = ("id", "email", "firstName", "lastName", "company", "updatedAt")
VISIT_WEBPAGE, CHANGE_STATUS_IN_PROGRESSION = 1, 104


def plan_kinds(program_ids: Sequence[int], activity_types: Sequence[int]) -> dict[str, dict[str, Any]]:
    """The kinds of the backfill and their options, in the order they run within a window."""
    return {
        "program_members": {
            "fields": list(DEFAULT_PROGRAM_MEMBER_FIELDS),
            "program_batches": batch_program_ids(program_ids),
        },
        "leads": {"fields": list(LEAD_FIELDS), "date_filter": "updatedAt"},
        "activities": {"activity_type_ids": list(activity_types)},
    }


def cell_key(kind: str, body: Mapping[str, Any]) -> str:
    """One window x batch x kind, read off a create body: ``leads 2026-10-04T00:00:00Z``,
    ``program_members 2026-10-04T00:00:00Z programs 1001-1010``, ``activities ... type 104``."""
    flt = body.get("filter") or {}
    window = (flt.get("updatedAt") or flt.get("createdAt") or {}).get("startAt", "no window")
    if kind == "program_members":
        ids = sorted(flt.get("programIds") or [flt.get("programId")])
        return f"{kind} {window} programs {ids[0]}-{ids[-1]}"
    if kind == "activities":
        return f"{kind} {window} type {','.join(map(str, flt.get('activityTypeIds') or ['all']))}"
    return f"{kind} {window}"


def job_body(job: backfill_plan.BackfillJob) -> dict[str, Any]:
    """The create body of a planned job, as its kind's builder sends it."""
    return backfill_plan.KINDS[job.kind].build(**job.arguments)


def size_jobs(plan: backfill_plan.BackfillPlan) -> dict[str, int]:
    """Each job's file size (header included), rendered from the emulator's dataset by its own writer."""
    until = dt.date.fromisoformat(DATASET_UNTIL)
    dataset = build_dataset(DATASET_SEED, DATASET_PROGRAMS, DATASET_MEMBERS, until=until)
    records, options = Records(dataset), EmulatorOptions()
    parsers = {kind.name: kind for kind in EMULATED_KINDS}
    sizes: dict[str, int] = {}
    for job in plan.jobs:
        body = job_body(job)
        spec = parsers[job.kind].parse(body, records, options, job.api_name)
        lines = render_lines(spec, spec.rows(), header=True)  # joined by "\n", none after the last row
        sizes[cell_key(job.kind, body)] = len("\n".join(lines).encode("utf-8"))
    return sizes


def start_operator(job: backfill_plan.BackfillJob) -> Any:
    """The kind's start operator class, given the job's request arguments."""
    from airflow_provider_marketo_pm.operators.activities import MarketoStartActivityExportOperator
    from airflow_provider_marketo_pm.operators.leads import MarketoStartLeadExportOperator
    from airflow_provider_marketo_pm.operators.program_members import MarketoStartProgramMemberExportOperator

    classes = {
        "program_members": MarketoStartProgramMemberExportOperator,
        "leads": MarketoStartLeadExportOperator,
        "activities": MarketoStartActivityExportOperator,
    }
    return functools.partial(classes[job.kind], **job.arguments)


def download_operator(kind: str) -> Any:
    from airflow_provider_marketo_pm.operators.activities import MarketoDownloadActivityExportOperator
    from airflow_provider_marketo_pm.operators.leads import MarketoDownloadLeadExportOperator
    from airflow_provider_marketo_pm.operators.program_members import (
        MarketoDownloadProgramMemberExportOperator,
    )

    return {
        "program_members": MarketoDownloadProgramMemberExportOperator,
        "leads": MarketoDownloadLeadExportOperator,
        "activities": MarketoDownloadActivityExportOperator,
    }[kind]


def run(
    plan: backfill_plan.BackfillPlan, sizes: Mapping[str, int], quota_bytes: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Run every job of the plan through the real operators, ``args.pool`` at a time, on one quota."""
    from airflow_provider_marketo_pm.testing import MarketoEmulator
    from airflow_provider_marketo_pm.testing.quota_day import compressed_quota_day

    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    workdir = Path(tempfile.mkdtemp(prefix="bench-mixed-run-", dir=shm))
    failures: list[str] = []
    verified = 0
    done: dict[str, tuple[str, str]] = {}  # exportId -> (the job's cell, its window's first day)
    stats: Counter[str] = Counter()
    lock = threading.Lock()
    started = time.monotonic()
    dataset = {"seed": DATASET_SEED, "members": DATASET_MEMBERS, "data_until": DATASET_UNTIL}
    pace = {"processing_seconds": args.processing, "rate_limit_calls": 10**6}  # the quota paces, not calls
    quota = {"daily_quota_bytes": quota_bytes, "quota_day_seconds": args.day_seconds}
    try:
        with (
            MarketoEmulator(
                programs=DATASET_PROGRAMS, data_dir=str(workdir / "emulator"), **dataset, **pace, **quota
            ) as emu,
            compressed_quota_day(emu, max_jitter_seconds=0.2),
        ):
            os.environ.update(emu.connection_env())

            def one_job(index: int, job: backfill_plan.BackfillJob) -> None:
                """One slot's task: the kind's start (create to completion), then its download."""
                nonlocal verified
                context: dict[str, Any] = {"ti": _TaskInstance(index)}
                try:
                    start = functools.partial(
                        start_operator(job),
                        task_id="start_export",
                        wait_for_completion=True,
                        poll_interval=args.poll,
                        deferrable=True,
                        quota_waits=args.quota_waits,
                    )
                    export_id = _drive(start, context, stats)
                    result = download_operator(job.kind)(
                        task_id="download_export",
                        export_id=export_id,
                        destination=(workdir / "files" / job.path).as_uri(),
                        record=context["ti"].xcom.get("record"),
                    ).execute({})
                    served = emu.job(export_id)
                    with lock:
                        verified += result["sha256"] == served["fileChecksum"].removeprefix("sha256:")
                        done[export_id] = (cell_key(job.kind, job_body(job)), job.window["startAt"][:10])
                except Exception as err:  # a failed task: counted, and its slot takes the next job
                    with lock:
                        failures.append(f"{job.kind} {job.window['startAt']}: {err}")

            # The pool: its slots take the plan's jobs in order, whatever their kind.
            with ThreadPoolExecutor(max_workers=args.pool, thread_name_prefix="slot") as pool:
                list(pool.map(one_job, range(len(plan.jobs)), plan.jobs))
            board = emu.instance.jobs
            ours = [job for job in board.recent(None) if not job.foreign]
            created = Counter(
                cell_key(call.kind or "", json.loads(call.body))
                for call in emu.calls("create")
                if call.marketo_code is None
            )
            refusals = Counter(c.endpoint for c in emu.requests if c.marketo_code == "1029")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    finished = [job for job in ours if job.finished_at is not None]
    in_queue = [(job.queued_at, job.finished_at) for job in ours if job.queued_at and job.finished_at]
    first = min(job.created_at for job in ours)
    last = max(job.finished_at for job in finished)
    windows_per_day: dict[int, list[str]] = defaultdict(list)
    kinds_per_day: dict[int, Counter[str]] = defaultdict(Counter)
    bytes_per_day: Counter[int] = Counter()
    as_planned = 0
    for job in finished:
        day = board.quota_day(job.finished_at) - board.quota_day(first) + 1
        bytes_per_day[day] += job.file_size or 0
        if job.export_id in done:
            key, window_day = done[job.export_id]
            windows_per_day[day].append(window_day)
            kinds_per_day[day][key.split()[0]] += 1
            as_planned += sizes.get(key) == job.file_size
    planned = set(sizes)
    return {
        "quota_days_used": board.quota_day(last) - board.quota_day(first) + 1,
        "cells_with_one_job": sum(1 for key in planned if created[key] == 1),
        "cells_without_a_job": sorted(key for key in planned if created[key] == 0),
        "cells_with_several_jobs": {key: n for key, n in sorted(created.items()) if n > 1},
        "jobs_outside_the_plan": sorted(key for key in created if key not in planned),
        "jobs_created": sum(created.values()),
        "sizes_as_planned": as_planned,
        # Which windows each quota day finished: newest first puts the recent ones on day 1.
        "windows_per_day": [
            f"{min(windows_per_day[d])}..{max(windows_per_day[d])}" for d in sorted(windows_per_day)
        ],
        "jobs_per_kind_per_day": [dict(kinds_per_day[d]) for d in sorted(kinds_per_day)],
        "failed_tasks": len(failures),
        "failures": failures[:5],
        "max_our_jobs_in_queue": max_overlap(in_queue),
        "pool_slots": args.pool,
        "files_verified": verified,
        "quota_used_per_day": [round(bytes_per_day[d] / quota_bytes, 2) for d in sorted(bytes_per_day)],
        "quota_refusals_1029": dict(refusals),
        "deferrals": dict(stats),
        "run_seconds": round(time.monotonic() - started, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--start", default="2023-01-01", help="first day of the backfill (UTC)")
    parser.add_argument("--end", default="2026-11-01", help="end of the backfill, exclusive (UTC)")
    parser.add_argument("--programs", type=int, default=40, help="programs 1001.. to export, at most 60")
    parser.add_argument(
        "--activity-types", type=int, nargs="+", default=[VISIT_WEBPAGE, CHANGE_STATUS_IN_PROGRESSION]
    )
    parser.add_argument("--order", choices=backfill_plan.ORDERS, default="newest_first")
    parser.add_argument("--data-multiple", type=float, default=3.5, help="the data in daily quotas")
    parser.add_argument("--day-seconds", type=float, default=15.0, help="length of a compressed quota day")
    parser.add_argument("--pool", type=int, default=4, help="pool slots: our jobs in flight at most")
    parser.add_argument("--processing", type=float, default=0.02, help="emulated processing s per job")
    parser.add_argument("--poll", type=float, default=0.05, help="status poll interval, seconds")
    parser.add_argument("--quota-waits", type=int, default=5, help="the start operators' quota_waits")
    parser.add_argument("--plan-only", action="store_true", help="print the plan, run nothing")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    program_ids = [FIRST_PROGRAM_ID + n for n in range(args.programs)]
    plan = backfill_plan.plan_backfill(
        args.start, args.end, plan_kinds(program_ids, args.activity_types), order=args.order
    )
    sizes = size_jobs(plan)
    total = sum(sizes.values())
    quota_bytes = max(1, math.ceil(total / args.data_multiple))
    lower_bound = total / quota_bytes
    per_kind = Counter[str]()
    for key, size in sizes.items():
        per_kind[key.split()[0]] += size
    load = os.getloadavg()[0]
    print(f"Mixed backfill {args.start}..{args.end}: {plan}")
    print(
        f"  {total / BYTES_PER_MB:.1f} MB in all ("
        + ", ".join(f"{kind} {size / BYTES_PER_MB:.1f} MB" for kind, size in per_kind.items())
        + f"); quota {quota_bytes / BYTES_PER_MB:.2f} MB/day -> lower bound {lower_bound:.2f} quota days "
        f"(at least {math.ceil(lower_bound)})  [load {load:.2f}]"
    )
    figs: dict[str, Any] = {
        "plan": {
            "range": f"{args.start}..{args.end}",
            "described": str(plan),
            "order": args.order,
            "windows": len(plan.windows),
            "per_window": plan.per_window,
            "jobs": len(plan.jobs),
            "total_bytes": total,
            "bytes_per_kind": dict(per_kind),
            "quota_bytes": quota_bytes,
            "lower_bound_days": round(lower_bound, 3),
        },
        "load_start": load,
    }
    if not args.plan_only:
        result = figs["run"] = run(plan, sizes, quota_bytes, args)
        jobs = len(plan.jobs)
        one_each = result["cells_with_one_job"] == jobs and not result["jobs_outside_the_plan"]
        load = figs["load_end"] = os.getloadavg()[0]
        checks = [
            (
                "quota days used",
                f"{result['quota_days_used']} vs lower bound {lower_bound:.2f} "
                f"({result['quota_days_used'] / lower_bound:.2f} x)",
                result["quota_days_used"] <= math.ceil(lower_bound) + 1,
            ),
            (
                "jobs per window x batch x kind",
                f"{result['cells_with_one_job']}/{jobs} with exactly 1 ({result['jobs_created']} created)",
                one_each,
            ),
            ("failed tasks", str(result["failed_tasks"]), result["failed_tasks"] == 0),
            (
                "our jobs of every kind in Marketo's queue at once",
                f"{result['max_our_jobs_in_queue']} (pool {args.pool})",
                result["max_our_jobs_in_queue"] <= args.pool,
            ),
            ("files verified", f"{result['files_verified']}/{jobs}", result["files_verified"] == jobs),
            ("sizes as planned", f"{result['sizes_as_planned']}/{jobs}", result["sizes_as_planned"] == jobs),
        ]
        for name, value, met in checks:
            print(f"  {name}: {value}  [{'goal met' if met else 'GOAL MISSED'}]  [load {load:.2f}]")
        print(f"  windows finished per quota day: {result['windows_per_day']}")
        print(f"  jobs of each kind finished per quota day: {result['jobs_per_kind_per_day']}")
        print(
            f"  quota used per day {result['quota_used_per_day']}, 1029 answers "
            f"{result['quota_refusals_1029']}, deferrals {result['deferrals']}, run {result['run_seconds']} s"
        )
        for failure in result["failures"]:
            print(f"  failed: {failure}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({**figs, "args": {k: str(v) for k, v in vars(args).items()}}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
