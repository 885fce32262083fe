"""Deferral conventions shared by the start operator, the sensor and the task group.

``deferrable`` defaults to ``[operators] default_deferrable`` (fallback True where the option is absent);
``deferrable=False`` never defers; every ``defer()`` carries a ``timeout``; the sensor speaks Airflow's
``poke_interval``/``mode``; the hook is made once per task.
"""

from __future__ import annotations

import ast
import datetime as dt
import time
from pathlib import Path

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from marketo_exports import FIELDS, PROGRAM_ID, start_export_via_hook

import airflow_provider_marketo_pm
from airflow_provider_marketo_pm import lifecycle
from airflow_provider_marketo_pm.exceptions import MarketoQueueFullError, MarketoRequestError
from airflow_provider_marketo_pm.operators.program_members import MarketoStartProgramMemberExportOperator
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor
from airflow_provider_marketo_pm.testing import Fault

QUEUE_FULL = Fault(code="1029", message="Too many jobs in queue")
QUOTA_USED = Fault(code="1029", message="Export daily quota 500MB exceeded.")


def start(**kwargs) -> MarketoStartProgramMemberExportOperator:
    return MarketoStartProgramMemberExportOperator(
        task_id="start", fields=FIELDS, filter={"programId": PROGRAM_ID}, **kwargs
    )


@pytest.mark.parametrize(("setting", "expected"), [("false", False), ("true", True), ("False", False)])
def test_deferrable_follows_default_deferrable(monkeypatch, setting, expected):
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", setting)

    assert start().deferrable is expected
    assert MarketoProgramMemberExportSensor(task_id="wait", export_id="e1").deferrable is expected
    assert start(deferrable=not expected).deferrable is (not expected)  # an explicit argument wins


def test_deferrable_default_is_read_as_airflow_providers_read_it(monkeypatch):
    """``conf.getboolean("operators", "default_deferrable", fallback=True)``: Airflow's shipped value wins."""
    monkeypatch.delenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", raising=False)
    seen = {}

    def getboolean(section, key, **kwargs):
        seen.update(section=section, key=key, **kwargs)
        return False

    monkeypatch.setattr(lifecycle.conf, "getboolean", getboolean)

    assert start().deferrable is False
    assert seen == {"section": "operators", "key": "default_deferrable", "fallback": True}


def test_not_deferrable_waits_for_a_full_queue_on_the_worker_and_never_defers(emulator):
    emulator.inject("enqueue", QUEUE_FULL, QUEUE_FULL)
    op = start(deferrable=False, queue_full_wait=0.05)

    export_id = op.execute(context={})  # a TaskDeferred would fail the test

    assert emulator.job(export_id)["status"] in {"Queued", "Processing", "Completed"}
    assert len(emulator.calls("enqueue")) == 3


def test_not_deferrable_gives_up_on_a_queue_still_full_without_deferring(emulator):
    emulator.inject("enqueue", *[QUEUE_FULL] * 5)
    op = start(deferrable=False, queue_full_wait=0.01, queue_full_retries=2)

    with pytest.raises(MarketoQueueFullError, match="still full after 3 attempts"):
        op.execute(context={})

    assert len(emulator.calls("enqueue")) == 3


def test_every_defer_has_a_timeout(emulator):
    emulator.inject("enqueue", QUEUE_FULL)
    with pytest.raises(TaskDeferred) as queue_wait:
        start(deferrable=True, queue_full_wait=30).execute(context={})
    assert dt.timedelta(seconds=30) < queue_wait.value.timeout

    with pytest.raises(TaskDeferred) as completion_wait:
        start(deferrable=True, wait_for_completion=True, timeout=3600).execute(context={})
    assert dt.timedelta(hours=1) < completion_wait.value.timeout

    emulator.inject("enqueue", QUOTA_USED)
    with pytest.raises(TaskDeferred) as quota_wait:
        start(deferrable=True).execute(context={})
    trigger = quota_wait.value.trigger
    assert dt.timedelta(seconds=trigger.wake_at - time.time()) < quota_wait.value.timeout

    export_id = start_export_via_hook(enqueue=False)
    with pytest.raises(TaskDeferred) as sensor_wait:
        MarketoProgramMemberExportSensor(
            task_id="wait", export_id=export_id, timeout=600, deferrable=True
        ).execute(context={})
    assert dt.timedelta(minutes=10) < sensor_wait.value.timeout


def test_the_sensor_takes_airflows_poke_interval_and_mode():
    sensor = MarketoProgramMemberExportSensor(
        task_id="wait", export_id="e1", poke_interval=90, mode="reschedule", timeout=60
    )
    assert (sensor.poke_interval, sensor.poll_interval, sensor.mode, sensor.timeout) == (
        90,
        90,
        "reschedule",
        60,
    )


def test_poll_interval_and_poke_interval_together_are_a_clear_error():
    with pytest.raises(MarketoRequestError, match="not both"):
        MarketoProgramMemberExportSensor(task_id="wait", export_id="e1", poll_interval=60, poke_interval=60)


def test_a_bad_poke_interval_is_named_as_such():
    with pytest.raises(MarketoRequestError, match="poke_interval"):
        MarketoProgramMemberExportSensor(task_id="wait", export_id="e1", poke_interval=0)


def test_one_hook_per_task():
    op = start()
    assert op.hook is op.hook


def test_no_bare_airflow_exception_is_raised_anywhere_in_the_package():
    package = Path(airflow_provider_marketo_pm.__file__).parent
    bare = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                if isinstance(func, ast.Name) and func.id == "AirflowException":
                    bare.append(f"{path.relative_to(package)}:{node.lineno}")
    assert bare == []
