"""MarketoHook against the emulator over real HTTP: auth, every endpoint, retries and error classification."""

from __future__ import annotations

import json
import logging
import time
from contextlib import aclosing
from urllib.parse import parse_qs

import pytest

from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoApiQuotaError,
    MarketoAuthError,
    MarketoExportNotEnqueuedError,
    MarketoExportQuotaError,
    MarketoFileNotAvailableError,
    MarketoQueueFullError,
    MarketoRequestError,
    MarketoTransientError,
)
from airflow_provider_marketo_pm.export_status import MAX_REENQUEUES
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.testing import Fault

FIELDS = ["leadId", "firstName", "email", "statusName"]
PROGRAM = {"programId": 1044}
SIXTY_DAYS = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-03-01T00:00:00Z"}
FAST = {"retry_min_wait": 0.001, "retry_max_wait": 0.01}


@pytest.fixture
def emu(emulator):
    """The emulator, registered as the ``marketo_default`` connection (``tests/conftest.py``)."""
    return emulator


@pytest.fixture
def hook(emu):
    return MarketoHook(**FAST)


def set_connection(monkeypatch, emu, **changes):
    """Register ``marketo_default`` with some fields or extras changed."""
    conn = json.loads(emu.connection_json())
    conn.update(changes)
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", json.dumps(conn))


def completed_export(hook, fields=FIELDS, filter_=PROGRAM):
    """Create, enqueue and wait (in emulated fast pace) for a Completed job."""
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=fields, filter=filter_))["exportId"]
    hook.enqueue_export(PROGRAM_MEMBERS, export_id)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        record = hook.get_export_status(PROGRAM_MEMBERS, export_id)
        if record["status"] == "Completed":
            return export_id
        time.sleep(0.05)
    raise AssertionError(f"export {export_id} did not complete: {record}")


def issued_tokens(emu):
    """Every token value the API calls carried."""
    return {r.headers["authorization"].split(" ", 1)[1] for r in emu.requests if r.endpoint != "token"}


# --- auth ---------------------------------------------------------------------------------------------------


def test_every_call_carries_a_bearer_token_and_no_secret_travels_in_a_url(emu, hook):
    hook.describe_program_members()
    export_id = completed_export(hook)
    with hook.open_export_file(PROGRAM_MEMBERS, export_id) as export_file:
        b"".join(export_file.iter_chunks())
    hook.list_exports(PROGRAM_MEMBERS, status="Completed")
    other = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    hook.cancel_export(PROGRAM_MEMBERS, other)

    token_calls = emu.calls("token")
    assert len(token_calls) == 1
    token_call = token_calls[0]
    assert token_call.method == "POST"
    assert token_call.query == {}
    assert token_call.headers["content-type"].startswith("application/x-www-form-urlencoded")
    form = parse_qs(token_call.body.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": [emu.client_id],
        "client_secret": [emu.client_secret],
    }

    api_calls = [r for r in emu.requests if r.endpoint != "token"]
    assert {r.endpoint for r in api_calls} == {
        "describe",
        "create",
        "enqueue",
        "status",
        "file",
        "list",
        "cancel",
    }
    (token,) = issued_tokens(emu)
    for request in api_calls:
        assert request.headers["authorization"] == f"Bearer {token}"
        assert "access_token" not in request.query
        assert token not in request.url
        assert emu.client_secret not in request.url
        assert request.marketo_code is None


def test_one_token_serves_many_calls_and_hooks(emu):
    first, second = MarketoHook(**FAST), MarketoHook(**FAST)
    for _ in range(5):
        first.describe_program_members()
        second.list_exports(PROGRAM_MEMBERS)
    assert len(emu.calls("token")) == 1
    assert len(issued_tokens(emu)) == 1


@pytest.mark.parametrize("code", ["601", "602"])
def test_invalid_or_expired_token_is_replaced_and_the_call_replayed_once(emu, hook, code):
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    emu.inject("status", Fault(code=code))
    assert hook.get_export_status(PROGRAM_MEMBERS, export_id)["exportId"] == export_id
    assert [r.marketo_code for r in emu.calls("status")] == [code, None]
    assert len(emu.calls("token")) == 2


def test_expired_token_on_the_server_side_is_replaced(emu, hook):
    hook.describe_program_members()
    emu.expire_token()
    hook.describe_program_members()
    assert [r.marketo_code for r in emu.calls("describe")] == [None, "602", None]
    assert len(issued_tokens(emu)) == 2


