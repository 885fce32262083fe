"""MarketoStartProgramMemberExportOperator: validate, create + enqueue, wait out a full queue, re-attach."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    TaskDeferred,
)
from marketo_exports import (
    FIELDS,
    KINDS_OF_START,
    PROGRAM_ID,
    export_of,
    start_of_kind,
)

from airflow_provider_marketo_pm.exceptions import MarketoExportNotEnqueuedError, MarketoRequestError
from airflow_provider_marketo_pm.export_status import MAX_REENQUEUES, REENQUEUE_AFTER_CREATED_POLLS
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.operators.program_members import MarketoStartProgramMemberExportOperator
from airflow_provider_marketo_pm.testing import Fault
from airflow_provider_marketo_pm.triggers.bulk_export import MarketoExportTimerTrigger
from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger

QUEUE_FULL = Fault(code="1029", message="Too many jobs in queue")
QUOTA_USED = Fault(code="1029", message="Export daily quota 500MB exceeded.")


class FakeTaskStateStore:
    """The two calls the operator makes on ``context["task_state_store"]`` (Airflow 3.3+)."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value, *, retention=None):
        self.values[key] = value


def start_operator(**kwargs) -> MarketoStartProgramMemberExportOperator:
    kwargs.setdefault("fields", FIELDS)
    kwargs.setdefault("filter", {"programId": PROGRAM_ID})
    return MarketoStartProgramMemberExportOperator(task_id="start", **kwargs)


def test_marketo_request_fields_are_templated():
    assert set(MarketoStartProgramMemberExportOperator.template_fields) == {
        "fields",
        "filter",
        "format",
        "column_header_names",
        "marketo_conn_id",
        "poll_interval",
        "daily_export_budget_mb",
        "destination",
        "dest_conn_id",
    }


def test_the_connection_id_is_rendered_before_the_hook_uses_it(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_SANDBOX", emulator.connection_json())
    op = start_operator(marketo_conn_id="{{ params.conn }}")

    op.render_template_fields({"params": {"conn": "marketo_sandbox"}})

    assert op.marketo_conn_id == "marketo_sandbox"
    assert op.hook.marketo_conn_id == "marketo_sandbox"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"queue_full_retries": -1}, "queue_full_retries"),
        ({"queue_full_retries": True}, "queue_full_retries"),
        ({"queue_full_retries": "3"}, "queue_full_retries"),
        ({"queue_full_wait": -1}, "queue_full_wait"),
        ({"queue_full_wait": dt.timedelta(seconds=-30)}, "queue_full_wait"),
        ({"queue_full_wait": "2 minutes"}, "queue_full_wait"),
    ],
)
def test_bad_queue_full_settings_are_refused_when_the_dag_is_parsed(kwargs, words):
    with pytest.raises(MarketoRequestError, match=words):
        start_operator(**kwargs)


def test_queue_full_wait_takes_seconds_or_a_timedelta():
    assert start_operator(queue_full_wait=90).queue_full_wait == dt.timedelta(seconds=90)
    assert start_operator(queue_full_wait=dt.timedelta(0)).queue_full_wait == dt.timedelta(0)


def test_nested_filter_values_are_rendered():
    op = start_operator(
        filter={"programId": PROGRAM_ID, "updatedAt": {"startAt": "{{ start }}", "endAt": "{{ end }}"}}
    )

    op.render_template_fields({"start": "2024-01-01T00:00:00Z", "end": "2024-01-31T00:00:00Z"})

    assert op.filter["updatedAt"] == {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T00:00:00Z"}


def test_a_templated_program_id_renders_to_a_string_and_is_sent_as_an_int(emulator):
    op = start_operator(filter={"programId": "{{ params.program_id }}"})
    op.render_template_fields({"params": {"program_id": PROGRAM_ID}})
    assert op.filter == {"programId": str(PROGRAM_ID)}

    op.execute(context={})

    (create,) = emulator.calls("create")
    assert json.loads(create.body)["filter"] == {"programId": PROGRAM_ID}


def test_bad_request_fails_before_any_call(emulator):
    op = start_operator(filter={"programId": PROGRAM_ID, "programIds": [PROGRAM_ID]})

    with pytest.raises(MarketoRequestError):
        op.execute(context={})

    assert emulator.requests == []


def test_creates_and_enqueues_and_returns_the_export_id(emulator):
    export_id = start_operator(column_header_names={"email": "Email"}).execute(context={})

    assert emulator.job(export_id)["status"] in {"Queued", "Processing", "Completed"}
    assert len(emulator.calls("create")) == 1
    assert len(emulator.calls("enqueue")) == 1


@pytest.mark.parametrize("kind", KINDS_OF_START)  # one queue for every kind: the same wait
def test_full_queue_defers_on_a_timer_then_enqueues(emulator, kind):
    emulator.inject("enqueue", QUEUE_FULL)
    op = start_of_kind(kind, emulator, queue_full_wait=dt.timedelta(seconds=30))

    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context={})

    timer = deferred.value.trigger
    assert isinstance(timer, MarketoExportTimerTrigger)
    assert deferred.value.method_name == "resume"
    assert time.time() + 25 < timer.wake_at <= time.time() + 30
    export_id = timer.event["export_id"]
    assert emulator.job(export_id)["status"] == "Created"

    event = {"status": "retry", "export_id": export_id, "attempt": 1}
    assert timer.event == event
    assert op.resume(context={}, event=event) == export_id
    assert emulator.job(export_id)["status"] in {"Queued", "Processing", "Completed"}
    assert len(emulator.calls("create")) == 1


