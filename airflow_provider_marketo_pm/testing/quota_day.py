"""Compress Marketo's quota day in tests: the start operator waits for the emulator's reset, not 12:00 AM.

Testing only. Production code keeps Marketo's rule (:class:`~airflow_provider_marketo_pm.operators.
bulk_export.QuotaDay`); inside ``with compressed_quota_day(emulator):`` a start that meets the daily quota
(or its budget) waits until the emulator's next quota reset (``quota_day_seconds``) plus a small jitter.
It works where the operator and its trigger run in the test's process (``dag.test()``, direct calls).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pendulum

from airflow_provider_marketo_pm.daily_quota import reset_jitter
from airflow_provider_marketo_pm.operators import bulk_export
from airflow_provider_marketo_pm.testing.emulator import MarketoEmulator


class EmulatorQuotaDay(bulk_export.QuotaDay):
    """The quota day of an emulator: its resets on its own (possibly shifted, compressed) clock."""

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

    def resume_at(self, seed: str | None) -> float:
        jitter = reset_jitter(pendulum.duration(seconds=self.max_jitter_seconds), seed=seed)
        # The emulator's reset, moved from its clock onto the wall clock the trigger sleeps on.
        return time.time() + (self.emulator.next_quota_reset() - self.emulator.now()) + jitter.total_seconds()


@contextmanager
def compressed_quota_day(emulator: MarketoEmulator, *, max_jitter_seconds: float = 0.2) -> Iterator[None]:
    """Make start operators wait for ``emulator``'s quota resets while the block runs (testing only)."""
    previous = bulk_export._quota_day
    bulk_export._quota_day = EmulatorQuotaDay(emulator, max_jitter_seconds=max_jitter_seconds)
    try:
        yield
    finally:
        bulk_export._quota_day = previous


__all__ = ["EmulatorQuotaDay", "compressed_quota_day"]