def test_token_refused_again_after_replay_is_an_auth_error(emu, hook):
    emu.inject("describe", Fault(code="601"), Fault(code="601"))
    with pytest.raises(MarketoAuthError) as caught:
        hook.describe_program_members()
    assert caught.value.code == "601"
    assert len(emu.calls("describe")) == 2


def test_bad_credentials_fail_at_once_with_a_hint(emu, monkeypatch):
    set_connection(monkeypatch, emu, password="not-the-secret")
    with pytest.raises(MarketoAuthError, match="check the client id") as caught:
        MarketoHook(**FAST).describe_program_members()
    assert caught.value.http_status == 401
    assert "not-the-secret" not in str(caught.value)
    assert len(emu.calls("token")) == 1
    assert emu.calls("describe") == []


def test_token_endpoint_5xx_is_retried(emu, hook):
    emu.inject("token", Fault(http_status=503))
    hook.describe_program_members()
    assert [r.status for r in emu.calls("token")] == [503, 200]


# --- retries -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [Fault(code=code) for code in ("604", "606", "608", "611", "615", "713")]
    + [Fault(http_status=status, body="upstream trouble") for status in (500, 502, 503, 504)],
    ids=lambda fault: fault.code or f"http{fault.http_status}",
)
def test_transient_errors_are_retried_until_success(emu, hook, fault):
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    emu.inject("status", fault, fault)
    assert hook.get_export_status(PROGRAM_MEMBERS, export_id)["status"] == "Created"
    assert len(emu.calls("status")) == 3


def test_retries_are_bounded_and_end_in_a_transient_error(emu):
    hook = MarketoHook(max_retries=2, **FAST)
    emu.inject("describe", *[Fault(code="606")] * 5)
    with pytest.raises(MarketoTransientError, match="Gave up after 3 attempts") as caught:
        hook.describe_program_members()
    assert caught.value.code == "606"
    assert caught.value.retryable is True
    assert len(emu.calls("describe")) == 3


def test_retry_limits_come_from_connection_extras(emu, monkeypatch):
    set_connection(monkeypatch, emu, extra={"max_retries": 1, "timeout": 5})
    emu.inject("describe", *[Fault(http_status=500)] * 3)
    with pytest.raises(MarketoTransientError):
        MarketoHook(**FAST).describe_program_members()
    assert len(emu.calls("describe")) == 2
    for request in emu.requests:
        assert "max_retries" not in request.headers
        assert "timeout" not in request.headers


def test_slow_answers_time_out_and_are_retried(emu):
    hook = MarketoHook(timeout=0.3, **FAST)
    emu.inject("describe", Fault(delay=2.0))
    hook.describe_program_members()
    assert len(emu.calls("describe")) == 2


def test_connection_refused_is_a_transient_error(emu, monkeypatch):
    set_connection(monkeypatch, emu, host="http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(MarketoTransientError, match="connection refused") as caught:
        MarketoHook(max_retries=1, **FAST).describe_program_members()
    assert caught.value.http_status is None


# --- fatal errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error_class", "hint"),
    [
        ("600", MarketoApiError, "Authorization header"),
        ("603", MarketoApiError, "Read-Only Lead"),
        ("607", MarketoApiQuotaError, "12:00 AM US Central"),
        ("609", MarketoApiError, "bug"),
        ("610", MarketoApiError, "bug"),
        ("612", MarketoApiError, "bug"),
        ("1003", MarketoApiError, "'Not in a Program'"),
        ("1035", MarketoApiError, "drop updatedAt"),
    ],
)
def test_fatal_errors_fail_at_once_with_what_to_fix(emu, hook, code, error_class, hint):
    emu.inject("create", Fault(code=code))
    with pytest.raises(error_class, match=hint) as caught:
        hook.create_export(
            PROGRAM_MEMBERS.request(
                fields=FIELDS, filter={"programId": 1044, "statusNames": ["Not in a Program"]}
            )
        )
    error = caught.value
    assert type(error) is error_class
    assert (error.code, error.endpoint, error.retryable) == (code, "create", False)
    assert error.request_id
    assert len(emu.calls("create")) == 1


def test_api_quota_error_says_when_it_resets(emu, hook):
    emu.inject("describe", Fault(code="607"))
    with pytest.raises(MarketoApiQuotaError) as caught:
        hook.describe_program_members()
    resets_at = caught.value.resets_at
    assert resets_at.in_timezone("America/Chicago").format("HH:mm") == "00:00"
    assert f"{resets_at.format('YYYY-MM-DDTHH:mm:ss')}Z" in str(caught.value)


