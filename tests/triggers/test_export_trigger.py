"""MarketoProgramMemberExportTrigger: one event per run, JSON-only kwargs, safe to run twice."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from typing import Any

import pytest
from marketo_exports import start_export_via_hook, wait_for_export_status

from airflow_provider_marketo_pm.export_status import (
    ExportState,
    jittered_interval,
    read_export_status,
    resumed_poll_offset,
)
from airflow_provider_marketo_pm.hooks import call_pacing
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.testing import Fault
from airflow_provider_marketo_pm.triggers import bulk_export as trigger_module
from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger


async def events_of(trigger: MarketoProgramMemberExportTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


@pytest.mark.parametrize(
    ("record", "state", "words"),
    [
        ({"exportId": "e", "status": "Completed", "numberOfRecords": 3, "fileSize": 10}, "done", "3 records"),
        ({"exportId": "e", "status": "Created"}, "pending", "Created"),
        ({"exportId": "e", "status": "Queued"}, "pending", "Queued"),
        ({"exportId": "e", "status": "Processing"}, "pending", "Processing"),
        ({"exportId": "e", "status": "Failed", "errorMsg": "Disk on fire"}, "error", "Disk on fire"),
        ({"exportId": "e", "status": "Cancelled"}, "error", "cancelled"),
        ({"exportId": "e", "status": "Canceled"}, "error", "cancelled"),
        ({"exportId": "e", "status": "Exploded"}, "error", "unknown status 'Exploded'"),
        ({"exportId": "e"}, "error", "unknown status None"),
    ],
)
def test_each_status_maps_to_one_verdict(record, state, words):
    verdict = read_export_status(record)

    assert verdict.state is ExportState(state)
    assert words in verdict.message


def test_serialize_round_trip_uses_json_primitives_only():
    trigger = MarketoProgramMemberExportTrigger(
        export_id="abc",
        marketo_conn_id="mkto",
        poll_interval=5,
        end_time=123.5,
        cancel_on_kill=True,
        first_poll_at=120,
    )

    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))

    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs == {
        "export_id": "abc",
        "marketo_conn_id": "mkto",
        "poll_interval": 5.0,
        "end_time": 123.5,
        "cancel_on_kill": True,
        "max_consecutive_errors": None,
        "first_poll_at": 120.0,
        "export_path": "/bulk/v1/program/members/export",
        "reenqueue_after_polls": None,
        "reenqueues": 0,
    }


async def test_first_poll_waits_until_first_poll_at(emulator, monkeypatch):
    """The deferring task has just checked: the trigger's first call waits, it does not come at once."""
    export_id = start_export_via_hook()
    asked_at: list[float] = []
    status_call = MarketoHook.aget_export_status

    async def timed_status_call(hook, kind, export_id):
        asked_at.append(time.time())
        return await status_call(hook, kind, export_id)

    monkeypatch.setattr(MarketoHook, "aget_export_status", timed_status_call)
    first_poll_at = time.time() + 0.5

    trigger = MarketoProgramMemberExportTrigger(export_id, poll_interval=0.05, first_poll_at=first_poll_at)

    (event,) = await events_of(trigger)

    assert event["status"] == "success"
    assert asked_at[0] >= first_poll_at


async def test_a_trigger_run_again_after_first_poll_at_polls_within_one_interval(emulator):
    """Safe to run twice: a restarted triggerer waits at most one interval, not again from the start."""
    export_id = start_export_via_hook()
    wait_for_export_status(emulator, export_id, "Completed")
    _, kwargs = MarketoProgramMemberExportTrigger(
        export_id=export_id, poll_interval=0.05, first_poll_at=time.time() - 60
    ).serialize()

    first = await events_of(MarketoProgramMemberExportTrigger(**kwargs))
    second = await events_of(MarketoProgramMemberExportTrigger(**kwargs))

    assert first == second
    assert [e["status"] for e in first] == ["success"]


def test_first_poll_waits_until_first_poll_at_then_by_the_jobs_offset_once_it_has_passed():
    now = 1_000_000.0
    trigger = MarketoProgramMemberExportTrigger("job-1", poll_interval=60, first_poll_at=now + 30)
    offset = resumed_poll_offset("job-1", 60)

    assert trigger._first_poll_wait(now) == 30  # the deferring task has just checked
    assert trigger._first_poll_wait(now + 31) == pytest.approx(offset)  # resumed after a restart
    assert trigger._first_poll_wait(now + 3600) == pytest.approx(offset)
    assert MarketoProgramMemberExportTrigger("job-1", poll_interval=60)._first_poll_wait(now) == 0


def test_a_resumed_first_poll_never_waits_past_the_deadline():
    now = 1_000_000.0
    export_id = next(e for e in (f"job-{n}" for n in range(100)) if resumed_poll_offset(e, 60) > 10)
    trigger = MarketoProgramMemberExportTrigger(
        export_id, poll_interval=60, first_poll_at=now - 5, end_time=now + 10
    )

    assert trigger._first_poll_wait(now) == 10
    assert trigger._first_poll_wait(now + 20) == 0  # past it: checks once at once, then times out


