"""Download operator against S3 (moto server): a failed upload is aborted, never completed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import boto3
import pytest
from marketo_exports import start_export_via_hook, wait_for_export_status

from airflow_provider_marketo_pm.exceptions import MarketoExportIntegrityError
from airflow_provider_marketo_pm.operators.program_members import MarketoDownloadProgramMemberExportOperator
from airflow_provider_marketo_pm.partial_files import THIS_HOST

s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

pytestmark = pytest.mark.slow
BLOCK = 5 * 1024 * 1024  # s3fs' smallest multipart block: a 12 MB file takes three parts


@pytest.fixture(scope="module")
def moto_endpoint():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(moto_endpoint, monkeypatch):
    """A fresh bucket, and a store for connection ``moto_s3`` with small multipart blocks."""
    from airflow.sdk.io import attach

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"exports-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    fs = s3fs.S3FileSystem(
        key="testing",
        secret="testing",
        endpoint_url=moto_endpoint,
        default_block_size=BLOCK,
        skip_instance_cache=True,
    )
    attach("s3", conn_id="moto_s3", fs=fs)
    return client, name


@pytest.fixture
def marketo_emulator_options():
    return {"large_file_mb": 12}


def completed_export(emulator) -> str:
    export_id = start_export_via_hook()
    wait_for_export_status(emulator, export_id, "Completed", attempts=600)  # a 12 MB file
    return export_id


def download(export_id: str, bucket_name: str) -> MarketoDownloadProgramMemberExportOperator:
    return MarketoDownloadProgramMemberExportOperator(
        task_id="download",
        export_id=export_id,
        destination=f"s3://{bucket_name}/marketo/members.csv",
        dest_conn_id="moto_s3",
    )


def test_large_file_lands_in_s3_byte_identical(emulator, bucket):
    client, name = bucket
    export_id = completed_export(emulator)

    result = download(export_id, name).execute(context={})

    body = client.get_object(Bucket=name, Key="marketo/members.csv")["Body"].read()
    assert body == emulator.file_bytes(export_id)
    assert result["uri"] == f"s3://{name}/marketo/members.csv"
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=name).get("Contents", [])]
    assert keys == ["marketo/members.csv"]
    assert client.list_multipart_uploads(Bucket=name).get("Uploads", []) == []


def test_checksum_mismatch_aborts_the_multipart_upload(emulator, bucket, monkeypatch):
    client, name = bucket
    emulator.corrupt_next_checksum()
    export_id = completed_export(emulator)
    seen: list[str] = []
    for method in ("commit", "discard"):
        original = getattr(s3fs.core.S3File, method)

        def spy(self, _original=original, _method=method):
            seen.append(f"{_method} {self.path} mpu={self.mpu is not None}")
            return _original(self)

        monkeypatch.setattr(s3fs.core.S3File, method, spy)

    with pytest.raises(MarketoExportIntegrityError, match="failed verification"):
        download(export_id, name).execute(context={})

    # A multipart upload was under way and was aborted: never completed, then deleted.
    assert len(seen) == 1
    assert seen[0].startswith("discard ")
    assert seen[0].endswith("mpu=True")
    assert client.list_objects_v2(Bucket=name).get("Contents", []) == []
    assert client.list_multipart_uploads(Bucket=name).get("Uploads", []) == []


def test_unfinished_uploads_whose_owner_is_gone_are_aborted_others_left_alone(emulator, bucket):
    """
    A SIGKILLed try leaves its multipart upload open: the next try aborts it (ours, owner gone) first.
    (Another host's uploads go by their age, tested on local files: moto dates every upload in 2010.)
    """
    client, name = bucket
    export_id = completed_export(emulator)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    stale_key = f"marketo/members.csv.{THIS_HOST}-{ended.pid}-{uuid.uuid4().hex[:16]}.partial"
    kept_keys = [
        f"marketo/members.csv.{THIS_HOST}-{os.getpid()}-{uuid.uuid4().hex[:16]}.partial",  # a live try's
        f"marketo/other.csv.{THIS_HOST}-{ended.pid}-{uuid.uuid4().hex[:16]}.partial",
        "marketo/members.csv.mine",
    ]
    for key in [stale_key, *kept_keys]:
        client.create_multipart_upload(Bucket=name, Key=key)
    client.put_object(Bucket=name, Key=stale_key, Body=b"x")

    download(export_id, name).execute(context={})

    uploads = sorted(u["Key"] for u in client.list_multipart_uploads(Bucket=name).get("Uploads", []))
    assert uploads == sorted(kept_keys)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=name).get("Contents", [])]
    assert keys == ["marketo/members.csv"]
