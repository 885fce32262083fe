"""The start refuses, before the job is created, what would only fail later: no queue slot, no quota spent."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from marketo_exports import FIELDS, PROGRAM_ID
from moto_s3 import CREDENTIALS, moto_server

from airflow_provider_marketo_pm.exceptions import (
    MarketoConnectionConfigError,
    MarketoDestinationError,
    MarketoRequestError,
)
from airflow_provider_marketo_pm.operators.program_members import MarketoStartProgramMemberExportOperator


def start_operator(**kwargs) -> MarketoStartProgramMemberExportOperator:
    return MarketoStartProgramMemberExportOperator(
        task_id="start", fields=FIELDS, filter={"programId": PROGRAM_ID}, **kwargs
    )


def test_a_literal_destination_without_a_scheme_is_refused_when_the_dag_is_parsed():
    with pytest.raises(MarketoRequestError, match=r"destination='members\.csv' is invalid: must be a URL"):
        start_operator(destination="members.csv")


def test_a_templated_destination_without_a_scheme_fails_the_start_before_create(emulator):
    op = start_operator(destination="{{ params.where }}/members.csv")
    op.render_template_fields({"params": {"where": "/data"}})

    with pytest.raises(MarketoRequestError, match=r"destination='/data/members\.csv' is invalid: .*scheme"):
        op.execute(context={})

    assert emulator.calls("create") == []


def test_an_existing_destination_without_overwrite_fails_the_start_before_create(emulator, tmp_path):
    existing = tmp_path / "members.csv"
    existing.write_text("leadId\n1\n")

    with pytest.raises(MarketoRequestError) as caught:
        start_operator(destination=f"file://{existing}").execute(context={})

    assert caught.value.key == "destination"
    assert "exists already: set overwrite=True" in caught.value.rule
    assert emulator.requests == []
    assert existing.read_text() == "leadId\n1\n"


def test_an_existing_destination_with_overwrite_starts_the_export(emulator, tmp_path):
    existing = tmp_path / "members.csv"
    existing.write_text("old")

    start_operator(destination=f"file://{existing}", overwrite=True).execute(context={})

    assert len(emulator.calls("create")) == 1


def test_a_new_destination_starts_the_export_and_the_probe_leaves_nothing_behind(emulator, tmp_path):
    start_operator(destination=f"file://{tmp_path}/new/members.csv").execute(context={})

    assert len(emulator.calls("create")) == 1
    assert list(tmp_path.iterdir()) == [], "the probe went into the nearest existing directory, deleted"


@pytest.fixture
def read_only_directory(tmp_path, small_tmpfs):
    """A directory nobody may write to: a read-only tmpfs for root (who ignores modes), else mode 0500."""
    if os.geteuid() == 0:
        return small_tmpfs("1m", read_only=True)
    directory = tmp_path / "read-only"
    directory.mkdir(mode=0o500)
    return directory


def test_a_destination_that_is_not_writable_fails_the_start_before_any_call(emulator, read_only_directory):
    destination = f"file://{read_only_directory}/members.csv"

    with pytest.raises(MarketoDestinationError) as caught:
        start_operator(destination=destination).execute(context={})

    assert (caught.value.key, caught.value.value) == ("destination", destination)
    assert "is not writable with dest_conn_id=None: writing a probe" in caught.value.rule
    assert "no queue slot or daily quota was spent" in caught.value.rule
    assert emulator.requests == []


def test_a_destination_under_a_file_fails_the_start_before_any_call(emulator, tmp_path):
    (tmp_path / "exports").write_text("a file where a directory should be")

    with pytest.raises(MarketoDestinationError, match=r"exports is a file, not a directory") as caught:
        start_operator(destination=f"file://{tmp_path}/exports/daily/members.csv").execute(context={})

    assert caught.value.key == "destination"
    assert emulator.requests == []


def test_an_unknown_dest_conn_id_fails_the_start_before_any_call(emulator, tmp_path):
    with pytest.raises(MarketoDestinationError, match="no Airflow connection has this id") as caught:
        start_operator(destination="s3://lake/members.csv", dest_conn_id="aws_typo").execute(context={})

    assert (caught.value.key, caught.value.value) == ("dest_conn_id", "aws_typo")
    assert emulator.requests == []


@pytest.fixture(scope="module")
def moto_endpoint():
    pytest.importorskip("s3fs")
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3(moto_endpoint, monkeypatch):
    """An S3 API (moto's server) behind the Airflow connection ``moto_s3_probe``, and one bucket in it."""
    import boto3

    monkeypatch.setenv(
        "AIRFLOW_CONN_MOTO_S3_PROBE",
        json.dumps(
            {
                "conn_type": "aws",
                "login": CREDENTIALS["aws_access_key_id"],
                "password": CREDENTIALS["aws_secret_access_key"],
                "extra": {"endpoint_url": moto_endpoint, "region_name": CREDENTIALS["region_name"]},
            }
        ),
    )
    client = boto3.client("s3", endpoint_url=moto_endpoint, **CREDENTIALS)
    bucket = f"marketo-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


@pytest.mark.slow
def test_a_bucket_that_does_not_exist_fails_the_start_before_any_marketo_call(emulator, s3):
    destination = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/marketo/members.csv"

    with pytest.raises(MarketoDestinationError) as caught:
        start_operator(destination=destination, dest_conn_id="moto_s3_probe").execute(context={})

    assert (caught.value.key, caught.value.value) == ("destination", destination)
    assert "is not writable with dest_conn_id='moto_s3_probe'" in caught.value.rule
    assert "bucket does not exist" in caught.value.rule
    assert emulator.calls("create") == []
    assert emulator.requests == []


@pytest.mark.slow
def test_a_writable_bucket_starts_the_export_and_the_probe_leaves_nothing_behind(emulator, s3):
    client, bucket = s3

    start_operator(destination=f"s3://{bucket}/marketo/members.csv", dest_conn_id="moto_s3_probe").execute(
        context={}
    )

    assert len(emulator.calls("create")) == 1
    assert client.list_objects_v2(Bucket=bucket).get("Contents", []) == []
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_marketos_web_ui_as_host_fails_the_start_before_any_call(emulator, monkeypatch):
    ui = {**json.loads(emulator.connection_json()), "host": "https://app-ab12.marketo.com"}
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_UI", json.dumps(ui))

    with pytest.raises(MarketoConnectionConfigError, match="web UI, not its REST API"):
        start_operator(marketo_conn_id="marketo_ui").execute(context={})

    assert emulator.requests == []


def test_a_wait_polling_a_real_instance_faster_than_its_status_refresh_fails_before_any_call(monkeypatch):
    real = {"conn_type": "marketo", "host": "https://123-ABC-456.mktorest.com", "login": "i", "password": "s"}
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_REAL", json.dumps(real))
    op = start_operator(marketo_conn_id="marketo_real", wait_for_completion=True, poll_interval=30)

    # Any call would fail otherwise: 123-ABC-456.mktorest.com is not reachable from a test.
    with pytest.raises(MarketoRequestError, match=r">= 60 s against a real Marketo instance") as caught:
        op.execute(context={})

    assert caught.value.key == "poll_interval"
