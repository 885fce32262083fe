"""The lead kind (``kinds/leads.py`` and its thin classes) runs the whole lifecycle, over real HTTP.

Its task group is mapped over two lead exports in a real DAG run (``dag.test()``): each start creates and
enqueues its job and waits for it deferred (the generic status trigger, run by ``dag.test()`` in line), the
sensor hands the Completed record on, and the download publishes the served bytes, verified. Nothing of it
is program member code.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest
from lead_export_dag import dag

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.kinds.leads import LEADS
from airflow_provider_marketo_pm.operators.leads import MarketoStartLeadExportOperator

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LEADS_PATH = "/bulk/v1/leads/export"


def test_the_lead_group_runs_create_enqueue_deferred_wait_and_verified_download(
    emulator, tmp_path, capsys, caplog
):
    dag_run = dag.test(run_conf={"destination": tmp_path.as_uri()})

    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}
    assert set(states.values()) == {"success"}
    assert sorted(task for task, _ in states if task.startswith("export_job.")) == sorted(
        [f"export_job.{name}" for name in ("start_export", "wait_for_export", "download_export")] * 2
    )
    creates = emulator.calls("create")
    assert [call.path for call in creates] == [f"{LEADS_PATH}/create.json"] * 2
    assert sorted(json.loads(call.body)["filter"]["staticListId"] for call in creates) == [1081, 1082]
    # The start waited deferred: only the status trigger polled (the sensor was handed the record).
    assert "running trigger in line" in capsys.readouterr().out + caplog.text
    assert emulator.calls("status")
    assert all(call.path.startswith(LEADS_PATH) for call in emulator.calls("status"))
    export_ids = {call.path.split("/")[-2] for call in emulator.calls("enqueue")}
    assert len(export_ids) == 2
    written = {(tmp_path / f"list={list_id}.csv").read_bytes() for list_id in (1081, 1082)}
    assert written == {emulator.file_bytes(export_id) for export_id in export_ids}  # the served bytes
    assert all(content.startswith(b"id,email,firstName") for content in written)
    for export_id in export_ids:
        served = emulator.file_bytes(export_id)
        assert emulator.job(export_id)["fileChecksum"] == "sha256:" + hashlib.sha256(served).hexdigest()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["list=1081.csv", "list=1082.csv"]
    # The leads are the program member dataset's: the same leadIds, the same emails.
    emails = {int(member["leadId"]): member["email"] for member in emulator.instance.dataset.members}
    for path in tmp_path.iterdir():
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        assert rows
        assert all(emails[int(row["id"])] == row["email"] for row in rows)


def test_the_lead_kind_builds_its_own_request_and_refuses_a_bad_one_before_any_call(emulator):
    window = {"startAt": "2024-01-01", "endAt": "2024-01-31"}
    request = LEADS.request(fields=["id", "email"], filter={"createdAt": window})

    assert request.body == {
        "fields": ["id", "email"],
        "format": "CSV",
        "filter": {"createdAt": {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T00:00:00Z"}},
    }
    assert LEADS.state_key == "marketo_lead_export"
    start = MarketoStartLeadExportOperator(
        task_id="start", fields=["id"], filter={"createdAt": window, "staticListId": 1081}
    )
    with pytest.raises(MarketoRequestError, match="exactly one of createdAt"):
        start.execute(context={})
    assert emulator.requests == []
