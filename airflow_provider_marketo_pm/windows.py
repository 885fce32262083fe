"""Date windows and program batches that fit Marketo's program member export filter, and plans of them.

(Both are the filter's limits, split: the module is named for the windows, its best-known half.)

Marketo refuses an ``updatedAt`` filter longer than 31 days and a ``programIds`` filter with more than
10 programs, so a long backfill over many programs becomes windows x batches export jobs:
:func:`plan_updated_at` plans them for a range, :func:`plan_last_days` for the last N days of a run.
"""

from __future__ import annotations

import datetime as dt
import math
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pendulum

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.export_status import counted
from airflow_provider_marketo_pm.kinds.program_members import MAX_PROGRAM_IDS
from airflow_provider_marketo_pm.validation import (
    MAX_UPDATED_AT_DAYS,
    format_marketo_datetime,
    parse_instant,
    parse_program_id,
)

__all__ = [
    "DEFAULT_EXPORT_PATH",
    "DateLike",
    "ExportPlan",
    "batch_program_ids",
    "plan_last_days",
    "plan_updated_at",
    "split_updated_at",
    "to_utc",
    "whole_second_bounds",
    "window_exports",
]

DateLike = dt.datetime | dt.date | str

#: Where a planned job's file goes, relative to the destination: one file per window and batch, so a
#: re-run of the same window replaces its files.
DEFAULT_EXPORT_PATH = "updated_from={start_day}/updated_to={end_day}/batch={batch:02d}.csv"
#: The placeholders of a plan's path template (see :func:`plan_updated_at`).
PATH_PLACEHOLDERS = ("start_day", "end_day", "last_day", "batch", "job")


def to_utc(value: DateLike, *, name: str = "value") -> pendulum.DateTime:
    """Read a bound as an aware UTC instant, by the package's one rule (:func:`validation.parse_instant`).

    In pendulum's UTC zone: with the standard library's ``timezone.utc``, pendulum's day arithmetic
    (``subtract(days=1)``) would return a naive time."""
    return pendulum.instance(parse_instant(name, value)).in_timezone("UTC")


def split_updated_at(
    start: DateLike, end: DateLike, max_days: int = MAX_UPDATED_AT_DAYS
) -> list[dict[str, str]]:
    """Cover [start, end) with contiguous ``updatedAt`` windows of at most ``max_days`` days.

    Each ``endAt`` is the next window's ``startAt``, so nothing is lost whether Marketo treats the
    bounds as inclusive or exclusive (rows on a boundary may come twice: dedupe on leadId+programId).
    Windows are computed in UTC, so DST changes never make a window longer than ``max_days`` x 24 h.
    Sub-second bounds are widened to whole seconds (start floored, end ceiled): Marketo takes no
    milliseconds, and widening never drops a row.
    """
    if isinstance(max_days, bool) or not isinstance(max_days, int):
        raise MarketoRequestError("max_days", max_days, "must be an integer number of days")
    if not 1 <= max_days <= MAX_UPDATED_AT_DAYS:
        raise MarketoRequestError(
            "max_days", max_days, f"Marketo accepts updatedAt windows of 1 to {MAX_UPDATED_AT_DAYS} days"
        )
    lower, upper = whole_second_bounds(start, end)
    step = dt.timedelta(days=max_days)
    windows: list[dict[str, str]] = []
    cursor = lower
    while cursor < upper:
        stop = min(cursor + step, upper)
        windows.append({"startAt": format_marketo_datetime(cursor), "endAt": format_marketo_datetime(stop)})
        cursor = stop
    return windows


def whole_second_bounds(start: DateLike, end: DateLike) -> tuple[pendulum.DateTime, pendulum.DateTime]:
    """[start, end) widened to whole seconds (start floored, end ceiled), in UTC; start before end."""
    lower = to_utc(start, name="start").replace(microsecond=0)
    upper = to_utc(end, name="end")
    if upper.microsecond:
        upper = upper.replace(microsecond=0).add(seconds=1)
    if lower >= upper:
        raise MarketoRequestError(
            "start", format_marketo_datetime(lower), f"must be before end={format_marketo_datetime(upper)}"
        )
    return lower, upper


