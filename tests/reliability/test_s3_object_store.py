"""A real S3 API: moto in server mode, reached through an Airflow AWS connection with ``endpoint_url``.

The export is larger than 100 MB, so s3fs uploads it in several multipart parts (50 MiB blocks). What
must hold: the object's sha256 equals Marketo's ``fileChecksum``, and a failed download leaves neither an
object nor an unfinished multipart upload behind.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator

import pytest
from marketo_exports import start_export_via_hook, wait_for_export_status
from moto_s3 import CREDENTIALS, moto_server

from airflow_provider_marketo_pm.exceptions import MarketoExportIntegrityError
from airflow_provider_marketo_pm.operators.program_members import MarketoDownloadProgramMemberExportOperator

boto3 = pytest.importorskip("boto3")
pytest.importorskip("s3fs")

pytestmark = pytest.mark.slow

EXPORT_MB = 110
CONN_ID = "moto_s3_store"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server in its own process on a loopback port, as a real S3 endpoint would be."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3(moto_endpoint, monkeypatch):
    """A fresh bucket, and the Airflow AWS connection the operator writes through."""
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"},
            }
        ),
    )
    client = boto3.client("s3", endpoint_url=moto_endpoint, **CREDENTIALS)
    bucket = f"marketo-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


@pytest.fixture
def marketo_emulator_options():
    return {"large_file_mb": EXPORT_MB}


def _completed_export(emulator) -> dict:
    export_id = start_export_via_hook()
    return wait_for_export_status(emulator, export_id, "Completed", attempts=2400)


def _download(export_id: str, bucket: str, **kwargs) -> MarketoDownloadProgramMemberExportOperator:
    return MarketoDownloadProgramMemberExportOperator(
        task_id="download",
        export_id=export_id,
        destination=f"s3://{bucket}/marketo/members.csv",
        dest_conn_id=CONN_ID,
        **kwargs,
    )


def _object_sha256(client, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    for chunk in client.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1024 * 1024):
        digest.update(chunk)
    return digest.hexdigest()


def _leftovers(client, bucket: str) -> tuple[list[str], list[str]]:
    objects = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    uploads = [u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    return objects, uploads


def test_a_multipart_sized_export_lands_whole_and_verified(emulator, s3):
    client, bucket = s3
    record = _completed_export(emulator)
    assert record["fileSize"] > 100 * 1024 * 1024

    result = _download(record["exportId"], bucket).execute(context={})

    assert f"sha256:{_object_sha256(client, bucket, 'marketo/members.csv')}" == record["fileChecksum"]
    assert result["bytes"] == record["fileSize"]
    assert result["uri"] == f"s3://{bucket}/marketo/members.csv"
    assert _leftovers(client, bucket) == (["marketo/members.csv"], [])


def test_a_checksum_mismatch_after_all_parts_leaves_nothing(emulator, s3):
    client, bucket = s3
    emulator.corrupt_next_checksum()
    record = _completed_export(emulator)

    with pytest.raises(MarketoExportIntegrityError, match="failed verification"):
        _download(record["exportId"], bucket).execute(context={})

    assert _leftovers(client, bucket) == ([], [])


def test_a_connection_that_keeps_dropping_mid_file_leaves_nothing(emulator, s3):
    client, bucket = s3
    record = _completed_export(emulator)
    emulator.drop_download_after(30 * 1024 * 1024, times=10)  # twice: 60 MB in, past the first 50 MiB part

    with pytest.raises(Exception, match="broke"):
        _download(record["exportId"], bucket, max_resumes=1).execute(context={})

    assert _leftovers(client, bucket) == ([], [])
