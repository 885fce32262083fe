"""The example DAGs' typed outputs end to end (dag.test() against the emulator): removed memberships of
the snapshot DAG, and marketo_program_members_to_postgres into this machine's PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pendulum
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow.utils.state import DagRunState
from postgres_db import execute, query, throwaway_database
from test_example_dags import example_dags  # noqa: F401  # the fixture, used through `dags`

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
PROGRAMS = list(range(1001, 1013))
TABLE = "marketo.program_members"
MEMBERS = f'SELECT * FROM {TABLE} ORDER BY "leadId", "programId"'


def add_a_membership_to(parquet_file: Path, lead_id: int, program_id: int) -> None:
    """Make an earlier snapshot hold one more membership than Marketo has now (a lead since removed)."""
    table = pq.read_table(parquet_file)
    extra = {name: [None] for name in table.column_names} | {"leadId": [lead_id], "programId": [program_id]}
    pq.write_table(pa.concat_tables([table, pa.table(extra, schema=table.schema)]), parquet_file)


def test_a_snapshot_writes_the_memberships_gone_since_the_previous_one(dags, marketo_emulator, tmp_path):
    dag = dags.dags["marketo_program_members_snapshot"]
    conf = {"program_ids": [1044, 1001], "destination": tmp_path.as_uri()}
    first = dag.test(logical_date=pendulum.datetime(2024, 6, 3, 6, tz="UTC"), run_conf=conf)
    assert first.state == DagRunState.SUCCESS
    previous = tmp_path / "snapshot" / "snapshot_date=2024-06-03"
    assert not (previous / "removed_memberships.parquet").exists(), "a first snapshot has nothing to compare"
    add_a_membership_to(previous / "batch=00.parquet", 424242, 1044)

    second = dag.test(logical_date=pendulum.datetime(2024, 6, 10, 6, tz="UTC"), run_conf=conf)

    assert second.state == DagRunState.SUCCESS
    current = tmp_path / "snapshot" / "snapshot_date=2024-06-10"
    removed = pq.read_table(current / "removed_memberships.parquet").to_pylist()
    assert removed == [
        {"leadId": 424242, "programId": 1044, "_marketo_previous_snapshot": "snapshot_date=2024-06-03",
         "_marketo_snapshot": "snapshot_date=2024-06-10"}
    ]  # fmt: skip
    assert (current / "_manifest.json").exists()


@pytest.fixture
def dags(example_dags):  # noqa: F811
    return example_dags


@pytest.fixture
def database(monkeypatch):
    with throwaway_database(monkeypatch, "marketo_pg") as name:
        execute(name, "CREATE SCHEMA marketo")
        yield name


def test_increments_into_postgres_twice_change_nothing_the_second_time(
    dags, marketo_emulator, database, tmp_path
):
    dag = dags.dags["marketo_program_members_to_postgres"]
    conf = {
        "start": "2024-01-01",
        "end": "2024-03-01",  # two windows sharing an edge
        "program_ids": PROGRAMS,  # batches of 10 and 2
        "destination": tmp_path.as_uri(),
        "postgres_conn_id": "marketo_pg",
    }

    run = dag.test(logical_date=pendulum.datetime(2024, 3, 1, 1, tz="UTC"), run_conf=conf)

    assert run.state == DagRunState.SUCCESS
    parquet = sorted(tmp_path.rglob("*.parquet"))
    assert len(parquet) == 4
    staged = pa.concat_tables([pq.read_table(path) for path in parquet])
    keys = {(row["leadId"], row["programId"]) for row in staged.select(["leadId", "programId"]).to_pylist()}
    before = query(database, MEMBERS)
    assert len(before) == len(keys) > 0
    assert {(row[0], row[1]) for row in query(database, f'SELECT "leadId", "programId" FROM {TABLE}')} == keys

    again = dag.test(logical_date=pendulum.datetime(2024, 3, 1, 1, tz="UTC"), run_conf=conf)

    assert again.state == DagRunState.SUCCESS
    assert query(database, MEMBERS) == before, "a re-run changes nothing, not even _marketo_loaded_at"


def test_snapshots_into_postgres_soft_delete_the_memberships_that_disappeared(
    dags, marketo_emulator, database, tmp_path
):
    dag = dags.dags["marketo_program_members_to_postgres"]
    conf = {
        "mode": "snapshot",
        "program_ids": [1044],
        "destination": tmp_path.as_uri(),
        "postgres_conn_id": "marketo_pg",
    }
    assert (
        dag.test(logical_date=pendulum.datetime(2024, 6, 3, 1, tz="UTC"), run_conf=conf).state
        == DagRunState.SUCCESS
    )
    previous = tmp_path / "postgres" / "snapshot" / "snapshot_date=2024-06-03"
    add_a_membership_to(previous / "batch=00.parquet", 424242, 1044)
    execute(database, f'INSERT INTO {TABLE} ("leadId", "programId") VALUES (424242, 1044)')

    run = dag.test(logical_date=pendulum.datetime(2024, 6, 10, 1, tz="UTC"), run_conf=conf)

    assert run.state == DagRunState.SUCCESS
    removed = query(
        database, f'SELECT "leadId", "programId" FROM {TABLE} WHERE "_marketo_removed_at" IS NOT NULL'
    )
    assert removed == [(424242, 1044)]
    assert query(database, f'SELECT count(*) FROM {TABLE} WHERE "_marketo_removed_at" IS NULL')[0][0] > 0
