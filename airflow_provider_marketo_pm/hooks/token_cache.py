"""Marketo access tokens shared by every hook of a process, until shortly before they expire.

Marketo issues one token per client id at a time; each new token request costs an API call and, if two
tasks race, invalidates nothing but wastes quota. Sharing the token keeps "one token call for many API calls".
"""

from __future__ import annotations

import threading
import time
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

    def get(self, key: TokenKey, margin: float) -> str | None:
        """The cached token if it has more than ``margin`` seconds left, else ``None``."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached.expires_at - margin > time.monotonic():
                return cached.value
            return None

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
