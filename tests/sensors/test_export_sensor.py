"""MarketoProgramMemberExportSensor: check once, defer, validate the event; poke mode shares the rules."""

from __future__ import annotations

import json
import time

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    TaskDeferred,
)
from marketo_exports import start_export_via_hook, wait_for_export_status

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.lifecycle import check_poll_pace
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor
from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger


def sensor(export_id: str, **kwargs) -> MarketoProgramMemberExportSensor:
    kwargs.setdefault("poll_interval", 0.05)
    return MarketoProgramMemberExportSensor(task_id="wait", export_id=export_id, **kwargs)


def test_export_id_connection_and_poll_interval_are_templated():
    assert {"export_id", "marketo_conn_id", "poll_interval"} <= set(
        MarketoProgramMemberExportSensor.template_fields
    )


def test_a_rendered_poll_interval_is_a_number_handed_to_the_trigger(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_SANDBOX", emulator.connection_json())
    export_id = start_export_via_hook(enqueue=False)
    op = MarketoProgramMemberExportSensor(
        task_id="wait",
        export_id=export_id,
        marketo_conn_id="{{ params.conn }}",
        poll_interval="{{ params.poll }}",
    )

    op.render_template_fields({"params": {"conn": "marketo_sandbox", "poll": "0.5"}})
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context={})

    kwargs = deferred.value.trigger.serialize()[1]
    json.dumps(kwargs)
    assert kwargs["poll_interval"] == 0.5
    assert kwargs["marketo_conn_id"] == "marketo_sandbox"


def test_poke_mode_pokes_at_the_rendered_poll_interval(emulator):
    export_id = start_export_via_hook()
    op = MarketoProgramMemberExportSensor(
        task_id="wait", export_id=export_id, poll_interval="{{ params.poll }}", deferrable=False, timeout=30
    )

    op.render_template_fields({"params": {"poll": "0.05"}})
    record = op.execute(context={})

    assert record["status"] == "Completed"
    assert op.poke_interval == op.poll_interval == 0.05


@pytest.mark.parametrize("poll_interval", [0, -5, "fast", True, None, float("nan")])
def test_a_bad_poll_interval_is_refused_when_the_dag_is_parsed(poll_interval):
    with pytest.raises(MarketoRequestError, match="poll_interval") as raised:
        sensor("e1", poll_interval=poll_interval)
    assert "poke_interval" not in str(raised.value)


@pytest.mark.parametrize("rendered", ["0", "-1", "soon", ""])
def test_a_bad_rendered_poll_interval_fails_before_any_request(emulator, rendered):
    op = sensor("e1", poll_interval="{{ params.poll }}")
    op.render_template_fields({"params": {"poll": rendered}})

    with pytest.raises(MarketoRequestError, match="poll_interval"):
        op.execute(context={})
    assert emulator.requests == []


def test_completed_job_returns_record_without_deferring(emulator):
    export_id = start_export_via_hook()
    wait_for_export_status(emulator, export_id, "Completed")

    record = sensor(export_id).execute(context={})

    assert record == emulator.job(export_id)


def test_pending_job_defers_to_the_trigger_with_a_wall_clock_deadline(emulator):
    export_id = start_export_via_hook(enqueue=False)
    checked_at = time.time()

    with pytest.raises(TaskDeferred) as deferred:
        sensor(export_id, timeout=600, cancel_on_kill=True).execute(context={})

    trigger = deferred.value.trigger
    assert isinstance(trigger, MarketoProgramMemberExportTrigger)
    assert deferred.value.method_name == "execute_complete"
    kwargs = trigger.serialize()[1]
    json.dumps(kwargs)  # JSON primitives only
    assert kwargs["export_id"] == export_id
    assert kwargs["poll_interval"] == 0.05
    assert kwargs["cancel_on_kill"] is True
    assert time.time() + 590 < kwargs["end_time"] <= time.time() + 600
    # the sensor has just checked: the trigger's first poll waits one (jittered) interval
    assert checked_at + 0.05 <= kwargs["first_poll_at"] <= time.time() + 0.05 * 1.2


