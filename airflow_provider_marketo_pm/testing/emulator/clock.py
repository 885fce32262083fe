"""Emulated wall clock: real time plus an offset, so tests can jump days ahead without waiting."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class EmulatedClock:
    """Real time shifted by ``advance()``; token expiry, job pace, file retention and quota days read it."""

    def __init__(self, start: float | None = None) -> None:
        self._offset = 0.0 if start is None else start - time.time()
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, emulated."""
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError(f"advance(seconds) needs a number >= 0, got {seconds!r}")
        with self._lock:
            self._offset += float(seconds)


def iso_utc(epoch: float) -> str:
    """Marketo's timestamp format: ISO-8601 in UTC, whole seconds, trailing Z."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
