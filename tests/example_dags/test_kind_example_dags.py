"""The example DAGs of the other kinds, end to end with ``dag.test()`` against the emulator: daily leads
(``updatedAt``, or ``createdAt`` where the subscription lacks it), daily activities (one job per type) and a
custom object snapshot (``updatedAt`` windows since a day)."""

# The program member DAG tests' fixtures are imported, and named again as test arguments: F811 is wanted.
# ruff: noqa: F401, F811

from __future__ import annotations

import hashlib

import pendulum
import pytest
from airflow.utils.state import DagRunState
from test_example_dags import (  # the fixtures and helpers of the program member example DAGs' tests
    DATA_UNTIL,
    completed_export_checksums,
    created_filters,
    csv_rows,
    example_dags,
    marketo_emulator_options,
    written_files,
)

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

RUN_AT = pendulum.datetime(2026, 10, 15, tz="UTC")  # a day inside the emulator's pinned data


def ts(moment: pendulum.DateTime) -> str:
    return moment.format("YYYY-MM-DDTHH:mm:ss[Z]")


def files_are_the_emulators(files: dict[str, bytes], emulator) -> bool:
    return {hashlib.sha256(data).hexdigest() for data in files.values()} == completed_export_checksums(
        emulator
    )


@pytest.mark.parametrize(("date_filter", "prefix"), [("updatedAt", "updated"), ("createdAt", "created")])
def test_leads_daily_exports_the_last_days_by_updated_at_or_created_at(
    example_dags, marketo_emulator, tmp_path, date_filter, prefix
):
    run = example_dags.dags["marketo_leads_daily"].test(
        logical_date=RUN_AT,
        run_conf={"days": 7, "date_filter": date_filter, "destination": tmp_path.as_uri()},
    )

    assert run.state == DagRunState.SUCCESS
    window = {"startAt": ts(RUN_AT.subtract(days=7)), "endAt": ts(RUN_AT)}
    assert created_filters(marketo_emulator) == [{date_filter: window}]
    path = f"leads/{prefix}_date=2026-10-14/part=00.csv"
    files = written_files(tmp_path)
    assert list(files) == [path]
    assert files_are_the_emulators(files, marketo_emulator)
    rows = csv_rows(files[path])
    assert rows, "a week of the emulator's data has leads"
    assert all(window["startAt"] <= row[date_filter] < window["endAt"] for row in rows)


def test_activities_daily_maps_one_export_per_activity_type(example_dags, marketo_emulator, tmp_path):
    run = example_dags.dags["marketo_activities_daily"].test(
        logical_date=RUN_AT,
        run_conf={"days": 7, "activity_types": ["Visit Webpage", 2], "destination": tmp_path.as_uri()},
    )

    assert run.state == DagRunState.SUCCESS
    window = {"startAt": ts(RUN_AT.subtract(days=7)), "endAt": ts(RUN_AT)}
    # Visit Webpage resolved by name to its id (1) when its start ran; Fill Out Form given as 2.
    assert sorted(created_filters(marketo_emulator), key=str) == sorted(
        [{"createdAt": window, "activityTypeIds": [1]}, {"createdAt": window, "activityTypeIds": [2]}],
        key=str,
    )
    starts = [ti for ti in run.get_task_instances() if ti.task_id == "export_job.start_export"]
    assert sorted(ti.map_index for ti in starts) == [0, 1]
    files = written_files(tmp_path)
    assert sorted(files) == [
        "activities/created_date=2026-10-14/type=2/part=00.csv",
        "activities/created_date=2026-10-14/type=visit_webpage/part=00.csv",
    ]
    assert files_are_the_emulators(files, marketo_emulator)
    for name, data in files.items():
        rows = csv_rows(data)
        assert {row["activityTypeId"] for row in rows} <= {"1" if "visit_webpage" in name else "2"}
        assert all(window["startAt"] <= row["activityDate"] < window["endAt"] for row in rows)
    assert any(csv_rows(data) for data in files.values())


def test_custom_object_snapshot_exports_every_window_since_a_day(example_dags, marketo_emulator, tmp_path):
    run_at = pendulum.parse(DATA_UNTIL)
    run = example_dags.dags["marketo_custom_object_snapshot"].test(
        logical_date=run_at,
        run_conf={"api_name": "car_c", "since": "2026-09-01", "destination": tmp_path.as_uri()},
    )

    assert run.state == DagRunState.SUCCESS
    assert [f["updatedAt"] for f in sorted(created_filters(marketo_emulator), key=str)] == [
        {"startAt": "2026-09-01T00:00:00Z", "endAt": "2026-10-02T00:00:00Z"},
        {"startAt": "2026-10-02T00:00:00Z", "endAt": "2026-11-01T00:00:00Z"},
    ]
    assert {call.path for call in marketo_emulator.calls("create")} == {
        "/bulk/v1/customobjects/car_c/export/create.json"
    }
    files = written_files(tmp_path)
    folder = "custom_objects/car_c/snapshot_date=2026-11-01"
    assert sorted(files) == [f"{folder}/part=000.csv", f"{folder}/part=001.csv"]
    assert files_are_the_emulators(files, marketo_emulator)
    rows = [row for data in files.values() for row in csv_rows(data)]
    assert rows
    assert all("2026-09-01" <= row["updatedAt"] < "2026-11-01" for row in rows)
    assert {"marketoGUID", "leadId", "vin"} <= set(rows[0])
