"""A small Marketo on 127.0.0.1 that answers as a broken or lying one would, over real HTTP.

The emulator answers as Marketo documents; this server answers whatever a test scripts: each endpoint's
next answers (status, headers, body, byte for byte), and otherwise one Completed job whose file it serves
(with ``Range``), so a download runs end to end around the one answer that is wrong. Token calls get a
valid token unless scripted. Every request is recorded.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EXPORT_ID = "6f7b3c1e-0d2a-4c8e-9b11-2f5a7d9e4c01"
FILE = b"leadId,firstName,email\n1,Ada,ada@example.com\n2,Grace,grace@example.com"
TOKEN_ANSWER = {"access_token": "hostile-token-1", "token_type": "bearer", "expires_in": 3599, "scope": "x"}


@dataclass(frozen=True)
class Answer:
    """One scripted answer: sent as given (``Content-Length`` is the body's unless a header says another)."""

    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> Answer:
        return cls(json.dumps(payload), status, {"Content-Type": "application/json"})


def envelope(*records: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A success envelope holding ``records`` (or ``fields`` in place of its keys)."""
    return {"requestId": "1a2b#3c4d", "success": True, "result": list(records), **fields}


def completed_record(content: bytes = FILE, **fields: Any) -> dict[str, Any]:
    """The Completed status record of a job whose file is ``content`` (``fields`` override its keys)."""
    return {
        "exportId": EXPORT_ID,
        "format": "CSV",
        "status": "Completed",
        "createdAt": "2024-01-01T00:00:00Z",
        "finishedAt": "2024-01-01T00:05:00Z",
        "numberOfRecords": content.count(b"\n"),
        "fileSize": len(content),
        "fileChecksum": f"sha256:{hashlib.sha256(content).hexdigest()}",
        **fields,
    }


def endpoint_of(path: str) -> str:
    """``token``, ``create``, ``status``, ``file`` ...: as the hook and the emulator name them."""
    if path.rstrip("/").endswith("/oauth/token"):
        return "token"
    last = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return "list" if last == "export.json" else last.removesuffix(".json")


@dataclass
class Seen:
    method: str
    path: str
    endpoint: str
    headers: dict[str, str]


class HostileMarketo:
    """The server's script and log; :func:`hostile_marketo` runs it."""

    def __init__(self) -> None:
        self.content = FILE
        self.status_record: dict[str, Any] = completed_record()
        self._scripts: dict[str, deque[Answer]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.seen: list[Seen] = []
        self.base_url = ""

    def script(self, endpoint: str, *answers: Answer) -> None:
        """The next calls of ``endpoint`` get ``answers``, in order; later ones the normal answer."""
        with self._lock:
            self._scripts[endpoint].extend(answers)

    def calls(self, endpoint: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.endpoint == endpoint]

    def connection_json(self) -> str:
        extra = {"timeout": 5, "max_retries": 2, "retry_min_wait": 0.01, "retry_max_wait": 0.02}
        return json.dumps(
            {"conn_type": "marketo", "host": self.base_url, "login": "id", "password": "s", "extra": extra}
        )

    def answer_for(self, endpoint: str, range_header: str | None) -> Answer:
        with self._lock:
            scripted = self._scripts[endpoint]
            if scripted:
                return scripted.popleft()
        if endpoint == "token":
            return Answer.json(TOKEN_ANSWER)
        if endpoint in ("status", "enqueue", "cancel", "create"):
            return Answer.json(envelope(self.status_record))
        if endpoint == "file":
            return self._file(range_header)
        return Answer("Not Found", 404)

    def _file(self, range_header: str | None) -> Answer:
        match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
        if match is None:
            return Answer(self.content, 200, {"Content-Type": "text/csv"})
        start, total = int(match.group(1)), len(self.content)
        headers = {"Content-Type": "text/csv", "Content-Range": f"bytes {start}-{total - 1}/{total}"}
        return Answer(self.content[start:], 206, headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        hostile = self.server.hostile
        endpoint = endpoint_of(self.path)
        hostile.seen.append(Seen(self.command, self.path, endpoint, dict(self.headers)))
        answer = hostile.answer_for(endpoint, self.headers.get("Range"))
        body = answer.body.encode() if isinstance(answer.body, str) else answer.body
        self.send_response(answer.status)
        headers = {"Content-Length": str(len(body)), **answer.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, hostile: HostileMarketo) -> None:
        self.hostile = hostile
        super().__init__(("127.0.0.1", 0), _Handler)


@contextmanager
def hostile_marketo() -> Iterator[HostileMarketo]:
    """Serve a :class:`HostileMarketo` on an ephemeral loopback port for the ``with`` block."""
    hostile = HostileMarketo()
    server = _Server(hostile)
    hostile.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True, name="hostile-marketo"
    )
    thread.start()
    try:
        yield hostile
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
