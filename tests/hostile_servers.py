"""Small hostile Marketo servers on 127.0.0.1, for the hook's transport tests.

A :class:`HostileServer` answers each request with raw HTTP bytes chosen per endpoint (``token``, ``status``,
``file`` ... as the hook names them): a plain Marketo answer by default, or one of the hostile answers below
(a redirect elsewhere, a drip of one byte a second, the request echoed back in an error body). It records
every request it received, so a test can assert that a second server was never reached.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.hooks.marketo_call import endpoint_name
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS

EXPORT_ID = "8e5b7c2a-4f1d-4a8e-9c3b-2d6f0e1a7b54"
CLIENT_ID = "hostile-client-id"
CLIENT_SECRET = "Hs9-hostile-CLIENT-SECRET-7d31c0ab"
TOKEN = "5e2c8a41-hostile-ACCESS-TOKEN-9b0f:ab"


@dataclass(frozen=True)
class Received:
    """One request as the server read it."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def endpoint(self) -> str:
        return endpoint_name(self.path)

    def echoed(self) -> bytes:
        """The request, credentials first (its body, its Authorization header), as an echo may return it."""
        headers = sorted(self.headers.items(), key=lambda item: item[0].lower() != "authorization")
        head = [*(f"{k}: {v}" for k, v in headers), f"{self.method} {self.path}"]
        return b"received " + self.body + b" with " + "; ".join(head).encode()


Answer = Callable[[Received], Iterable[bytes]]
"""The raw HTTP answer to a request, in pieces: each piece is sent (and flushed) as it is produced."""


def http_answer(
    status: int, body: bytes = b"", *, content_type: str = "application/json", headers: Mapping[str, str] = {}
) -> bytes:
    lines = [
        f"HTTP/1.1 {status} Hostile",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def json_answer(payload: Any, status: int = 200) -> bytes:
    return http_answer(status, json.dumps(payload).encode())


def token_answer(token: str = TOKEN, expires_in: int = 3600) -> bytes:
    return json_answer({"access_token": token, "token_type": "bearer", "expires_in": expires_in})


def status_answer(status: str = "Queued") -> bytes:
    record = {"exportId": EXPORT_ID, "format": "CSV", "status": status, "createdAt": "2024-01-01T00:00:00Z"}
    return json_answer({"requestId": "e42b#1", "success": True, "result": [record]})


def marketo(request: Received) -> Iterator[bytes]:
    """A well-behaved Marketo: a token for the token call, a Queued record for any other JSON call."""
    yield token_answer() if request.endpoint == "token" else status_answer()


def once(raw: bytes) -> Answer:
    return lambda request: [raw]


def redirect(status: int, location: str) -> Answer:
    """An HTTP redirect to ``location`` (another server)."""
    return once(http_answer(status, b"", content_type="text/plain", headers={"Location": location}))


def drip(raw: bytes, *, every: float = 1.0, head: int = 0) -> Answer:
    """``raw`` one byte every ``every`` seconds, after its first ``head`` bytes at once."""

    def answer(request: Received) -> Iterator[bytes]:
        yield raw[:head]
        for index in range(head, len(raw)):
            time.sleep(every)
            yield raw[index : index + 1]

    return answer


def echo(status: int) -> Answer:
    """An error answer whose body is the request itself (form body, headers and all), as some proxies do."""
    return lambda request: [http_answer(status, request.echoed(), content_type="text/plain")]


def echo_in_envelope(request: Received) -> Iterator[bytes]:
    """Marketo's error envelope (HTTP 200, ``success: false``) whose message echoes the request."""
    error = {"code": "609", "message": request.echoed().decode()}
    yield json_answer({"requestId": "e42b#2", "success": False, "errors": [error]})


@dataclass
class _State:
    answers: dict[str, Answer]
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = Received(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
        state = self.server.state
        with state.lock:
            state.received.append(request)
        answer = state.answers.get(request.endpoint, marketo)
        try:
            for piece in answer(request):
                self.wfile.write(piece)
                self.wfile.flush()
        except OSError:  # the client gave up (its deadline): nothing more to say
            self.close_connection = True

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, state: _State) -> None:
        self.state = state
        super().__init__(("127.0.0.1", 0), _Handler)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files in ``folder``: (certificate, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


class HostileServer:
    """
    A loopback HTTP server answering per endpoint name; a context manager.

    :param answers: the answer of an endpoint (``token``, ``status`` ...); any other gets :func:`marketo`.
    :param tls: (certificate, key) files: serve https with them.
    """

    def __init__(self, tls: tuple[Path, Path] | None = None, **answers: Answer) -> None:
        self._state = _State(dict(answers))
        self._server = _Server(self._state)
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    @property
    def received(self) -> list[Received]:
        with self._state.lock:
            return list(self._state.received)

    def calls(self, endpoint: str) -> list[Received]:
        return [request for request in self.received if request.endpoint == endpoint]

    def connection_json(self, **extra: Any) -> str:
        """An ``AIRFLOW_CONN_*`` value pointing at this server, with these extras."""
        return json.dumps(
            {
                "conn_type": "marketo",
                "host": self.url,
                "login": CLIENT_ID,
                "password": CLIENT_SECRET,
                "extra": extra,
            }
        )


async def astatus(hook: MarketoHook) -> dict[str, Any]:
    """The async status call of :data:`EXPORT_ID`, its session closed after (as a trigger does)."""
    try:
        return await hook.aget_export_status(PROGRAM_MEMBERS, EXPORT_ID)
    finally:
        await hook.aclose()
