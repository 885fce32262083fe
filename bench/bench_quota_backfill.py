"""A backfill bound by the daily export quota: years of windows x 60 programs, 3-4x the quota in data.

Marketo meters bulk exports per instance per day (500 MB by default), resetting at 12:00 AM US Central.
A backfill larger than that must span several quota days; the question is how close to the minimum it
gets, unattended. The minimum (the lower bound) is the total bytes divided by the daily quota: no
schedule can export more than one quota per day (the emulator, like Marketo, refuses a create or enqueue
once the day's bytes reach the quota, so a day can overshoot by the jobs already queued, no more).

The plan is exact: the backfill example DAG's request for every ``updatedAt`` window (31 days, from
``split_updated_at``) x batch of 10 programs (``batch_program_ids``), sized by rendering the emulator's
own seeded dataset with the emulator's own file writer, so the expected bytes are the bytes the
emulator will meter. The quota is then scaled so that the data is ``--data-multiple`` times it (3.5 by
default). A sample job created on a real emulator process checks the sizing: its ``fileSize`` must
equal the plan's.

The figures of a run, against their goals:

- quota days used (12:00 AM US Central to the next, from the first create to the last completion)
  against the lower bound;
- export jobs created per window x batch (goal: exactly 1 each);
- failed tasks (goal: 0);
- our jobs ever Queued or Processing at once in Marketo's queue (goal: at most the pool's slots).

``plan_backfill`` gives the plan, ``BackfillObservations`` holds what a run observed, and
``report(plan, observations)`` prints both.

The run (``run_backfill``; ``--plan-only`` skips it) is simulated, not scheduled: a real emulator on
loopback with the plan's quota, days compressed to ``--day-seconds`` (``quota_day_seconds``) and a fast
job pace, and the provider's real operators and triggers driven the way Airflow drives them. Each of
``--pool`` threads is one pool slot (``marketo_bulk_export``, deferred tasks included): it takes the next
window x batch and runs ``MarketoStartProgramMemberExportOperator(wait_for_completion=True)`` from
create to completion; every ``defer()`` runs its trigger to its one event and resumes a fresh operator
with it (as the triggerer and a new worker would), then the download operator streams the file into
``/dev/shm``, verified. The operators wait for the emulator's compressed resets through
``testing.quota_day.compressed_quota_day``; the call-rate limit is lifted (``rate_limit_calls``) because
it would pace the compressed days, not the quota.

    .venv/bin/python bench/bench_quota_backfill.py [--start 2022-01-01] [--end 2026-11-01] [--programs 60]
        [--data-multiple 3.5] [--fields default|all] [--day-seconds 20] [--pool 4] [--plan-only]
        [--no-check] [--json bench/out/quota_backfill.json]
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
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The operators log a few lines per task: thousands here. Set before Airflow is imported.
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from queue_figures import max_overlap  # noqa: E402

from airflow_provider_marketo_pm.daily_quota import last_quota_reset  # noqa: E402
from airflow_provider_marketo_pm.exceptions import MARKETO_TIMEZONE  # noqa: E402
from airflow_provider_marketo_pm.export_budget import BYTES_PER_MB  # noqa: E402
from airflow_provider_marketo_pm.task_groups.program_members import DEFAULT_PROGRAM_MEMBER_FIELDS  # noqa: E402
from airflow_provider_marketo_pm.testing.emulator.dataset import (  # noqa: E402
    FIRST_PROGRAM_ID,
    LEAD_FIELDS,
    PROGRAM_MEMBER_FIELDS,
    build_dataset,
)
from airflow_provider_marketo_pm.testing.emulator.export_file import render_lines  # noqa: E402
from airflow_provider_marketo_pm.testing.emulator.export_request import parse_export_request  # noqa: E402
from airflow_provider_marketo_pm.windows import batch_program_ids, split_updated_at  # noqa: E402

MARKETO_DAILY_QUOTA_BYTES = 500 * BYTES_PER_MB
DATASET_SEED = 42  # the emulator's default dataset
DATASET_MEMBERS = 4000
# The emulator's data follows the clock; pinned to the day of RESULTS.md's runs: the same rows any day.
DATASET_UNTIL = "2026-11-01"
FIELD_SETS: dict[str, tuple[str, ...]] = {
    "default": DEFAULT_PROGRAM_MEMBER_FIELDS,  # what the example DAGs export
    "all": tuple(name for name, *_ in PROGRAM_MEMBER_FIELDS if name != "programId") + LEAD_FIELDS,
}


def create_body(
    window: Mapping[str, str], program_ids: Sequence[int], fields: Sequence[str]
) -> dict[str, Any]:
    """The create request of one window x batch, as the backfill example DAG sends it."""
    return {
        "fields": list(fields),
        "format": "CSV",
        "filter": {"programIds": list(program_ids), "updatedAt": dict(window)},
    }


def cell_key(window_start: str, program_ids: Iterable[int]) -> str:
    """One window x batch, named the way a report reads it: ``2024-01-01T00:00:00Z programs 1001-1010``."""
    ids = sorted(program_ids)
    return f"{window_start} programs {ids[0]}-{ids[-1]}" if ids else f"{window_start} programs none"


@dataclass(frozen=True)
class BackfillPlan:
    """Every export job of the backfill, its expected size, and the quota it must fit in."""

    start: str
    end: str
    fields: tuple[str, ...]
    programs: int
    windows: int
    batches: int
    rows: int
    job_bytes: dict[str, int]  # cell_key -> the file's size, header included
    quota_bytes: int

    @property
    def jobs(self) -> int:
        return self.windows * self.batches

    @property
    def total_bytes(self) -> int:
        return sum(self.job_bytes.values())

    @property
    def bytes_per_row(self) -> float:
        return self.total_bytes / self.rows if self.rows else 0.0

    @property
    def data_multiple(self) -> float:
        """The data in daily quotas: the lower bound of quota days, as a ratio."""
        return self.total_bytes / self.quota_bytes

    @property
    def min_quota_days(self) -> int:
        """No run can use fewer quota days than this."""
        return math.ceil(self.data_multiple)

    @property
    def largest_job_bytes(self) -> int:
        return max(self.job_bytes.values(), default=0)


def plan_backfill(
    start: str,
    end: str,
    program_ids: Sequence[int],
    fields: Sequence[str],
    *,
    data_multiple: float,
    seed: int = DATASET_SEED,
    members: int = DATASET_MEMBERS,
) -> BackfillPlan:
    """Size every window x batch job on the emulator's dataset and scale the quota to ``data_multiple``."""
    windows = split_updated_at(start, end)
    batches = batch_program_ids(program_ids)
    dataset = build_dataset(seed, len(program_ids), members, until=dt.date.fromisoformat(DATASET_UNTIL))
    job_bytes: dict[str, int] = {}
    rows = 0
    for window in windows:
        for batch in batches:
            spec = parse_export_request(create_body(window, batch, fields), dataset, updated_at_filter=True)
            selected = spec.select(dataset)
            rows += len(selected)
            # The emulator's default layout: rows joined by "\n", none after the last one.
            lines = render_lines(spec, selected, header=True)
            job_bytes[cell_key(window["startAt"], batch)] = len("\n".join(lines).encode("utf-8"))
    total = sum(job_bytes.values())
    return BackfillPlan(
        start=start,
        end=end,
        fields=tuple(fields),
        programs=len(program_ids),
        windows=len(windows),
        batches=len(batches),
        rows=rows,
        job_bytes=job_bytes,
        quota_bytes=max(1, math.ceil(total / data_multiple)),
    )


