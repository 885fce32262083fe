"""A bad host fails fast and says why: DNS, refused and TLS failures, each named, within one retry budget.

No network is needed: ``nonexistent.invalid`` never resolves (RFC 6761), a closed port on 127.0.0.1
refuses, and an https URL against a plain-HTTP server on 127.0.0.1 fails its TLS handshake. Attempts are
counted where the transport really goes: name lookups (``socket.getaddrinfo``) or the server's accepts.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest
import tenacity

from airflow_provider_marketo_pm.exceptions import MarketoNetworkError, MarketoTransientError
from airflow_provider_marketo_pm.hooks.call_retries import CallRetries
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger

CONN_ID = "marketo_bad_host"
MAX_RETRIES = 3


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    MarketoHook.clear_token_cache()
    yield
    MarketoHook.clear_token_cache()


def use_host(monkeypatch: pytest.MonkeyPatch, host: str, max_retries: int = MAX_RETRIES) -> None:
    extra = {"max_retries": max_retries, "retry_min_wait": 0.01, "retry_max_wait": 0.02, "timeout": 5}
    connection = {"conn_type": "marketo", "host": host, "login": "id", "password": "secret", "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))


def count_lookups(monkeypatch: pytest.MonkeyPatch, host: str) -> list[str]:
    """Every name lookup of ``host``: one per connection attempt (urllib3 and aiohttp both look up)."""
    lookups: list[str] = []
    real = socket.getaddrinfo

    def counting(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == host:
            lookups.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    return lookups


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _PlainHttpAnswer(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(4096)  # the client's TLS hello
        self.request.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


class _CountingPlainServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.accepted = 0
        super().__init__(("127.0.0.1", 0), _PlainHttpAnswer)

    def process_request(self, request, client_address):  # type: ignore[no-untyped-def]
        self.accepted += 1
        super().process_request(request, client_address)


@pytest.fixture
def plain_server() -> Iterator[_CountingPlainServer]:
    """A plain-HTTP server: it answers a TLS hello with HTTP, so an https client's handshake fails."""
    server = _CountingPlainServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def first_line(err: BaseException) -> str:
    return str(err).splitlines()[0]


def test_a_host_that_does_not_resolve_is_named_with_its_cause_and_retried_once(monkeypatch):
    use_host(monkeypatch, "https://nonexistent.invalid/rest")
    lookups = count_lookups(monkeypatch, "nonexistent.invalid")
    started = time.monotonic()

    with pytest.raises(MarketoTransientError) as caught:
        MarketoHook(CONN_ID).describe_program_members()

    assert time.monotonic() - started < 5
    assert len(lookups) == 2, "the first attempt and one retry, not max_retries, nor max_retries squared"
    line = first_line(caught.value)
    assert "DNS error: the host name 'nonexistent.invalid' does not resolve" in line
    assert "Failed to resolve 'nonexistent.invalid'" in line, "the cause survives, uncut"
    assert "Admin > Integration > Web Services" in line
    assert "Munchkin id" in line
    assert "Gave up after 2 attempts" in line
    assert isinstance(caught.value.__cause__, MarketoNetworkError)
    assert caught.value.__cause__.reason == "dns"


def test_a_refused_connection_spends_the_one_retry_budget_token_call_included(monkeypatch):
    use_host(monkeypatch, f"http://127.0.0.1:{closed_port()}")
    lookups = count_lookups(monkeypatch, "127.0.0.1")
    started = time.monotonic()

    with pytest.raises(MarketoTransientError) as caught:
        MarketoHook(CONN_ID).describe_program_members()

    assert time.monotonic() - started < 5
    assert len(lookups) == MAX_RETRIES + 1, "one call's attempts; the token fetch inside adds none"
    line = first_line(caught.value)
    assert "Marketo token call failed with connection refused" in line
    assert "Connection refused" in line
    assert "proxies" in line
    assert "firewalls" in line
    assert f"Gave up after {MAX_RETRIES + 1} attempts" in line


def test_get_access_token_on_its_own_is_one_call_within_the_policy(monkeypatch):
    use_host(monkeypatch, f"http://127.0.0.1:{closed_port()}", max_retries=1)
    lookups = count_lookups(monkeypatch, "127.0.0.1")

    with pytest.raises(MarketoTransientError, match="connection refused"):
        MarketoHook(CONN_ID).get_access_token()

    assert len(lookups) == 2


def test_a_tls_failure_is_named_says_what_to_check_and_is_not_retried(monkeypatch, plain_server):
    use_host(monkeypatch, f"https://127.0.0.1:{plain_server.server_address[1]}")

    with pytest.raises(MarketoNetworkError) as caught:
        MarketoHook(CONN_ID).describe_program_members()

    assert plain_server.accepted == 1
    assert caught.value.reason == "tls"
    line = first_line(caught.value)
    assert "Marketo token call failed with TLS error" in line
    assert "SSL" in line, "the TLS library's own words survive"
    assert "CA bundle" in line


async def test_the_async_path_names_the_failure_and_keeps_the_budget(monkeypatch):
    use_host(monkeypatch, "https://nonexistent.invalid")
    lookups = count_lookups(monkeypatch, "nonexistent.invalid")
    hook = MarketoHook(CONN_ID)
    try:
        with pytest.raises(MarketoTransientError) as caught:
            await hook.aget_export_status(PROGRAM_MEMBERS, "a1b2c3d4-0000-0000-0000-000000000000")
    finally:
        await hook.aclose()

    assert len(lookups) == 2
    assert "DNS error: the host name 'nonexistent.invalid' does not resolve" in first_line(caught.value)


def test_a_network_error_may_allow_fewer_retries_than_the_policy():
    policy = CallRetries(max_retries=5, min_wait=0.001, max_wait=0.002, max_time=10)
    attempts = []

    def fails() -> None:
        attempts.append(1)
        raise MarketoNetworkError("DNS error", reason="dns", max_retries=1, endpoint="token")

    with pytest.raises(MarketoTransientError, match="Gave up after 2 attempts"):
        tenacity.Retrying(**policy.tenacity_kwargs("token", log=logging.getLogger(__name__)))(fails)
    assert len(attempts) == 2


async def test_the_status_trigger_gives_up_on_a_host_that_does_not_resolve_after_one_more_poll(monkeypatch):
    use_host(monkeypatch, "https://nonexistent.invalid")
    lookups = count_lookups(monkeypatch, "nonexistent.invalid")
    trigger = MarketoProgramMemberExportTrigger("a1b2c3d4-0000", marketo_conn_id=CONN_ID, poll_interval=0.01)

    events = [event.payload async for event in trigger.run()]

    assert [event["status"] for event in events] == ["error"]
    assert "DNS error" in events[0]["message"]
    assert len(lookups) == 2, f"one poll and one more, not the connection's {MAX_RETRIES} retries"


async def test_the_status_trigger_gives_up_on_a_tls_failure_at_once(monkeypatch, plain_server):
    use_host(monkeypatch, f"https://127.0.0.1:{plain_server.server_address[1]}")
    trigger = MarketoProgramMemberExportTrigger("a1b2c3d4-0000", marketo_conn_id=CONN_ID, poll_interval=0.01)

    events = [event.payload async for event in trigger.run()]

    assert [event["status"] for event in events] == ["error"]
    assert "TLS error" in events[0]["message"]
    assert plain_server.accepted == 1
