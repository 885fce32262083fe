"""One retry policy, and budgets that add up instead of multiplying.

A JSON call is retried within the connection's policy; a download's file calls are single attempts
whose failures all count against ``max_resumes``; the status trigger's polls are single attempts and it
tolerates the connection's ``max_retries`` failed polls in a row.
"""

from __future__ import annotations

import json

import pytest
from marketo_exports import start_export_via_hook, wait_for_export_status

from airflow_provider_marketo_pm.exceptions import MarketoDownloadError
from airflow_provider_marketo_pm.hooks.call_retries import CallRetries
from airflow_provider_marketo_pm.operators.program_members import MarketoDownloadProgramMemberExportOperator
from airflow_provider_marketo_pm.testing import Fault
from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger

BUSY = Fault(http_status=503, body="busy")


def test_waits_grow_exponentially_with_jitter_and_are_capped():
    policy = CallRetries(max_retries=5, min_wait=1.0, max_wait=4.0, max_time=60.0)
    for retry, base in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 4.0)]:
        assert base <= policy.wait_before(retry) <= base + 1.0


def test_a_failing_file_open_counts_against_max_resumes_and_is_not_retried_on_its_own(emulator, tmp_path):
    export_id = start_export_via_hook()
    wait_for_export_status(emulator, export_id)
    emulator.inject("file", *[BUSY] * 10)
    op = MarketoDownloadProgramMemberExportOperator(
        task_id="download", export_id=export_id, destination=f"file://{tmp_path}/m.csv", max_resumes=1
    )

    with pytest.raises(MarketoDownloadError, match="broke 2 times"):
        op.execute(context={})

    assert len(emulator.calls("file")) == 2, "1 + max_resumes file calls, not (1 + max_resumes) x retries"
    assert list(tmp_path.iterdir()) == []


async def test_a_trigger_poll_is_one_call_and_the_next_poll_is_the_retry(emulator):
    export_id = start_export_via_hook()
    wait_for_export_status(emulator, export_id)
    emulator.inject("status", BUSY)

    events = [e.payload async for e in MarketoProgramMemberExportTrigger(export_id, poll_interval=0.05).run()]

    assert [e["status"] for e in events] == ["success"]
    assert len(emulator.calls("status")) == 2


async def test_a_trigger_tolerates_the_connections_max_retries_failed_polls(emulator, monkeypatch):
    connection = {**json.loads(emulator.connection_json()), "extra": {"max_retries": 2}}
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_TWO", json.dumps(connection))
    export_id = start_export_via_hook()
    emulator.inject("status", *[BUSY] * 10)
    trigger = MarketoProgramMemberExportTrigger(export_id, marketo_conn_id="marketo_two", poll_interval=0.01)

    events = [e.payload async for e in trigger.run()]

    assert [e["status"] for e in events] == ["error"]
    assert len(emulator.calls("status")) == 3
