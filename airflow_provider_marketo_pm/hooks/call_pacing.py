"""This process's share of Marketo's call rate: at most ``calls_per_20s`` calls to an instance in any 20 s.

Marketo answers 606 past 100 calls per 20 s per instance, a limit every integration of the instance shares;
retrying 606 only spends the limit again. So each call (token calls aside: Marketo does not count them,
and a call waiting for a token must never wait behind itself) first takes a place in a sliding window of
:data:`RATE_WINDOW` seconds kept per instance (its base URL) for the whole process: the worker's sync hook
(threads) and the triggerer's coroutines (any event loop) draw from the same window.

A place is held from the moment the call is admitted until :data:`RATE_WINDOW` seconds after it ended:
Marketo counts a call when it arrives, somewhere between the two, so however long the call waited for a
socket or travelled, no 20 s of arrivals hold more calls than the share. A call that finds the window full
waits for the oldest place to free (one waiter per thread pool or event loop polls the window; the others
queue behind it, first come first served) instead of drawing a 606. A 606 that comes anyway (another
integration spent the instance's limit) is retried by the retry policy as before.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

RATE_WINDOW = 20.0
"""Marketo's window, seconds. Read when an instance's window is made: tests shorten it, then
:func:`forget_windows`."""
BUSY_WAIT = 0.05
"""Seconds between looks at a window whose every place is held by a call still running."""


class CallWindow:
    """The sliding window of one instance: calls running, and when the last ones ended; thread-safe."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._ended: deque[float] = deque()
        self._running = 0
        self._thread_turn = threading.Lock()
        self._loop_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
        self._loop_turns = weakref.WeakKeyDictionary()

    def try_enter(self, limit: int) -> float:
        """Admit a call (``0.0``) if fewer than ``limit`` places are held, else the seconds to wait first."""
        now = time.monotonic()
        with self._lock:
            while self._ended and self._ended[0] <= now - self.seconds:
                self._ended.popleft()
            held = self._running + len(self._ended)
            if held < limit:
                self._running += 1
                return 0.0
            # The place that frees first for us: the (held - limit + 1)-th oldest ended call's.
            index = held - limit
            if index < len(self._ended):
                return max(0.001, self._ended[index] + self.seconds - now)
            return BUSY_WAIT

    def leave(self) -> None:
        """The admitted call has ended (answered, failed or cancelled): its place frees in ``seconds``."""
        with self._lock:
            self._running -= 1
            self._ended.append(time.monotonic())

    def held(self) -> int:
        """Places held now (running calls and calls that ended within the window)."""
        now = time.monotonic()
        with self._lock:
            return self._running + sum(1 for ended in self._ended if ended > now - self.seconds)

    def loop_turn(self) -> asyncio.Lock:
        """The running loop's queue for this window: one coroutine at a time looks and waits."""
        loop = asyncio.get_running_loop()
        with self._lock:
            turn = self._loop_turns.get(loop)
            if turn is None:
                turn = self._loop_turns[loop] = asyncio.Lock()
            return turn

    @contextmanager
    def place(self, limit: int) -> Iterator[None]:
        """Hold a place for one sync call (waiting, behind this process's other threads, for one)."""
        with self._thread_turn:
            while (wait := self.try_enter(limit)) > 0:
                time.sleep(wait)
        try:
            yield
        finally:
            self.leave()

    @asynccontextmanager
    async def aplace(self, limit: int) -> AsyncIterator[None]:
        """:meth:`place` for a coroutine: it waits behind the loop's other coroutines, never blocking."""
        async with self.loop_turn():
            # The wait is known (when the oldest place frees), so a sleep, not an Event.
            while (wait := self.try_enter(limit)) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)
        try:
            yield
        finally:
            self.leave()


_windows: dict[str, CallWindow] = {}
_windows_lock = threading.Lock()


def call_window(instance: str) -> CallWindow:
    """The process's window for an instance (its REST base URL), made on first use."""
    with _windows_lock:
        window = _windows.get(instance)
        if window is None:
            window = _windows[instance] = CallWindow(RATE_WINDOW)
        return window


def forget_windows() -> None:
    """Forget every window (tests; a window in use keeps working for the calls that hold it)."""
    with _windows_lock:
        _windows.clear()


__all__: list[str] = []  # the hook's own rules: no public names
