"""Marketo access tokens shared by every hook of a process, used for every call that fits in their life.

Marketo issues one token per client id at a time and, asked again before it expires, hands back the same
token with its remaining life (``expires_in`` shrinking): fetching "a bit early" gets nothing new and
costs a call. So a cached token serves every call that fits in its remaining life (the call's deadline);
in its last seconds, a call waits for it to expire and fetches the next one, once for all callers: the
fetch is behind one lock per client id for worker threads, and one per event loop for coroutines.
:meth:`AccessTokenCache.next_step` is the rule; both transports of the hook follow it.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from dataclasses import dataclass

TokenKey = tuple[str, str]
"""(identity URL, client id): who issued the token, and to whom."""

EXPIRY_SLACK = 1.0
"""Seconds waited past a token's expiry before asking for the next: ``expires_in`` is rounded down."""
MAX_TOKEN_CALLS = 3
"""Token calls at most to get a token for one call (the live one answered again after its expiry)."""


@dataclass(frozen=True)
class _CachedToken:
    value: str
    expires_at: float
    """``time.monotonic()`` from when the token was asked for: never later than Marketo's expiry."""
    gone_at: float
    """``time.monotonic()`` by when Marketo has expired it for sure: from the answer, plus the slack."""


@dataclass(frozen=True)
class TokenStep:
    """What a caller does next: use ``token``, or wait ``wait`` seconds (maybe 0) and fetch one."""

    token: str | None = None
    wait: float = 0.0
    waiting_out: str | None = None
    """The token being waited out (its value), when ``wait`` is for a token's last seconds."""
    left: float = 0.0
    """Seconds the token being waited out had left."""


class AccessTokenCache:
    """Tokens per (identity URL, client id); thread-safe, so worker threads and the triggerer can share it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[TokenKey, _CachedToken] = {}
        self._thread_locks: dict[TokenKey, threading.Lock] = {}
        # An asyncio.Lock belongs to one event loop, the cache to the whole process: one set per loop,
        # forgotten with the loop.
        self._fetch_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[TokenKey, asyncio.Lock]]
        self._fetch_locks = weakref.WeakKeyDictionary()

    def get(self, key: TokenKey, margin: float) -> str | None:
        """The cached token if it has more than ``margin`` seconds left, else ``None``."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached.expires_at - margin > time.monotonic():
                return cached.value
            return None

    def next_step(self, key: TokenKey, needed: float, waited_out: str | None = None) -> TokenStep:
        """
        The rule, for a call that needs a token for ``needed`` seconds (its deadline):

        - a token with more than ``needed`` seconds left is used;
        - a token issued after the one just waited out (``waited_out``) is used whatever its life: it is
          as new as tokens get (an instance whose tokens live shorter than a call);
        - a token with less is waited out: until Marketo has surely expired it, then a new one is fetched;
        - no token: fetch one at once.
        """
        now = time.monotonic()
        with self._lock:
            cached = self._tokens.get(key)
        if cached is None:
            return TokenStep()
        left = cached.expires_at - now
        if left > needed or (waited_out is not None and cached.value != waited_out):
            return TokenStep(token=cached.value)
        return TokenStep(wait=max(0.0, cached.gone_at - now), waiting_out=cached.value, left=max(0.0, left))

    def thread_lock(self, key: TokenKey) -> threading.Lock:
        """The lock worker threads fetch ``key``'s token behind: 20 threads, one token call."""
        with self._lock:
            return self._thread_locks.setdefault(key, threading.Lock())

    def fetch_lock(self, key: TokenKey) -> asyncio.Lock:
        """
        The running loop's lock for fetching ``key``'s token: coroutines that find the cache empty together
        queue behind one fetch (and re-check the cache once inside) instead of each asking for a token.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            locks = self._fetch_locks.get(loop)
            if locks is None:
                locks = self._fetch_locks[loop] = {}
            return locks.setdefault(key, asyncio.Lock())

    def put(self, key: TokenKey, token: str, expires_in: float, *, asked_at: float | None = None) -> None:
        """Keep ``token``; its life is counted from ``asked_at`` (``time.monotonic()``, default: now)."""
        now = time.monotonic()
        expires_at = (now if asked_at is None else asked_at) + expires_in
        with self._lock:
            self._tokens[key] = _CachedToken(token, expires_at, now + expires_in + EXPIRY_SLACK)

    def discard(self, key: TokenKey, token: str | None) -> None:
        """Forget ``token`` (or any token, when ``None``) unless another caller already renewed it."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached and (token is None or cached.value == token):
                del self._tokens[key]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


__all__: list[str] = []  # the hook's own rules: no public names