def test_updated_at_filter_not_enabled(marketo_emulator_options, monkeypatch):
    from airflow_provider_marketo_pm.testing import MarketoEmulator

    with MarketoEmulator(updated_at_filter=False) as emu:
        set_connection(monkeypatch, emu)
        window = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T00:00:00Z"}
        with pytest.raises(MarketoApiError, match="not enabled") as caught:
            MarketoHook(**FAST).create_export(
                PROGRAM_MEMBERS.request(fields=FIELDS, filter={**PROGRAM, "updatedAt": window})
            )
    assert caught.value.code == "1035"


# --- 1029: three different things ---------------------------------------------------------------------------


def test_full_queue_is_its_own_error_and_not_retried(emu, hook):
    emu.occupy_queue(emu.options.max_queued)
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    with pytest.raises(MarketoQueueFullError, match="enqueue again later") as caught:
        hook.enqueue_export(PROGRAM_MEMBERS, export_id)
    assert caught.value.code == "1029"
    assert len(emu.calls("enqueue")) == 1


def test_export_quota_fails_with_reset_time(emu, hook):
    emu.inject("create", Fault(code="1029", message="Export daily quota 500MB exceeded."))
    with pytest.raises(MarketoExportQuotaError) as caught:
        hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))
    error = caught.value
    assert "12:00 AM US Central (America/Chicago)" in str(error)
    assert f"{error.resets_at.format('YYYY-MM-DDTHH:mm:ss')}Z" in str(error)
    assert len(emu.calls("create")) == 1


def test_export_quota_used_up_by_real_exports():
    from airflow_provider_marketo_pm.testing import MarketoEmulator

    with MarketoEmulator(daily_quota_bytes=1) as emu, pytest.MonkeyPatch.context() as monkeypatch:
        set_connection(monkeypatch, emu)
        hook = MarketoHook(**FAST)
        completed_export(hook)
        with pytest.raises(MarketoExportQuotaError):
            hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))


def test_enqueue_of_an_already_queued_job_succeeds(emu, hook):
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    first = hook.enqueue_export(PROGRAM_MEMBERS, export_id)
    again = hook.enqueue_export(PROGRAM_MEMBERS, export_id)
    assert first["status"] in ("Queued", "Processing", "Completed")
    assert again["exportId"] == export_id
    assert again["status"] in ("Queued", "Processing", "Completed")
    assert [r.marketo_code for r in emu.calls("enqueue")] == [None, "1029"]


# --- answers seen in production: empty, without result -----------------------------------------------------


def test_an_empty_answer_is_transient_and_retried(emu, hook):
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    emu.inject("status", Fault(empty_body=True), Fault(empty_body=True))

    assert hook.get_export_status(PROGRAM_MEMBERS, export_id)["exportId"] == export_id
    assert len(emu.calls("status")) == 3


def test_an_answer_without_result_is_transient_and_retried(emu, hook):
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    emu.inject("enqueue", Fault(no_result=True))

    assert hook.enqueue_export(PROGRAM_MEMBERS, export_id)["status"] in ("Queued", "Processing", "Completed")
    assert len(emu.calls("enqueue")) == 2


def test_a_create_without_result_is_retried_and_leaves_exactly_one_job(emu, hook):
    emu.inject("create", Fault(no_result=True), Fault(empty_body=True))

    created = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))

    assert len(emu.calls("create")) == 3
    assert [job["exportId"] for job in hook.list_exports(PROGRAM_MEMBERS)] == [created["exportId"]]


@pytest.mark.parametrize(
    ("fault", "missing"),
    [(Fault(no_result=True), "without `result`"), (Fault(empty_body=True), "empty")],
)
def test_retries_of_a_missing_answer_end_in_an_error_naming_the_call(emu, fault, missing):
    hook = MarketoHook(max_retries=2, **FAST)
    emu.inject("create", *[fault] * 3)

    with pytest.raises(
        MarketoTransientError, match=rf"Marketo create call failed with .*{missing}.*Gave up after 3"
    ):
        hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))
    assert len(emu.calls("create")) == 3
    assert hook.list_exports(PROGRAM_MEMBERS) == []  # nothing was created, nothing to enqueue twice


async def test_async_status_retries_an_answer_without_result(emu, hook):
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    emu.inject("status", Fault(no_result=True), Fault(empty_body=True))
    try:
        assert (await hook.aget_export_status(PROGRAM_MEMBERS, export_id))["exportId"] == export_id
    finally:
        await hook.aclose()
    assert len(emu.calls("status")) == 3


