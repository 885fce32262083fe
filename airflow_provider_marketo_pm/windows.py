"""Date windows and program batches that fit Marketo's program member export filter.

(Both are the filter's limits, split: the module is named for the windows, its best-known half.)

Marketo refuses an ``updatedAt`` filter longer than 31 days and a ``programIds`` filter with more than
10 programs, so a long backfill over many programs becomes windows x batches export jobs.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

import pendulum

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.validation import (
    MAX_PROGRAM_IDS,
    MAX_UPDATED_AT_DAYS,
    format_marketo_datetime,
    parse_instant,
    parse_program_id,
)

DateLike = dt.datetime | dt.date | str


def to_utc(value: DateLike, *, name: str = "value") -> pendulum.DateTime:
    """Read a bound as an aware UTC instant, by the package's one rule (:func:`validation.parse_instant`)."""
    return pendulum.instance(parse_instant(name, value))


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
    lower = to_utc(start, name="start").replace(microsecond=0)
    upper = to_utc(end, name="end")
    if upper.microsecond:
        upper = upper.replace(microsecond=0).add(seconds=1)
    if lower >= upper:
        raise MarketoRequestError(
            "start", format_marketo_datetime(lower), f"must be before end={format_marketo_datetime(upper)}"
        )
    step = dt.timedelta(days=max_days)
    windows: list[dict[str, str]] = []
    cursor = lower
    while cursor < upper:
        stop = min(cursor + step, upper)
        windows.append({"startAt": format_marketo_datetime(cursor), "endAt": format_marketo_datetime(stop)})
        cursor = stop
    return windows


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
