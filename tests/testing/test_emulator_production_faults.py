"""Oddities other Marketo clients meet in production, injectable at will (each named in docs/fidelity.md)."""

from __future__ import annotations

import codecs
import hashlib

import pytest
from emulator_client import EXPORT, error_of, parse_rows

from airflow_provider_marketo_pm.testing import Fault

SLOW_JOBS = {"processing_seconds": 3600.0}


def test_an_http_200_with_an_empty_body(api, marketo_emulator):
    marketo_emulator.inject("status", Fault(empty_body=True))
    export_id = api.create_job()

    response = api.request("GET", f"{EXPORT}/{export_id}/status.json")

    assert (response.status_code, response.content) == (200, b"")
    assert api.status(export_id)["success"] is True  # then normal service resumes


def test_a_create_answer_without_result_creates_nothing(api, marketo_emulator):
    marketo_emulator.inject("create", Fault(no_result=True))

    answer = api.create({"fields": ["leadId"], "filter": {"programId": 1044}})

    assert answer["success"] is True
    assert "result" not in answer
    assert api.call("GET", f"{EXPORT}.json")["result"] == []


@pytest.mark.parametrize(
    "kwargs", [{"empty_body": True, "code": "606"}, {"no_result": True, "empty_body": True}]
)
def test_one_scripted_answer_per_fault(kwargs):
    with pytest.raises(ValueError, match="only one of"):
        Fault(**kwargs)


class TestCreatedAfterEnqueue:
    def test_the_job_reads_created_for_n_polls_while_it_is_in_fact_queued(self, start_emulator):
        emulator, api = start_emulator(**SLOW_JOBS)
        emulator.created_after_enqueue(polls=2)
        export_id = api.create_job()

        assert api.enqueue(export_id)["result"][0]["status"] == "Queued"
        assert [api.status(export_id)["result"][0]["status"] for _ in range(2)] == ["Created"] * 2
        assert error_of(api.enqueue(export_id)) == ("1029", "Job already queued")  # enqueue again: harmless
        assert api.status(export_id)["result"][0]["status"] == "Processing"

    def test_a_lost_enqueue_leaves_the_job_created_until_it_is_enqueued_again(self, start_emulator):
        emulator, api = start_emulator(**SLOW_JOBS)
        emulator.created_after_enqueue(lost=True)
        export_id = api.create_job()

        assert api.enqueue(export_id)["result"][0]["status"] == "Queued"
        emulator.advance(600)
        api.fetch_token()
        assert [api.status(export_id)["result"][0]["status"] for _ in range(5)] == ["Created"] * 5
        assert api.enqueue(export_id)["result"][0]["status"] == "Queued"
        assert api.status(export_id)["result"][0]["status"] in ("Queued", "Processing")

    def test_polls_must_be_positive(self, marketo_emulator):
        with pytest.raises(ValueError, match="polls"):
            marketo_emulator.created_after_enqueue(polls=0)


def test_a_completed_file_answers_404_for_a_while(api, marketo_emulator):
    marketo_emulator.delay_next_file(30)
    export_id = api.create_job()
    api.enqueue(export_id)
    api.wait_for(export_id, "Completed")

    first = api.file(export_id)
    marketo_emulator.advance(30)
    api.fetch_token()
    later = api.file(export_id)

    assert (first.status_code, first.headers["Content-Type"].split(";")[0]) == (404, "text/plain")
    assert later.status_code == 200
    assert later.content == marketo_emulator.file_bytes(export_id)


@pytest.mark.parametrize(
    ("keys", "missing"),
    [
        ((), {"fileChecksum", "fileSize"}),
        (("fileChecksum",), {"fileChecksum"}),
        (("fileSize",), {"fileSize"}),
    ],
)
def test_a_completed_record_without_file_checksum_or_size(api, marketo_emulator, keys, missing):
    marketo_emulator.omit_from_next_completion(*keys)
    export_id = api.create_job()
    api.enqueue(export_id)

    record = api.wait_for(export_id, "Completed")
    listed = api.call("GET", f"{EXPORT}.json", params={"status": "completed"})["result"][0]

    assert missing.isdisjoint(record)
    assert missing.isdisjoint(listed)
    assert {"numberOfRecords", "fileSize", "fileChecksum"} - missing <= set(record)
    assert api.file(export_id).content == marketo_emulator.file_bytes(export_id)


def test_omit_from_next_completion_names_unknown_keys(marketo_emulator):
    with pytest.raises(ValueError, match="fileChecksm"):
        marketo_emulator.omit_from_next_completion("fileChecksm")


def test_files_with_a_utf8_bom_and_nul_bytes_are_served_and_summed_as_written(start_emulator):
    _, api = start_emulator(utf8_bom=True, nul_bytes=True)

    record, content = api.export(
        {"fields": ["leadId", "leadCustomField01"], "filter": {"programIds": list(range(1001, 1011))}}
    )

    assert content.startswith(codecs.BOM_UTF8)
    assert b"\x00" in content
    assert record["fileSize"] == len(content)
    assert record["fileChecksum"] == "sha256:" + hashlib.sha256(content).hexdigest()
    rows = parse_rows(content[len(codecs.BOM_UTF8) :])
    assert rows[0] == ["programId", "leadId", "leadCustomField01"]
    assert record["numberOfRecords"] == len(rows) - 1


@pytest.mark.parametrize("spelling", ["Cancelled", "Canceled"])
def test_cancelled_is_answered_in_either_spelling_and_both_filter(start_emulator, spelling):
    _, api = start_emulator(cancelled_spelling=spelling, **SLOW_JOBS)
    export_id = api.create_job()

    cancelled = api.cancel(export_id)["result"][0]
    status = api.status(export_id)["result"][0]

    assert cancelled["status"] == status["status"] == spelling
    for name in ("Cancelled", "Canceled", "cancelled", "canceled"):
        listed = api.call("GET", f"{EXPORT}.json", params={"status": name})["result"]
        assert [(job["exportId"], job["status"]) for job in listed] == [(export_id, spelling)]