def test_wait_for_export_enqueues_a_still_created_job_again_a_bounded_number_of_times(emu, hook):
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    emu.created_after_enqueue(polls=10_000)
    hook.enqueue_export(PROGRAM_MEMBERS, export_id)

    with pytest.raises(MarketoExportNotEnqueuedError, match=f"export {export_id} still reads Created"):
        hook.wait_for_export(
            PROGRAM_MEMBERS, export_id, poll_interval=0.01, timeout=30, reenqueue_after_polls=2
        )

    assert [r.marketo_code for r in emu.calls("enqueue")] == [None] + ["1029"] * MAX_REENQUEUES


@pytest.mark.parametrize("cadence", ["pause", "paused", "paus", "norm", "normal"])
def test_nurture_cadence_is_sent_as_given(emu, hook, cadence):
    hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter={**PROGRAM, "nurtureCadence": cadence}))

    assert json.loads(emu.calls("create")[-1].body)["filter"]["nurtureCadence"] == cadence


def test_an_undocumented_nurture_cadence_fails_with_marketos_1003(emu, hook):
    with pytest.raises(MarketoApiError, match="1003") as raised:
        hook.create_export(
            PROGRAM_MEMBERS.request(fields=FIELDS, filter={**PROGRAM, "nurtureCadence": "PAUSEXYZ"})
        )
    assert not raised.value.retryable


# --- endpoints ---------------------------------------------------------------------------------------------


def test_create_sends_the_validated_body(emu, hook):
    window = {"startAt": "2024-01-01T00:00:00.500-06:00", "endAt": "2024-01-31T00:00:00-06:00"}
    record = hook.create_export(
        PROGRAM_MEMBERS.request(
            fields=FIELDS,
            filter={**PROGRAM, "updatedAt": window},
            format="tsv",
            column_header_names={"leadId": "Lead"},
        )
    )
    assert record["status"] == "Created"
    assert record["format"] == "TSV"
    (create,) = emu.calls("create")
    assert json.loads(create.body) == {
        "fields": FIELDS,
        "format": "TSV",
        "filter": {
            "programId": 1044,
            "updatedAt": {"startAt": "2024-01-01T06:00:00Z", "endAt": "2024-01-31T06:00:00Z"},
        },
        "columnHeaderNames": {"leadId": "Lead"},
    }


@pytest.mark.parametrize(
    ("fields", "filter_"),
    [
        ([], PROGRAM),
        (FIELDS, {}),
        (FIELDS, {"programId": 1044, "programIds": [1001]}),
        (FIELDS, {"programId": 1044, "updatedAt": SIXTY_DAYS}),
        (FIELDS, {"programId": 1044, "colour": "red"}),
    ],
)  # fmt: skip
def test_bad_requests_send_nothing(emu, hook, fields, filter_):
    with pytest.raises(MarketoRequestError):
        hook.create_export(PROGRAM_MEMBERS.request(fields=fields, filter=filter_))
    assert emu.requests == []


def test_bad_export_id_sends_nothing(emu, hook):
    with pytest.raises(MarketoRequestError):
        hook.get_export_status(PROGRAM_MEMBERS, "")
    assert emu.requests == []


def test_describe_returns_program_member_fields(hook):
    (record,) = hook.describe_program_members()
    assert "fields" in record


def test_cancel_returns_the_cancelled_record(emu, hook):
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    hook.enqueue_export(PROGRAM_MEMBERS, export_id)
    assert hook.cancel_export(PROGRAM_MEMBERS, export_id)["status"] in ("Cancelled", "Canceled")


def test_list_follows_next_page_token(emu, hook):
    created = {
        hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
        for _ in range(5)
    }
    jobs = hook.list_exports(PROGRAM_MEMBERS, batch_size=2)
    assert {job["exportId"] for job in jobs} == created
    calls = emu.calls("list")
    assert len(calls) == 3
    assert "nextPageToken" not in calls[0].query
    assert all("nextPageToken" in call.query for call in calls[1:])


def test_list_filters_by_status(emu, hook):
    done = completed_export(hook)
    hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))
    assert [job["exportId"] for job in hook.list_exports(PROGRAM_MEMBERS, status=["Completed"])] == [done]
    assert emu.calls("list")[-1].query["status"] == "Completed"