async def test_the_enqueue_timer_yields_one_event_carrying_the_export():
    timer = MarketoExportTimerTrigger.enqueue_retry(export_id="e1", attempt=3, retry_at=time.time() + 0.1)
    classpath, kwargs = timer.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs

    events = [event.payload async for event in MarketoExportTimerTrigger(**kwargs).run()]

    assert events == [{"status": "retry", "export_id": "e1", "attempt": 3}]
    assert classpath.endswith("triggers.bulk_export.MarketoExportTimerTrigger")


@pytest.mark.parametrize("event", [None, {"status": "retry"}, {"moment": "2024-01-01"}])
def test_resume_without_a_usable_timer_event_fails_loudly(event):
    with pytest.raises(AirflowException, match="no usable event"):
        start_operator().resume(context={}, event=event)


@pytest.mark.parametrize("kind", KINDS_OF_START)
def test_queue_still_full_after_the_last_retry_fails_naming_the_shared_queue(emulator, kind):
    export_id = export_of(emulator, kind, enqueue=False)
    emulator.inject("enqueue", QUEUE_FULL)
    op = start_of_kind(kind, emulator, queue_full_retries=2)

    with pytest.raises(AirflowException, match="10 jobs") as raised:
        op.resume(context={}, event={"status": "retry", "export_id": export_id, "attempt": 2})

    assert "shared" in str(raised.value)


def test_daily_quota_fails_at_once_with_the_reset_time_when_asked_to(emulator):
    emulator.inject("enqueue", QUOTA_USED)

    with pytest.raises(AirflowFailException, match="12:00 AM US Central"):
        start_operator(on_quota_exceeded="fail").execute(context={})

    assert len(emulator.calls("enqueue")) == 1


def test_without_task_state_store_every_try_starts_a_new_export(emulator):
    first = start_operator().execute(context={})
    second = start_operator().execute(context={})

    assert first != second


def test_retry_reattaches_to_the_running_export(emulator):
    store = FakeTaskStateStore()
    first = start_operator().execute(context={"task_state_store": store})

    second = start_operator().execute(context={"task_state_store": store})

    assert second == first
    assert len(emulator.calls("create")) == 1
    assert len(emulator.calls("enqueue")) == 1


def test_retry_enqueues_a_created_export_of_an_earlier_try(emulator):
    store = FakeTaskStateStore()
    emulator.inject("enqueue", QUOTA_USED)
    with pytest.raises(AirflowFailException):
        start_operator(on_quota_exceeded="fail").execute(context={"task_state_store": store})
    export_id = store.values[PROGRAM_MEMBERS.state_key]["export_id"]

    assert start_operator().execute(context={"task_state_store": store}) == export_id
    assert emulator.job(export_id)["status"] in {"Queued", "Processing", "Completed"}
    assert len(emulator.calls("create")) == 1


def test_retry_replaces_a_cancelled_export(emulator):
    store = FakeTaskStateStore()
    first = start_operator().execute(context={"task_state_store": store})
    emulator.cancel_job(first)

    second = start_operator().execute(context={"task_state_store": store})

    assert second != first
    assert store.values[PROGRAM_MEMBERS.state_key]["export_id"] == second


def test_retry_with_another_request_starts_afresh(emulator):
    store = FakeTaskStateStore()
    first = start_operator().execute(context={"task_state_store": store})

    second = start_operator(fields=["leadId"]).execute(context={"task_state_store": store})

    assert second != first