def batch_program_ids(program_ids: Iterable[int | str], size: int = MAX_PROGRAM_IDS) -> list[list[int]]:
    """Group program ids into ``programIds`` filters of at most ``size`` (Marketo's cap is 10).

    Duplicates are dropped (keeping first-seen order) so that no program is exported twice. Each id is
    read by :func:`validation.parse_program_id` (an int, or its canonical decimal string, as DAG params
    and Variables often arrive as text).
    """
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PROGRAM_IDS:
        raise MarketoRequestError("size", size, f"a programIds filter holds 1 to {MAX_PROGRAM_IDS} programs")
    if isinstance(program_ids, str | bytes):
        raise MarketoRequestError("program_ids", program_ids, "must be a list of integers, not a string")
    unique: dict[int, None] = {}
    for raw in program_ids:
        unique[parse_program_id("program id", raw)] = None
    if not unique:
        raise MarketoRequestError("program_ids", [], "give at least one program id")
    ids = list(unique)
    return [ids[i * size : (i + 1) * size] for i in range(math.ceil(len(ids) / size))]


@dataclass(frozen=True)
class ExportPlan:
    """
    The export jobs of one run: every ``updatedAt`` window x every batch of programs, window by window.

    Each of ``exports`` is a dict with ``export_filter`` (Marketo's create filter: ``programIds`` and
    ``updatedAt``) and ``path`` (the file's path, relative to the destination), the two arguments of
    ``ProgramMemberExportSettings.job``: ``[settings.job(**export) for export in plan.exports]`` are the
    task group's jobs. ``str(plan)`` reads "2 windows x 2 batches = 4 export jobs".
    """

    windows: list[dict[str, str]]
    batches: list[list[int]]
    exports: list[dict[str, Any]]

    def __str__(self) -> str:
        windows = counted(len(self.windows), "window")
        batches = counted(len(self.batches), "batch", "batches")
        return f"{windows} x {batches} = {counted(len(self.exports), 'export job')}"


def plan_updated_at(
    start: DateLike,
    end: DateLike,
    program_batches: Sequence[Sequence[int | str]],
    *,
    path: str = DEFAULT_EXPORT_PATH,
) -> ExportPlan:
    """
    Plan the export jobs of the members updated in [start, end): its 31-day windows x the batches.

    ``program_batches`` are lists of at most 10 program ids, as :func:`batch_program_ids` and
    ``ProgramMemberExportSettings.program_batches`` give them. ``path`` is a template of each file's path
    (relative to the destination) with ``{start_day}`` and ``{end_day}`` (the job's window: its first day
    and the day it ends, YYYY-MM-DD, UTC), ``{last_day}`` (the last day the whole plan covers),
    ``{batch}`` (the batch's number from 0) and ``{job}`` (the job's number in the plan from 0), with
    ``str.format`` specs such as ``{batch:02d}``. Every check (dates, batches, a path that two jobs would
    share) fails here, before any call to Marketo.
    """
    windows = split_updated_at(start, end)
    batches = checked_batches(program_batches)
    last_day = to_utc(windows[-1]["endAt"]).subtract(seconds=1).to_date_string()
    template = checked_path(path)
    exports: list[dict[str, Any]] = []
    paths: set[str] = set()
    for window in windows:
        exports += window_exports(
            window, batches, template, last_day=last_day, first_job=len(exports), paths=paths
        )
    return ExportPlan(windows=windows, batches=batches, exports=exports)


