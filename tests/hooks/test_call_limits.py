"""A call has a deadline, a file a stall timeout, a JSON answer a size: the same rules sync and async.

Against small hostile servers on 127.0.0.1 (``tests/hostile_servers.py``) dripping an answer one byte a
second: with ``timeout=2`` and ``max_retries=0`` the whole call ends at its deadline, whether the drip is in
the status line and headers or in the body (a per-read timeout never fires: a byte comes every second).
A download's body has no total, only a stall timeout; a JSON answer over 4 MiB is refused unread.
"""

from __future__ import annotations

import time

import pytest
from hostile_servers import (
    EXPORT_ID,
    HostileServer,
    astatus,
    drip,
    http_answer,
    json_answer,
    once,
    self_signed_certificate,
    status_answer,
    token_answer,
)

from airflow_provider_marketo_pm.exceptions import MarketoApiError, MarketoNetworkError, MarketoTransientError
from airflow_provider_marketo_pm.hooks.call_limits import MAX_JSON_BODY, call_deadline
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS

CONN_ID = "marketo_hostile"
TIMEOUT = 2.0
SLACK = 1.0
"""What a call may take beyond its deadline: the shut-down socket's read returning, the error being made."""
CSV = b"leadId,programId\n1,1044\n2,1044\n"


def serve(monkeypatch: pytest.MonkeyPatch, server: HostileServer, **extra: object) -> MarketoHook:
    settings = {"timeout": TIMEOUT, "max_retries": 0, **extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", server.connection_json(**settings))
    return MarketoHook(CONN_ID)


def head_length(raw: bytes) -> int:
    return raw.index(b"\r\n\r\n") + 4


DRIPS = {
    "status line and headers": lambda raw: drip(raw),
    "body": lambda raw: drip(raw, head=head_length(raw)),
}


class Timer:
    def __enter__(self) -> Timer:
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.monotonic() - self.started


def assert_ended_at_the_deadline(error: BaseException, timer: Timer, endpoint: str) -> None:
    assert isinstance(error, MarketoTransientError)
    assert isinstance(error.__cause__, MarketoNetworkError)
    assert (error.endpoint, error.__cause__.reason) == (endpoint, "timeout")
    assert f"within the call's deadline of {TIMEOUT:g} s" in str(error)
    assert "Gave up after 1 attempt" in str(error)
    assert TIMEOUT - 0.1 <= timer.seconds <= TIMEOUT + SLACK, timer.seconds


# --- the deadline of a JSON call ---------------------------------------------------------------------------


@pytest.mark.parametrize("dripped", DRIPS.values(), ids=DRIPS.keys())
def test_a_dripping_token_answer_ends_at_the_deadline(monkeypatch, dripped):
    with HostileServer(token=dripped(token_answer())) as server:
        hook = serve(monkeypatch, server)
        with Timer() as timer, pytest.raises(MarketoTransientError) as caught:
            hook.get_access_token()
    assert_ended_at_the_deadline(caught.value, timer, "token")


@pytest.mark.parametrize("dripped", DRIPS.values(), ids=DRIPS.keys())
def test_a_dripping_status_answer_ends_at_the_deadline(monkeypatch, dripped):
    with HostileServer(status=dripped(status_answer())) as server:
        hook = serve(monkeypatch, server)
        hook.get_access_token()
        with Timer() as timer, pytest.raises(MarketoTransientError) as caught:
            hook.get_export_status(PROGRAM_MEMBERS, EXPORT_ID)
    assert_ended_at_the_deadline(caught.value, timer, "status")


@pytest.mark.parametrize("dripped", DRIPS.values(), ids=DRIPS.keys())
async def test_a_dripping_token_answer_ends_at_the_deadline_async(monkeypatch, dripped):
    with HostileServer(token=dripped(token_answer())) as server:
        hook = serve(monkeypatch, server)
        with Timer() as timer, pytest.raises(MarketoTransientError) as caught:
            await astatus(hook)
    assert_ended_at_the_deadline(caught.value, timer, "token")


@pytest.mark.parametrize("dripped", DRIPS.values(), ids=DRIPS.keys())
async def test_a_dripping_status_answer_ends_at_the_deadline_async(monkeypatch, dripped):
    with HostileServer(status=dripped(status_answer())) as server:
        hook = serve(monkeypatch, server)
        hook.get_access_token()  # the token cache is shared by both paths
        with Timer() as timer, pytest.raises(MarketoTransientError) as caught:
            await astatus(hook)
    assert_ended_at_the_deadline(caught.value, timer, "status")


def test_a_dripping_answer_over_tls_ends_at_the_deadline(monkeypatch, tmp_path):
    # The deadline shuts the TLS socket down under the thread reading it.
    certificate, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))
    with HostileServer(tls=(certificate, key), status=drip(status_answer(), head=20)) as server:
        hook = serve(monkeypatch, server)
        hook.get_access_token()
        with Timer() as timer, pytest.raises(MarketoTransientError) as caught:
            hook.get_export_status(PROGRAM_MEMBERS, EXPORT_ID)
    assert server.url.startswith("https://")
    assert_ended_at_the_deadline(caught.value, timer, "status")


