"""Export jobs move through Marketo's lifecycle on a shared, limited queue, under a daily export quota."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from emulator_client import DOC_FIELDS, DOC_HEADERS, EXPORT, error_of, parse_rows

CHICAGO = ZoneInfo("America/Chicago")
SLOW_JOBS = {"processing_seconds": 3600.0}  # jobs stay Processing until the test advances the clock


def test_marketos_documented_example_creates_a_job_and_writes_the_documented_header(api):
    created = api.create(
        {
            "format": "CSV",
            "fields": DOC_FIELDS,
            "filter": {"programId": 1044},
            "columnHeaderNames": DOC_HEADERS,
        }
    )

    assert created["success"] is True
    assert created["requestId"]
    (job,) = created["result"]
    assert job["status"] == "Created"
    assert job["format"] == "CSV"
    assert set(job) == {"exportId", "format", "status", "createdAt"}
    api.enqueue(job["exportId"])
    api.wait_for(job["exportId"], "Completed")
    header = api.file(job["exportId"]).content.split(b"\n", 1)[0]
    assert header == (
        b"firstName,lastName,email,Member Date,Program,Status,Lead Id,Success,"
        b"leadCustomField01,leadCustomField02,pMCustomField01,pMCustomField02"
    )


def test_a_job_goes_created_queued_processing_completed_with_a_verifiable_file(api):
    export_id = api.create_job()

    queued = api.enqueue(export_id)["result"][0]
    assert queued["status"] == "Queued"
    assert "queuedAt" in queued
    done = api.wait_for(export_id, "Completed")
    content = api.file(export_id).content
    assert done["fileSize"] == len(content)
    assert done["fileChecksum"] == "sha256:" + hashlib.sha256(content).hexdigest()
    assert done["numberOfRecords"] == len(parse_rows(content)) - 1
    assert {"createdAt", "queuedAt", "startedAt", "finishedAt"} <= set(done)


def test_a_second_enqueue_answers_job_already_queued(api):
    export_id = api.create_job()
    api.enqueue(export_id)

    assert error_of(api.enqueue(export_id)) == ("1029", "Job already queued")


def test_unknown_export_ids_are_invalid_data(api):
    assert error_of(api.status("no-such-job"))[0] == "1003"
    assert error_of(api.enqueue("no-such-job"))[0] == "1003"


def test_at_most_two_jobs_process_at_once(start_emulator):
    _, api = start_emulator(**SLOW_JOBS)
    export_ids = [api.create_job() for _ in range(3)]
    for export_id in export_ids:
        api.enqueue(export_id)

    statuses = [api.status(export_id)["result"][0]["status"] for export_id in export_ids]

    assert statuses == ["Processing", "Processing", "Queued"]


def test_the_shared_queue_holds_ten_jobs_including_other_integrations(start_emulator):
    emulator, api = start_emulator(**SLOW_JOBS)
    emulator.occupy_queue(9)
    mine = api.create_job()
    assert api.enqueue(mine)["success"] is True
    refused = api.create_job()

    assert error_of(api.enqueue(refused)) == ("1029", "Too many jobs in queue")
    assert api.status(refused)["result"][0]["status"] == "Created"
    emulator.advance(60)  # the two foreign jobs processing finish, freeing two slots
    assert api.enqueue(refused)["success"] is True


def test_other_integrations_jobs_are_invisible_but_hold_processing_slots(start_emulator):
    emulator, api = start_emulator(**SLOW_JOBS)
    emulator.occupy_queue(2)
    export_id = api.create_job()
    api.enqueue(export_id)

    assert api.status(export_id)["result"][0]["status"] == "Queued"
    assert [job["exportId"] for job in api.call("GET", f"{EXPORT}.json")["result"]] == [export_id]
    emulator.release_queue()
    assert api.status(export_id)["result"][0]["status"] == "Processing"


def test_cancel_before_completion(start_emulator):
    _, api = start_emulator(**SLOW_JOBS)
    created, queued = api.create_job(), api.create_job()
    api.enqueue(queued)

    assert api.cancel(created)["result"][0]["status"] == "Cancelled"
    assert api.cancel(queued)["result"][0]["status"] == "Cancelled"
    assert api.file(queued).status_code == 404


def test_a_completed_job_cannot_be_cancelled(api):
    export_id = api.create_job()
    api.enqueue(export_id)
    api.wait_for(export_id, "Completed")

    assert error_of(api.cancel(export_id))[0] == "1003"


def test_cancel_job_acts_like_another_tool_cancelling(start_emulator):
    emulator, api = start_emulator(**SLOW_JOBS)
    export_id = api.create_job()
    api.enqueue(export_id)

    emulator.cancel_job(export_id)

    assert api.status(export_id)["result"][0]["status"] == "Cancelled"


def test_fail_next_job_ends_the_next_job_failed_with_that_message(api, marketo_emulator):
    marketo_emulator.fail_next_job("Export failed: disk full")
    export_id = api.create_job()
    api.enqueue(export_id)

    failed = api.wait_for(export_id, "Failed")

    assert failed["errorMsg"] == "Export failed: disk full"
    assert "fileChecksum" not in failed
    assert api.file(export_id).status_code == 404


def test_corrupt_next_checksum_advertises_a_checksum_that_does_not_match(api, marketo_emulator):
    marketo_emulator.corrupt_next_checksum()
    export_id = api.create_job()
    api.enqueue(export_id)

    done = api.wait_for(export_id, "Completed")

    assert done["fileChecksum"].startswith("sha256:")
    assert done["fileChecksum"] != "sha256:" + hashlib.sha256(api.file(export_id).content).hexdigest()


def test_daily_quota_refuses_create_and_enqueue_with_a_message_from_the_configured_quota(start_emulator):
    emulator, api = start_emulator(daily_quota_bytes=1024 * 1024, large_file_mb=1)
    waiting = api.create_job()
    api.export({"fields": ["leadId"], "filter": {"programId": 1044}})

    assert error_of(api.create({"fields": ["leadId"], "filter": {"programId": 1044}})) == (
        "1029",
        "Export daily quota 1MB exceeded.",
    )
    assert error_of(api.enqueue(waiting)) == ("1029", "Export daily quota 1MB exceeded.")
    emulator.advance(86400)  # the quota resets at midnight US Central
    api.fetch_token()  # the old one expired meanwhile
    assert api.enqueue(waiting)["success"] is True


def test_the_default_quota_is_500mb(marketo_emulator):
    assert marketo_emulator.options.daily_quota_bytes == 500 * 1024 * 1024


def test_with_realistic_refresh_the_status_only_changes_on_refresh_ticks(start_emulator):
    emulator, api = start_emulator(status_refresh_seconds=60)
    export_id = api.create_job()
    api.enqueue(export_id)

    assert [api.status(export_id)["result"][0]["status"] for _ in range(5)] == ["Queued"] * 5
    emulator.advance(60)
    assert api.status(export_id)["result"][0]["status"] == "Processing"


def test_files_expire_after_seven_days_and_status_after_thirty(api, marketo_emulator):
    export_id = api.create_job()
    api.enqueue(export_id)
    api.wait_for(export_id, "Completed")

    marketo_emulator.advance(7 * 86400)
    api.fetch_token()
    assert api.file(export_id).status_code == 404
    assert api.status(export_id)["result"][0]["status"] == "Completed"
    marketo_emulator.advance(23 * 86400 + 1)
    api.fetch_token()
    assert error_of(api.status(export_id))[0] == "1003"


class TestListJobs:
    def test_filters_on_status_in_either_spelling_of_cancelled(self, start_emulator):
        _, api = start_emulator(**SLOW_JOBS)
        created, queued, cancelled = api.create_job(), api.create_job(), api.create_job()
        api.enqueue(queued)
        api.cancel(cancelled)

        def listed(**params):
            return [job["exportId"] for job in api.call("GET", f"{EXPORT}.json", params=params)["result"]]

        assert listed() == [created, queued, cancelled]
        assert listed(status="created") == [created]
        assert listed(status="canceled") == [cancelled]
        assert listed(status=["Processing", "cancelled"]) == [queued, cancelled]
        assert listed(status="processing,created") == [created, queued]

    def test_pages_with_batch_size_and_next_page_token(self, api):
        export_ids = [api.create_job() for _ in range(5)]
        seen, token = [], None
        while True:
            params = {"batchSize": 2, **({"nextPageToken": token} if token else {})}
            page = api.call("GET", f"{EXPORT}.json", params=params)
            seen += [job["exportId"] for job in page["result"]]
            token = page.get("nextPageToken")
            if not token:
                break

        assert seen == export_ids

    def test_only_lists_the_last_seven_days(self, api, marketo_emulator):
        api.create_job()
        marketo_emulator.advance(7 * 86400 + 1)
        api.fetch_token()
        recent = api.create_job()

        assert [job["exportId"] for job in api.call("GET", f"{EXPORT}.json")["result"]] == [recent]

    @pytest.mark.parametrize("params", [{"batchSize": "0"}, {"batchSize": "301"}, {"status": "done"}])
    def test_rejects_bad_parameters(self, api, params):
        assert error_of(api.call("GET", f"{EXPORT}.json", params=params))[0] == "1003"


def test_file_generation_runs_in_the_worker_pool_while_the_api_keeps_answering(api, marketo_emulator):
    """Hold one file's generation mid-way: if it ran on the event loop (or under the job board's lock),
    the status call below could not be answered until the gate opens, and would time out instead."""
    board = marketo_emulator.instance.jobs
    generating, release = threading.Event(), threading.Event()
    producer_threads: list[str] = []
    write_file = board.produce

    def gated_write(job):
        producer_threads.append(threading.current_thread().name)
        generating.set()
        assert release.wait(30), "the test never opened the gate"
        return write_file(job)

    board.produce = gated_write
    export_id = api.create_job()
    api.enqueue(export_id)
    try:
        assert generating.wait(10), "file generation never started"
        status = api.call("GET", f"{EXPORT}/{export_id}/status.json", timeout=10)["result"][0]
        describe = api.call("GET", "/rest/v1/programs/members/describe.json", timeout=10)
    finally:
        release.set()

    assert status["status"] == "Processing"
    assert describe["success"] is True
    assert producer_threads == [producer_threads[0]]
    assert producer_threads[0].startswith("marketo-export")
    record = api.wait_for(export_id, "Completed")
    assert record["fileChecksum"] == "sha256:" + hashlib.sha256(api.file(export_id).content).hexdigest()


class TestQuotaDay:
    """The daily export quota resets at 00:00 America/Chicago on the emulated clock, or on compressed days."""

    def test_the_reset_is_midnight_in_chicago_across_a_dst_change(self, start_emulator):
        emulator, _ = start_emulator(start_at="2026-03-07T12:00:00-06:00")  # the day before DST starts

        first = emulator.next_quota_reset()
        emulator.advance_to_quota_reset()
        second = emulator.next_quota_reset()

        assert datetime.fromtimestamp(first, CHICAGO).isoformat() == "2026-03-08T00:00:00-06:00"
        assert datetime.fromtimestamp(second, CHICAGO).isoformat() == "2026-03-09T00:00:00-05:00"
        assert second - first == 23 * 3600  # a 23-hour day

    def test_usage_is_counted_per_quota_day_and_resets_at_midnight_chicago(self, start_emulator):
        emulator, api = start_emulator(
            daily_quota_bytes=1024 * 1024, large_file_mb=1, start_at="2026-06-01T23:59:00-05:00"
        )
        api.export({"fields": ["leadId"], "filter": {"programId": 1044}})
        assert error_of(api.create({"fields": ["leadId"], "filter": {"programId": 1044}}))[0] == "1029"

        emulator.advance_to_quota_reset()
        api.fetch_token()

        assert emulator.quota_used() == 0
        assert api.create({"fields": ["leadId"], "filter": {"programId": 1044}})["success"] is True

    def test_quota_day_seconds_compresses_a_day_for_tests(self, start_emulator):
        emulator, api = start_emulator(daily_quota_bytes=1024 * 1024, large_file_mb=1, quota_day_seconds=1.0)
        api.export({"fields": ["leadId"], "filter": {"programId": 1044}})
        refused = error_of(api.create({"fields": ["leadId"], "filter": {"programId": 1044}}))

        wait = emulator.next_quota_reset() - emulator.now()
        emulator.advance(wait)

        assert refused == ("1029", "Export daily quota 1MB exceeded.")
        assert 0 < wait <= 1.0
        assert api.create({"fields": ["leadId"], "filter": {"programId": 1044}})["success"] is True

    def test_the_real_rule_is_the_default(self, marketo_emulator):
        assert marketo_emulator.options.quota_day_seconds is None
        reset = datetime.fromtimestamp(marketo_emulator.next_quota_reset(), CHICAGO)
        assert (reset.hour, reset.minute, reset.second) == (0, 0, 0)