def test_on_kill_cancels_the_started_job(emulator):
    emulator.inject("enqueue", QUEUE_FULL)
    op = start_operator()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context={})

    op.on_kill()

    assert emulator.job(deferred.value.trigger.event["export_id"])["status"] == "Cancelled"


def test_on_kill_before_any_job_does_nothing(emulator):
    start_operator().on_kill()

    assert emulator.requests == []


# --- wait_for_completion: one task from create to completion (one pool slot per job in Marketo's queue) ---


async def completion_event(deferred: TaskDeferred) -> dict:
    """Run the trigger the task deferred to, as the triggerer would; return its one event."""
    trigger = deferred.trigger
    assert isinstance(trigger, MarketoProgramMemberExportTrigger)
    assert deferred.method_name == "resume"
    (event,) = [event.payload async for event in trigger.run()]
    return event


def waiting_start(**kwargs) -> MarketoStartProgramMemberExportOperator:
    kwargs = {"poll_interval": 0.05, "timeout": 60, **kwargs}
    return start_operator(wait_for_completion=True, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": "soon"}, "poll_interval"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": "1 hour"}, "timeout"),
    ],
)
def test_bad_wait_settings_are_refused_when_the_dag_is_parsed(kwargs, words):
    with pytest.raises(ValueError, match=words):
        start_operator(wait_for_completion=True, **kwargs)


def test_poll_interval_is_templated_and_checked_once_rendered(emulator):
    op = start_operator(wait_for_completion=True, poll_interval="{{ params.poll }}", deferrable=False)
    assert "poll_interval" in op.template_fields

    op.render_template_fields({"params": {"poll": "-5"}})
    with pytest.raises(MarketoRequestError, match="poll_interval"):
        op.execute(context={})
    assert emulator.requests == []


class TestWaitForCompletion:
    @pytest.fixture
    def marketo_emulator_options(self):
        return {"processing_seconds": 1.0}  # slow enough to see the task wait

    async def test_the_start_stays_deferred_until_the_job_completes_and_returns_its_id(self, emulator):
        op = waiting_start(poll_interval=0.2)
        enqueued_before = time.time()

        with pytest.raises(TaskDeferred) as deferred:
            op.execute(context={})

        export_id = deferred.value.trigger.export_id
        assert deferred.value.trigger.first_poll_at >= enqueued_before + 0.2, "no poll right after enqueue"
        assert emulator.job(export_id)["status"] in {"Queued", "Processing"}, "deferred while Marketo works"
        event = await completion_event(deferred.value)
        assert event["status"] == "success"
        assert emulator.job(export_id)["status"] == "Completed"
        assert op.resume(context={}, event=event) == export_id
        assert len(emulator.calls("create")) == len(emulator.calls("enqueue")) == 1

    async def test_a_failed_job_fails_the_start_with_marketo_error_msg(self, emulator):
        emulator.fail_next_job(error_msg="Disk on fire")
        op = waiting_start()
        with pytest.raises(TaskDeferred) as deferred:
            op.execute(context={})

        event = await completion_event(deferred.value)

        with pytest.raises(AirflowFailException, match="Disk on fire"):
            op.resume(context={}, event=event)

    def test_a_timeout_event_fails_like_the_sensor(self):
        event = {"status": "timeout", "export_id": "e1", "message": "Timed out waiting", "record": None}
        with pytest.raises(AirflowSensorTimeout, match="Timed out"):
            waiting_start().resume(context={}, event=event)

    def test_after_a_full_queue_the_enqueue_retry_continues_into_the_wait(self, emulator):
        emulator.inject("enqueue", QUEUE_FULL)
        op = waiting_start(queue_full_wait=0)
        with pytest.raises(TaskDeferred) as timer:
            op.execute(context={})
        event = timer.value.trigger.event

        with pytest.raises(TaskDeferred) as deferred:
            op.resume(context={}, event=event)

        assert isinstance(deferred.value.trigger, MarketoProgramMemberExportTrigger)
        assert deferred.value.trigger.export_id == event["export_id"]

    def test_a_retry_reattached_to_a_running_job_waits_for_it(self, emulator):
        store = FakeTaskStateStore()
        with pytest.raises(TaskDeferred):
            waiting_start().execute(context={"task_state_store": store})

        with pytest.raises(TaskDeferred) as deferred:
            waiting_start().execute(context={"task_state_store": store})

        assert deferred.value.trigger.export_id == store.values[PROGRAM_MEMBERS.state_key]["export_id"]
        assert len(emulator.calls("create")) == 1

    def test_not_deferrable_polls_on_the_worker_until_completed(self, emulator):
        export_id = waiting_start(deferrable=False).execute(context={})

        assert emulator.job(export_id)["status"] == "Completed"
        assert len(emulator.calls("status")) >= 2

    def test_not_deferrable_fails_on_a_cancelled_job(self, emulator):
        op = waiting_start(deferrable=False, poll_interval=0.3)

        def cancel_once_started() -> None:  # another tool cancels the job while the task waits on it
            for _ in range(500):
                export_id = op._started_export_id
                if export_id and emulator.job(export_id)["status"] in {"Queued", "Processing"}:
                    emulator.cancel_job(export_id)
                    return
                time.sleep(0.01)

        threading.Thread(target=cancel_once_started, daemon=True).start()

        with pytest.raises(AirflowFailException, match="cancelled"):
            op.execute(context={})