async def test_triggers_resumed_together_first_poll_at_their_own_offsets(emulator, monkeypatch):
    """After a restart each trigger waits its job's offset within one interval, not all at once."""
    export_ids = [start_export_via_hook(enqueue=False) for _ in range(4)]
    asked_at: dict[str, float] = {}
    status_call = MarketoHook.aget_export_status

    async def timed_status_call(hook, kind, export_id):
        asked_at.setdefault(export_id, time.monotonic())
        return await status_call(hook, kind, export_id)

    monkeypatch.setattr(MarketoHook, "aget_export_status", timed_status_call)
    interval, started = 0.5, time.monotonic()
    triggers = [
        MarketoProgramMemberExportTrigger(
            e, poll_interval=interval, first_poll_at=time.time() - 60, end_time=time.time() + 0.6
        )
        for e in export_ids
    ]

    await asyncio.gather(*(events_of(trigger) for trigger in triggers))

    for export_id in export_ids:
        offset = resumed_poll_offset(export_id, interval)
        assert offset <= asked_at[export_id] - started < offset + 0.25


async def test_first_poll_at_after_the_deadline_still_checks_once_then_times_out(emulator):
    export_id = start_export_via_hook(enqueue=False)  # stays Created
    emulator.clear_requests()
    now = time.time()

    events = await events_of(
        MarketoProgramMemberExportTrigger(
            export_id=export_id, poll_interval=0.05, end_time=now + 0.2, first_poll_at=now + 3600
        )
    )

    assert [e["status"] for e in events] == ["timeout"]
    assert len(emulator.calls("status")) == 1


@pytest.mark.parametrize("seconds", [0.05, 60.0])
def test_intervals_are_jittered_but_never_shorter_than_asked(seconds):
    intervals = {jittered_interval(seconds) for _ in range(200)}

    assert all(seconds <= interval <= seconds * 1.2 for interval in intervals)
    assert len(intervals) > 100, "triggers started together must drift apart"


async def test_yields_one_success_event_with_the_completed_record(emulator):
    export_id = start_export_via_hook()
    trigger = MarketoProgramMemberExportTrigger(export_id=export_id, poll_interval=0.05)

    (event,) = await events_of(trigger)

    assert event["status"] == "success"
    assert event["export_id"] == export_id
    assert event["record"] == emulator.job(export_id)
    assert event["record"]["status"] == "Completed"


async def test_running_twice_gives_the_same_event(emulator):
    """A restarted triggerer runs the trigger again from its kwargs: no state, same answer."""
    export_id = start_export_via_hook()
    _, kwargs = MarketoProgramMemberExportTrigger(export_id=export_id, poll_interval=0.05).serialize()

    first = await events_of(MarketoProgramMemberExportTrigger(**kwargs))
    second = await events_of(MarketoProgramMemberExportTrigger(**kwargs))

    assert first == second
    assert [e["status"] for e in first] == ["success"]


async def test_failed_job_yields_error_with_marketo_error_msg(emulator):
    emulator.fail_next_job(error_msg="Export failed: internal error 42")
    export_id = start_export_via_hook()

    (event,) = await events_of(MarketoProgramMemberExportTrigger(export_id=export_id, poll_interval=0.05))

    assert event["status"] == "error"
    assert "internal error 42" in event["message"]
    assert event["record"]["status"] == "Failed"


async def test_job_cancelled_elsewhere_yields_error_saying_so(emulator):
    export_id = start_export_via_hook(enqueue=False)
    emulator.cancel_job(export_id)

    (event,) = await events_of(MarketoProgramMemberExportTrigger(export_id=export_id, poll_interval=0.05))

    assert event["status"] == "error"
    assert "cancelled" in event["message"]


async def test_deadline_in_the_past_yields_timeout_after_one_check(emulator):
    export_id = start_export_via_hook(enqueue=False)  # stays Created: never completes
    emulator.clear_requests()

    events = await events_of(
        MarketoProgramMemberExportTrigger(export_id=export_id, poll_interval=0.05, end_time=time.time() - 1)
    )

    assert [e["status"] for e in events] == ["timeout"]
    assert len(emulator.calls("status")) == 1


async def test_short_deadline_times_out_while_pending(emulator):
    export_id = start_export_via_hook(enqueue=False)

    events = await events_of(
        MarketoProgramMemberExportTrigger(export_id=export_id, poll_interval=0.05, end_time=time.time() + 0.3)
    )

    assert [e["status"] for e in events] == ["timeout"]
    assert export_id in events[0]["message"]


async def test_transient_errors_are_polled_through(emulator):
    export_id = start_export_via_hook()
    emulator.inject("status", Fault(http_status=503, body="busy"))

    (event,) = await events_of(MarketoProgramMemberExportTrigger(export_id=export_id, poll_interval=0.05))

    assert event["status"] == "success"