def window_exports(
    window: dict[str, str],
    batches: Sequence[Sequence[int]],
    path: str,
    *,
    last_day: str,
    first_job: int = 0,
    paths: set[str] | None = None,
) -> list[dict[str, Any]]:
    """
    The jobs of one window of a plan, one per batch: what :func:`plan_updated_at` plans window by window,
    and what one DAG run of a backfill split by window makes (``first_job``: the number in the whole plan
    of the window's first job, for ``{job}``; ``paths``: the files planned so far, to refuse a template that
    gives two jobs the same file). ``batches`` and ``path`` are checked already.
    """
    paths = set() if paths is None else paths
    days = {"start_day": window["startAt"][:10], "end_day": window["endAt"][:10], "last_day": last_day}
    exports: list[dict[str, Any]] = []
    for number, batch in enumerate(batches):
        try:
            file_path = path.format(**days, batch=number, job=first_job + number)
        except (ValueError, TypeError) as error:
            raise MarketoRequestError("path", path, f"is not a usable template: {error}") from None
        if file_path in paths:
            raise MarketoRequestError(
                "path", path, f"gives two jobs the same file {file_path!r}: add {{batch}} or {{job}}"
            )
        paths.add(file_path)
        exports.append(
            {"export_filter": {"programIds": list(batch), "updatedAt": dict(window)}, "path": file_path}
        )
    return exports


def plan_last_days(
    days: int,
    until: DateLike,
    program_batches: Sequence[Sequence[int | str]],
    *,
    path: str = DEFAULT_EXPORT_PATH,
) -> ExportPlan:
    """
    Plan the export jobs of the members updated in the last ``days`` days up to ``until`` (exclusive).

    The range is [until - days x 24 h, until) in UTC, then planned by :func:`plan_updated_at` (windows,
    batches, paths). In a DAG, pass the run's ``data_interval_end`` (``"{{ data_interval_end | ts }}"``):
    the logical date under a plain cron schedule, the end of the day a ``CronDataIntervalTimetable`` run
    covers; the example DAG ``marketo_program_members_daily`` does.
    """
    return plan_updated_at(*last_days(days, until), program_batches, path=path)


def last_days(days: int, until: DateLike) -> tuple[pendulum.DateTime, pendulum.DateTime]:
    """The range of the last ``days`` days up to ``until``: [until - days x 24 h, until) in UTC, checked."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise MarketoRequestError("days", days, "must be a whole number of days >= 1")
    upper = to_utc(until, name="until")
    return upper.subtract(days=days), upper


def checked_batches(program_batches: Sequence[Sequence[int | str]]) -> list[list[int]]:
    """
    Batches as Marketo takes them: 1 to 10 valid program ids each, no program in two batches. A rule every
    planner shares (``backfill_runs``, ``backfill_plan``): not in ``__all__``, since users pass batches in.
    """
    rule = f"must be lists of 1 to {MAX_PROGRAM_IDS} program ids, as batch_program_ids() returns"
    if isinstance(program_batches, str | bytes) or not program_batches:
        raise MarketoRequestError("program_batches", program_batches, rule)
    batches: list[list[int]] = []
    seen: set[int] = set()
    for raw in program_batches:
        if (
            isinstance(raw, str | bytes)
            or not isinstance(raw, Sequence)
            or not 1 <= len(raw) <= MAX_PROGRAM_IDS
        ):
            raise MarketoRequestError("program_batches", raw, rule)
        batch = [parse_program_id("program id", value) for value in raw]
        for program_id in batch:
            if program_id in seen:
                raise MarketoRequestError("program_batches", raw, f"program {program_id} would export twice")
            seen.add(program_id)
        batches.append(batch)
    return batches


def checked_path(
    path: str,
    placeholders: Sequence[str] = PATH_PLACEHOLDERS,
    *,
    key: str = "path",
    example: str = DEFAULT_EXPORT_PATH,
) -> str:
    """
    A path template whose placeholders are all known (the values come at format time); shared by every
    planner, as :func:`checked_batches` is.
    """
    if not isinstance(path, str) or not path.strip("/ "):
        raise MarketoRequestError(key, path, "must be a file path template, e.g. " + example)
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(path) if name is not None}
    except ValueError as error:
        raise MarketoRequestError(key, path, f"is not a usable template: {error}") from None
    unknown = sorted(names - set(placeholders))
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in placeholders)
        raise MarketoRequestError(key, path, f"has unknown placeholder {{{unknown[0]}}}; use {known}")
    return path
