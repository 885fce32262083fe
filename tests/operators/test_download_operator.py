"""MarketoDownloadProgramMemberExportOperator: stream, verify, publish atomically, resume with Range."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from marketo_exports import start_export_via_hook, wait_for_export_status

from airflow_provider_marketo_pm.exceptions import (
    MarketoExportIntegrityError,
    MarketoExportUnverifiableError,
    MarketoFileNotAvailableError,
    MarketoRequestError,
)
from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    openlineage_dataset_name,
)


def completed_export(emulator) -> str:
    export_id = start_export_via_hook()
    wait_for_export_status(emulator, export_id, "Completed")
    return export_id


def download(export_id: str, dest: Path, **kwargs) -> MarketoDownloadProgramMemberExportOperator:
    kwargs.setdefault("chunk_size", 4096)
    return MarketoDownloadProgramMemberExportOperator(
        task_id="download", export_id=export_id, destination=dest.as_uri(), **kwargs
    )


def test_writes_the_exact_bytes_and_reports_them(emulator, tmp_path):
    export_id = completed_export(emulator)
    dest = tmp_path / "out" / "members.csv"

    result = download(export_id, dest).execute(context={})

    served = emulator.file_bytes(export_id)
    assert dest.read_bytes() == served
    assert result == {
        "uri": dest.as_uri(),
        "bytes": len(served),
        "records": emulator.job(export_id)["numberOfRecords"],
        "sha256": hashlib.sha256(served).hexdigest(),
        "export_id": export_id,
    }
    assert sorted(p.name for p in dest.parent.iterdir()) == ["members.csv"]


def test_templated_fields():
    assert {"export_id", "destination", "dest_conn_id", "marketo_conn_id"} <= set(
        MarketoDownloadProgramMemberExportOperator.template_fields
    )


def test_rendered_connection_and_destination_are_used(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_SANDBOX", emulator.connection_json())
    export_id = completed_export(emulator)
    op = MarketoDownloadProgramMemberExportOperator(
        task_id="download",
        export_id="{{ params.export_id }}",
        destination="{{ params.dest }}",
        marketo_conn_id="{{ params.conn }}",
    )
    dest = tmp_path / "members.csv"

    op.render_template_fields(
        {"params": {"export_id": export_id, "dest": dest.as_uri(), "conn": "marketo_sandbox"}}
    )
    op.execute(context={})

    assert dest.read_bytes() == emulator.file_bytes(export_id)


def test_refuses_to_overwrite_unless_asked(emulator, tmp_path):
    export_id = completed_export(emulator)
    dest = tmp_path / "members.csv"
    dest.write_bytes(b"keep me")

    with pytest.raises(AirflowFailException, match="already exists"):
        download(export_id, dest).execute(context={})
    assert dest.read_bytes() == b"keep me"
    assert emulator.calls("file") == []

    download(export_id, dest, overwrite=True).execute(context={})
    assert dest.read_bytes() == emulator.file_bytes(export_id)


def test_gzip_stores_compressed_and_verifies_the_raw_bytes(emulator, tmp_path):
    export_id = completed_export(emulator)
    dest = tmp_path / "members.csv.gz"

    result = download(export_id, dest, compression="gzip").execute(context={})

    served = emulator.file_bytes(export_id)
    assert gzip.decompress(dest.read_bytes()) == served
    assert result["sha256"] == hashlib.sha256(served).hexdigest()
    assert result["bytes"] == len(served)


def test_dropped_connection_resumes_with_range(emulator, tmp_path):
    export_id = completed_export(emulator)
    emulator.drop_download_after(1000)
    dest = tmp_path / "members.csv"

    download(export_id, dest, chunk_size=256).execute(context={})

    assert dest.read_bytes() == emulator.file_bytes(export_id)
    ranges = [r.headers.get("range") for r in emulator.calls("file")]
    assert ranges[0] is None
    assert ranges[1:] == ["bytes=1000-"]  # from the last byte received (read into buffers, not whole chunks)


def test_gives_up_after_max_resumes_and_leaves_nothing(emulator, tmp_path):
    export_id = completed_export(emulator)
    emulator.drop_download_after(500, times=5)

    with pytest.raises(AirflowException, match="broke 2 times"):
        download(export_id, tmp_path / "members.csv", max_resumes=1).execute(context={})

    assert list(tmp_path.iterdir()) == []


def test_checksum_mismatch_fails_with_both_checksums_and_leaves_nothing(emulator, tmp_path):
    emulator.corrupt_next_checksum()
    export_id = completed_export(emulator)
    advertised = emulator.job(export_id)["fileChecksum"]
    actual = hashlib.sha256(emulator.file_bytes(export_id)).hexdigest()

    with pytest.raises(MarketoExportIntegrityError, match="failed verification") as raised:
        download(export_id, tmp_path / "members.csv").execute(context={})

    assert advertised in str(raised.value)
    assert actual in str(raised.value)
    assert (raised.value.expected_sha256, raised.value.actual_sha256) == (
        advertised.removeprefix("sha256:"),
        actual,
    )
    assert raised.value.expected_size == raised.value.actual_size == len(emulator.file_bytes(export_id))
    # Retryable: a plain AirflowException, so the task's retries download the file again.
    assert not isinstance(raised.value, AirflowFailException)
    assert list(tmp_path.iterdir()) == []


def test_a_job_that_is_not_completed_is_refused(emulator, tmp_path):
    export_id = start_export_via_hook(enqueue=False)

    with pytest.raises(AirflowException, match="Only a Completed export"):
        download(export_id, tmp_path / "members.csv").execute(context={})


def test_a_failed_job_fails_with_its_error_msg(emulator, tmp_path):
    emulator.fail_next_job(error_msg="Export failed: no luck")
    export_id = start_export_via_hook()
    wait_for_export_status(emulator, export_id, "Failed")

    with pytest.raises(AirflowFailException, match="no luck"):
        download(export_id, tmp_path / "members.csv").execute(context={})


def test_progress_lines_give_bytes_percent_rate_and_eta(emulator, tmp_path, capsys):
    export_id = completed_export(emulator)

    download(export_id, tmp_path / "members.csv", progress_interval=0).execute(context={})

    out = capsys.readouterr().out
    assert "(100.0%)" in out
    assert "MB/s" in out
    assert "ETA" in out


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"compression": "zip"}, "compression"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_size": "1MB"}, "chunk_size"),
        ({"chunk_size": True}, "chunk_size"),
        ({"chunk_size": 1024.0}, "chunk_size"),
        ({"max_resumes": -1}, "max_resumes"),
        ({"max_resumes": False}, "max_resumes"),
        ({"export_id": None}, "export_id"),
        ({"export_id": " "}, "export_id"),
        ({"export_id": 42}, "export_id"),
        ({"destination": ""}, "destination"),
        ({"destination": None}, "destination"),
        ({"destination": "exports/members.csv"}, "destination"),
        ({"destination": "/data/members.csv"}, "destination"),
    ],
)
def test_bad_arguments_are_refused_when_the_dag_is_parsed(kwargs, words):
    kwargs = {"export_id": "e", "destination": "file:///tmp/x", **kwargs}
    with pytest.raises(ValueError, match=words):
        MarketoDownloadProgramMemberExportOperator(task_id="d", **kwargs)


def test_values_known_only_at_run_time_are_checked_after_rendering(emulator):
    op = MarketoDownloadProgramMemberExportOperator(
        task_id="d", export_id="{{ params.export_id }}", destination="{{ params.dest }}"
    )
    bad_renders = [
        ({"export_id": "", "dest": "file:///tmp/x.csv"}, "export_id"),
        ({"export_id": "e", "dest": "exports/members.csv"}, "destination"),
        ({"export_id": "e", "dest": "ftp2://host/members.csv"}, "destination"),
    ]
    for params, words in bad_renders:
        rendered = op.prepare_for_execution()
        rendered.render_template_fields({"params": params})
        with pytest.raises(MarketoRequestError, match=words):
            rendered.execute(context={})
    assert emulator.requests == []


def test_asset_alias_outlet_gets_an_event_for_the_written_file(emulator, tmp_path):
    from airflow.sdk import Asset, AssetAlias
    from airflow.sdk.execution_time.context import OutletEventAccessors

    export_id = completed_export(emulator)
    dest = tmp_path / "members.csv"
    alias, declared = AssetAlias("marketo_program_members"), Asset("marketo_members_latest")
    outlet_events = OutletEventAccessors()

    result = download(export_id, dest, outlets=[alias, declared]).execute(
        context={"outlet_events": outlet_events}
    )

    (event,) = outlet_events[alias].asset_alias_events
    assert event.dest_asset_key.uri == dest.as_uri()
    assert event.extra == {k: result[k] for k in ("export_id", "records", "sha256", "bytes")}
    assert outlet_events[declared].extra["sha256"] == result["sha256"]


def test_openlineage_facets_name_programs_and_the_file_by_the_naming_spec(emulator, tmp_path):
    pytest.importorskip("airflow.providers.openlineage")
    dest = tmp_path / "members.csv"
    op = download(completed_export(emulator), dest, program_ids=[1044])
    op.execute(context={})

    lineage = op.get_openlineage_facets_on_complete(task_instance=None)

    assert [d.name for d in lineage.inputs] == ["program/1044/members"]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("file", str(dest))]


def test_openlineage_inputs_come_from_an_export_filter_too(emulator, tmp_path):
    pytest.importorskip("airflow.providers.openlineage")
    op = download(completed_export(emulator), tmp_path / "m.csv", program_ids={"programIds": [1044, 1045]})
    op.execute(context={})

    lineage = op.get_openlineage_facets_on_complete(task_instance=None)

    assert [d.name for d in lineage.inputs] == ["program/1044/members", "program/1045/members"]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:///data/marketo/members.csv", ("file", "/data/marketo/members.csv")),
        ("s3://lake/marketo/members.csv", ("s3://lake", "marketo/members.csv")),
        ("gs://lake/a/b.csv.gz", ("gs://lake", "a/b.csv.gz")),
    ],
)
def test_openlineage_dataset_names_follow_the_spec(uri, expected):
    assert openlineage_dataset_name(uri) == expected


def test_a_failing_write_fails_the_task_as_itself_without_resuming_and_leaves_nothing(
    emulator, tmp_path, monkeypatch
):
    """Hash and write run in background threads: a disk error there still surfaces, unretried, cleaned up."""
    from fsspec.implementations.local import LocalFileOpener

    export_id = completed_export(emulator)
    dest = tmp_path / "out" / "members.csv"
    writes = []

    def full_disk(self, data):
        writes.append(len(data))
        if len(writes) > 2:
            raise OSError(28, "No space left on device")
        return len(data)

    monkeypatch.setattr(LocalFileOpener, "write", full_disk)

    with pytest.raises(OSError, match="No space left"):
        download(export_id, dest, chunk_size=64).execute(context={})

    assert len(emulator.calls("file")) == 1, "a full disk is not a broken stream: no Range resume"
    assert list(dest.parent.iterdir()) == []


# --- a Completed job whose file is not there yet, or whose record lacks fileChecksum / fileSize -----------


def fast_retries(monkeypatch, emulator, **extra):
    """``marketo_default`` with short retry waits: 0.05 s doubling up to 0.2 s."""
    conn = json.loads(emulator.connection_json())
    conn["extra"] = {"retry_min_wait": 0.05, "retry_max_wait": 0.2, **extra}
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", json.dumps(conn))


def test_a_file_answering_404_for_a_while_is_asked_for_again_until_it_appears(
    emulator, tmp_path, monkeypatch
):
    fast_retries(monkeypatch, emulator)
    emulator.delay_next_file(0.6)
    export_id = completed_export(emulator)
    dest = tmp_path / "members.csv"

    download(export_id, dest, file_available_timeout=30).execute(context={})

    assert dest.read_bytes() == emulator.file_bytes(export_id)
    statuses = [call.status for call in emulator.calls("file")]
    assert statuses[-1] == 200
    assert len(statuses) >= 2
    assert set(statuses[:-1]) == {404}


def test_a_file_still_404_after_file_available_timeout_fails_with_the_cause(emulator, tmp_path, monkeypatch):
    fast_retries(monkeypatch, emulator)
    emulator.delay_next_file(3600)
    export_id = completed_export(emulator)

    with pytest.raises(MarketoFileNotAvailableError, match=r"HTTP 404.*still answered 404 after 4 calls"):
        download(export_id, tmp_path / "members.csv", file_available_timeout=0.4).execute(context={})

    # 0.05 + 0.1 + 0.2 s of backoff fit in 0.4 s: three waits, four calls; then nothing is left behind
    assert [call.status for call in emulator.calls("file")] == [404] * 4
    assert list(tmp_path.iterdir()) == []


def test_without_file_available_timeout_a_404_fails_at_once(emulator, tmp_path):
    emulator.delay_next_file(3600)
    export_id = completed_export(emulator)

    with pytest.raises(MarketoFileNotAvailableError, match="expired"):
        download(export_id, tmp_path / "members.csv", file_available_timeout=0).execute(context={})
    assert len(emulator.calls("file")) == 1


@pytest.mark.parametrize("missing", [("fileChecksum",), ("fileChecksum", "fileSize")])
def test_a_record_without_a_checksum_is_refused_by_default_naming_what_is_missing(
    emulator, tmp_path, missing
):
    emulator.omit_from_next_completion(*missing)
    export_id = completed_export(emulator)

    with pytest.raises(MarketoExportUnverifiableError, match=" and no ".join(missing) + ": refusing"):
        download(export_id, tmp_path / "members.csv").execute(context={})

    assert emulator.calls("file") == [], "refused before any download"
    assert list(tmp_path.iterdir()) == []


def test_verify_checksum_false_publishes_a_file_verified_by_its_size_with_a_warning(
    emulator, tmp_path, capsys
):
    emulator.omit_from_next_completion("fileChecksum")
    export_id = completed_export(emulator)
    dest = tmp_path / "members.csv"

    result = download(export_id, dest, verify_checksum=False).execute(context={})

    assert dest.read_bytes() == emulator.file_bytes(export_id)
    assert result["sha256"] == hashlib.sha256(dest.read_bytes()).hexdigest()
    assert f"export {export_id} has no fileChecksum: verifying its size only" in capsys.readouterr().out


def test_without_a_checksum_the_size_is_still_verified(emulator, tmp_path):
    emulator.omit_from_next_completion("fileChecksum")
    export_id = completed_export(emulator)
    record = {**emulator.job(export_id), "fileSize": len(emulator.file_bytes(export_id)) - 1}

    with pytest.raises(MarketoExportIntegrityError, match=r"Expected \d+ bytes with no checksum"):
        download(export_id, tmp_path / "members.csv", verify_checksum=False, record=record).execute(
            context={}
        )
    assert list(tmp_path.iterdir()) == []


def test_a_record_without_file_size_is_verified_by_its_checksum(emulator, tmp_path, capsys):
    emulator.omit_from_next_completion("fileSize")
    export_id = completed_export(emulator)
    dest = tmp_path / "members.csv"

    download(export_id, dest).execute(context={})

    assert dest.read_bytes() == emulator.file_bytes(export_id)
    out = capsys.readouterr().out
    assert f"export {export_id} has no fileSize: verifying its sha256 only" in out
    assert f"Export {export_id}: {dest.stat().st_size} bytes, " in out  # progress without percent or ETA
    corrupted = {**emulator.job(export_id), "fileChecksum": "sha256:" + "0" * 64}
    with pytest.raises(MarketoExportIntegrityError, match="an unknown size"):
        download(export_id, tmp_path / "again.csv", record=corrupted).execute(context={})
