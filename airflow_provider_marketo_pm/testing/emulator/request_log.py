"""Every request the emulator received, so tests can assert on what a client actually sent."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    endpoint: str  # one of ENDPOINTS, or "unknown"
    status: int = 0  # HTTP status answered (0 while the answer is being prepared)
    marketo_code: str | None = None  # Marketo error code answered, if any
    query_items: list[tuple[str, str]] = field(default_factory=list)  # repeated parameters, in order
    kind: str | None = None  # the bulk export kind of a bulk endpoint (program_members, leads, ...)
    arrived_at: float = field(default_factory=time.monotonic)  # real time.monotonic() when it arrived

    @property
    def url(self) -> str:
        """Path and raw query, for asserting that no secret ever appears in a URL."""
        query = "&".join(f"{k}={v}" for k, v in self.query_items)
        return f"{self.path}?{query}" if query else self.path


class RequestLog:
    def __init__(self) -> None:
        self._entries: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def add(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def all(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