async def test_unknown_export_id_yields_error(emulator):
    (event,) = await events_of(MarketoProgramMemberExportTrigger(export_id="no-such-job", poll_interval=0.05))

    assert event["status"] == "error"
    assert "no-such-job" in event["message"]


async def test_on_kill_cancels_only_when_asked(emulator):
    export_id = start_export_via_hook(enqueue=False)

    await MarketoProgramMemberExportTrigger(export_id=export_id).on_kill()
    assert emulator.job(export_id)["status"] == "Created"

    await MarketoProgramMemberExportTrigger(export_id=export_id, cancel_on_kill=True).on_kill()
    assert emulator.job(export_id)["status"] == "Cancelled"


async def test_user_kill_of_a_running_trigger_cancels_the_job_with_async_calls_only(emulator, monkeypatch):
    """What the 3.3 triggerer does on mark-failed: cancel the run() task, then await on_kill()."""

    def sync_path(*args, **kwargs):
        raise AssertionError("the sync hook path (sync Connection API) ran inside the event loop")

    export_id = start_export_via_hook(enqueue=False)  # stays Created: the trigger keeps polling
    monkeypatch.setattr(MarketoHook, "settings", property(sync_path))
    monkeypatch.setattr(MarketoHook, "cancel_export", sync_path)
    trigger = MarketoProgramMemberExportTrigger(export_id=export_id, poll_interval=0.05, cancel_on_kill=True)

    running = asyncio.ensure_future(events_of(trigger))
    for _ in range(500):
        if emulator.calls("status") or running.done():
            break
        await asyncio.sleep(0.01)
    assert emulator.calls("status"), "the trigger never polled"
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await trigger.on_kill()

    assert emulator.job(export_id)["status"] == "Cancelled"
    (cancel,) = emulator.calls("cancel")
    assert cancel.headers["authorization"].startswith("Bearer ")


async def test_on_kill_ends_within_its_deadline_when_the_call_rate_share_is_taken(
    emulator, monkeypatch, caplog, capsys
):
    """Thousands of polls ahead in the window must not keep on_kill past the triggerer's on_kill_timeout."""
    export_id = start_export_via_hook(enqueue=False)
    settings = await MarketoHook().aget_settings()
    window = call_pacing.call_window(settings.base_url)
    held = 0
    while window.try_enter(settings.calls_per_20s) == 0.0:  # every place taken by calls still running
        held += 1
    monkeypatch.setattr(trigger_module, "_ON_KILL_DEADLINE", 0.3)
    try:
        started = time.monotonic()
        trigger = MarketoProgramMemberExportTrigger(export_id=export_id, cancel_on_kill=True)
        await asyncio.wait_for(trigger.on_kill(), timeout=5)  # without its own deadline: waits forever
        took = time.monotonic() - started
    finally:
        for _ in range(held):
            window.leave()

    assert took < 2.0
    logged = caplog.text + capsys.readouterr().out  # stdlib logging or Airflow's structlog, by version
    assert f"Could not cancel Marketo export {export_id} within 0.3 s" in logged
    assert emulator.calls("cancel") == []
    assert emulator.job(export_id)["status"] == "Created"


async def test_on_kill_of_a_finished_job_leaves_it_alone_and_does_not_raise(emulator):
    export_id = start_export_via_hook()
    (event,) = await events_of(MarketoProgramMemberExportTrigger(export_id=export_id, poll_interval=0.05))
    assert event["status"] == "success"

    await MarketoProgramMemberExportTrigger(export_id=export_id, cancel_on_kill=True).on_kill()

    assert emulator.job(export_id)["status"] == "Completed"
    assert [call.marketo_code for call in emulator.calls("cancel")] == ["1003"]


async def test_a_job_still_created_after_n_polls_yields_a_created_event_and_enqueues_nothing(emulator):
    export_id = start_export_via_hook(enqueue=False)
    emulator.created_after_enqueue(lost=True)
    MarketoHook().enqueue_export(PROGRAM_MEMBERS, export_id)
    end_time = time.time() + 60
    trigger = MarketoProgramMemberExportTrigger(
        export_id=export_id, poll_interval=0.01, end_time=end_time, reenqueue_after_polls=3, reenqueues=1
    )
    kwargs = trigger.serialize()[1]
    json.dumps(kwargs)
    assert (kwargs["reenqueue_after_polls"], kwargs["reenqueues"]) == (3, 1)

    (event,) = await events_of(MarketoProgramMemberExportTrigger(**kwargs))

    assert (event["status"], event["export_id"], event["reenqueues"]) == ("created", export_id, 1)
    assert event["end_time"] == end_time
    assert event["record"]["status"] == "Created"
    assert len(emulator.calls("status")) == 3
    assert len(emulator.calls("enqueue")) == 1, "a trigger never enqueues (a POST runs on the worker)"
