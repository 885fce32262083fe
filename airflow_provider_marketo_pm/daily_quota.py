"""When Marketo's daily quotas reset: 12:00 AM US Central, every day.

Marketo meters bulk export bytes (500 MB by default, shared by every bulk extract of the instance) and API
calls per day, and both counters reset at midnight in ``America/Chicago``. That is 06:00 UTC in winter
(CST) and 05:00 UTC in summer (CDT), so the rule is computed in Chicago's zone, never as a fixed UTC
hour. Midnight always exists in Chicago (the clocks change at 02:00), so the reset is never skipped or
doubled by a DST change.

Tasks that wait for the reset add a small random delay after it (``max_jitter``) so that many waiting
tasks do not all call Marketo in the same second. Seed the jitter with something stable, such as the task
instance's identity, to get the same delay each time the wait is computed (a retried or resumed task does
not move its own deadline).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pendulum

from airflow_provider_marketo_pm.exceptions import MARKETO_TIMEZONE, MarketoRequestError

DEFAULT_MAX_JITTER = dt.timedelta(minutes=5)
"""Upper bound of the random delay added after the reset, so that waiting tasks spread over 5 minutes."""

JitterSeed = int | str | bytes | None


def aware_instant(now: dt.datetime | None, *, name: str = "now") -> pendulum.DateTime:
    """``now`` as a pendulum instant (``None``: the current time); naive datetimes are refused.

    pendulum would read a naive datetime as UTC and Python as local time: either guess shifts the reset.
    """
    if now is None:
        return pendulum.now("UTC")
    if not isinstance(now, dt.datetime):
        raise MarketoRequestError(name, now, f"must be an aware datetime, not {type(now).__name__}")
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        raise MarketoRequestError(
            name,
            now,
            "a naive datetime is ambiguous: give it a timezone (e.g. pendulum.now('UTC')) "
            "so that the quota reset does not shift with the machine's local zone",
        )
    return pendulum.instance(now)


def _chicago_midnight(day: dt.date) -> pendulum.DateTime:
    return pendulum.datetime(day.year, day.month, day.day, tz=MARKETO_TIMEZONE)


def last_quota_reset(now: dt.datetime | None = None) -> pendulum.DateTime:
    """The most recent 12:00 AM US Central at or before ``now`` (default: the current time), in UTC.

    Bytes exported since this instant count against today's quota.
    """
    local = aware_instant(now).in_timezone(MARKETO_TIMEZONE)
    return _chicago_midnight(local.date()).in_timezone("UTC")


def next_quota_reset(now: dt.datetime | None = None) -> pendulum.DateTime:
    """The first 12:00 AM US Central strictly after ``now`` (default: the current time), in UTC."""
    local = aware_instant(now).in_timezone(MARKETO_TIMEZONE)
    return _chicago_midnight(local.date() + dt.timedelta(days=1)).in_timezone("UTC")


def validate_max_jitter(max_jitter: Any, *, field: str = "max_jitter") -> dt.timedelta:
    """The jitter bound, refused unless it is a timedelta of zero or more."""
    if not isinstance(max_jitter, dt.timedelta) or max_jitter < dt.timedelta(0):
        raise MarketoRequestError(field, max_jitter, "must be a timedelta of zero or more")
    return max_jitter


def reset_jitter(max_jitter: dt.timedelta = DEFAULT_MAX_JITTER, *, seed: JitterSeed = None) -> dt.timedelta:
    """A delay in ``[0, max_jitter]``, to the whole millisecond; the same delay for the same ``seed``.

    Without a seed each call draws a new delay.
    """
    bound_ms = int(validate_max_jitter(max_jitter).total_seconds() * 1000)
    draw = random.Random(seed) if seed is not None else random.Random()
    return dt.timedelta(milliseconds=draw.randint(0, bound_ms))


def quota_resume_time(
    now: dt.datetime | None = None,
    *,
    max_jitter: dt.timedelta = DEFAULT_MAX_JITTER,
    seed: JitterSeed = None,
) -> pendulum.DateTime:
    """When a task refused by a daily quota should call Marketo again: the next reset plus jitter (UTC)."""
    return next_quota_reset(now) + reset_jitter(max_jitter, seed=seed)


def time_until_quota_reset(
    now: dt.datetime | None = None,
    *,
    max_jitter: dt.timedelta = DEFAULT_MAX_JITTER,
    seed: JitterSeed = None,
) -> dt.timedelta:
    """How long to wait from ``now`` until :func:`quota_resume_time` (always more than zero)."""
    current = aware_instant(now)
    resume = quota_resume_time(current, max_jitter=max_jitter, seed=seed)
    return dt.timedelta(seconds=(resume - current).total_seconds())


__all__ = [
    "DEFAULT_MAX_JITTER",
    "aware_instant",
    "last_quota_reset",
    "next_quota_reset",
    "quota_resume_time",
    "reset_jitter",
    "time_until_quota_reset",
    "validate_max_jitter",
]