def test_failed_job_fails_at_first_check_with_error_msg(emulator):
    emulator.fail_next_job(error_msg="Export failed: field not exportable")
    export_id = start_export_via_hook()
    wait_for_export_status(emulator, export_id, "Failed")

    with pytest.raises(AirflowFailException, match="field not exportable"):
        sensor(export_id).execute(context={})


def test_execute_complete_returns_the_record_of_a_success_event():
    record = {"exportId": "e1", "status": "Completed", "fileSize": 3}
    event = {"status": "success", "export_id": "e1", "message": "done", "record": record}

    assert sensor("e1").execute_complete(context={}, event=event) == record


@pytest.mark.parametrize(
    ("event", "error", "words"),
    [
        (None, AirflowException, "no usable event"),
        ({"unexpected": 1}, AirflowException, "no usable event"),
        ({"status": "bogus", "message": "?"}, AirflowException, "unknown event"),
        ({"status": "success", "message": "no record", "record": None}, AirflowException, "unknown event"),
        (
            {"status": "error", "message": "Marketo export e1 failed: boom", "record": {"status": "Failed"}},
            AirflowFailException,
            "boom",
        ),
        ({"status": "timeout", "message": "Timed out", "record": None}, AirflowSensorTimeout, "Timed"),
    ],
)
def test_execute_complete_fails_loudly_on_anything_but_success(event, error, words):
    with pytest.raises(error, match=words):
        sensor("e1").execute_complete(context={}, event=event)


def test_unreadable_status_event_is_retryable_not_final():
    event = {"status": "error", "message": "Cannot read status", "record": None}

    with pytest.raises(AirflowException) as raised:
        sensor("e1").execute_complete(context={}, event=event)

    assert not isinstance(raised.value, AirflowFailException)


def test_timeout_event_cancels_the_job_when_asked(emulator):
    export_id = start_export_via_hook(enqueue=False)
    event = {"status": "timeout", "export_id": export_id, "message": "Timed out", "record": None}

    with pytest.raises(AirflowSensorTimeout):
        sensor(export_id).execute_complete(context={}, event=event)
    assert emulator.job(export_id)["status"] == "Created"

    with pytest.raises(AirflowSensorTimeout):
        sensor(export_id, cancel_on_timeout=True).execute_complete(context={}, event=event)
    assert emulator.job(export_id)["status"] == "Cancelled"


def test_poke_mode_waits_on_the_worker_until_completed(emulator):
    export_id = start_export_via_hook()

    record = sensor(export_id, deferrable=False, timeout=30).execute(context={})

    assert record["status"] == "Completed"
    assert record == emulator.job(export_id)


def test_poke_mode_fails_on_a_cancelled_job(emulator):
    export_id = start_export_via_hook(enqueue=False)
    emulator.cancel_job(export_id)

    with pytest.raises(AirflowFailException, match="cancelled"):
        sensor(export_id, deferrable=False, timeout=30).execute(context={})


def test_poke_mode_timeout_cancels_when_asked(emulator):
    export_id = start_export_via_hook(enqueue=False)  # stays Created

    with pytest.raises(AirflowSensorTimeout):
        sensor(export_id, deferrable=False, timeout=0.2, cancel_on_timeout=True).execute(context={})

    assert emulator.job(export_id)["status"] == "Cancelled"


REAL_INSTANCE = {
    "conn_type": "marketo",
    "host": "https://123-ABC-456.mktorest.com",
    "login": "i",
    "password": "s",
}


@pytest.mark.parametrize("deferrable", [True, False])
def test_polling_a_real_instance_faster_than_its_status_refresh_is_refused_before_any_call(
    monkeypatch, deferrable
):
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_REAL", json.dumps(REAL_INSTANCE))
    op = sensor("e1", marketo_conn_id="marketo_real", poll_interval=59, deferrable=deferrable)

    with pytest.raises(
        MarketoRequestError, match=r"must be >= 60 s against a real Marketo instance"
    ) as caught:
        op.execute(context={})  # a status call would fail: 123-ABC-456.mktorest.com is not reachable here

    assert caught.value.key == "poll_interval"


