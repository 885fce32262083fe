"""read_export_rows: typed rows of an export from any store, CSV or Parquet, dicts or Arrow batches."""

from __future__ import annotations

import datetime as dt
import socket
import uuid

import boto3
import pyarrow as pa
import pytest
from typed_exports import downloaded_export

from airflow_provider_marketo_pm.exceptions import MarketoExportSchemaError
from airflow_provider_marketo_pm.operators.parquet import MarketoExportToParquetOperator
from airflow_provider_marketo_pm.rows import read_export_rows

FIELDS = ["leadId", "email", "reachedSuccess", "attendanceLikelihood", "updatedAt"]
FILTER = {"programIds": [1001, 1002]}


def to_parquet(source, **kwargs) -> dict:
    return MarketoExportToParquetOperator(task_id="p", source=source, export_filter=FILTER, **kwargs).execute(
        context={}
    )


@pytest.fixture
def converted(emulator, tmp_path):
    download = downloaded_export(emulator, tmp_path / "members.csv", FIELDS, FILTER)
    return download, to_parquet(download)


def test_rows_are_dicts_of_typed_values(converted):
    download, result = converted

    rows = list(read_export_rows(result["uri"]))

    assert len(rows) == download["records"] > 0
    first = rows[0]
    assert isinstance(first["leadId"], int)
    assert isinstance(first["programId"], int)
    assert isinstance(first["reachedSuccess"], bool)
    assert first["updatedAt"].utcoffset() == dt.timedelta(0)
    assert first["_marketo_export_id"] == download["export_id"]
    assert None in {row["attendanceLikelihood"] for row in rows}, "the literal null is None"


def test_the_csv_beside_its_sidecar_reads_as_the_same_rows(converted):
    download, result = converted

    assert list(read_export_rows(download["uri"])) == list(read_export_rows(result["uri"]))


def test_batches_and_columns_when_asked(converted):
    _, result = converted

    batches = list(read_export_rows(result["uri"], batches=True, columns=["programId", "leadId"]))

    assert all(isinstance(batch, pa.RecordBatch) for batch in batches)
    assert batches[0].schema.names == ["programId", "leadId"]
    assert batches[0].schema.field("leadId").type == pa.int64()
    assert sum(batch.num_rows for batch in batches) == result["records"]


def test_a_csv_without_sidecar_is_typed_by_describe_when_given_a_marketo_connection(emulator, tmp_path):
    download = downloaded_export(emulator, tmp_path / "m.csv", FIELDS, FILTER)

    rows = list(read_export_rows(download["uri"], marketo_conn_id="marketo_default"))

    assert len(rows) == download["records"]
    assert isinstance(rows[0]["attendanceLikelihood"] or 0, int)
    assert isinstance(rows[0]["updatedAt"], dt.datetime)


def test_a_csv_without_any_schema_is_refused_saying_what_to_pass(emulator, tmp_path):
    download = downloaded_export(emulator, tmp_path / "m.csv", FIELDS, FILTER)

    with pytest.raises(MarketoExportSchemaError, match=r"m\.schema\.json.*marketo_conn_id"):
        next(read_export_rows(download["uri"]))


def test_an_unknown_column_is_refused(converted):
    _, result = converted
    with pytest.raises(MarketoExportSchemaError, match="leadID"):
        next(read_export_rows(result["uri"], columns=["leadID"]))


@pytest.fixture
def bucket(monkeypatch):
    """A fresh bucket on moto's S3 server, and the connection id of its store (new for each test: Airflow
    keeps the first store attached under an id, which would be another test's stopped server)."""
    s3fs = pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    from airflow.sdk.io import attach

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    name = f"exports-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    conn_id = f"moto_s3_{uuid.uuid4().hex[:8]}"
    attach(
        "s3",
        conn_id=conn_id,
        fs=s3fs.S3FileSystem(key="t", secret="t", endpoint_url=endpoint, skip_instance_cache=True),
    )
    yield name, conn_id
    server.stop()


def test_any_object_store_with_its_connection(emulator, tmp_path, bucket):
    bucket, conn_id = bucket
    from airflow_provider_marketo_pm.operators.program_members import (
        MarketoDownloadProgramMemberExportOperator,
    )

    local = downloaded_export(emulator, tmp_path / "m.csv", FIELDS, FILTER)
    download = MarketoDownloadProgramMemberExportOperator(
        task_id="d",
        export_id=local["export_id"],
        destination=f"s3://{bucket}/pm/m.csv",
        dest_conn_id=conn_id,
    ).execute(context={})
    result = to_parquet(download, source_conn_id=conn_id)

    assert result["uri"] == f"s3://{bucket}/pm/m.parquet"
    from_s3 = list(read_export_rows(result["uri"], conn_id=conn_id))
    assert from_s3 == list(read_export_rows(download["uri"], conn_id=conn_id))
    assert [row["leadId"] for row in from_s3] == [
        row["leadId"] for row in read_export_rows(local["uri"], marketo_conn_id="marketo_default")
    ]
