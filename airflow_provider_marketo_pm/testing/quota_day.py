"""Compress Marketo's quota day in tests: waits end at the emulator's reset, not at 12:00 AM US Central.

Testing only. Production code keeps Marketo's rule (:class:`~airflow_provider_marketo_pm.daily_quota.
QuotaDay`); inside ``with compressed_quota_day(emulator):`` a start that meets the daily quota (or its
budget), and :class:`~airflow_provider_marketo_pm.retry_policy.MarketoRetryPolicy` deciding a quota error's
retry, wait until the emulator's next quota reset (``quota_day_seconds``) plus a small jitter. It works
where the tasks run in the test's process (``dag.test()``, direct calls). No operator module is imported:
the helper replaces the quota day in use (:func:`~airflow_provider_marketo_pm.daily_quota.use_quota_day`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pendulum

from airflow_provider_marketo_pm.daily_quota import (
    DEFAULT_MAX_JITTER,
    QuotaDay,
    QuotaResume,
    reset_jitter,
    task_instance_seed,
    use_quota_day,
)
from airflow_provider_marketo_pm.testing.emulator import MarketoEmulator


class EmulatorQuotaDay(QuotaDay):
    """
    The quota day of an emulator: its resets on its own (possibly shifted, compressed) clock.

    Its jitter bound is its own (``max_jitter_seconds``), whatever the caller's: a 5-minute jitter would
    outlast a compressed day.
    """

    def __init__(self, emulator: MarketoEmulator, *, max_jitter_seconds: float = 0.2) -> None:
        self.emulator = emulator
        self.max_jitter_seconds = max_jitter_seconds

    def _day_seconds(self) -> float:
        length = self.emulator.instance.options.quota_day_seconds
        if length is None:
            raise ValueError("compressed_quota_day needs an emulator started with quota_day_seconds")
        return float(length)

    def last_reset(self) -> pendulum.DateTime:
        # Emulated time, like the finishedAt of the emulator's jobs.
        return pendulum.from_timestamp(self.emulator.next_quota_reset() - self._day_seconds())

    def resume(
        self, context: Mapping[str, Any] | None = None, *, max_jitter: dt.timedelta = DEFAULT_MAX_JITTER
    ) -> QuotaResume:
        # The emulator's reset, moved from its clock onto the wall clock the tasks and triggers wait on.
        now = self.now()
        resets_at = now.add(seconds=self.emulator.next_quota_reset() - self.emulator.now())
        jitter = reset_jitter(dt.timedelta(seconds=self.max_jitter_seconds), seed=task_instance_seed(context))
        return QuotaResume(now, resets_at, resets_at + jitter)


@contextmanager
def compressed_quota_day(emulator: MarketoEmulator, *, max_jitter_seconds: float = 0.2) -> Iterator[None]:
    """Make quota waits end at ``emulator``'s quota resets while the block runs (testing only)."""
    with use_quota_day(EmulatorQuotaDay(emulator, max_jitter_seconds=max_jitter_seconds)):
        yield


__all__ = ["EmulatorQuotaDay", "compressed_quota_day"]
