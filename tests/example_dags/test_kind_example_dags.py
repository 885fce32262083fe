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


@pytest.mark.parametrize(
    ("date_filter", "prefix", "run_at", "days"),
    [
        ("updatedAt", "updated", RUN_AT, 7),
        # few leads are new in any one week of the emulator's data: a month of mid-2025 has some
        ("createdAt", "created", pendulum.datetime(2025, 7, 1, tz="UTC"), 31),
    ],
)
def test_leads_daily_exports_the_last_days_by_updated_at_or_created_at(
    example_dags, marketo_emulator, tmp_path, date_filter, prefix, run_at, days
):
    run = example_dags.dags["marketo_leads_daily"].test(
        logical_date=run_at,
        run_conf={"days": days, "date_filter": date_filter, "destination": tmp_path.as_uri()},
    )

    assert run.state == DagRunState.SUCCESS
    window = {"startAt": ts(run_at.subtract(days=days)), "endAt": ts(run_at)}
    assert created_filters(marketo_emulator) == [{date_filter: window}]
    path = f"leads/{prefix}_date={run_at.subtract(days=1).to_date_string()}/part=00.csv"
    files = written_files(tmp_path)
    assert list(files) == [path]
    assert files_are_the_emulators(files, marketo_emulator)
    rows = csv_rows(files[path])
    assert rows, "the window of the emulator's data has leads"
    assert all(window["startAt"] <= row[date_filter] < window["endAt"] for row in rows)


def test_activities_daily_maps_one_export_per_activity_type(example_dags, marketo_emulator, tmp_path):
    run = example_dags.dags["marketo_activities_daily"].test(
        logical_date=RUN_AT,
        run_conf={
            "days": 7,
            "activity_types": ["Change Status in Progression", 13],
            "destination": tmp_path.as_uri(),
        },
    )

    assert run.state == DagRunState.SUCCESS
    window = {"startAt": ts(RUN_AT.subtract(days=7)), "endAt": ts(RUN_AT)}
    # Change Status in Progression resolved by name to its id (104) when its start ran; 13 given as an id.
    filters = created_filters(marketo_emulator)
    assert sorted(f["activityTypeIds"] for f in filters) == [[13], [104]]
    assert [f["createdAt"] for f in filters] == [window, window]
    assert all(set(f) == {"createdAt", "activityTypeIds"} for f in filters)
    starts = [ti for ti in run.get_task_instances() if ti.task_id == "export_job.start_export"]
    assert sorted(ti.map_index for ti in starts) == [0, 1]
    files = written_files(tmp_path)
    assert sorted(files) == [
        "activities/created_date=2026-10-14/type=13/part=00.csv",
        "activities/created_date=2026-10-14/type=change_status_in_progression/part=00.csv",
    ]
    assert files_are_the_emulators(files, marketo_emulator)
    for name, data in files.items():
        rows = csv_rows(data)
        assert rows, "a week of the emulator's data has activities of both types"
        assert {row["activityTypeId"] for row in rows} == {"104" if "change_status" in name else "13"}
        assert all(window["startAt"] <= row["activityDate"] < window["endAt"] for row in rows)


def test_custom_object_snapshot_exports_every_window_since_a_day(example_dags, marketo_emulator, tmp_path):
    run_at = pendulum.datetime(2024, 3, 1, tz="UTC")  # the car records change most in 2023 and 2024
    run = example_dags.dags["marketo_custom_object_snapshot"].test(
        logical_date=run_at,
        run_conf={"api_name": "car_c", "since": "2024-01-01", "destination": tmp_path.as_uri()},
    )

    assert run.state == DagRunState.SUCCESS
    assert [f["updatedAt"] for f in sorted(created_filters(marketo_emulator), key=str)] == [
        {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-02-01T00:00:00Z"},
        {"startAt": "2024-02-01T00:00:00Z", "endAt": "2024-03-01T00:00:00Z"},
    ]
    assert {call.path for call in marketo_emulator.calls("create")} == {
        "/bulk/v1/customobjects/car_c/export/create.json"
    }
    files = written_files(tmp_path)
    folder = "custom_objects/car_c/snapshot_date=2024-03-01"
    assert sorted(files) == [f"{folder}/part=000.csv", f"{folder}/part=001.csv"]
    assert files_are_the_emulators(files, marketo_emulator)
    rows = [row for data in files.values() for row in csv_rows(data)]
    assert rows
    assert all("2024-01-01" <= row["updatedAt"] < "2024-03-01" for row in rows)
    assert {"marketoGUID", "leadId", "vin"} <= set(rows[0])