def test_polling_a_real_instance_once_a_minute_is_allowed(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_REAL", json.dumps(REAL_INSTANCE))
    op = sensor("e1", marketo_conn_id="marketo_real", poll_interval=60)

    check_poll_pace(60, op.hook)  # no error, no call


def test_the_emulator_may_be_polled_at_any_pace(emulator):
    export_id = start_export_via_hook(enqueue=False)

    with pytest.raises(TaskDeferred):
        sensor(export_id, poll_interval=0.05).execute(context={})


@pytest.mark.parametrize("name", ["deferrable", "cancel_on_timeout", "cancel_on_kill"])
@pytest.mark.parametrize("value", ["False", "false", 0, 1, "yes"])
def test_a_flag_that_is_not_a_bool_is_refused_when_the_dag_is_parsed(name, value):
    with pytest.raises(MarketoRequestError, match="must be True or False") as caught:
        sensor("e1", **{name: value})

    assert caught.value.key == name


@pytest.mark.parametrize("supported", [True, False])
def test_cancel_on_kill_says_when_this_airflow_cannot_honour_it(emulator, monkeypatch, capsys, supported):
    monkeypatch.setattr(
        "airflow_provider_marketo_pm.sensors.bulk_export.TRIGGER_ON_KILL_SUPPORTED", supported
    )
    export_id = start_export_via_hook(enqueue=False)

    with pytest.raises(TaskDeferred):
        sensor(export_id, cancel_on_kill=True).execute(context={})

    assert ("cancel_on_kill needs Airflow 3.3+" in capsys.readouterr().out) is not supported


class TestCreatedAfterEnqueue:
    """A watched job that reads Created again after it was enqueued is enqueued again by the sensor."""

    async def test_deferred_the_trigger_hands_back_and_the_worker_enqueues_again(self, emulator):
        export_id = start_export_via_hook(enqueue=False)
        emulator.created_after_enqueue(lost=True)
        MarketoHook().enqueue_export(PROGRAM_MEMBERS, export_id)
        with pytest.raises(TaskDeferred) as first:
            sensor(export_id, reenqueue_after_polls=2, timeout=60).execute(context={})
        (event,) = [e.payload async for e in first.value.trigger.run()]
        assert event["status"] == "created"

        with pytest.raises(TaskDeferred) as again:
            sensor(export_id, reenqueue_after_polls=2, timeout=60).execute_complete(context={}, event=event)
        assert (again.value.trigger.reenqueues, again.value.trigger.end_time) == (1, event["end_time"])
        (done,) = [e.payload async for e in again.value.trigger.run()]

        record = sensor(export_id).execute_complete(context={}, event=done)
        assert record["status"] == "Completed"
        assert len(emulator.calls("enqueue")) == 2

    def test_poke_mode_enqueues_again_on_the_worker(self, emulator):
        export_id = start_export_via_hook(enqueue=False)
        emulator.created_after_enqueue(lost=True)
        MarketoHook().enqueue_export(PROGRAM_MEMBERS, export_id)

        record = sensor(export_id, deferrable=False, reenqueue_after_polls=2, timeout=30).execute(context={})

        assert record["status"] == "Completed"
        assert len(emulator.calls("enqueue")) == 2

    def test_without_reenqueue_a_lost_enqueue_waits_until_the_timeout(self, emulator):
        export_id = start_export_via_hook(enqueue=False)
        emulator.created_after_enqueue(lost=True)
        MarketoHook().enqueue_export(PROGRAM_MEMBERS, export_id)

        with pytest.raises(AirflowSensorTimeout):
            sensor(export_id, deferrable=False, reenqueue_after_polls=None, timeout=0.5).execute(context={})
        assert len(emulator.calls("enqueue")) == 1