def test_a_deadline_is_retried_as_a_time_out_and_a_quick_answer_then_wins(monkeypatch):
    answers = iter([drip(status_answer()), once(status_answer("Processing"))])
    with HostileServer(status=lambda request: next(answers)(request)) as server:
        hook = serve(monkeypatch, server, max_retries=1, retry_min_wait=0.01, retry_max_wait=0.02)
        record = hook.get_export_status(PROGRAM_MEMBERS, EXPORT_ID)
    assert record["status"] == "Processing"
    assert len(server.calls("status")) == 2


def test_an_inner_block_keeps_the_outer_deadline():
    with call_deadline(5) as outer, call_deadline(60) as inner:
        assert inner is outer
        assert outer.remaining() <= 5


# --- a file: a deadline to open it, a stall timeout to read it ------------------------------------------


def file_answer(body: bytes = CSV) -> bytes:
    return http_answer(200, body, content_type="text/csv")


def read_file(hook: MarketoHook, chunk_size: int = 1024 * 1024) -> bytes:
    with hook.open_export_file(PROGRAM_MEMBERS, EXPORT_ID) as export_file:
        return b"".join(export_file.iter_chunks(chunk_size))


def test_a_file_that_keeps_trickling_is_read_past_the_timeout(monkeypatch):
    # 32 bytes at one every 0.1 s: no byte waits anywhere near 2 s, the whole body takes well over 2 s.
    with HostileServer(file=drip(file_answer(), every=0.1, head=head_length(file_answer()))) as server:
        hook = serve(monkeypatch, server)
        with Timer() as timer:
            assert read_file(hook) == CSV
    assert timer.seconds > TIMEOUT


def test_a_file_that_stops_sending_ends_at_the_stall_timeout(monkeypatch):
    raw = file_answer()
    half = head_length(raw) + len(CSV) // 2

    def stall(request):  # half the body, then nothing for longer than the timeout
        yield raw[:half]
        time.sleep(TIMEOUT + 3)

    with HostileServer(file=stall) as server:
        hook = serve(monkeypatch, server)
        with Timer() as timer, pytest.raises(MarketoTransientError) as caught:
            read_file(hook, chunk_size=1)  # every byte handed out as it comes: the error counts them
    assert f"download stalled after {len(CSV) // 2} bytes: read timeout (no byte for 2 s)" in str(
        caught.value
    )
    assert TIMEOUT - 0.1 <= timer.seconds <= TIMEOUT + SLACK


def test_a_file_whose_headers_drip_ends_at_the_deadline(monkeypatch):
    with HostileServer(file=drip(file_answer())) as server:
        hook = serve(monkeypatch, server)
        hook.get_access_token()
        with Timer() as timer, pytest.raises(MarketoTransientError) as caught:
            read_file(hook)
    assert_ended_at_the_deadline(caught.value, timer, "file")


# --- the size of a JSON answer -----------------------------------------------------------------------------


def oversized_record() -> bytes:
    return json_answer({"success": True, "result": [{"exportId": EXPORT_ID, "padding": "x" * MAX_JSON_BODY}]})


def chunked(raw: bytes) -> bytes:
    """``raw``'s body sent chunked (no Content-Length announcing its size)."""
    head, body = raw[: head_length(raw)], raw[head_length(raw) :]
    head = b"\r\n".join(line for line in head.split(b"\r\n") if not line.startswith(b"Content-Length"))
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    encoded = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    return head.rstrip(b"\r\n") + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + encoded


SIZES = {"announced": oversized_record, "chunked": lambda: chunked(oversized_record())}


@pytest.mark.parametrize("answer", SIZES.values(), ids=SIZES.keys())
def test_an_oversized_json_answer_is_refused(monkeypatch, answer):
    with (
        HostileServer(status=once(answer())) as server,
        pytest.raises(MarketoApiError, match="more than the 4 MiB a JSON answer may have") as caught,
    ):
        serve(monkeypatch, server).get_export_status(PROGRAM_MEMBERS, EXPORT_ID)
    assert (caught.value.endpoint, caught.value.retryable) == ("status", False)


@pytest.mark.parametrize("answer", SIZES.values(), ids=SIZES.keys())
async def test_an_oversized_json_answer_is_refused_async(monkeypatch, answer):
    with HostileServer(status=once(answer())) as server:
        hook = serve(monkeypatch, server)
        with pytest.raises(MarketoApiError, match="more than the 4 MiB a JSON answer may have") as caught:
            await astatus(hook)
    assert (caught.value.endpoint, caught.value.retryable) == ("status", False)
