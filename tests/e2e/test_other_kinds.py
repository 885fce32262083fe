"""The activity and custom object kinds run their shipped task groups end to end, over real HTTP.

One ``dag.test()`` maps the activity group over two jobs (every type with Marketo's default columns; two
types given by name) and the custom object group over two objects. Every start creates on its kind's
path (a custom object's own), waits deferred, and every download publishes the served bytes. The rows are
the emulator's instance: the leads of the program member dataset, their activities and their records.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from other_kinds_export_dag import OBJECTS, dag

from airflow_provider_marketo_pm.kinds.activities import DEFAULT_FIELDS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def rows_of(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")))


def member_lead_ids(emulator) -> set[int]:
    return {int(member["leadId"]) for member in emulator.instance.dataset.members}


@pytest.fixture
def window(emulator) -> dict[str, str]:
    """The 30 days up to the latest membership change: when the leads' activities and records change."""
    latest = datetime.fromisoformat(emulator.updated_at_range()[1]).astimezone(UTC) + timedelta(seconds=1)
    return {"startAt": (latest - timedelta(days=30)).isoformat(), "endAt": latest.isoformat()}


def test_activities_and_custom_objects_run_through_their_groups(emulator, tmp_path, window):
    dag_run = dag.test(run_conf={"destination": tmp_path.as_uri(), "window": window})

    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}
    assert set(states.values()) == {"success"}
    creates = {call.path: json.loads(call.body) for call in emulator.calls("create")}
    assert sorted(creates) == [
        "/bulk/v1/activities/export/create.json",
        "/bulk/v1/customobjects/car_c/export/create.json",
        "/bulk/v1/customobjects/contract_c/export/create.json",
    ]
    activity_bodies = [
        json.loads(call.body)
        for call in emulator.calls("create")
        if call.path.startswith("/bulk/v1/activities")
    ]
    assert sorted(body["filter"].get("activityTypeIds", []) for body in activity_bodies) == [[], [1, 104]]
    assert len(emulator.calls("activity_types")) == 1  # names resolved once, by the start that had them
    for call in emulator.calls("status") + emulator.calls("file"):
        assert call.path.startswith(("/bulk/v1/activities/export/", "/bulk/v1/customobjects/"))
    written = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    served = {emulator.file_bytes(call.path.split("/")[-2]) for call in emulator.calls("enqueue")}
    assert set(written.values()) == served  # each file is the bytes Marketo served, verified
    assert sorted(written) == ["activities.csv", "car_c.csv", "contract_c.csv", "named-activities.csv"]

    leads = member_lead_ids(emulator)
    activities = rows_of(written["activities.csv"])
    assert activities
    assert list(activities[0]) == list(DEFAULT_FIELDS)
    assert {int(row["leadId"]) for row in activities} <= leads
    assert all(isinstance(json.loads(row["attributes"]), dict) for row in activities)  # JSON per row
    named = rows_of(written["named-activities.csv"])
    assert named
    assert {row["activityTypeId"] for row in named} <= {"1", "104"}
    assert {row["marketoGUID"] for row in named} <= {row["marketoGUID"] for row in activities}

    for api_name, (fields, export_filter) in OBJECTS.items():
        records = rows_of(written[f"{api_name}.csv"])
        assert records
        assert list(records[0]) == fields
        assert creates[f"/bulk/v1/customobjects/{api_name}/export/create.json"]["filter"] == export_filter
        assert {int(row["leadId"]) for row in records} <= leads  # the records of the dataset's leads
        assert len({row["marketoGUID"] for row in records}) == len(records)
