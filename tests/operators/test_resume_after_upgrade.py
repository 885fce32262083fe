"""A task deferred by an earlier version resumes: its stored trigger classpath and kwargs, its method name.

Each case is a ``serialize()`` tuple as the earlier version stored it in the metadata DB. The triggerer
imports the classpath and calls it with the kwargs, exactly as below; the worker then calls the stored
method name on a freshly built task with the trigger's event.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from typing import Any

import pytest
from marketo_exports import FIELDS, PROGRAM_ID, start_export_via_hook

from airflow_provider_marketo_pm.operators.program_members import MarketoStartProgramMemberExportOperator
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor

PACKAGE = "airflow_provider_marketo_pm"


def start() -> MarketoStartProgramMemberExportOperator:
    return MarketoStartProgramMemberExportOperator(
        task_id="start", fields=FIELDS, filter={"programId": PROGRAM_ID}, poll_interval=0.05
    )


async def stored_trigger_event(classpath: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Build the trigger as the triggerer does (import the classpath, call it with the kwargs); run it."""
    module, _, name = classpath.rpartition(".")
    # The two old timers are names of the one timer now, kept through _compat (with a DeprecationWarning).
    timer = name in ("MarketoExportEnqueueRetryTrigger", "MarketoQuotaResetTrigger")
    with pytest.warns(DeprecationWarning, match=name) if timer else contextlib.nullcontext():
        trigger_class = getattr(importlib.import_module(module), name)
    (event,) = [event.payload async for event in trigger_class(**kwargs).run()]
    return event


@pytest.mark.parametrize(
    "classpath",
    [
        f"{PACKAGE}.triggers.program_members.MarketoExportEnqueueRetryTrigger",  # 0.1.0
        f"{PACKAGE}.triggers.bulk_export.MarketoExportEnqueueRetryTrigger",
    ],
)
async def test_a_start_waiting_on_the_old_enqueue_timer_enqueues_its_job(emulator, classpath):
    export_id = start_export_via_hook(enqueue=False)
    stored = {"export_id": export_id, "attempt": 2, "retry_at": time.time() + 0.05}

    event = await stored_trigger_event(classpath, stored)

    assert event == {"status": "retry", "export_id": export_id, "attempt": 2}
    assert start().resume_enqueue(context={}, event=event) == export_id
    assert emulator.job(export_id)["status"] in {"Queued", "Processing", "Completed"}
    assert len(emulator.calls("create")) == 1  # the job's own: no second export


async def test_a_start_waiting_on_the_old_quota_timer_enqueues_the_job_it_kept(emulator):
    export_id = start_export_via_hook(enqueue=False)
    stored = {"export_id": export_id, "quota_waits": 1, "resume_at": time.time() + 0.05}

    event = await stored_trigger_event(f"{PACKAGE}.triggers.bulk_export.MarketoQuotaResetTrigger", stored)

    assert event == {"status": "quota_reset", "export_id": export_id, "quota_waits": 1}
    assert start().resume_after_quota_reset(context={}, event=event) == export_id
    assert emulator.job(export_id)["status"] in {"Queued", "Processing", "Completed"}


async def test_a_start_that_waited_for_the_quota_before_creating_creates_its_job(emulator):
    stored = {"export_id": None, "quota_waits": 1, "resume_at": time.time()}

    event = await stored_trigger_event(f"{PACKAGE}.triggers.bulk_export.MarketoQuotaResetTrigger", stored)
    export_id = start().resume_after_quota_reset(context={}, event=event)

    assert emulator.job(export_id)["status"] in {"Queued", "Processing", "Completed"}
    assert len(emulator.calls("create")) == 1


async def test_a_start_waiting_for_completion_on_the_0_1_0_trigger_finishes(emulator):
    export_id = start_export_via_hook()
    # 0.1.0's kwargs: no export_path (program members were the only kind), no re-enqueue.
    stored = {
        "export_id": export_id,
        "marketo_conn_id": "marketo_default",
        "poll_interval": 0.05,
        "end_time": time.time() + 60,
        "cancel_on_kill": False,
        "max_consecutive_errors": 5,
        "first_poll_at": None,
    }

    event = await stored_trigger_event(
        f"{PACKAGE}.triggers.program_members.MarketoProgramMemberExportTrigger", stored
    )

    assert event["status"] == "success"
    assert start().resume_after_completion(context={}, event=event) == export_id
    record = MarketoProgramMemberExportSensor(task_id="wait", export_id=export_id).execute_complete(
        context={}, event=event
    )
    assert (record["exportId"], record["status"]) == (export_id, "Completed")


async def test_a_sensor_waiting_on_the_generic_trigger_of_the_previous_version_finishes(emulator):
    export_id = start_export_via_hook()
    stored = {
        "export_id": export_id,
        "marketo_conn_id": "marketo_default",
        "poll_interval": 0.05,
        "end_time": time.time() + 60,
        "cancel_on_kill": False,
        "max_consecutive_errors": None,
        "first_poll_at": time.time(),
        "export_path": "/bulk/v1/program/members/export",
        "reenqueue_after_polls": 3,
        "reenqueues": 0,
    }

    event = await stored_trigger_event(f"{PACKAGE}.triggers.bulk_export.MarketoExportStatusTrigger", stored)
    record = MarketoProgramMemberExportSensor(task_id="wait", export_id=export_id).execute_complete(
        context={}, event=event
    )

    assert (record["exportId"], record["status"]) == (export_id, "Completed")
