"""A finished job's status is read once: the waiting start hands its Completed record on.

The start (``wait_for_completion``) leaves the Completed record under XCom key ``record``; the sensor and
the download take it as ``record`` and make no status call. The start's worker-side wait and the
sensor's poke share the hook's ``check_export``/``wait_for_export``.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from marketo_exports import FIELDS, PROGRAM_ID, start_export_via_hook, wait_for_export_status

from airflow_provider_marketo_pm.exceptions import MarketoExportFailedError, MarketoExportTimeoutError
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor


class RecordingTaskInstance:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def test_one_status_read_from_start_to_download(emulator, tmp_path):
    ti = RecordingTaskInstance()
    start = MarketoStartProgramMemberExportOperator(
        task_id="start",
        fields=FIELDS,
        filter={"programId": PROGRAM_ID},
        wait_for_completion=True,
        poll_interval=0.05,
        deferrable=False,
    )
    export_id = start.execute(context={"ti": ti})  # type: ignore[arg-type]
    record = ti.pushed["record"]
    assert (record["exportId"], record["status"]) == (export_id, "Completed")
    status_calls = len(emulator.calls("status"))

    confirmed = MarketoProgramMemberExportSensor(task_id="wait", export_id=export_id, record=record).execute(
        context={}
    )
    result = MarketoDownloadProgramMemberExportOperator(
        task_id="download", export_id=export_id, destination=f"file://{tmp_path}/m.csv", record=confirmed
    ).execute(context={})

    assert confirmed == record
    assert result["sha256"] == record["fileChecksum"].removeprefix("sha256:")
    assert len(emulator.calls("status")) == status_calls, "nobody read the status again"


def test_a_record_of_another_job_is_not_trusted(emulator, tmp_path):
    export_id = start_export_via_hook()
    wait_for_export_status(emulator, export_id)
    other = {"exportId": "someone-else", "status": "Completed", "fileSize": 1, "fileChecksum": "sha256:x"}

    result = MarketoDownloadProgramMemberExportOperator(
        task_id="download", export_id=export_id, destination=f"file://{tmp_path}/m.csv", record=other
    ).execute(context={})

    assert result["export_id"] == export_id
    assert len(emulator.calls("status")) == 1


def test_wait_for_export_returns_the_completed_record(emulator):
    export_id = start_export_via_hook()

    record = MarketoHook().wait_for_export(PROGRAM_MEMBERS, export_id, poll_interval=0.05, timeout=30)

    assert record["status"] == "Completed"


def test_wait_for_export_fails_finally_on_a_cancelled_job(emulator):
    export_id = start_export_via_hook(enqueue=False)
    MarketoHook().cancel_export(PROGRAM_MEMBERS, export_id)

    with pytest.raises(MarketoExportFailedError, match="cancelled") as raised:
        MarketoHook().wait_for_export(PROGRAM_MEMBERS, export_id, poll_interval=0.05, timeout=30)
    assert isinstance(raised.value, AirflowFailException)
    assert (raised.value.record or {}).get("status") == "Cancelled"


def test_wait_for_export_times_out(emulator):
    export_id = start_export_via_hook(enqueue=False)  # Created: never completes

    with pytest.raises(MarketoExportTimeoutError, match="Timed out"):
        MarketoHook().wait_for_export(PROGRAM_MEMBERS, export_id, poll_interval=0.05, timeout=0.2)
