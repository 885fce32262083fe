"""One ``aiohttp`` session per event loop and Marketo API user, shared by every hook calling from that loop.

A triggerer runs all its triggers in one event loop. When each status trigger kept a session of its own,
each kept a keep-alive socket open between its polls: 1,100 triggers under a 1,024 file-descriptor limit
lost polls to EMFILE, and Marketo counts at most 10 concurrent calls per instance anyway. Here the hooks of
one loop that call the same instance as the same API user lease one session, whose connector keeps at most
``max_concurrent_calls`` sockets, and a semaphore of that size admits the calls: sockets stay as many as
the bound, however many triggers wait. The semaphore is taken outside a call's deadline, so a call queued
behind others does not time out before it is sent.

Leases are counted: the last hook to :meth:`SessionRegistry.release` its lease closes the session (no
"Unclosed client session" at the loop's end). A hook dropped without ``aclose`` gives its lease back when
it is collected (see :meth:`SessionRegistry.lease`). Modelled on ``token_cache``: one registry per process,
a thread lock around its maps, asyncio objects per loop, forgotten with the loop.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from airflow_provider_marketo_pm.hooks.connection_settings import MarketoConnectionSettings
from airflow_provider_marketo_pm.hooks.marketo_call import HEADERS

SessionKey = tuple[str, str, str, int]
"""(base URL, identity URL, client id, max_concurrent_calls): who calls where, within which bound."""


def session_key(settings: MarketoConnectionSettings) -> SessionKey:
    return (settings.base_url, settings.identity_url, settings.client_id, settings.max_concurrent_calls)


@dataclass(eq=False)
class SharedSession:
    """A loop's session for one key, the semaphore its calls pass, and how many hooks hold a lease."""

    key: SessionKey
    loop: asyncio.AbstractEventLoop
    session: aiohttp.ClientSession
    slots: asyncio.Semaphore
    leases: int = 0
    in_flight: int = field(default=0)
    """Calls holding a slot now (tests and benchmarks read it; the semaphore is the bound)."""


@dataclass(eq=False)
class Lease:
    """One hook's hold on a shared session: give it back with :meth:`SessionRegistry.release`."""

    shared: SharedSession
    _finalizer: weakref.finalize[Any, Any]

    @property
    def session(self) -> aiohttp.ClientSession:
        return self.shared.session

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.shared.loop


class SessionRegistry:
    """The process's shared sessions, per event loop and :data:`SessionKey`; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[SessionKey, SharedSession]]
        self._loops = weakref.WeakKeyDictionary()
        self._by_session: weakref.WeakKeyDictionary[aiohttp.ClientSession, SharedSession]
        self._by_session = weakref.WeakKeyDictionary()
        self._closing: set[asyncio.Task[None]] = set()

    def lease(self, settings: MarketoConnectionSettings, holder: object) -> Lease:
        """
        A lease on the running loop's session for ``settings`` (made on first use). ``holder`` (the hook)
        gives the lease back if it is collected without :meth:`release`.
        """
        loop = asyncio.get_running_loop()
        key = session_key(settings)
        with self._lock:
            sessions = self._loops.get(loop)
            if sessions is None:
                sessions = self._loops[loop] = {}
            shared = sessions.get(key)
            if shared is None or shared.session.closed:
                shared = sessions[key] = self._open(key, loop, settings.max_concurrent_calls)
            shared.leases += 1
        return Lease(shared, weakref.finalize(holder, self._collected, shared))

    def _open(self, key: SessionKey, loop: asyncio.AbstractEventLoop, bound: int) -> SharedSession:
        # The connector keeps no more sockets than calls may run at once; the semaphore admits the calls.
        connector = aiohttp.TCPConnector(limit=bound, limit_per_host=0)
        session = aiohttp.ClientSession(connector=connector, headers=HEADERS)
        shared = SharedSession(key, loop, session, asyncio.Semaphore(bound))
        self._by_session[session] = shared
        return shared

    async def release(self, lease: Lease) -> None:
        """
        Give a lease back (once: a second release does nothing); the last one closes the session, here
        when the lease's loop is the running one (a lease of a loop that has ended closes nothing).
        """
        if lease._finalizer.detach() is None or not self._drop(lease.shared):
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is lease.loop:
            await lease.session.close()

    def _drop(self, shared: SharedSession) -> bool:
        """Count one lease less; ``True`` when it was the last and the session is to be closed now."""
        with self._lock:
            shared.leases -= 1
            if shared.leases > 0:
                return False
            sessions = self._loops.get(shared.loop, {})
            if sessions.get(shared.key) is shared:
                del sessions[shared.key]
        return not shared.session.closed

    def _collected(self, shared: SharedSession) -> None:
        """A holder was collected with its lease: count it back, and close the session if it was the last."""
        if not self._drop(shared):
            return
        loop = shared.loop
        if loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._close_soon(shared)
        else:
            loop.call_soon_threadsafe(self._close_soon, shared)

    def _close_soon(self, shared: SharedSession) -> None:
        task = shared.loop.create_task(shared.session.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def call_slot(self, session: aiohttp.ClientSession) -> AbstractAsyncContextManager[Any]:
        """The bound a call on ``session`` waits for: its shared session's slot (none for a foreign one)."""
        shared = self._by_session.get(session)
        return _Slot(shared) if shared is not None else nullcontext()

    def shared(self, session: aiohttp.ClientSession) -> SharedSession | None:
        """The registry's record of ``session`` (``None``: not a shared session)."""
        return self._by_session.get(session)


class _Slot:
    """One call's place among the ``max_concurrent_calls`` of its shared session."""

    def __init__(self, shared: SharedSession) -> None:
        self._shared = shared

    async def __aenter__(self) -> None:
        await self._shared.slots.acquire()
        self._shared.in_flight += 1

    async def __aexit__(self, *exc: object) -> None:
        self._shared.in_flight -= 1
        self._shared.slots.release()


SESSIONS = SessionRegistry()
"""The process's registry: every :class:`~airflow_provider_marketo_pm.hooks.marketo.MarketoHook` uses it."""


__all__: list[str] = []  # the hook's own rules: no public names
