"""Every bulk export kind on one job board: one lifecycle, one queue, one daily quota, the same oddities.

Marketo's queue (2 processing, 10 queued) and its daily export quota are shared by program member,
lead, activity and custom object exports; each kind's list endpoint shows only that kind's jobs.
"""

from __future__ import annotations

import hashlib

import pytest
import requests
from emulator_client import (
    ACTIVITIES,
    CARS,
    CONTRACTS,
    EXPORT,
    LEADS,
    SAMPLE_REQUESTS,
    error_of,
    parse_rows,
    stream_into,
)

from airflow_provider_marketo_pm.testing import Fault

SLOW_JOBS = {"processing_seconds": 3600.0}  # jobs stay Processing until the test advances the clock
KIND_PATHS = [EXPORT, LEADS, ACTIVITIES, CARS]
KIND_IDS = ["program_members", "leads", "activities", "custom_objects"]
every_kind = pytest.mark.parametrize("path", KIND_PATHS, ids=KIND_IDS)
QUOTA_OF_1MB = {"daily_quota_bytes": 1024 * 1024, "large_file_mb": 1}


@every_kind
def test_every_kind_goes_through_the_same_lifecycle(api, path):
    export_id = api.create_job(path=path)
    assert api.enqueue(export_id, path)["result"][0]["status"] == "Queued"
    done = api.wait_for(export_id, "Completed", path=path)
    content = api.file(export_id, path).content
    part = api.file(export_id, path, headers={"Range": "bytes=5-"})

    assert done["fileChecksum"] == "sha256:" + hashlib.sha256(content).hexdigest()
    assert done["fileSize"] == len(content)
    assert done["numberOfRecords"] == len(parse_rows(content)) - 1 > 0
    assert (part.status_code, part.content) == (206, content[5:])
    assert api.listed(path) == [export_id]
    assert error_of(api.cancel(export_id, path))[0] == "1003"  # a completed job can no longer be cancelled


class TestSharedQueue:
    def test_two_lead_jobs_and_an_activity_job_process_two_at_a_time(self, start_emulator):
        _, api = start_emulator(**SLOW_JOBS)
        jobs = [(api.create_job(path=LEADS), LEADS), (api.create_job(path=LEADS), LEADS)]
        jobs.append((api.create_job(path=ACTIVITIES), ACTIVITIES))
        for export_id, path in jobs:
            api.enqueue(export_id, path)

        statuses = [api.status(export_id, path)["result"][0]["status"] for export_id, path in jobs]

        assert statuses == ["Processing", "Processing", "Queued"]

    def test_the_ten_queue_slots_are_counted_over_every_kind(self, start_emulator):
        emulator, api = start_emulator(**SLOW_JOBS)
        emulator.occupy_queue(6)  # other integrations
        for path in KIND_PATHS:
            assert api.enqueue(api.create_job(path=path), path)["success"] is True

        for path in KIND_PATHS:
            refused = api.create_job(path=path)
            assert error_of(api.enqueue(refused, path)) == ("1029", "Too many jobs in queue")
        emulator.advance(60)  # two of the other integrations' jobs finish
        assert api.enqueue(refused, CARS)["success"] is True

    def test_a_program_member_job_waits_behind_lead_and_activity_jobs(self, start_emulator):
        emulator, api = start_emulator(**SLOW_JOBS)
        lead, activity = api.create_job(path=LEADS), api.create_job(path=ACTIVITIES)
        member = api.create_job()
        for export_id, path in ((lead, LEADS), (activity, ACTIVITIES), (member, EXPORT)):
            api.enqueue(export_id, path)

        assert api.status(member)["result"][0]["status"] == "Queued"
        emulator.cancel_job(lead)
        assert api.status(member)["result"][0]["status"] == "Processing"


class TestSharedQuota:
    def test_a_quota_spent_by_leads_refuses_every_other_kind(self, start_emulator):
        emulator, api = start_emulator(**QUOTA_OF_1MB)
        waiting_car = api.create_job(path=CARS)
        api.export(SAMPLE_REQUESTS[LEADS], LEADS)

        assert emulator.quota_used() >= 1024 * 1024
        for path in (EXPORT, ACTIVITIES, CARS, LEADS):
            assert error_of(api.create(SAMPLE_REQUESTS[path], path)) == (
                "1029",
                "Export daily quota 1MB exceeded.",
            )
        assert error_of(api.enqueue(waiting_car, CARS)) == ("1029", "Export daily quota 1MB exceeded.")
        emulator.advance_to_quota_reset()
        api.fetch_token()
        assert api.create(SAMPLE_REQUESTS[EXPORT])["success"] is True
        assert api.enqueue(waiting_car, CARS)["success"] is True

    def test_the_quota_sums_the_files_of_every_kind(self, start_emulator):
        emulator, api = start_emulator(daily_quota_bytes=10 * 1024 * 1024)
        sizes = [api.export(SAMPLE_REQUESTS[path], path)[0]["fileSize"] for path in KIND_PATHS]

        assert emulator.quota_used() == sum(sizes)


