"""How long and how large one HTTP call to Marketo may be, on both transports: one rule.

- **A deadline per call.** The connection's ``timeout`` bounds a whole JSON call: connect, send, and read
  the whole answer. A per-read timeout would not: a server dripping one byte a second holds such a call for
  as long as its answer is long. The async path (``aiohttp``) gets it from its ``total`` timeout; the sync
  path (``requests``) from :func:`call_deadline`: the hook's sessions mount :class:`DeadlineAdapter`, whose
  connections attach to the deadline of the call running in their thread, and when it passes a timer shuts
  their socket down, so the read that was blocked returns at once.
- **A stall timeout for a file.** A download may take hours: its open (connect, send, status and headers)
  has the deadline, its body the same number of seconds as a stall timeout (no byte for that long), never
  a total.
- **A size for a JSON answer.** Create, enqueue, status and cancel answer with one small record, a page of a
  list with a few hundred: an answer over :data:`MAX_JSON_BODY` bytes is refused unread, before it fills
  the worker's (or the triggerer's) memory.
"""

from __future__ import annotations

import contextvars
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import aiohttp
import requests
from requests_toolbelt.adapters.socket_options import TCPKeepAliveAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection

MAX_JSON_BODY = 4 * 1024 * 1024
"""The largest JSON answer read (bytes, after decoding gzip): a status record is a few hundred bytes."""
READ_SIZE = 64 * 1024


class AnswerTooLarge(Exception):
    """A JSON answer exceeded :data:`MAX_JSON_BODY`; the hook turns it into its error naming the call."""

    def __init__(self, size: int, *, announced: bool, status: int) -> None:
        self.size = size
        self.announced = announced
        self.status = status
        super().__init__(size)


class CallDeadline:
    """
    The end of one sync call: the connections the call uses in its thread attach to it, and when it
    passes their sockets are shut down (only those still attached to this call, never a pooled
    connection another call has taken since).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends_at = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._connections: list[HTTPConnection] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def remaining(self) -> float:
        """Seconds left, never less than a millisecond (a socket timeout of 0 would mean non-blocking)."""
        return max(0.001, self.ends_at - time.monotonic())

    def requests_timeout(self, *, stream: bool) -> tuple[float, float]:
        """``requests``' (connect, read) timeouts: the time left, and for a stream the stall timeout."""
        left = self.remaining()
        return left, self.seconds if stream else left

    def attach(self, connection: HTTPConnection) -> None:
        with self._lock:
            connection._marketo_deadline = self  # type: ignore[attr-defined]
            self._connections.append(connection)
            if self.expired:
                _shut_down(connection)

    def _start(self) -> None:
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for connection in self._connections:
                if getattr(connection, "_marketo_deadline", None) is self:
                    _shut_down(connection)

    def _close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for connection in self._connections:
                if getattr(connection, "_marketo_deadline", None) is self:
                    connection._marketo_deadline = None  # type: ignore[attr-defined]
            self._connections.clear()


def _shut_down(connection: HTTPConnection) -> None:
    """Shut the socket down under whoever is reading it: the read returns at once (EOF or an error)."""
    sock = connection.sock
    if sock is not None:
        with suppress(OSError):
            # socket.socket's own shutdown, also for a TLS socket (SSLSocket's would unwrap it under the
            # reading thread's feet).
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


_ACTIVE: contextvars.ContextVar[CallDeadline | None] = contextvars.ContextVar(
    "marketo_call_deadline", default=None
)


@contextmanager
def call_deadline(seconds: float) -> Iterator[CallDeadline]:
    """
    Bound the sync calls made in this block (in this thread) to ``seconds`` from now, all together.

    Inside another block the outer deadline stays the one that counts (a download's open sends its call
    and peeks at the answer within one deadline).
    """
    active = _ACTIVE.get()
    if active is not None:
        yield active
        return
    deadline = CallDeadline(seconds)
    reset = _ACTIVE.set(deadline)
    deadline._start()
    try:
        yield deadline
    finally:
        _ACTIVE.reset(reset)
        deadline._close()


class _AttachesToTheDeadline:
    """A urllib3 connection that attaches to the running call's deadline when it connects or sends."""

    def connect(self) -> None:
        _attach(self)
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


def _attach(connection: Any) -> None:
    deadline = _ACTIVE.get()
    if deadline is not None:
        deadline.attach(connection)


class _DeadlineHTTPConnection(_AttachesToTheDeadline, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_AttachesToTheDeadline, HTTPSConnection):
    pass


class _DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_DEADLINE_POOLS = {"http": _DeadlineHTTPConnectionPool, "https": _DeadlineHTTPSConnectionPool}


class DeadlineAdapter(TCPKeepAliveAdapter):
    """
    HttpHook's TCP keep-alive adapter whose connections keep :func:`call_deadline`, and which reads a
    JSON answer (any answer not streamed) within :data:`MAX_JSON_BODY`.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _DEADLINE_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is ProxyManager:  # a SOCKS proxy brings its own connection classes
            manager.pool_classes_by_scheme = _DEADLINE_POOLS
        return manager

    def send(self, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any) -> Any:
        response = super().send(request, stream=True, **kwargs)
        if not stream:
            try:
                response._content = read_bounded(response)
            except BaseException:
                response.close()
                raise
        return response


def read_bounded(response: requests.Response, limit: int = MAX_JSON_BODY) -> bytes:
    """The whole body of ``response``; :class:`AnswerTooLarge` as soon as it is known to exceed ``limit``."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise AnswerTooLarge(int(length), announced=True, status=response.status_code)
    body = bytearray()
    for chunk in response.iter_content(READ_SIZE):
        body += chunk
        if len(body) > limit:
            raise AnswerTooLarge(len(body), announced=False, status=response.status_code)
    return bytes(body)


async def aread_bounded(response: aiohttp.ClientResponse, limit: int = MAX_JSON_BODY) -> bytes:
    """:func:`read_bounded` for ``aiohttp``."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise AnswerTooLarge(int(length), announced=True, status=response.status)
    body = bytearray()
    async for chunk in response.content.iter_chunked(READ_SIZE):
        body += chunk
        if len(body) > limit:
            raise AnswerTooLarge(len(body), announced=False, status=response.status)
    return bytes(body)


def decode_text(body: bytes, charset: str | None) -> str:
    """An answer's text: its declared charset, else UTF-8 (JSON's), never an error for a bad byte."""
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


__all__: list[str] = []  # the hook's own rules: no public names
