"""Provider behaviour the fidelity table claims where no other test shows it yet."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import time

import pytest

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.operators.program_members import MarketoDownloadProgramMemberExportOperator


@pytest.fixture
def marketo_emulator_options():
    return {"utf8_bom": True, "nul_bytes": True}


def test_a_file_with_a_bom_and_nul_bytes_is_copied_byte_for_byte(emulator, tmp_path):
    MarketoHook.clear_token_cache()
    hook = MarketoHook()
    created = hook.create_export(
        PROGRAM_MEMBERS.request(
            fields=["leadId", "leadCustomField01"], filter={"programIds": list(range(1001, 1011))}
        )
    )
    hook.enqueue_export(PROGRAM_MEMBERS, created["exportId"])
    for _ in range(100):
        if emulator.job(created["exportId"])["status"] == "Completed":
            break
        time.sleep(0.05)
    destination = tmp_path / "members.csv"

    result = MarketoDownloadProgramMemberExportOperator(
        task_id="download", export_id=created["exportId"], destination=destination.as_uri()
    ).execute(context={})

    written = destination.read_bytes()
    assert written == emulator.file_bytes(created["exportId"])
    assert written.startswith(codecs.BOM_UTF8)
    assert b"\x00" in written
    assert result["sha256"] == hashlib.sha256(written).hexdigest()
    assert "sha256:" + result["sha256"] == emulator.job(created["exportId"])["fileChecksum"]


def test_a_gzipped_copy_of_a_file_with_a_bom_and_nul_bytes_holds_the_same_bytes(emulator, tmp_path):
    MarketoHook.clear_token_cache()
    hook = MarketoHook()
    created = hook.create_export(
        PROGRAM_MEMBERS.request(fields=["leadId", "leadCustomField01"], filter={"programId": 1044})
    )
    hook.enqueue_export(PROGRAM_MEMBERS, created["exportId"])
    for _ in range(100):
        if emulator.job(created["exportId"])["status"] == "Completed":
            break
        time.sleep(0.05)
    destination = tmp_path / "members.csv.gz"

    result = MarketoDownloadProgramMemberExportOperator(
        task_id="download",
        export_id=created["exportId"],
        destination=destination.as_uri(),
        compression="gzip",
    ).execute(context={})

    served = emulator.file_bytes(created["exportId"])
    assert gzip.decompress(destination.read_bytes()) == served
    assert served.startswith(codecs.BOM_UTF8)
    assert b"\x00" in served
    assert result["sha256"] == hashlib.sha256(served).hexdigest()