class TestCreatedAfterEnqueue:
    """A job reading Created again after it was enqueued is enqueued again, not waited on till the timeout."""

    @pytest.fixture
    def marketo_emulator_options(self):
        return {"processing_seconds": 0.5}

    async def test_a_lost_enqueue_is_enqueued_again_from_the_worker_and_the_wait_goes_on(self, emulator):
        emulator.created_after_enqueue(lost=True)
        with pytest.raises(TaskDeferred) as first:
            waiting_start(reenqueue_after_polls=2).execute(context={})
        assert first.value.trigger.serialize()[1]["reenqueue_after_polls"] == 2
        event = await completion_event(first.value)
        assert (event["status"], event["reenqueues"]) == ("created", 0)
        assert len(emulator.calls("enqueue")) == 1, "the trigger never enqueues: a POST runs on the worker"

        with pytest.raises(TaskDeferred) as again:  # a fresh operator: Airflow resumes from the event alone
            waiting_start(reenqueue_after_polls=2).resume(context={}, event=event)

        assert again.value.trigger.reenqueues == 1
        assert again.value.trigger.end_time == event["end_time"], "the re-enqueue keeps the first deadline"
        done = await completion_event(again.value)
        export_id = waiting_start().resume(context={}, event=done)
        assert emulator.job(export_id)["status"] == "Completed"
        assert [call.marketo_code for call in emulator.calls("enqueue")] == [None, None]

    async def test_a_job_in_fact_queued_answers_job_already_queued_which_is_success(self, emulator):
        emulator.created_after_enqueue(polls=3)
        with pytest.raises(TaskDeferred) as first:
            waiting_start(reenqueue_after_polls=2).execute(context={})
        event = await completion_event(first.value)

        with pytest.raises(TaskDeferred) as again:
            waiting_start(reenqueue_after_polls=2).resume(context={}, event=event)
        done = await completion_event(again.value)

        assert done["status"] == "success"
        assert [call.marketo_code for call in emulator.calls("enqueue")] == [None, "1029"]
        assert len(emulator.calls("create")) == 1

    async def test_re_enqueues_are_bounded_then_the_start_fails_saying_why(self, emulator):
        emulator.created_after_enqueue(polls=10_000)
        with pytest.raises(TaskDeferred) as deferred:
            waiting_start(reenqueue_after_polls=1).execute(context={})
        for _ in range(MAX_REENQUEUES):
            event = await completion_event(deferred.value)
            with pytest.raises(TaskDeferred) as deferred:
                waiting_start(reenqueue_after_polls=1).resume(context={}, event=event)
        event = await completion_event(deferred.value)

        with pytest.raises(
            MarketoExportNotEnqueuedError, match=r"still reads Created after it was enqueued 4"
        ):
            waiting_start(reenqueue_after_polls=1).resume(context={}, event=event)
        assert len(emulator.calls("enqueue")) == 1 + MAX_REENQUEUES

    def test_not_deferrable_enqueues_again_on_the_worker(self, emulator):
        emulator.created_after_enqueue(lost=True)

        export_id = waiting_start(deferrable=False, reenqueue_after_polls=2).execute(context={})

        assert emulator.job(export_id)["status"] == "Completed"
        assert len(emulator.calls("enqueue")) == 2

    def test_reenqueue_after_polls_is_checked_when_the_dag_is_parsed(self):
        with pytest.raises(MarketoRequestError, match="reenqueue_after_polls"):
            waiting_start(reenqueue_after_polls=0)
        assert waiting_start().reenqueue_after_polls == REENQUEUE_AFTER_CREATED_POLLS
        assert waiting_start(reenqueue_after_polls=None).reenqueue_after_polls is None
