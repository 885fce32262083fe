"""OAuth client-credentials tokens as Marketo hands them out: one live token, reused until it expires."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from airflow_provider_marketo_pm.testing.emulator.clock import EmulatedClock


@dataclass
class _Token:
    value: str
    expires_at: float


class TokenStore:
    """Issues and checks access tokens; 601 for unknown tokens, 602 for expired ones."""

    def __init__(self, client_id: str, client_secret: str, ttl: float, clock: EmulatedClock) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._ttl = ttl
        self._clock = clock
        self._issued: dict[str, _Token] = {}
        self._current: _Token | None = None
        self._lock = threading.Lock()

    def credentials_match(self, client_id: str | None, client_secret: str | None) -> bool:
        return secrets.compare_digest(client_id or "", self._client_id) and secrets.compare_digest(
            client_secret or "", self._client_secret
        )

    def issue(self) -> tuple[str, int]:
        """The live token and its remaining seconds; a new token only once the old one has expired."""
        with self._lock:
            now = self._clock.now()
            if self._current is None or self._current.expires_at <= now:
                self._current = _Token(secrets.token_hex(16) + ":ab", now + self._ttl)
                self._issued[self._current.value] = self._current
            return self._current.value, max(0, int(self._current.expires_at - now))

    def check(self, value: str) -> str | None:
        """None if the token is good, else Marketo's error code."""
        with self._lock:
            token = self._issued.get(value)
            if token is None:
                return "601"
            return "602" if token.expires_at <= self._clock.now() else None

    def expire_current(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.expires_at = self._clock.now()

    @property
    def current(self) -> str | None:
        with self._lock:
            return None if self._current is None else self._current.value
