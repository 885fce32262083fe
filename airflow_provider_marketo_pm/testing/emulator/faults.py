"""Scripted misbehaviour: the next answers of an endpoint, and downloads cut or stalled mid-body."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass

ENDPOINTS = (
    "token",
    "describe",
    "create",
    "enqueue",
    "status",
    "file",
    "cancel",
    "list",
    "lead_describe",
    "lead_describe2",
    "programs",
    "activity_types",
    "custom_objects",
    "custom_object_describe",
    "usage",
)  # create ... list name the bulk export endpoints of every kind (program members, leads, ...)


@dataclass(frozen=True)
class Fault:
    """One scripted answer, instead of the real one (the request is not carried out).

    ``code`` gives a Marketo error envelope (HTTP 200); ``http_status`` a raw HTTP error with ``body``;
    ``empty_body`` an HTTP 200 with no body at all; ``no_result`` a success envelope without ``result``
    (both met in production by other Marketo clients). ``delay`` sleeps first, then answers normally
    unless combined with one of them.
    """

    code: str | None = None
    message: str | None = None
    http_status: int | None = None
    body: str = ""
    delay: float = 0.0
    empty_body: bool = False
    no_result: bool = False

    def __post_init__(self) -> None:
        answers = [self.code is not None, self.http_status is not None, self.empty_body, self.no_result]
        if self.code is not None and self.http_status is not None:
            raise ValueError("Fault: give code (a Marketo error) or http_status (an HTTP error), not both")
        if sum(answers) > 1:
            raise ValueError("Fault: give only one of code, http_status, empty_body or no_result")
        for name in ("empty_body", "no_result"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"Fault.{name} must be True or False, got {getattr(self, name)!r}")
        if self.code is not None and (not isinstance(self.code, str) or not self.code.isdigit()):
            raise ValueError(
                f"Fault.code must be a Marketo error code as a string such as '606', got {self.code!r}"
            )
        if self.http_status is not None and not (
            isinstance(self.http_status, int) and 400 <= self.http_status <= 599
        ):
            raise ValueError(
                f"Fault.http_status must be an HTTP error status 400-599, got {self.http_status!r}"
            )
        if isinstance(self.delay, bool) or not isinstance(self.delay, int | float) or self.delay < 0:
            raise ValueError(f"Fault.delay must be a number of seconds >= 0, got {self.delay!r}")
        if not any(answers) and not self.delay:
            raise ValueError("Fault needs at least one of code, http_status, empty_body, no_result or delay")


@dataclass(frozen=True)
class BodyInterruption:
    """What happens to one file.json body after ``after`` bytes: the connection is closed (a drop) or,
    with ``stall_seconds``, the body stops that long with the connection open, then goes on."""

    after: int
    stall_seconds: float | None = None


class FaultScript:
    """Per-endpoint queues of faults, consumed one per request, plus pending body interruptions (drops
    and stalls share one queue: the next file.json bodies meet them in the order they were scripted)."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = defaultdict(deque)
        self._body_interruptions: deque[BodyInterruption] = deque()
        self._lock = threading.Lock()

    def inject(self, endpoint: str, faults: tuple[Fault, ...]) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; use one of {', '.join(ENDPOINTS)}")
        if not all(isinstance(f, Fault) for f in faults):
            raise TypeError("inject() takes Fault instances")
        with self._lock:
            self._queues[endpoint].extend(faults)

    def next_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            queue = self._queues.get(endpoint)
            return queue.popleft() if queue else None

    def drop_download_after(self, nbytes: int, times: int) -> None:
        self._interrupt_bodies("drop_download_after", BodyInterruption(_byte_count(nbytes)), times)

    def stall_download_after(self, nbytes: int, seconds: float, times: int) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
            raise ValueError(f"stall_download_after(seconds): seconds must be a number > 0, got {seconds!r}")
        interruption = BodyInterruption(_byte_count(nbytes, "stall_download_after"), float(seconds))
        self._interrupt_bodies("stall_download_after", interruption, times)

    def _interrupt_bodies(self, name: str, interruption: BodyInterruption, times: int) -> None:
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f"{name}(times=...): times must be an integer >= 1, got {times!r}")
        with self._lock:
            self._body_interruptions.extend([interruption] * times)

    def next_body_interruption(self) -> BodyInterruption | None:
        """What to do to the next file.json body, or None to serve it whole and at once."""
        with self._lock:
            return self._body_interruptions.popleft() if self._body_interruptions else None


def _byte_count(nbytes: int, name: str = "drop_download_after") -> int:
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"{name}(nbytes): nbytes must be an integer >= 0, got {nbytes!r}")
    return nbytes
