"""Streams an export file from disk with HTTP Range support (200, 206, 416), in large chunks.

Reads happen in a worker thread so a slow disk never stalls the event loop; the chunk size keeps the
per-chunk overhead negligible so that serving is never what limits a client (see bench/).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO

import anyio
import anyio.to_thread
from starlette.types import Receive, Scope, Send

from airflow_provider_marketo_pm.testing.emulator.faults import BodyInterruption

CHUNK_BYTES = 1024 * 1024
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
MEDIA_TYPES = {"CSV": "text/csv; charset=utf-8", "TSV": "text/tab-separated-values; charset=utf-8"}


class DroppedConnection(Exception):
    """Raised mid-body to make the server close the connection, as a flaky network would."""


def parse_range(header: str | None, total: int) -> tuple[int, int] | str | None:
    """``(first, last)`` inclusive for a satisfiable single range, None to serve the whole file,
    ``"unsatisfiable"`` for a 416. Malformed or multi-range headers are ignored, as RFC 9110 allows."""
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # suffix range: the last N bytes
        length = int(last_text)
        if length == 0 or total == 0:
            return "unsatisfiable"
        return max(0, total - length), total - 1
    first = int(first_text)
    last = int(last_text) if last_text else total - 1
    if first >= total or last < first:
        return "unsatisfiable"
    return first, min(last, total - 1)


class FileRangeResponse:
    """An ASGI response for one byte range of a file (the whole file when no range was asked)."""

    def __init__(
        self,
        path: Path,
        *,
        export_format: str,
        byte_range: tuple[int, int] | None,
        total: int,
        interruption: BodyInterruption | None = None,
    ) -> None:
        self.path = path
        self.total = total
        self.first, self.last = byte_range if byte_range is not None else (0, total - 1)
        self.status_code = 206 if byte_range is not None else 200
        self.interruption = interruption
        self.headers = [
            (b"content-type", MEDIA_TYPES.get(export_format, "text/plain; charset=utf-8").encode()),
            (b"content-length", str(self.last - self.first + 1).encode()),
            (b"accept-ranges", b"bytes"),
        ]
        if byte_range is not None:
            self.headers.append((b"content-range", f"bytes {self.first}-{self.last}/{total}".encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.headers})
        remaining = self.last - self.first + 1
        interruption = self.interruption
        budget = interruption.after if interruption is not None else None
        handle: BinaryIO = await anyio.to_thread.run_sync(self.path.open, "rb")
        try:
            await anyio.to_thread.run_sync(handle.seek, self.first)
            while remaining > 0:
                size = min(CHUNK_BYTES, remaining)
                if interruption is not None and budget == 0:
                    if interruption.stall_seconds is None:
                        raise DroppedConnection(f"dropped after {interruption.after} bytes")
                    if await _client_left_during(receive, interruption.stall_seconds):
                        return  # the client's read timeout fired: nobody is left to serve
                    budget = None
                if budget is not None:
                    size = min(size, budget)
                chunk = await anyio.to_thread.run_sync(handle.read, size)
                if not chunk:
                    raise DroppedConnection("file shorter than advertised")
                remaining -= len(chunk)
                if budget is not None:
                    budget -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        finally:
            await anyio.to_thread.run_sync(handle.close)
        if remaining == 0 and self.last < self.first:  # empty file: still finish the response
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _client_left_during(receive: Receive, seconds: float) -> bool:
    """Hold the body back for ``seconds`` with the connection open; True if the client hung up meanwhile."""
    with anyio.move_on_after(seconds):
        while (await receive())["type"] != "http.disconnect":
            pass
        return True
    return False