@pytest.mark.parametrize("spelling", ["Canceled", "Cancelled", "canceled", ["Cancelled", "Canceled"]])
def test_list_takes_either_spelling_of_cancelled_and_sends_cancelled(emu, hook, spelling):
    cancelled = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    hook.cancel_export(PROGRAM_MEMBERS, cancelled)
    hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))

    assert [job["exportId"] for job in hook.list_exports(PROGRAM_MEMBERS, status=spelling)] == [cancelled]
    assert emu.calls("list")[-1].query["status"] == "Cancelled"


# --- file --------------------------------------------------------------------------------------------------


def test_file_streams_in_chunks(emu, hook):
    export_id = completed_export(hook)
    expected = emu.file_bytes(export_id)
    with hook.open_export_file(PROGRAM_MEMBERS, export_id) as export_file:
        chunks = list(export_file.iter_chunks(chunk_size=256))
    assert b"".join(chunks) == expected
    assert len(chunks) > 1
    assert (export_file.start, export_file.total_size, export_file.bytes_read) == (
        0,
        len(expected),
        len(expected),
    )
    assert "range" not in emu.calls("file")[0].headers


def test_file_resumes_from_an_offset_with_range(emu, hook):
    export_id = completed_export(hook)
    expected = emu.file_bytes(export_id)
    offset = len(expected) // 3
    with hook.open_export_file(PROGRAM_MEMBERS, export_id, start=offset) as export_file:
        rest = b"".join(export_file.iter_chunks(chunk_size=100))
    assert rest == expected[offset:]
    assert (export_file.start, export_file.total_size) == (offset, len(expected))
    assert emu.calls("file")[-1].headers["range"] == f"bytes={offset}-"
    assert emu.calls("file")[-1].status == 206


def test_cut_download_raises_transient_error_and_resumes(emu, hook):
    export_id = completed_export(hook)
    expected = emu.file_bytes(export_id)
    emu.drop_download_after(100)
    received = bytearray()

    def download(start):
        with hook.open_export_file(PROGRAM_MEMBERS, export_id, start=start) as export_file:
            for chunk in export_file.iter_chunks(chunk_size=10):
                received.extend(chunk)

    with pytest.raises(MarketoTransientError, match="resume"):
        download(0)
    assert 0 < len(received) < len(expected)
    download(len(received))
    assert bytes(received) == expected


def test_stalled_download_names_the_read_timeout_and_resumes(emu):
    hook = MarketoHook(timeout=0.3, **FAST)
    export_id = completed_export(hook)
    expected = emu.file_bytes(export_id)
    emu.stall_download_after(100, seconds=60)
    received = bytearray()

    def download(start):
        with hook.open_export_file(PROGRAM_MEMBERS, export_id, start=start) as export_file:
            for chunk in export_file.iter_chunks(chunk_size=10):
                received.extend(chunk)

    with pytest.raises(
        MarketoTransientError, match=r"stalled after 100 bytes: read timeout \(no byte for 0.3 s\)"
    ):
        download(0)
    assert len(received) == 100
    download(len(received))
    assert bytes(received) == expected


def test_file_of_an_unfinished_or_unknown_job_is_not_available(emu, hook):
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    for unavailable in (export_id, "no-such-export"):
        with (
            pytest.raises(MarketoFileNotAvailableError, match=r"files are kept 7 days") as caught,
            hook.open_export_file(PROGRAM_MEMBERS, unavailable),
        ):
            pass
        assert caught.value.http_status == 404
    assert len(emu.calls("file")) == 2


def test_file_token_expiry_is_replayed(emu, hook):
    export_id = completed_export(hook)
    emu.inject("file", Fault(code="602"), Fault(http_status=502))
    with hook.open_export_file(PROGRAM_MEMBERS, export_id) as export_file:
        assert b"".join(export_file.iter_chunks()) == emu.file_bytes(export_id)
    assert [r.status for r in emu.calls("file")] == [200, 502, 200]


def test_file_expired_after_seven_days(emu, hook):
    export_id = completed_export(hook)
    emu.advance(8 * 86400)
    with pytest.raises(MarketoFileNotAvailableError), hook.open_export_file(PROGRAM_MEMBERS, export_id):
        pass


# --- async (trigger path) -----------------------------------------------------------------------------------


async def test_async_status_matches_sync_status(emu, hook):
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    async with aclosing(MarketoHook(**FAST)) as ahook:
        record = await ahook.aget_export_status(PROGRAM_MEMBERS, export_id)
    assert record == hook.get_export_status(PROGRAM_MEMBERS, export_id)
    assert all(r.headers["authorization"].startswith("Bearer ") for r in emu.calls("status"))


