"""MarketoExportToPostgresOperator, end to end: emulator -> verified CSV -> Parquet -> a real PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from postgres_db import execute, query, throwaway_database
from typed_exports import downloaded_export

from airflow_provider_marketo_pm.exceptions import MarketoExportSchemaError, MarketoLoadError
from airflow_provider_marketo_pm.operators.parquet import MarketoExportToParquetOperator
from airflow_provider_marketo_pm.operators.postgres import MarketoExportToPostgresOperator
from airflow_provider_marketo_pm.rows import read_export_rows

FIELDS = ["leadId", "firstName", "email", "statusName", "reachedSuccess", "leadCustomField01", "updatedAt"]
PROGRAMS = list(range(1001, 1011))
JANUARY = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-02-01T00:00:00Z"}
MID_JANUARY = {"startAt": "2024-01-15T00:00:00Z", "endAt": "2024-02-15T00:00:00Z"}
TABLE_ROWS = 'SELECT * FROM marketo.program_members ORDER BY "leadId", "programId"'


@pytest.fixture
def database(monkeypatch):
    with throwaway_database(monkeypatch) as name:
        yield name


def load(exports, **kwargs) -> dict:
    kwargs.setdefault("table", "marketo.program_members")
    return MarketoExportToPostgresOperator(
        task_id="load", exports=exports, postgres_conn_id="marketo_pg", **kwargs
    ).execute(context={})


def parquet_export(emulator, path, export_filter, fields=FIELDS) -> dict:
    download = downloaded_export(emulator, path, fields, export_filter)
    return MarketoExportToParquetOperator(task_id="p", source=download, export_filter=export_filter).execute(
        context={}
    )


@pytest.fixture
def january(emulator, tmp_path):
    return parquet_export(emulator, tmp_path / "jan.csv", {"programIds": PROGRAMS, "updatedAt": JANUARY})


def test_a_first_load_inserts_every_key_with_typed_columns(database, january):
    execute(database, "CREATE SCHEMA marketo")

    counts = load([january])

    assert counts["rows"] == counts["keys"] == counts["inserted"] == january["records"] > 0
    assert (counts["updated"], counts["unchanged"], counts["removed"]) == (0, 0, 0)
    types = dict(
        query(
            database,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'program_members'",
        )
    )
    assert types["leadId"] == types["programId"] == "bigint"
    assert types["reachedSuccess"] == "boolean"
    assert types["updatedAt"] == types["_marketo_window_start"] == "timestamp with time zone"
    assert types["email"] == types["_marketo_export_id"] == "text"
    key = query(
        database,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'marketo.program_members'::regclass "
        "AND i.indisprimary ORDER BY a.attname",
    )
    assert key == [("leadId",), ("programId",)]
    (first,) = query(
        database, f"{TABLE_ROWS} LIMIT 1".replace("*", '"_marketo_window_end", "_marketo_removed_at"')
    )
    assert first == (dt.datetime(2024, 2, 1, tzinfo=dt.UTC), None)


def test_a_re_run_changes_nothing(database, january):
    execute(database, "CREATE SCHEMA marketo")
    load([january])
    before = query(database, TABLE_ROWS)

    counts = load([january])

    assert (counts["inserted"], counts["updated"]) == (0, 0)
    assert counts["unchanged"] == counts["keys"] == len(before)
    assert query(database, TABLE_ROWS) == before, "not even _marketo_loaded_at moves"


def test_overlapping_windows_keep_each_key_once_with_its_newest_copy(database, emulator, tmp_path, january):
    execute(database, "CREATE SCHEMA marketo")
    later = parquet_export(emulator, tmp_path / "mid.csv", {"programIds": PROGRAMS, "updatedAt": MID_JANUARY})

    both = load([later, january])
    again_in_the_other_order = load([january, later])

    table = query(database, 'SELECT "leadId", "programId", "updatedAt" FROM marketo.program_members')
    assert (
        len(table) == both["keys"] == both["inserted"] < both["rows"] == january["records"] + later["records"]
    )
    assert len({(lead, program) for lead, program, _ in table}) == len(table)
    assert again_in_the_other_order["inserted"] == again_in_the_other_order["updated"] == 0


def test_the_newest_updated_at_wins_whatever_the_load_order(database, emulator, tmp_path):
    execute(database, "CREATE SCHEMA marketo")
    older, newer = tmp_path / "older.csv", tmp_path / "newer.csv"
    older.write_text(
        "programId,leadId,statusName,updatedAt\n1001,7,Invited,2024-01-02T00:00:00Z\n"
        "1001,8,Invited,2024-01-02T00:00:00Z"
    )
    newer.write_text("programId,leadId,statusName,updatedAt\n1001,7,Attended,2024-01-05T00:00:00Z")

    load([newer.as_uri()], marketo_conn_id="marketo_default")
    counts = load([older.as_uri()], marketo_conn_id="marketo_default")

    assert (counts["inserted"], counts["updated"], counts["unchanged"]) == (1, 0, 1)
    statuses = query(database, 'SELECT "leadId", "statusName" FROM marketo.program_members ORDER BY 1')
    assert statuses == [(7, "Attended"), (8, "Invited")]
    same_time = tmp_path / "same_time.csv"
    same_time.write_text("programId,leadId,statusName,updatedAt\n1001,7,No Show,2024-01-05T00:00:00Z")
    assert load([same_time.as_uri()], marketo_conn_id="marketo_default")["updated"] == 1, (
        "same time, new values"
    )


def test_soft_deletes_mark_removed_keys_and_a_snapshot_restores_them(database, emulator, tmp_path, january):
    execute(database, "CREATE SCHEMA marketo")
    load([january])
    lead, program = query(database, 'SELECT "leadId", "programId" FROM marketo.program_members LIMIT 1')[0]
    removed = tmp_path / "removed.csv"
    removed.write_text(f"programId,leadId\n{program},{lead}\n{program},999999")

    counts = load([january], removed=[removed.as_uri()], marketo_conn_id="marketo_default")
    again = load([january], removed=[removed.as_uri()], marketo_conn_id="marketo_default")

    assert counts["removed"] == 1, "a key the table does not have is not a removal"
    assert again["removed"] == 0, "already marked: its time is kept"
    marked = query(
        database,
        'SELECT "leadId", "programId" FROM marketo.program_members WHERE "_marketo_removed_at" IS NOT NULL',
    )
    assert marked == [(lead, program)]
    assert load([january], snapshot=True)["updated"] == 1
    assert query(
        database, 'SELECT count(*) FROM marketo.program_members WHERE "_marketo_removed_at" IS NOT NULL'
    ) == [(0,)]


class TestNulBytes:
    @pytest.fixture
    def marketo_emulator_options(self):
        return {"nul_bytes": True, "utf8_bom": True}

    def test_nul_bytes_are_removed_from_text_and_counted(self, database, emulator, tmp_path):
        export = parquet_export(emulator, tmp_path / "m.csv", {"programIds": PROGRAMS})
        typed = {
            (row["leadId"], row["programId"]): row["leadCustomField01"]
            for row in read_export_rows(export["uri"])
        }
        with_nul = {key: value for key, value in typed.items() if "\x00" in (value or "")}

        counts = load([export], table="members")

        assert counts["nul_values_cleaned"] == len(with_nul) > 0
        assert counts["inserted"] == export["records"]
        stored = {
            (lead, program): value
            for lead, program, value in query(
                database, 'SELECT "leadId", "programId", "leadCustomField01" FROM members'
            )
        }
        assert {key: stored[key] for key in with_nul} == {
            key: value.replace("\x00", "") for key, value in with_nul.items()
        }
        assert stored == {
            key: None if value is None else value.replace("\x00", "") for key, value in typed.items()
        }


def test_a_load_without_the_key_or_updated_at_is_refused_before_any_sql(database, emulator, tmp_path):
    export = parquet_export(
        emulator, tmp_path / "m.csv", {"programIds": PROGRAMS}, fields=["leadId", "email"]
    )

    with pytest.raises(MarketoLoadError, match=r"\['updatedAt'\].*fields"):
        load([export], table="members")

    assert query(database, "SELECT count(*) FROM pg_tables WHERE tablename = 'members'") == [(0,)]


def test_a_failure_mid_load_rolls_everything_back(database, emulator, tmp_path, january):
    execute(database, "CREATE SCHEMA marketo")
    load([january])
    before = query(database, TABLE_ROWS)
    bad = tmp_path / "bad.csv"
    bad.write_text("programId,leadId,statusName,updatedAt\n1001,7,Invited,yesterday")
    good = tmp_path / "good.csv"
    good.write_text("programId,leadId,statusName,updatedAt\n1001,7,Invited,2024-01-02T00:00:00Z")

    with pytest.raises(MarketoExportSchemaError, match="updatedAt"):
        load([good.as_uri(), bad.as_uri()], marketo_conn_id="marketo_default", table="marketo.other")
    with pytest.raises(MarketoLoadError, match="same columns"):
        load([january, good.as_uri()], marketo_conn_id="marketo_default")

    assert query(database, TABLE_ROWS) == before
    assert query(database, "SELECT count(*) FROM pg_tables WHERE tablename = 'other'") == [(0,)]


def test_a_bad_table_name_fails_at_parse_time():
    with pytest.raises(MarketoLoadError, match="table"):
        MarketoExportToPostgresOperator(task_id="t", exports=[], table="members; DROP TABLE x")