@dataclass(frozen=True)
class BackfillObservations:
    """What one run of the backfill observed (from the emulator's records and Airflow's task states)."""

    first_create: dt.datetime  # emulated clock, aware
    last_completion: dt.datetime
    jobs_created: Mapping[str, int]  # cell_key -> export jobs created for it
    failed_tasks: int
    max_our_jobs_in_queue: int  # ours Queued or Processing at the same instant
    pool_slots: int
    files_verified: int
    extra: Mapping[str, Any] = field(default_factory=dict)  # anything else the run wants in its JSON
    quota_days: int | None = None  # counted by the run (compressed days); None: from the two instants


def quota_days_spanned(first: dt.datetime, last: dt.datetime) -> int:
    """How many quota days (12:00 AM US Central to the next) the span touches: 1 if no reset falls in it."""
    # Quota days are 23 to 25 hours long: count Chicago dates, not hours.
    first_day = last_quota_reset(first).in_timezone(MARKETO_TIMEZONE).date()
    last_day = last_quota_reset(last).in_timezone(MARKETO_TIMEZONE).date()
    if last_day < first_day:
        raise ValueError(f"the span ends ({last}) before it starts ({first})")
    return (last_day - first_day).days + 1


def jobs_per_cell(create_bodies: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """Count export jobs per window x batch from create request bodies (the emulator's request log)."""
    counts: Counter[str] = Counter()
    for body in create_bodies:
        flt = body.get("filter") or {}
        ids = flt.get("programIds") or [flt["programId"]]
        counts[cell_key((flt.get("updatedAt") or {}).get("startAt", "no window"), ids)] += 1
    return counts


def figures(plan: BackfillPlan, observed: BackfillObservations | None = None) -> dict[str, Any]:
    """The plan's arithmetic and, given a run, its figures against their goals (JSON-ready)."""
    result: dict[str, Any] = {
        "plan": {
            "range": f"{plan.start}..{plan.end}",
            "programs": plan.programs,
            "fields": len(plan.fields),
            "windows": plan.windows,
            "batches": plan.batches,
            "jobs": plan.jobs,
            "rows": plan.rows,
            "total_bytes": plan.total_bytes,
            "bytes_per_row": round(plan.bytes_per_row, 1),
            "largest_job_bytes": plan.largest_job_bytes,
            "quota_bytes": plan.quota_bytes,
            "lower_bound_days": round(plan.data_multiple, 3),
            "min_quota_days": plan.min_quota_days,
            "rows_per_day_at_500_mb": int(MARKETO_DAILY_QUOTA_BYTES / plan.bytes_per_row)
            if plan.rows
            else None,
        }
    }
    if observed is None:
        return result
    created = Counter(observed.jobs_created)
    planned = set(plan.job_bytes)
    days = observed.quota_days or quota_days_spanned(observed.first_create, observed.last_completion)
    result["run"] = {
        "quota_days_used": days,
        "days_vs_lower_bound": round(days / plan.data_multiple, 3),
        "cells_with_one_job": sum(1 for key in planned if created[key] == 1),
        "cells_without_a_job": sorted(key for key in planned if created[key] == 0),
        "cells_with_several_jobs": {key: n for key, n in sorted(created.items()) if n > 1},
        "jobs_outside_the_plan": sorted(key for key in created if key not in planned and created[key]),
        "jobs_created": sum(created.values()),
        "failed_tasks": observed.failed_tasks,
        "max_our_jobs_in_queue": observed.max_our_jobs_in_queue,
        "pool_slots": observed.pool_slots,
        "files_verified": observed.files_verified,
        **dict(observed.extra),
    }
    return result


def report(plan: BackfillPlan, observed: BackfillObservations | None = None) -> dict[str, Any]:
    """Print the figures (and each goal met or missed) and return them."""
    figs = figures(plan, observed)
    p = figs["plan"]
    print(f"Backfill {p['range']}: {p['windows']} windows x {p['batches']} batches = {p['jobs']} export jobs")
    print(
        f"  {p['rows']} rows, {p['total_bytes']} bytes ({p['bytes_per_row']} bytes/row, {p['fields']} fields)"
    )
    print(f"  quota {p['quota_bytes']} bytes/day -> data = {p['lower_bound_days']} x quota")
    print(f"  lower bound: {p['lower_bound_days']} quota days (at least {p['min_quota_days']} quota days)")
    print(f"  at Marketo's 500 MB/day: {p['rows_per_day_at_500_mb']} rows/day with these fields")
    run = figs.get("run")
    if run is None:
        print("  (no run observed: plan only)")
        return figs
    jobs_ok = run["cells_with_one_job"] == p["jobs"] and not run["jobs_outside_the_plan"]
    checks = [
        (
            "quota days used",
            f"{run['quota_days_used']} ({run['days_vs_lower_bound']}x the lower bound)",
            None,
        ),
        ("jobs per window x batch", f"{run['cells_with_one_job']}/{p['jobs']} cells with exactly 1", jobs_ok),
        ("failed tasks", str(run["failed_tasks"]), run["failed_tasks"] == 0),
        (
            "our jobs in Marketo's queue at once",
            f"{run['max_our_jobs_in_queue']} (pool {run['pool_slots']})",
            run["max_our_jobs_in_queue"] <= run["pool_slots"],
        ),
        ("files verified", f"{run['files_verified']}/{p['jobs']}", run["files_verified"] == p["jobs"]),
    ]
    for name, value, met in checks:
        verdict = "" if met is None else ("  [goal met]" if met else "  [GOAL MISSED]")
        print(f"  {name}: {value}{verdict}")
    for name in ("cells_without_a_job", "cells_with_several_jobs", "jobs_outside_the_plan"):
        if run[name]:
            print(f"  {name}: {run[name]}")
    return figs


def check_sizing(plan: BackfillPlan, program_ids: Sequence[int]) -> dict[str, Any]:
    """Create the plan's largest job on an emulator process; its fileSize must equal the planned size."""
    from emulator_service import EmulatorService

    key = max(plan.job_bytes, key=lambda k: plan.job_bytes[k])
    window = next(w for w in split_updated_at(plan.start, plan.end) if key.startswith(w["startAt"] + " "))
    batch = next(b for b in batch_program_ids(program_ids) if cell_key(window["startAt"], b) == key)
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    data_dir = Path(tempfile.mkdtemp(prefix="bench-quota-", dir=shm))
    try:
        with EmulatorService(
            data_dir=str(data_dir), seed=DATASET_SEED, members=DATASET_MEMBERS, data_until=DATASET_UNTIL
        ) as emu:
            os.environ.update(emu.connection_env())
            from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
            from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS

            hook = MarketoHook()
            body = create_body(window, batch, plan.fields)
            export_id = hook.create_export(
                PROGRAM_MEMBERS.request(fields=body["fields"], filter=body["filter"])
            )["exportId"]
            hook.enqueue_export(PROGRAM_MEMBERS, export_id)
            deadline = time.monotonic() + 60
            while (status := hook.get_export_status(PROGRAM_MEMBERS, export_id))["status"] != "Completed":
                if time.monotonic() > deadline or status["status"] in ("Failed", "Cancelled"):
                    raise RuntimeError(f"sample job {export_id} ended {status['status']}")
                time.sleep(0.1)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    served = int(status["fileSize"])
    return {
        "cell": key,
        "planned_bytes": plan.job_bytes[key],
        "served_bytes": served,
        "match": served == plan.job_bytes[key],
    }


def _first_event(trigger: Any) -> dict[str, Any]:
    """Run a trigger to its one event, as the triggerer does."""
    import asyncio

    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise RuntimeError(f"{type(trigger).__name__} yielded no event")

    return asyncio.run(first())


class _TaskInstance:
    """What the operators read from ``context["ti"]``: the identity (quota jitter seed) and xcom_push."""

    def __init__(self, map_index: int) -> None:
        self.dag_id, self.task_id, self.run_id = "marketo_program_members_backfill", "start_export", "bench"
        self.map_index = map_index
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def _drive(make_operator: Any, context: dict[str, Any], stats: Counter[str]) -> Any:
    """execute(); on each defer(), the trigger's event handed to a fresh operator's method (a new try)."""
    from airflow.providers.common.compat.sdk import TaskDeferred

    method, event = "execute", None
    while True:
        operator = make_operator()
        try:
            return operator.execute(context) if event is None else getattr(operator, method)(context, event)
        except TaskDeferred as deferred:
            if deferred.timeout is None:
                raise RuntimeError("a defer() without timeout=") from None
            stats[deferred.method_name] += 1
            method, event = deferred.method_name, _first_event(deferred.trigger)


def run_backfill(
    plan: BackfillPlan, program_ids: Sequence[int], args: argparse.Namespace
) -> BackfillObservations:
    """Run every window x batch through the real operators against an emulator with the plan's quota."""
    import threading

    from airflow_provider_marketo_pm.operators.program_members import (
        MarketoDownloadProgramMemberExportOperator,
        MarketoStartProgramMemberExportOperator,
    )
    from airflow_provider_marketo_pm.testing import MarketoEmulator
    from airflow_provider_marketo_pm.testing.quota_day import compressed_quota_day

    cells = [
        (window, batch)
        for window in split_updated_at(plan.start, plan.end)
        for batch in batch_program_ids(program_ids)
    ]
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    workdir = Path(tempfile.mkdtemp(prefix="bench-quota-run-", dir=shm))
    failures: list[str] = []
    verified = 0
    stats: Counter[str] = Counter()
    lock = threading.Lock()
    next_cell = iter(enumerate(cells))
    started = time.monotonic()
    options = {
        "seed": DATASET_SEED,
        "members": DATASET_MEMBERS,
        "data_until": DATASET_UNTIL,
        "programs": len(program_ids),
        "daily_quota_bytes": plan.quota_bytes,
        "quota_day_seconds": args.day_seconds,
        "processing_seconds": args.processing,
        "rate_limit_calls": 10**6,
        "data_dir": str(workdir / "emulator"),
    }
    try:
        with MarketoEmulator(**options) as emu, compressed_quota_day(emu, max_jitter_seconds=0.2):
            os.environ.update(emu.connection_env())

            def slot() -> None:
                nonlocal verified
                while True:
                    with lock:
                        item = next(next_cell, None)
                    if item is None:
                        return
                    index, (window, batch) = item
                    context: dict[str, Any] = {"ti": _TaskInstance(index)}
                    body = create_body(window, batch, plan.fields)
                    try:
                        start = functools.partial(
                            MarketoStartProgramMemberExportOperator,
                            task_id="start_export",
                            fields=body["fields"],
                            filter=body["filter"],
                            wait_for_completion=True,
                            poll_interval=args.poll,
                            deferrable=True,
                            quota_waits=args.quota_waits,
                        )
                        export_id = _drive(start, context, stats)
                        result = MarketoDownloadProgramMemberExportOperator(
                            task_id="download_export",
                            export_id=export_id,
                            destination=(workdir / "files" / f"{index:04d}.csv").as_uri(),
                            record=context["ti"].xcom.get("record"),
                        ).execute({})
                        served = emu.job(export_id)["fileChecksum"].removeprefix("sha256:")
                        with lock:
                            verified += result["sha256"] == served
                    except Exception as err:  # a failed task: counted, and the slot takes the next cell
                        with lock:
                            failures.append(f"{cell_key(window['startAt'], batch)}: {err}")

            threads = [threading.Thread(target=slot, name=f"slot-{n}") for n in range(args.pool)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            jobs = emu.instance.jobs
            ours = [job for job in jobs.recent(None) if not job.foreign]
            creates = [json.loads(c.body) for c in emu.calls("create") if c.marketo_code is None]
            refusals = Counter(c.endpoint for c in emu.requests if c.marketo_code == "1029")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    finished = [job.finished_at for job in ours if job.finished_at is not None]
    in_queue = [(job.queued_at, job.finished_at) for job in ours if job.queued_at and job.finished_at]
    first, last = min(job.created_at for job in ours), max(finished)
    days_used = Counter(jobs.quota_day(at) for at in finished)
    bytes_per_day: Counter[int] = Counter()
    for job in ours:
        if job.finished_at is not None:
            bytes_per_day[jobs.quota_day(job.finished_at)] += job.file_size or 0
    return BackfillObservations(
        first_create=dt.datetime.fromtimestamp(first, dt.UTC),
        last_completion=dt.datetime.fromtimestamp(last, dt.UTC),
        jobs_created=jobs_per_cell(creates),
        failed_tasks=len(failures),
        max_our_jobs_in_queue=max_overlap(in_queue),
        pool_slots=args.pool,
        files_verified=verified,
        quota_days=jobs.quota_day(last) - jobs.quota_day(first) + 1,
        extra={
            "day_seconds": args.day_seconds,
            "quota_refusals_1029": dict(refusals),
            "deferrals": dict(stats),
            "completions_per_quota_day": [days_used[d] for d in sorted(days_used)],
            # A day's bytes over the quota: above 1 by the jobs already queued when the quota ran out
            # (Marketo, like the emulator, refuses new jobs then but lets queued ones finish).
            "quota_used_per_day": [
                round(bytes_per_day[d] / plan.quota_bytes, 2) for d in sorted(bytes_per_day)
            ],
            "failures": failures[:5],
            "run_seconds": round(time.monotonic() - started, 1),
        },
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--start", default="2022-01-01", help="first updatedAt of the backfill (UTC)")
    parser.add_argument("--end", default="2026-11-01", help="end of the backfill, exclusive (UTC)")
    parser.add_argument("--programs", type=int, default=60, help="programs 1001.. to export")
    parser.add_argument("--data-multiple", type=float, default=3.5, help="the data in daily quotas (3-4)")
    parser.add_argument("--fields", choices=sorted(FIELD_SETS), default="default")
    parser.add_argument("--no-check", action="store_true", help="skip the sample job on a real emulator")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--plan-only", action="store_true", help="print the plan, run nothing")
    parser.add_argument("--day-seconds", type=float, default=20.0, help="length of a compressed quota day")
    parser.add_argument("--pool", type=int, default=4, help="pool slots (our jobs in flight at most)")
    parser.add_argument("--processing", type=float, default=0.02, help="emulated processing s per job")
    parser.add_argument("--poll", type=float, default=0.05, help="status poll interval, seconds")
    parser.add_argument("--quota-waits", type=int, default=3, help="the start operator's quota_waits")
    args = parser.parse_args(argv)

    program_ids = [FIRST_PROGRAM_ID + n for n in range(args.programs)]
    plan = plan_backfill(
        args.start, args.end, program_ids, FIELD_SETS[args.fields], data_multiple=args.data_multiple
    )
    observed = None if args.plan_only else run_backfill(plan, program_ids, args)
    figs = report(plan, observed)
    if observed is not None:
        run = figs["run"]
        print(
            f"  compressed day {args.day_seconds} s: completions per quota day "
            f"{run['completions_per_quota_day']}, quota used per day {run['quota_used_per_day']}, "
            f"1029 quota answers {run['quota_refusals_1029']}, deferrals {run['deferrals']}, "
            f"run {run['run_seconds']} s"
        )
        for failure in run["failures"]:
            print(f"  failed: {failure}")
    if not args.no_check:
        figs["sizing_check"] = check = check_sizing(plan, program_ids)
        verdict = "matches" if check["match"] else "DOES NOT MATCH"
        print(
            f"  sizing check: the emulator served {check['served_bytes']} bytes for {check['cell']}, "
            f"{verdict} the planned {check['planned_bytes']}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({**figs, "args": {k: str(v) for k, v in vars(args).items()}}, indent=2)
        )
    return 0 if figs.get("sizing_check", {}).get("match", True) else 1


if __name__ == "__main__":
    sys.exit(main())
