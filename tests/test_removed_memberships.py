"""Removed memberships: keys of the previous complete snapshot that the current one lacks."""

from __future__ import annotations

import json
import logging

import pyarrow as pa
import pyarrow.parquet as pq
from airflow.sdk import ObjectStoragePath

from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBER_TABLE
from airflow_provider_marketo_pm.removed_memberships import (
    MANIFEST_NAME,
    Snapshot,
    previous_snapshot,
    record_snapshot,
    snapshot_filters,
)

LOG = logging.getLogger(__name__)


def snapshot_folder(root, day: str, keys: list[tuple[int, int]], programs=(1001, 1002), status_names=None):
    folder = root / f"snapshot_date={day}"
    folder.mkdir(parents=True)
    table = pa.table(
        {
            "programId": pa.array([p for _, p in keys], pa.int64()),
            "leadId": pa.array([lead for lead, _ in keys], pa.int64()),
            "email": pa.array([f"{lead}@example.com" for lead, _ in keys]),
        }
    )
    pq.write_table(table, folder / "batch=00.parquet")
    path = ObjectStoragePath(f"file://{folder}")  # as_uri() would escape the "="
    return Snapshot(path, ("batch=00.parquet",), tuple(programs), status_names)


def test_the_first_snapshot_records_itself_and_computes_nothing(tmp_path):
    first = snapshot_folder(tmp_path, "2024-01-01", [(1, 1001)])

    result = record_snapshot(first, PROGRAM_MEMBER_TABLE, log=LOG)

    assert (result["uri"], result["removed"], result["previous"]) == (None, 0, None)
    manifest = json.loads((tmp_path / "snapshot_date=2024-01-01" / MANIFEST_NAME).read_text())
    assert manifest["files"] == ["batch=00.parquet"]
    assert manifest["programIds"] == [1001, 1002]


def test_keys_gone_since_the_previous_snapshot_are_written_beside_the_current_one(tmp_path):
    record_snapshot(
        snapshot_folder(
            tmp_path, "2024-01-01", [(1, 1001), (2, 1001), (3, 1002), (4, 1003)], (1001, 1002, 1003)
        ),
        PROGRAM_MEMBER_TABLE,
        log=LOG,
    )
    current = snapshot_folder(tmp_path, "2024-01-08", [(1, 1001), (3, 1002), (5, 1002)])

    result = record_snapshot(current, PROGRAM_MEMBER_TABLE, log=LOG)

    removed = pq.read_table(tmp_path / "snapshot_date=2024-01-08" / "removed_memberships.parquet").to_pylist()
    assert removed == [
        {"leadId": 2, "programId": 1001, "_marketo_previous_snapshot": "snapshot_date=2024-01-01",
         "_marketo_snapshot": "snapshot_date=2024-01-08"},
    ], "lead 4 of program 1003 is out of this snapshot's scope, not removed"  # fmt: skip
    assert (result["removed"], result["previous"]) == (1, "snapshot_date=2024-01-01")
    assert result["uri"].endswith("/snapshot_date=2024-01-08/removed_memberships.parquet")


def test_an_incomplete_or_later_snapshot_is_never_the_previous_one(tmp_path):
    record_snapshot(snapshot_folder(tmp_path, "2024-01-01", [(1, 1001)]), PROGRAM_MEMBER_TABLE, log=LOG)
    snapshot_folder(tmp_path, "2024-01-05", [])  # no manifest: its run failed half way
    record_snapshot(snapshot_folder(tmp_path, "2024-01-20", [(9, 1001)]), PROGRAM_MEMBER_TABLE, log=LOG)
    current = snapshot_folder(tmp_path, "2024-01-08", [(1, 1001)])

    previous = previous_snapshot(current.folder, PROGRAM_MEMBER_TABLE.name)

    assert previous is not None
    assert previous.name == "snapshot_date=2024-01-01"


def test_a_snapshot_filtered_by_status_names_is_not_compared(tmp_path):
    record_snapshot(snapshot_folder(tmp_path, "2024-01-01", [(1, 1001)]), PROGRAM_MEMBER_TABLE, log=LOG)
    current = snapshot_folder(tmp_path, "2024-01-08", [], status_names=("Attended",))

    result = record_snapshot(current, PROGRAM_MEMBER_TABLE, log=LOG)

    assert result["uri"] is None
    assert not (tmp_path / "snapshot_date=2024-01-08" / "removed_memberships.parquet").exists()


def test_filters_of_planned_jobs():
    jobs = [
        {"export_filter": {"programIds": [1002, 1001]}, "destination": "file:///x"},
        {"export_filter": {"programId": 1044, "statusNames": ["Member"]}},
    ]
    assert snapshot_filters(jobs) == ((1001, 1002, 1044), ("Member",), False)
    window = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-02T00:00:00Z"}
    assert snapshot_filters([{"programIds": [1001], "updatedAt": window}])[2] is True
