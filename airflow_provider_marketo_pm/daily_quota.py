"""When Marketo's daily quotas reset: 12:00 AM US Central, every day.

Marketo meters bulk export bytes (500 MB by default, shared by every bulk extract of the instance) and API
calls per day, and both counters reset at midnight in ``America/Chicago``. That is 06:00 UTC in winter
(CST) and 05:00 UTC in summer (CDT), so the rule is computed in Chicago's zone, never as a fixed UTC
hour. Midnight always exists in Chicago (the clocks change at 02:00), so the reset is never skipped or
doubled by a DST change.

Tasks that wait for the reset add a small random delay after it (``max_jitter``) so that many waiting
tasks do not all call Marketo in the same second. The jitter is seeded with the task instance's identity
(:func:`task_instance_seed`), so the delay is the same each time the wait is computed (a retried or resumed
task does not move its own deadline).

:class:`QuotaDay` puts the rule and the clock it reads behind one object: the start operators and
:class:`~airflow_provider_marketo_pm.retry_policy.MarketoRetryPolicy` both ask the quota day in use
(:func:`quota_day_in_use`) when a refused task calls again. Production always uses Marketo's; a test
compresses the day with :func:`use_quota_day` (through ``testing.quota_day.compressed_quota_day``). The
quota day is looked up when a task runs, never stored on an operator: nothing to serialise with the DAG, and
a task resumed after a deferral asks again.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

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


def task_instance_seed(context: Mapping[str, Any] | None) -> str | None:
    """The task instance's identity (``dag_id/task_id/run_id/map_index``), the seed of its jitter.

    ``None`` without a task instance in ``context``: the jitter is then drawn afresh.
    """
    ti = (context or {}).get("ti")
    if ti is None:
        return None
    parts = (getattr(ti, name, None) for name in ("dag_id", "task_id", "run_id", "map_index"))
    return "/".join(str(part) for part in parts)


class QuotaResume(NamedTuple):
    """When a task refused by a daily quota calls again, read from one clock reading (all in UTC)."""

    now: pendulum.DateTime
    resets_at: pendulum.DateTime
    resume_at: pendulum.DateTime

    @property
    def wait(self) -> dt.timedelta:
        """From ``now`` until ``resume_at``."""
        return dt.timedelta(seconds=(self.resume_at - self.now).total_seconds())


class QuotaDay:
    """
    Marketo's quota day as a collaborator: its clock, its resets, and when a refused task calls again.

    A stand-in for tests overrides :meth:`last_reset` and :meth:`resume` (see
    ``airflow_provider_marketo_pm.testing.quota_day``).
    """

    def now(self) -> pendulum.DateTime:
        """The current time, UTC."""
        return pendulum.now("UTC")

    def last_reset(self) -> pendulum.DateTime:
        """The start of the current quota day, on the clock of Marketo's ``finishedAt`` timestamps."""
        return last_quota_reset(self.now())

    def resume(
        self, context: Mapping[str, Any] | None = None, *, max_jitter: dt.timedelta = DEFAULT_MAX_JITTER
    ) -> QuotaResume:
        """The next reset, and just after it the moment this task instance (``context['ti']``) calls again."""
        now = self.now()
        resets_at = next_quota_reset(now)
        jitter = reset_jitter(max_jitter, seed=task_instance_seed(context))
        return QuotaResume(now, resets_at, resets_at + jitter)


_in_use = QuotaDay()  # Marketo's rule, unless use_quota_day() replaced it for a test


def quota_day_in_use() -> QuotaDay:
    """The quota day start operators and MarketoRetryPolicy ask: Marketo's, unless a test replaced it."""
    return _in_use


@contextmanager
def use_quota_day(day: QuotaDay) -> Iterator[QuotaDay]:
    """Make ``day`` the quota day in use while the block runs, in this process (testing only)."""
    global _in_use
    previous, _in_use = _in_use, day
    try:
        yield day
    finally:
        _in_use = previous


__all__ = [
    "DEFAULT_MAX_JITTER",
    "QuotaDay",
    "QuotaResume",
    "aware_instant",
    "last_quota_reset",
    "next_quota_reset",
    "quota_day_in_use",
    "quota_resume_time",
    "reset_jitter",
    "task_instance_seed",
    "time_until_quota_reset",
    "use_quota_day",
    "validate_max_jitter",
]
