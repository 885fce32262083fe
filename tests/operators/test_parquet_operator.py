"""MarketoExportToParquetOperator: a verified export as a typed Parquet file beside it, typed by describe."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typed_exports import csv_rows, downloaded_export

from airflow_provider_marketo_pm.exceptions import MarketoExportSchemaError, MarketoRequestError
from airflow_provider_marketo_pm.operators.parquet import MarketoExportToParquetOperator
from airflow_provider_marketo_pm.testing.emulator.dataset import DOCUMENTED_FIELDS, DOCUMENTED_HEADERS

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")
MEMBER_FIELDS = ["leadId", "firstName", "lastName", "statusReason", "membershipDate", "reachedSuccess",
                 "attendanceLikelihood", "updatedAt", "leadCustomField01", "myCustomField"]  # fmt: skip
WINDOW = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-02-01T00:00:00Z"}


def to_parquet(source, **kwargs) -> dict:
    return MarketoExportToParquetOperator(task_id="to_parquet", source=source, **kwargs).execute(context={})


class TestTheDocumentedExample:
    @pytest.fixture
    def marketo_emulator_options(self):
        return {"dataset": "documented"}

    @pytest.fixture
    def converted(self, emulator, tmp_path):
        download = downloaded_export(
            emulator, tmp_path / "members.csv", list(DOCUMENTED_FIELDS), {"programId": 1044},
            column_header_names=DOCUMENTED_HEADERS,
        )  # fmt: skip
        result = to_parquet(
            download, export_filter={"programId": 1044}, column_header_names=DOCUMENTED_HEADERS
        )
        return download, result

    def test_converts_to_the_exact_types_its_describe_gives(self, converted):
        _, result = converted
        schema = pq.read_schema(result["uri"].removeprefix("file://"))

        assert [(f.name, f.type) for f in schema] == [
            ("firstName", pa.string()),
            ("lastName", pa.string()),
            ("email", pa.string()),  # dataType email
            ("membershipDate", UTC_TIMESTAMP),  # header "Member Date", dataType datetime
            ("program", pa.string()),
            ("statusName", pa.string()),
            ("leadId", pa.int64()),  # header "Lead Id", dataType integer
            ("reachedSuccess", pa.bool_()),  # header "Success", dataType boolean
            ("leadCustomField01", pa.string()),
            ("leadCustomField02", pa.string()),
            ("pMCustomField01", pa.string()),
            ("pMCustomField02", pa.string()),
            ("programId", pa.int64()),  # implied by the one-program filter
            ("_marketo_export_id", pa.string()),
            ("_marketo_window_start", UTC_TIMESTAMP),
            ("_marketo_window_end", UTC_TIMESTAMP),
        ]

    def test_every_value_is_the_files_value_typed(self, converted):
        download, result = converted
        rows = pq.read_table(result["uri"].removeprefix("file://")).to_pylist()

        assert result["records"] == len(rows) == 12 == download["records"]
        assert rows[0] == {
            "firstName": "Meera",
            "lastName": "Reed",
            "email": "mree@housestark.com",
            "membershipDate": dt.datetime(2020, 1, 8, 18, 10, 26, tzinfo=dt.UTC),
            "program": "PMCF Program",
            "statusName": "On List",
            "leadId": 1789,
            "reachedSuccess": False,
            "leadCustomField01": "Lead01_Value",
            "leadCustomField02": "Lead02_Value",
            "pMCustomField01": "PM01_Value",
            "pMCustomField02": "PM02_Value",
            "programId": 1044,
            "_marketo_export_id": download["export_id"],
            "_marketo_window_start": None,
            "_marketo_window_end": None,
        }
        assert [row["lastName"] for row in rows].count(None) == 2  # Hodor and Osha: the literal null
        assert [row["leadId"] for row in rows] == list(range(1789, 1801))

    def test_the_schema_sidecar_says_how_each_column_was_typed(self, converted):
        download, result = converted
        sidecar = json.loads(Path(result["schema_uri"].removeprefix("file://")).read_text())

        assert result["schema_uri"].endswith("/members.schema.json")
        assert sidecar["exportId"] == download["export_id"]
        assert sidecar["records"] == 12
        assert sidecar["columns"][6] == {
            "name": "leadId",
            "dataType": "integer",
            "type": "int64",
            "header": "Lead Id",
        }
        assert sidecar["implied"] == [
            {"name": "programId", "dataType": "integer", "type": "int64", "value": 1044}
        ]

    def test_the_verified_csv_stays_beside_it_untouched(self, converted, emulator, tmp_path):
        download, result = converted
        assert result["csv_uri"] == download["uri"]
        assert (tmp_path / "members.csv").read_bytes() == emulator.file_bytes(download["export_id"])
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "members.csv",
            "members.parquet",
            "members.schema.json",
        ]


class TestAwkwardFiles:
    """BOM, NUL bytes, CRLF row ends, quoted newlines and `null`, as docs/fidelity.md documents them."""

    @pytest.fixture
    def marketo_emulator_options(self):
        return {"utf8_bom": True, "nul_bytes": True, "line_ending": "\r\n"}

    def test_a_file_with_a_bom_nul_bytes_and_crlf_keeps_every_value(self, emulator, tmp_path):
        export_filter = {"programIds": list(range(1001, 1011)), "updatedAt": WINDOW}
        download = downloaded_export(emulator, tmp_path / "members.csv", MEMBER_FIELDS, export_filter)
        served = emulator.file_bytes(download["export_id"])

        result = to_parquet(download, export_filter=export_filter)

        table = pq.read_table(result["uri"].removeprefix("file://"))
        rows, expected = table.to_pylist(), csv_rows(served)
        assert served.startswith(b"\xef\xbb\xbf")
        assert b"\r\n" in served
        assert b"\x00" in served
        assert table.column_names[:2] == ["programId", "leadId"]  # no BOM in the first name
        assert len(rows) == len(expected) == download["records"] > 0
        for row, text in zip(rows, expected, strict=True):
            assert row["leadId"] == int(text["leadId"])
            for name in ("firstName", "lastName", "statusReason", "leadCustomField01", "myCustomField"):
                assert row[name] == (None if text[name] == "null" else text[name]), name
            assert row["reachedSuccess"] is {"true": True, "false": False}[text["reachedSuccess"]]
            assert row["attendanceLikelihood"] == (
                None if text["attendanceLikelihood"] == "null" else int(text["attendanceLikelihood"])
            )
            assert row["updatedAt"] == dt.datetime.fromisoformat(text["updatedAt"])
            assert row["_marketo_window_start"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
            assert row["_marketo_window_end"] == dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
        values = [
            row[name] for row in rows for name in ("leadCustomField01", "myCustomField", "statusReason")
        ]
        assert any("\x00" in (value or "") for value in values), "NUL bytes are kept"
        assert any("\r\n" in (value or "") for value in values), "a quoted CRLF inside a value is kept"
        assert any("\n" in (value or "").replace("\r\n", "") for value in values), "and a quoted LF"


def test_a_gzipped_download_converts_too(emulator, tmp_path):
    download = downloaded_export(
        emulator, tmp_path / "m.csv.gz", ["leadId", "updatedAt"], {"programId": 1044}, compression="gzip"
    )

    result = to_parquet(download, export_filter={"programId": 1044})

    assert result["uri"].endswith("/m.parquet")
    assert pq.read_metadata(result["uri"].removeprefix("file://")).num_rows == download["records"] > 0


def test_keep_csv_false_removes_the_csv_once_the_parquet_file_is_verified(emulator, tmp_path):
    download = downloaded_export(emulator, tmp_path / "m.csv", ["leadId", "updatedAt"], {"programId": 1044})

    result = to_parquet(download, export_filter={"programId": 1044}, keep_csv=False)

    assert result["csv_uri"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.parquet", "m.schema.json"]
    assert pq.read_metadata(tmp_path / "m.parquet").num_rows == download["records"]


def test_a_row_count_other_than_the_records_publishes_nothing_and_keeps_the_csv(emulator, tmp_path):
    download = downloaded_export(emulator, tmp_path / "m.csv", ["leadId", "updatedAt"], {"programId": 1044})

    with pytest.raises(MarketoExportSchemaError, match="numberOfRecords is 999"):
        to_parquet({**download, "records": 999}, keep_csv=False)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv"]


def test_a_header_no_describe_names_is_refused_naming_it(emulator, tmp_path):
    download = downloaded_export(emulator, tmp_path / "m.csv", ["leadId", "email"], {"programId": 1044},
                                 column_header_names={"email": "E-mail"})  # fmt: skip

    with pytest.raises(MarketoExportSchemaError, match=r"\['E-mail'\].*column_header_names"):
        to_parquet(download)  # the renames were not passed

    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv"]


def test_a_value_not_of_its_type_fails_naming_the_column(emulator, tmp_path):
    source = tmp_path / "m.csv"
    source.write_bytes(b"leadId,email\n1,a@example.com\nnot-a-number,b@example.com")

    with pytest.raises(MarketoExportSchemaError, match=r"column 'leadId'.*integer.*not-a-number"):
        to_parquet(source.as_uri())

    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv"]


def test_an_existing_parquet_file_is_refused_unless_overwrite(emulator, tmp_path):
    download = downloaded_export(emulator, tmp_path / "m.csv", ["leadId"], {"programId": 1044})
    to_parquet(download)
    describes = len(emulator.calls("describe"))

    with pytest.raises(MarketoExportSchemaError, match="already exists"):
        to_parquet(download)
    assert len(emulator.calls("describe")) == describes, "refused before any call"
    assert to_parquet(download, overwrite=True)["records"] == download["records"]


def test_bad_arguments_fail_before_any_call():
    with pytest.raises(MarketoRequestError, match="format"):
        MarketoExportToParquetOperator(task_id="t", source="file:///x.csv", format="XLS")
    with pytest.raises(MarketoRequestError, match="compression"):
        MarketoExportToParquetOperator(task_id="t", source="file:///x.csv", compression="rar")
    with pytest.raises(MarketoRequestError, match="source"):
        MarketoExportToParquetOperator(task_id="t", source="members.csv").execute(context={})


def test_a_header_without_rows_converts_to_an_empty_typed_file(emulator, tmp_path):
    source = tmp_path / "m.csv"
    source.write_bytes(b"leadId,updatedAt")  # Marketo writes no line ending after the last line

    result = to_parquet({"uri": source.as_uri(), "records": 0, "export_id": "x"})

    table = pq.read_table(tmp_path / "m.parquet")
    assert (result["records"], table.num_rows) == (0, 0)
    assert table.schema.field("updatedAt").type == UTC_TIMESTAMP


def test_a_record_count_that_counts_the_header_line_is_accepted(emulator, tmp_path):
    """Marketo's own page says numberOfRecords 13 for a header and 12 rows (docs/fidelity.md)."""
    download = downloaded_export(emulator, tmp_path / "m.csv", ["leadId"], {"programId": 1044})

    result = to_parquet({**download, "records": download["records"] + 1})

    assert result["records"] == download["records"]
