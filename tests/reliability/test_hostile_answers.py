"""Hostile answers, over real HTTP on 127.0.0.1: envelopes of the wrong shape, and numbers that are not.

A server answering as a broken or lying Marketo would (``hostile_marketo``) serves each malformed answer to
the sync hook, the async status trigger, the start operator and the download operator. Each must end in
one of our exceptions naming the call and the field (the trigger: one error event, never an exception out
of ``run()``), nothing enqueued for a job without an id, and nothing published at the destination.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from airflow.sdk import Context, ObjectStoragePath
from hostile_marketo import (
    EXPORT_ID,
    FILE,
    Answer,
    HostileMarketo,
    completed_record,
    envelope,
    hostile_marketo,
)

from airflow_provider_marketo_pm.exceptions import (
    MarketoDownloadError,
    MarketoExportEventError,
    MarketoMalformedAnswerError,
    MarketoRequestError,
    MarketoTransientError,
)
from airflow_provider_marketo_pm.export_status import completed_record_from_event
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)
from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger
from airflow_provider_marketo_pm.verified_download import VerifiedDownload
from airflow_provider_marketo_pm.version_compat import mask_secret

HEX = completed_record()["fileChecksum"].removeprefix("sha256:")


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileMarketo]:
    """The hostile server as ``marketo_default`` (max_retries=2, fast waits)."""
    with hostile_marketo() as server:
        monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", server.connection_json())
        yield server


def status_events(max_consecutive_errors: int | None = 0) -> list[dict[str, Any]]:
    """Every event of one status trigger run against ``marketo_default`` (polls fast, tolerates none)."""
    trigger = MarketoProgramMemberExportTrigger(
        export_id=EXPORT_ID, poll_interval=0.01, max_consecutive_errors=max_consecutive_errors
    )

    async def run() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(run())


def with_status(**fields: Any) -> Answer:
    return Answer.json(envelope(completed_record(**fields)))


# -- envelopes of the wrong shape: the sync hook and the async trigger --------------------------------------

MALFORMED_STATUS = {
    "errors an object": (
        Answer.json({"requestId": "r", "success": False, "errors": {"code": "606", "message": "slow down"}}),
        "errors",
        "`errors` is an object, not a list",
    ),
    "result a string": (
        Answer.json({"requestId": "r", "success": True, "result": "Completed"}),
        "result",
        "`result` is a string, not a list",
    ),
    "status a list": (with_status(status=["Completed"]), "status", "`status` is a list, not a word"),
    "success a string": (
        Answer.json({"requestId": "r", "success": "yes", "result": [completed_record()]}),
        "success",
        "`success` is a string, not a boolean",
    ),
    "JSON nested 100k deep": (
        Answer('{"success": true, "result": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        "body",
        "nested deeper than it can be read",
    ),
    "status about another job": (
        Answer.json(envelope({"exportId": "another-job", "status": "Completed"})),
        "exportId",
        f"about export another-job, not {EXPORT_ID}",
    ),
    "numberOfRecords '1,204'": (
        with_status(numberOfRecords="1,204"),
        "numberOfRecords",
        "`numberOfRecords` '1,204' is not a whole number >= 0",
    ),
    "fileSize a float string": (with_status(fileSize="74.0"), "fileSize", "`fileSize` '74.0' is not a whole"),
    "fileSize true": (with_status(fileSize=True), "fileSize", "`fileSize` True is not a whole number"),
    "fileChecksum 63 hex digits": (
        with_status(fileChecksum=f"sha256:{HEX[:-1]}"),
        "fileChecksum",
        "is not 'sha256:' followed by 64 hex digits",
    ),
}


@pytest.mark.parametrize("case", MALFORMED_STATUS)
def test_a_malformed_status_answer_is_our_error_naming_the_field_and_is_not_retried(hostile, case):
    answer, field, words = MALFORMED_STATUS[case]
    hostile.script("status", answer)

    with pytest.raises(MarketoMalformedAnswerError) as caught:
        MarketoHook().get_export_status(PROGRAM_MEMBERS, EXPORT_ID)

    assert caught.value.field == field
    assert str(caught.value).startswith("Marketo status call failed with a malformed answer")
    assert words in str(caught.value)
    assert len(hostile.calls("status")) == 1, "the same answer would come back: not retried"


@pytest.mark.parametrize("case", MALFORMED_STATUS)
def test_the_trigger_answers_a_malformed_status_with_one_error_event(hostile, case):
    answer, _field, words = MALFORMED_STATUS[case]
    hostile.script("status", answer)

    events = status_events()

    assert len(events) == 1
    event = events[0]
    assert (event["status"], event["record"]) == ("error", None)
    assert words in event["message"]
    with pytest.raises(MarketoExportEventError, match="malformed answer"):
        completed_record_from_event(event)  # a retry of the task may read it right


def truncated(text: str) -> Answer:
    """The first half of ``text`` with a Content-Length saying so: the HTTP framing is whole, the JSON not."""
    return Answer(text[: len(text) // 2], 200, {"Content-Type": "application/json"})


def cut_off(text: str) -> Answer:
    """The first half of ``text``, then the connection closes, short of the Content-Length announced."""
    return Answer(text[: len(text) // 2], 200, {"Content-Length": str(len(text)), "Connection": "close"})


@pytest.mark.parametrize("make", [truncated, cut_off], ids=["JSON cut short", "connection cut short"])
def test_a_truncated_status_answer_is_transient_retried_then_named(hostile, make):
    text = json.dumps(envelope(completed_record()))
    hostile.script("status", *[make(text)] * 3)

    with pytest.raises(MarketoTransientError) as caught:
        MarketoHook().get_export_status(PROGRAM_MEMBERS, EXPORT_ID)

    assert len(hostile.calls("status")) == 3, "the first try and max_retries=2 retries"
    assert "Marketo status call failed" in str(caught.value)
    assert "Gave up after 3 attempts" in str(caught.value)


def test_a_truncated_status_answer_once_is_retried_and_the_status_read(hostile):
    hostile.script("status", truncated(json.dumps(envelope(completed_record()))))

    assert MarketoHook().get_export_status(PROGRAM_MEMBERS, EXPORT_ID) == completed_record()
    assert len(hostile.calls("status")) == 2


def test_the_trigger_polls_again_after_a_truncated_answer(hostile):
    hostile.script("status", truncated(json.dumps(envelope(completed_record()))))

    (event,) = status_events(max_consecutive_errors=1)

    assert event["status"] == "success"
    assert event["record"] == completed_record()


# -- what a record and an event carry is bounded -------------------------------------------------------------


@pytest.mark.parametrize("status", ["Failed", "Exploded"], ids=["Failed", "unknown status"])
def test_a_huge_status_answer_becomes_a_small_event(hostile, status):
    huge = "x" * 400_000
    record = {"exportId": EXPORT_ID, "status": status, "errorMsg": huge, "junk": huge, "more": [huge]}
    answer = Answer.json(envelope(record))
    hostile.script("status", answer)

    (event,) = status_events()

    assert event["status"] == "error"
    assert set(event["record"]) == {"exportId", "status", "errorMsg"}
    size = len(json.dumps(event))
    assert size < 5_000 < len(answer.body) // 200, (
        f"an event of {size} bytes for a {len(answer.body)} byte answer"
    )


def test_an_unforeseen_error_in_the_trigger_becomes_a_redacted_error_event(hostile, monkeypatch):
    secret = "trigger-secret-5f1c9e"
    mask_secret(secret)

    def broken(record: Any) -> Any:
        raise RuntimeError(f"a bug that prints {secret}")

    monkeypatch.setattr("airflow_provider_marketo_pm.triggers.bulk_export.read_export_status", broken)

    (event,) = status_events()

    assert (event["status"], event["record"]) == ("error", None)
    assert "RuntimeError: a bug that prints ***" in event["message"]
    assert secret not in json.dumps(event)


def test_a_connection_that_cannot_be_read_is_an_error_event_not_an_exception(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", json.dumps({"conn_type": "marketo", "host": ""}))

    (event,) = status_events(max_consecutive_errors=None)  # reads the connection before the first poll

    assert event["status"] == "error"
    assert "Cannot read status of export" in event["message"]


# -- the token answer ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expires_in", ["NaN", "Infinity", "-1", "1e12", '"soon"', "true"], ids=lambda v: f"expires_in {v}"
)
def test_a_token_whose_life_is_no_number_of_seconds_is_refused_sync_and_async(hostile, expires_in):
    bad = Answer(f'{{"access_token": "tok-1", "token_type": "bearer", "expires_in": {expires_in}}}')
    hostile.script("token", bad, bad)

    with pytest.raises(MarketoMalformedAnswerError, match="expires_in") as caught:
        MarketoHook().get_export_status(PROGRAM_MEMBERS, EXPORT_ID)
    (event,) = status_events()

    assert caught.value.field == "expires_in"
    assert "Marketo token call failed with a malformed answer" in str(caught.value)
    assert event["status"] == "error"
    assert "expires_in" in event["message"]
    assert hostile.calls("status") == [], "no call is made with a token whose life is unknown"


@pytest.mark.parametrize(
    "token", ["Zq9x\r\nX-Evil: 1", "Zq9x Zq9x", ["Zq9x"]], ids=["CR/LF", "space", "a list"]
)
def test_a_token_that_could_not_travel_in_a_header_is_refused_and_never_shown(hostile, token):
    hostile.script("token", Answer.json({"access_token": token, "expires_in": 3599}))

    with pytest.raises(MarketoMalformedAnswerError, match="`access_token`") as caught:
        MarketoHook().get_export_status(PROGRAM_MEMBERS, EXPORT_ID)

    assert "Zq9x" not in str(caught.value)
    assert hostile.calls("status") == []


# -- create: an answer without a sane exportId is never enqueued ---------------------------------------------


def start_operator() -> MarketoStartProgramMemberExportOperator:
    return MarketoStartProgramMemberExportOperator(
        task_id="start_export", fields=["leadId", "email"], filter={"programId": 1044}
    )


@pytest.mark.parametrize(
    "record", [{"status": "Created"}, {"exportId": None, "status": "Created"}], ids=["no exportId", "null"]
)
def test_a_create_answer_without_an_export_id_is_retried_and_nothing_is_enqueued(hostile, record):
    hostile.script("create", *[Answer.json(envelope(record))] * 3)

    with pytest.raises(MarketoTransientError, match="without an `exportId`") as caught:
        start_operator().execute(cast(Context, {}))

    assert "Marketo create call failed" in str(caught.value)
    assert len(hostile.calls("create")) == 3
    assert hostile.calls("enqueue") == [], "nothing enqueued: never the string 'None'"


def test_a_create_answer_with_an_export_id_that_is_no_id_is_refused_and_nothing_is_enqueued(hostile):
    hostile.script("create", Answer.json(envelope({"exportId": "../../admin", "status": "Created"})))

    with pytest.raises(
        MarketoMalformedAnswerError, match=re.escape("`exportId` '../../admin' is not an export id")
    ):
        start_operator().execute(cast(Context, {}))

    assert len(hostile.calls("create")) == 1
    assert hostile.calls("enqueue") == []


class TaskStateStore(dict[str, Any]):
    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        self[key] = value


def test_a_retry_meeting_a_malformed_status_of_its_earlier_job_fails_instead_of_creating_another(hostile):
    store = TaskStateStore()
    start_operator().execute(cast(Context, {"task_state_store": store}))  # the first try: create, enqueue
    hostile.script("status", with_status(numberOfRecords="1,204"))

    with pytest.raises(MarketoMalformedAnswerError, match="numberOfRecords"):
        start_operator().execute(cast(Context, {"task_state_store": store}))

    assert len(hostile.calls("create")) == 1, "no second job created on a guess"


# -- numbers: checked before anything is published ---------------------------------------------------------


def download(destination: Path, **kwargs: Any) -> dict[str, Any]:
    operator = MarketoDownloadProgramMemberExportOperator(
        task_id="download_export",
        export_id=EXPORT_ID,
        destination=destination.as_uri(),
        chunk_size=16,
        max_resumes=2,
        progress_interval=0.0,
        **kwargs,
    )
    return cast(dict[str, Any], operator.execute(cast(Context, {})))


BAD_NUMBERS = {
    "numberOfRecords '1,204'": ("numberOfRecords", "1,204"),
    "numberOfRecords -1": ("numberOfRecords", -1),
    "numberOfRecords 12.5": ("numberOfRecords", 12.5),
    "fileSize '74.0'": ("fileSize", "74.0"),
    "fileSize true": ("fileSize", True),
    "fileSize -74": ("fileSize", -74),
    "fileChecksum without sha256:": ("fileChecksum", HEX),
    "fileChecksum of 65 digits": ("fileChecksum", f"sha256:{HEX}0"),
    "fileChecksum md5:": ("fileChecksum", f"md5:{HEX}"),
}


@pytest.mark.parametrize("case", BAD_NUMBERS)
def test_a_bad_number_in_the_status_answer_fails_the_download_before_anything_is_published(
    hostile, tmp_path, case
):
    field, value = BAD_NUMBERS[case]
    hostile.script("status", with_status(**{field: value}))

    with pytest.raises(MarketoMalformedAnswerError) as caught:
        download(tmp_path / "out" / "members.csv")

    assert caught.value.field == field
    assert hostile.calls("file") == [], "checked before a byte is read"
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("case", BAD_NUMBERS)
def test_a_bad_number_in_a_handed_in_record_fails_before_anything_is_published(hostile, tmp_path, case):
    field, value = BAD_NUMBERS[case]

    with pytest.raises(MarketoMalformedAnswerError) as caught:
        download(tmp_path / "members.csv", record=completed_record(**{field: value}), verify_checksum=False)

    assert caught.value.field == field
    assert hostile.calls("status") == hostile.calls("file") == []
    assert list(tmp_path.iterdir()) == []


def test_the_same_download_with_sound_numbers_publishes_the_file(hostile, tmp_path):
    result = download(tmp_path / "members.csv")

    assert (tmp_path / "members.csv").read_bytes() == FILE
    assert (result["records"], result["bytes"], result["sha256"]) == (2, len(FILE), HEX)


def test_the_checksum_prefix_in_capitals_is_a_checksum(hostile, tmp_path):
    hostile.script("status", with_status(fileChecksum=f"SHA256:{HEX.upper()}"))

    assert download(tmp_path / "members.csv")["sha256"] == HEX


def dropped_half_way() -> Answer:
    """The whole file announced, half of it sent, the connection closed: the download resumes."""
    half = FILE[: len(FILE) // 2]
    return Answer(half, 200, {"Content-Length": str(len(FILE)), "Connection": "close"})


RANGE_LIES = {
    "resumed from byte 0": lambda start, total: Answer(
        FILE, 206, {"Content-Range": f"bytes 0-{total - 1}/{total}"}
    ),
    "resumed from a byte later": lambda start, total: Answer(
        FILE[start + 5 :], 206, {"Content-Range": f"bytes {start + 5}-{total - 1}/{total}"}
    ),
    "206 without Content-Range": lambda start, total: Answer(FILE[start:], 206),
    "Content-Range unreadable": lambda start, total: Answer(
        FILE[start:], 206, {"Content-Range": "bytes=all"}
    ),
    "range past the end": lambda start, total: Answer(
        FILE[start:], 206, {"Content-Range": f"bytes {start}-{total}/{total}"}
    ),
}


@pytest.mark.parametrize("case", RANGE_LIES)
def test_a_resume_answered_from_the_wrong_byte_is_refused_and_nothing_is_published(hostile, tmp_path, case):
    start, total = len(FILE) // 2, len(FILE)
    hostile.script("file", dropped_half_way(), RANGE_LIES[case](start, total))

    with pytest.raises(MarketoDownloadError, match=f"asked for bytes from {start}, answered HTTP 206"):
        download(tmp_path / "members.csv")

    ranges = [seen.headers.get("Range") for seen in hostile.calls("file")]
    assert ranges == [None, f"bytes={start}-"]
    assert list(tmp_path.iterdir()) == []


def test_a_resume_from_byte_0_of_the_missing_length_is_refused_where_only_the_size_is_verified(
    hostile, tmp_path
):
    start, total = len(FILE) // 2, len(FILE)
    hostile.status_record = {k: v for k, v in completed_record().items() if k != "fileChecksum"}
    repeat = Answer(FILE[: total - start], 206, {"Content-Range": f"bytes 0-{total - start - 1}/{total}"})
    hostile.script("file", dropped_half_way(), repeat)  # the right length, the wrong bytes

    with pytest.raises(
        MarketoDownloadError, match=f"asked for bytes from {start}, answered HTTP 206 from byte 0"
    ):
        download(tmp_path / "members.csv", verify_checksum=False)

    assert list(tmp_path.iterdir()) == []


def test_a_resume_answered_from_the_right_byte_completes_the_file(hostile, tmp_path):
    hostile.script("file", dropped_half_way())

    download(tmp_path / "members.csv")

    assert (tmp_path / "members.csv").read_bytes() == FILE
    assert [seen.headers.get("Range") for seen in hostile.calls("file")] == [None, f"bytes={len(FILE) // 2}-"]


@pytest.mark.parametrize(
    ("size", "sha256", "field"),
    [(True, None, "expected_size"), (-1, None, "expected_size"), ("74", None, "expected_size"),
     (None, f"sha256:{HEX}", "expected_sha256"), (None, HEX.upper(), "expected_sha256")],
)  # fmt: skip
def test_verified_download_refuses_expectations_that_are_no_size_or_sha256(
    hostile, tmp_path, size, sha256, field
):
    copier = VerifiedDownload(log=MarketoHook().log, chunk_size=16, max_resumes=0, progress_interval=0.0)

    with pytest.raises(MarketoRequestError, match=field):
        copier.copy(
            MarketoHook(),
            EXPORT_ID,
            ObjectStoragePath((tmp_path / "members.csv").as_uri()),
            expected_size=size,
            expected_sha256=sha256,
            kind=PROGRAM_MEMBERS,
        )

    assert hostile.seen == []
    assert list(tmp_path.iterdir()) == []
