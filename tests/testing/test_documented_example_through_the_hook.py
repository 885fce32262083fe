"""The documented example through ``MarketoHook``'s public methods only: the checksum Marketo's page shows.

Nothing here reaches inside the hook: a user's code calling the same methods gets the same bytes.
"""

from __future__ import annotations

import hashlib
import time

import pytest

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.testing.emulator.dataset import (
    DOCUMENTED_CHECKSUM,
    DOCUMENTED_FIELDS,
    DOCUMENTED_HEADERS,
)


@pytest.fixture
def marketo_emulator_options():
    return {"dataset": "documented"}


@pytest.fixture
def hook(marketo_connection):
    MarketoHook.clear_token_cache()
    yield MarketoHook()
    MarketoHook.clear_token_cache()


def test_the_hook_downloads_the_documented_file_with_the_documented_checksum(hook):
    created = hook.create_export(
        PROGRAM_MEMBERS.request(
            fields=DOCUMENTED_FIELDS,
            filter={"programId": 1044},
            format="CSV",
            column_header_names=DOCUMENTED_HEADERS,
        )
    )
    hook.enqueue_export(PROGRAM_MEMBERS, created["exportId"])
    record = created
    for _ in range(90):
        record = hook.get_export_status(PROGRAM_MEMBERS, created["exportId"])
        if record["status"] == "Completed":
            break
        time.sleep(0.05)
    with hook.open_export_file(PROGRAM_MEMBERS, created["exportId"]) as export_file:
        content = b"".join(export_file.iter_chunks())

    assert record["status"] == "Completed"
    assert record["fileChecksum"] == DOCUMENTED_CHECKSUM
    assert "sha256:" + hashlib.sha256(content).hexdigest() == DOCUMENTED_CHECKSUM
    assert record["fileSize"] == len(content) == 1740


def test_the_hook_resumes_the_documented_file_from_a_byte_offset(hook, marketo_connection):
    created = hook.create_export(
        PROGRAM_MEMBERS.request(
            fields=DOCUMENTED_FIELDS, filter={"programId": 1044}, column_header_names=DOCUMENTED_HEADERS
        )
    )
    hook.enqueue_export(PROGRAM_MEMBERS, created["exportId"])
    for _ in range(90):
        if hook.get_export_status(PROGRAM_MEMBERS, created["exportId"])["status"] == "Completed":
            break
        time.sleep(0.05)
    with hook.open_export_file(PROGRAM_MEMBERS, created["exportId"]) as head_file:
        head = next(head_file.iter_chunks(1000))
    with hook.open_export_file(PROGRAM_MEMBERS, created["exportId"], start=len(head)) as tail_file:
        tail = b"".join(tail_file.iter_chunks())

    assert "sha256:" + hashlib.sha256(head + tail).hexdigest() == DOCUMENTED_CHECKSUM
