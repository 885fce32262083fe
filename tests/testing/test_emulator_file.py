"""file.json serves the exact bytes written to disk: whole (200), by range (206), or not at all (404/416)."""

from __future__ import annotations

import hashlib

import pytest
import requests
from emulator_client import parse_rows, stream_into


@pytest.fixture
def completed(api):
    """A completed export of program 1044: (export_id, status record)."""
    export_id = api.create_job(
        {"fields": ["leadId", "firstName", "lastName", "email"], "filter": {"programId": 1044}}
    )
    api.enqueue(export_id)
    return export_id, api.wait_for(export_id, "Completed")


def test_the_whole_file_with_200_and_accept_ranges(api, marketo_emulator, completed):
    export_id, record = completed

    response = api.file(export_id)

    assert response.status_code == 200
    assert response.headers["Accept-Ranges"] == "bytes"
    assert int(response.headers["Content-Length"]) == record["fileSize"]
    assert response.content == marketo_emulator.file_bytes(export_id)
    assert response.content == marketo_emulator.file_path(export_id).read_bytes()


@pytest.mark.parametrize(
    ("range_header", "first", "last"), [("bytes=10-99", 10, 99), ("bytes=100-", 100, None)]
)
def test_a_byte_range_with_206_and_content_range(api, marketo_emulator, completed, range_header, first, last):
    export_id, record = completed
    whole = marketo_emulator.file_bytes(export_id)
    last = record["fileSize"] - 1 if last is None else last

    response = api.file(export_id, headers={"Range": range_header})

    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {first}-{last}/{record['fileSize']}"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.content == whole[first : last + 1]


def test_ranges_resume_a_download_to_the_exact_checksum(api, completed):
    export_id, record = completed

    head = api.file(export_id, headers={"Range": "bytes=0-499"}).content
    tail = api.file(export_id, headers={"Range": f"bytes={len(head)}-"}).content

    assert record["fileChecksum"] == "sha256:" + hashlib.sha256(head + tail).hexdigest()


def test_an_unsatisfiable_range_is_416(api, completed):
    export_id, record = completed

    response = api.file(export_id, headers={"Range": f"bytes={record['fileSize']}-"})

    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{record['fileSize']}"


def test_404_in_plain_text_when_unknown_or_not_completed(start_emulator):
    _, api = start_emulator(processing_seconds=3600)
    export_id = api.create_job()
    api.enqueue(export_id)

    for response in (api.file("no-such-job"), api.file(export_id)):
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("text/plain")


def test_drop_download_after_cuts_the_connection_then_a_range_request_resumes(
    api, marketo_emulator, completed
):
    export_id, record = completed
    marketo_emulator.drop_download_after(100)
    received = bytearray()

    with pytest.raises(requests.exceptions.RequestException):
        stream_into(received, api.file(export_id, stream=True))
    assert len(received) == 100
    received += api.file(export_id, headers={"Range": f"bytes={len(received)}-"}).content
    assert record["fileChecksum"] == "sha256:" + hashlib.sha256(received).hexdigest()


def test_drop_download_after_several_times(api, marketo_emulator, completed):
    export_id, _ = completed
    marketo_emulator.drop_download_after(0, times=2)

    for _ in range(2):
        with pytest.raises(requests.exceptions.RequestException):
            api.file(export_id)
    assert api.file(export_id).status_code == 200


def test_stall_download_after_holds_the_body_then_sends_the_rest(api, marketo_emulator, completed):
    export_id, _ = completed
    marketo_emulator.stall_download_after(100, seconds=0.3)

    response = api.file(export_id, stream=True, timeout=(5, 30))  # patient: waits the stall out

    assert response.status_code == 200
    assert response.content == marketo_emulator.file_bytes(export_id)


def test_a_read_timeout_fires_mid_stream_during_a_stall_and_a_range_request_resumes(
    api, marketo_emulator, completed
):
    export_id, record = completed
    marketo_emulator.stall_download_after(100, seconds=60)
    received = bytearray()

    with pytest.raises(requests.exceptions.ConnectionError, match="Read timed out"):
        stream_into(received, api.file(export_id, stream=True, timeout=(5, 0.3)))
    assert len(received) == 100  # the connection stayed open: a timeout, not a cut
    received += api.file(export_id, headers={"Range": f"bytes={len(received)}-"}).content
    assert record["fileChecksum"] == "sha256:" + hashlib.sha256(received).hexdigest()


def test_drops_and_stalls_meet_the_next_bodies_in_the_order_scripted(api, marketo_emulator, completed):
    export_id, _ = completed
    marketo_emulator.drop_download_after(0)
    marketo_emulator.stall_download_after(0, seconds=60, times=2)

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.file(export_id)
    for _ in range(2):
        with pytest.raises(requests.exceptions.ConnectionError, match="Read timed out"):
            api.file(export_id, timeout=(5, 0.3))
    assert api.file(export_id).content == marketo_emulator.file_bytes(export_id)


def test_large_file_mb_pads_files_with_valid_rows(start_emulator):
    _, api = start_emulator(large_file_mb=2)

    record, content = api.export({"fields": ["leadId", "leadCustomField01"], "filter": {"programId": 1044}})

    assert record["fileSize"] == len(content) >= 2 * 1024 * 1024
    assert record["numberOfRecords"] == len(parse_rows(content)) - 1
    assert record["fileChecksum"] == "sha256:" + hashlib.sha256(content).hexdigest()
