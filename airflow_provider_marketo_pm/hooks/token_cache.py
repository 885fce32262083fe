"""Marketo access tokens shared by every hook of a process, until shortly before they expire.

Marketo issues one token per client id at a time; each new token request costs an API call and, if two
tasks race, invalidates nothing but wastes quota. Sharing the token keeps "one token call for many API calls".
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from dataclasses import dataclass

TokenKey = tuple[str, str]
"""(identity URL, client id): who issued the token, and to whom."""


@dataclass
class _CachedToken:
    value: str
    expires_at: float  # time.monotonic()


class AccessTokenCache:
    """Tokens per (identity URL, client id); thread-safe, so worker threads and the triggerer can share it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[TokenKey, _CachedToken] = {}
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

    def put(self, key: TokenKey, token: str, expires_in: float) -> None:
        with self._lock:
            self._tokens[key] = _CachedToken(token, time.monotonic() + expires_in)

    def discard(self, key: TokenKey, token: str | None) -> None:
        """Forget ``token`` (or any token, when ``None``) unless another caller already renewed it."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached and (token is None or cached.value == token):
                del self._tokens[key]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


__all__ = ["AccessTokenCache", "TokenKey"]
