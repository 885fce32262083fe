"""Marketo's per-instance call limits: 100 calls per 20 s (606) and 10 concurrent calls (615)."""

from __future__ import annotations

import threading
from collections import deque

from airflow_provider_marketo_pm.testing.emulator.clock import EmulatedClock


class CallLimits:
    """Sliding-window rate limit on the emulated clock (``advance()`` clears it) and a concurrency gauge."""

    def __init__(self, calls: int, window: float, max_concurrent: int, clock: EmulatedClock) -> None:
        self._calls = calls
        self._window = window
        self._max_concurrent = max_concurrent
        self._clock = clock
        self._recent: deque[float] = deque()
        self._in_flight = 0
        self.peak_in_flight = 0
        """The most counted calls ever in flight at once (a client's concurrency bound, seen server-side)."""
        self._lock = threading.Lock()

    def enter(self) -> str | None:
        """Admit a call that starts now (then ``leave()`` when it ends), or return 615 or 606.

        A refused call is not executed and counts against neither limit, so a client that backs off
        and retries gets through once the window has room again.
        """
        with self._lock:
            now = self._clock.now()
            while self._recent and self._recent[0] <= now - self._window:
                self._recent.popleft()
            if self._in_flight >= self._max_concurrent:
                return "615"
            if len(self._recent) >= self._calls:
                return "606"
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            self._recent.append(now)
            return None

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def messages(self, code: str) -> str:
        if code == "606":
            return f"Max rate limit '{self._calls}' exceeded with in '{int(self._window)}' secs"
        return "Concurrent access limit reached"