class TestListIsolation:
    def test_each_kinds_list_shows_only_its_own_jobs(self, api):
        made = {path: api.create_job(path=path) for path in KIND_PATHS}
        made[CONTRACTS] = api.create_job(
            {"fields": ["contractId"], "filter": {"staticListId": 1081}}, CONTRACTS
        )

        assert {path: api.listed(path) for path in made} == {
            path: [export_id] for path, export_id in made.items()
        }

    @pytest.mark.parametrize(
        ("path", "other"),
        [(path, other) for path in KIND_PATHS for other in KIND_PATHS if other != path],
        ids=[f"{a}-on-{b}" for a in KIND_IDS for b in KIND_IDS if a != b],
    )
    def test_a_job_is_unknown_on_another_kinds_paths(self, api, path, other):
        export_id = api.create_job(path=path)

        assert error_of(api.status(export_id, other))[0] == "1003"
        assert error_of(api.enqueue(export_id, other))[0] == "1003"
        assert error_of(api.cancel(export_id, other))[0] == "1003"
        assert api.status(export_id, path)["result"][0]["status"] == "Created"


class TestProductionOdditiesOfEveryKind:
    """What other Marketo clients met in production (test_emulator_production_faults), for each kind."""

    @every_kind
    def test_an_empty_200_answer_to_create(self, api, marketo_emulator, path):
        marketo_emulator.inject("create", Fault(empty_body=True))

        response = api.request("POST", f"{path}/create.json", json=SAMPLE_REQUESTS[path])

        assert (response.status_code, response.content) == (200, b"")
        assert api.create(SAMPLE_REQUESTS[path], path)["success"] is True
        assert [call.kind for call in marketo_emulator.calls("create")] == [
            KIND_IDS[KIND_PATHS.index(path)]
        ] * 2

    @every_kind
    def test_a_create_answer_without_result(self, api, marketo_emulator, path):
        marketo_emulator.inject("create", Fault(no_result=True))

        assert api.create(SAMPLE_REQUESTS[path], path).keys() == {"requestId", "success"}

    @every_kind
    def test_created_again_after_enqueue(self, api, marketo_emulator, path):
        marketo_emulator.created_after_enqueue(polls=2)
        export_id = api.create_job(path=path)

        assert api.enqueue(export_id, path)["result"][0]["status"] == "Queued"
        assert [api.status(export_id, path)["result"][0]["status"] for _ in range(2)] == ["Created"] * 2
        assert error_of(api.enqueue(export_id, path)) == ("1029", "Job already queued")
        assert api.wait_for(export_id, "Completed", path=path)["status"] == "Completed"

    @every_kind
    def test_a_completed_file_that_answers_404_for_a_while(self, api, marketo_emulator, path):
        marketo_emulator.delay_next_file(30)
        export_id = api.create_job(path=path)
        api.enqueue(export_id, path)
        api.wait_for(export_id, "Completed", path=path)

        assert api.file(export_id, path).status_code == 404
        marketo_emulator.advance(30)
        assert api.file(export_id, path).status_code == 200

    @every_kind
    def test_a_completed_record_without_checksum_or_size(self, api, marketo_emulator, path):
        marketo_emulator.omit_from_next_completion()
        export_id = api.create_job(path=path)
        api.enqueue(export_id, path)

        done = api.wait_for(export_id, "Completed", path=path)

        assert not {"fileChecksum", "fileSize"} & set(done)
        assert api.file(export_id, path).status_code == 200

    @every_kind
    def test_canceled_spelled_with_one_l(self, start_emulator, path):
        _, api = start_emulator(cancelled_spelling="Canceled", **SLOW_JOBS)
        export_id = api.create_job(path=path)

        assert api.cancel(export_id, path)["result"][0]["status"] == "Canceled"
        assert api.listed(path, status="cancelled") == [export_id]

    @every_kind
    def test_a_dropped_download_resumes_with_a_range(self, api, marketo_emulator, path):
        export_id = api.create_job(path=path)
        api.enqueue(export_id, path)
        done = api.wait_for(export_id, "Completed", path=path)
        marketo_emulator.drop_download_after(100)

        received = bytearray()
        with pytest.raises(requests.exceptions.RequestException):
            stream_into(received, api.file(export_id, path, stream=True))
        assert len(received) == 100
        received += api.file(export_id, path, headers={"Range": f"bytes={len(received)}-"}).content

        assert "sha256:" + hashlib.sha256(received).hexdigest() == done["fileChecksum"]

    @every_kind
    def test_failed_jobs_and_lying_checksums(self, api, marketo_emulator, path):
        marketo_emulator.fail_next_job("Export failed: disk full")
        failed = api.create_job(path=path)
        api.enqueue(failed, path)
        assert api.wait_for(failed, "Failed", path=path)["errorMsg"] == "Export failed: disk full"

        marketo_emulator.corrupt_next_checksum()
        lying = api.create_job(path=path)
        api.enqueue(lying, path)
        done = api.wait_for(lying, "Completed", path=path)
        assert done["fileChecksum"] != "sha256:" + hashlib.sha256(api.file(lying, path).content).hexdigest()