async def test_async_status_replays_token_and_retries(emu):
    export_id = MarketoHook(**FAST).create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))[
        "exportId"
    ]
    emu.inject("status", Fault(code="602"), Fault(code="606"), Fault(http_status=503))
    async with aclosing(MarketoHook(**FAST)) as ahook:
        record = await ahook.aget_export_status(PROGRAM_MEMBERS, export_id)
    assert record["exportId"] == export_id
    assert [r.marketo_code or r.status for r in emu.calls("status")] == ["602", "606", 503, 200]


async def test_async_status_retries_are_bounded(emu):
    emu.inject("status", *[Fault(code="615")] * 4)
    with pytest.raises(MarketoTransientError, match="Gave up after 3 attempts"):
        async with aclosing(MarketoHook(max_retries=2, **FAST)) as ahook:
            await ahook.aget_export_status(PROGRAM_MEMBERS, "anything")
    assert len(emu.calls("status")) == 3


async def test_async_status_raises_classified_errors(emu):
    emu.inject("status", Fault(code="603"))
    with pytest.raises(MarketoApiError, match="Read-Only Lead"):
        async with aclosing(MarketoHook(**FAST)) as ahook:
            await ahook.aget_export_status(PROGRAM_MEMBERS, "anything")


async def test_async_cancel_cancels_the_job_with_a_bearer_token(emu, hook):
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    async with aclosing(MarketoHook(**FAST)) as ahook:
        record = await ahook.acancel_export(PROGRAM_MEMBERS, export_id)
    assert record["status"] == "Cancelled"
    assert emu.job(export_id)["status"] == "Cancelled"
    (cancel,) = emu.calls("cancel")
    assert cancel.method == "POST"
    assert cancel.headers["authorization"].startswith("Bearer ")


async def test_async_cancel_replays_token_and_retries_like_status(emu, hook):
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter=PROGRAM))["exportId"]
    emu.inject("cancel", Fault(code="601"), Fault(code="606"), Fault(http_status=503))
    async with aclosing(MarketoHook(**FAST)) as ahook:
        record = await ahook.acancel_export(PROGRAM_MEMBERS, export_id)
    assert record["status"] == "Cancelled"
    assert [r.marketo_code or r.status for r in emu.calls("cancel")] == ["601", "606", 503, 200]


async def test_async_token_refused_again_after_replay_is_an_auth_error(emu):
    emu.inject("cancel", Fault(code="602"), Fault(code="602"))
    with pytest.raises(MarketoAuthError, match="freshly issued access token"):
        async with aclosing(MarketoHook(**FAST)) as ahook:
            await ahook.acancel_export(PROGRAM_MEMBERS, "anything")
    assert len(emu.calls("cancel")) == 2


async def test_async_cancel_of_a_finished_job_is_a_classified_error(emu, hook):
    export_id = completed_export(hook)
    with pytest.raises(MarketoApiError, match="can no longer be cancelled") as caught:
        async with aclosing(MarketoHook(**FAST)) as ahook:
            await ahook.acancel_export(PROGRAM_MEMBERS, export_id)
    assert not caught.value.retryable
    assert emu.job(export_id)["status"] == "Completed"


# --- secrets -----------------------------------------------------------------------------------------------


def test_secrets_never_reach_the_logs(emu, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    hook = MarketoHook(max_retries=1, **FAST)
    export_id = completed_export(hook)
    emu.expire_token()
    emu.inject("status", Fault(code="606"), Fault(http_status=500, body="boom"))
    with pytest.raises(MarketoTransientError):
        hook.get_export_status(PROGRAM_MEMBERS, export_id)
    with hook.open_export_file(PROGRAM_MEMBERS, export_id) as export_file:
        b"".join(export_file.iter_chunks())
    set_connection(monkeypatch, emu, password="wrong-secret-value")
    MarketoHook.clear_token_cache()
    with pytest.raises(MarketoAuthError) as caught:
        MarketoHook(**FAST).describe_program_members()

    secrets = {emu.client_secret, "wrong-secret-value", *issued_tokens(emu)}
    assert len(secrets) >= 3
    assert caplog.records
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in str(caught.value)


def test_test_connection_reports_success_and_failure(emu, monkeypatch):
    ok, message = MarketoHook(**FAST).test_connection()
    assert ok, message
    set_connection(monkeypatch, emu, login="someone-else")
    MarketoHook.clear_token_cache()
    ok, message = MarketoHook(**FAST).test_connection()
    assert not ok
    assert "client id" in message
