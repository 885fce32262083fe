"""The start operator and Marketo's daily export quota: wait for the reset (default), a budget, or fail."""

from __future__ import annotations

import json
import time

import pendulum
import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, TaskDeferred
from marketo_exports import (
    FIELDS,
    KINDS_OF_START,
    PROGRAM_ID,
    finished_export_of,
    start_export_via_hook,
    start_of_kind,
    wait_for_export_status,
)

from airflow_provider_marketo_pm import daily_quota
from airflow_provider_marketo_pm.exceptions import MarketoExportQuotaError, MarketoRequestError
from airflow_provider_marketo_pm.operators.program_members import MarketoStartProgramMemberExportOperator
from airflow_provider_marketo_pm.retry_policy import RETRY_POLICY_AVAILABLE, MarketoRetryPolicy
from airflow_provider_marketo_pm.testing import Fault
from airflow_provider_marketo_pm.triggers.bulk_export import MarketoExportTimerTrigger

QUOTA_USED = Fault(code="1029", message="Export daily quota 500MB exceeded.")


def start_operator(**kwargs) -> MarketoStartProgramMemberExportOperator:
    kwargs.setdefault("fields", FIELDS)
    kwargs.setdefault("filter", {"programId": PROGRAM_ID})
    return MarketoStartProgramMemberExportOperator(task_id="start", **kwargs)


def deferral(op, **context) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context=context)
    return deferred.value


def reset_event(export_id: str | None, quota_waits: int) -> dict:
    return {"status": "quota_reset", "export_id": export_id, "quota_waits": quota_waits}


# --- wait for the reset (the default) -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS_OF_START)  # one quota for every kind: the same wait
def test_a_refused_enqueue_waits_for_the_reset_keeping_the_created_job(emulator, kind):
    emulator.inject("enqueue", QUOTA_USED)

    deferred = deferral(start_of_kind(kind, emulator))

    trigger = deferred.trigger
    assert isinstance(trigger, MarketoExportTimerTrigger)
    assert emulator.job(trigger.event["export_id"])["status"] == "Created"
    assert trigger.event == reset_event(trigger.event["export_id"], 1)
    assert deferred.method_name == "resume"
    # Marketo's rule by default: just after the next 12:00 AM US Central, within the 5-minute jitter.
    reset = daily_quota.next_quota_reset().timestamp()
    assert reset <= trigger.wake_at <= reset + daily_quota.DEFAULT_MAX_JITTER.total_seconds()
    assert deferred.timeout is not None
    assert deferred.timeout.total_seconds() >= trigger.wake_at - time.time()


@pytest.mark.parametrize("kind", KINDS_OF_START)
def test_after_the_reset_the_same_job_is_enqueued_no_second_export(emulator, kind):
    emulator.inject("enqueue", QUOTA_USED)
    export_id = deferral(start_of_kind(kind, emulator)).trigger.event["export_id"]

    assert start_of_kind(kind, emulator).resume(context={}, event=reset_event(export_id, 1)) == export_id

    assert len(emulator.calls("create")) == 1
    assert emulator.job(export_id)["status"] in {"Queued", "Processing", "Completed"}


@pytest.mark.parametrize("kind", KINDS_OF_START)
def test_a_refused_create_waits_then_creates_after_the_reset(emulator, kind):
    emulator.inject("create", QUOTA_USED)

    trigger = deferral(start_of_kind(kind, emulator)).trigger

    assert trigger.event["export_id"] is None
    export_id = start_of_kind(kind, emulator).resume(context={}, event=reset_event(None, 1))
    assert emulator.job(export_id)["status"] in {"Queued", "Processing", "Completed"}
    assert len(emulator.calls("create")) == 2  # the refused one, then the one after the reset


def test_the_jitter_is_the_same_for_one_task_instance(emulator):
    class TI:
        dag_id, task_id, run_id, map_index = "backfill", "start", "manual__1", 7

    emulator.inject("enqueue", QUOTA_USED, QUOTA_USED)
    first = deferral(start_operator(), ti=TI()).trigger.wake_at
    second = deferral(start_operator(), ti=TI()).trigger.wake_at

    assert first == second


def test_still_used_up_after_quota_waits_resets_fails_naming_the_quota_and_the_time(emulator):
    emulator.inject("enqueue", QUOTA_USED)
    export_id = start_export_via_hook(enqueue=False)

    with pytest.raises(AirflowFailException) as failed:
        start_operator(quota_waits=2).resume(context={}, event=reset_event(export_id, 2))

    message = str(failed.value)
    assert "daily quota is still used up after waiting for 2 reset(s)" in message
    assert "12:00 AM US Central" in message
    assert daily_quota.next_quota_reset().format("YYYY-MM-DDTHH:mm:ss") in message


def test_the_quota_timer_yields_one_event_carrying_the_job_and_the_count():
    timer = MarketoExportTimerTrigger.quota_reset(export_id=None, quota_waits=2, resume_at=time.time() + 0.05)
    classpath, kwargs = timer.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs

    async def events():
        return [event.payload async for event in MarketoExportTimerTrigger(**kwargs).run()]

    import asyncio

    assert asyncio.run(events()) == [reset_event(None, 2)]
    assert classpath.endswith("triggers.bulk_export.MarketoExportTimerTrigger")


@pytest.mark.parametrize("event", [None, {"status": "retry", "export_id": "e1"}])
def test_resume_without_a_usable_quota_event_fails_loudly(event):
    with pytest.raises(AirflowException, match="no usable event"):
        start_operator().resume(context={}, event=event)


# --- fail at once -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS_OF_START)
def test_not_deferrable_fails_at_once_a_worker_does_not_sleep_for_a_day(emulator, kind):
    emulator.inject("enqueue", QUOTA_USED)

    with pytest.raises(AirflowFailException, match="12:00 AM US Central"):
        start_of_kind(kind, emulator, deferrable=False).execute(context={})

    assert len(emulator.calls("enqueue")) == 1


@pytest.mark.skipif(not RETRY_POLICY_AVAILABLE, reason="retry_policy needs Airflow 3.3+")
def test_failing_with_a_retry_policy_hands_the_quota_error_to_the_policy(emulator):
    emulator.inject("enqueue", QUOTA_USED)
    op = start_operator(on_quota_exceeded="fail", retry_policy=MarketoRetryPolicy())

    with pytest.raises(MarketoExportQuotaError) as failed:
        op.execute(context={})

    assert not isinstance(failed.value, AirflowFailException)  # that one never reaches a retry policy
    decision = op.retry_policy.evaluate(failed.value, try_number=1, max_tries=3)
    assert decision.retry_delay is not None
    assert (
        decision.retry_delay.total_seconds()
        >= (daily_quota.next_quota_reset() - pendulum.now("UTC")).total_seconds() - 5
    )


# --- the daily budget -------------------------------------------------------------------------------------


def finished_export(emulator) -> str:
    export_id = start_export_via_hook()
    wait_for_export_status(emulator, export_id)
    return export_id


def test_a_spent_budget_waits_for_the_reset_before_creating_anything(emulator):
    finished_export(emulator)
    emulator.clear_requests()

    trigger = deferral(start_operator(daily_export_budget_mb=0.0001)).trigger

    assert trigger.event["export_id"] is None
    assert emulator.calls("create") == []
    assert len(emulator.calls("list")) >= 1


@pytest.mark.parametrize("kind", ["leads", "activities", "car_c"])
def test_the_budget_counts_this_users_exports_of_every_kind(emulator, kind):
    """One quota meters every kind: a lead, activity or custom object export spends a start's budget."""
    size = finished_export_of(emulator, kind)["fileSize"]
    budget_mb = size / 2 / 1024 / 1024
    emulator.clear_requests()

    trigger = deferral(start_operator(daily_export_budget_mb=budget_mb)).trigger

    assert trigger.event["export_id"] is None
    assert emulator.calls("create") == []
    assert {call.kind for call in emulator.calls("list")} == {
        "program_members",
        "leads",
        "activities",
        "custom_objects",
    }
    assert start_operator(daily_export_budget_mb=budget_mb * 4).execute(context={})


def test_a_budget_not_spent_creates_the_job(emulator):
    finished_export(emulator)

    export_id = start_operator(daily_export_budget_mb="100").execute(context={})

    assert emulator.job(export_id)["status"] in {"Queued", "Processing", "Completed"}


def test_the_budget_comes_from_the_connection_extra_and_the_argument_wins(emulator, monkeypatch):
    conn = json.loads(emulator.connection_json())
    conn["extra"] = {"daily_export_budget_mb": "0.0001"}
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", json.dumps(conn))
    finished_export(emulator)

    assert deferral(start_operator()).trigger.event["export_id"] is None
    assert start_operator(daily_export_budget_mb=100).execute(context={})


def test_a_spent_budget_with_on_quota_exceeded_fail_fails_naming_the_budget(emulator):
    finished_export(emulator)

    with pytest.raises(AirflowFailException, match="daily export budget is used up"):
        start_operator(daily_export_budget_mb=0.0001, on_quota_exceeded="fail").execute(context={})


# --- the quota day in use (Marketo's rule unless a test replaces it) ------------------------------------


class KnownQuotaDay(daily_quota.QuotaDay):
    """A quota day whose last reset and next resume are fixed instants, and that records who asked."""

    def __init__(
        self, last_reset: pendulum.DateTime, resets_at: pendulum.DateTime, resume_at: pendulum.DateTime
    ):
        self.answers = (last_reset, resets_at, resume_at)
        self.asked_for: list[object] = []

    def last_reset(self) -> pendulum.DateTime:
        return self.answers[0]

    def resume(self, context=None, *, max_jitter=daily_quota.DEFAULT_MAX_JITTER) -> daily_quota.QuotaResume:
        self.asked_for.append(context)
        return daily_quota.QuotaResume(self.now(), self.answers[1], self.answers[2])


def test_a_refused_start_waits_until_the_quota_day_in_use_says(emulator):
    emulator.inject("enqueue", QUOTA_USED)
    now = pendulum.now("UTC")
    day = KnownQuotaDay(now.subtract(hours=1), now.add(minutes=1), now.add(minutes=2))

    with daily_quota.use_quota_day(day):
        trigger = deferral(start_operator(), ti="the task instance").trigger

    assert trigger.wake_at == now.add(minutes=2).timestamp()
    assert [context["ti"] for context in day.asked_for] == ["the task instance"]


def test_the_budget_counts_the_exports_since_the_quota_days_last_reset(emulator):
    finished_export(emulator)
    now = pendulum.now("UTC")
    began_before_it = KnownQuotaDay(now.subtract(hours=1), now.add(hours=2), now.add(hours=2))
    began_after_it = KnownQuotaDay(now.add(hours=1), now.add(hours=2), now.add(hours=2))

    with daily_quota.use_quota_day(began_before_it), pytest.raises(AirflowFailException) as failed:
        start_operator(daily_export_budget_mb=0.0001, on_quota_exceeded="fail").execute(context={})
    with daily_quota.use_quota_day(began_after_it):
        export_id = start_operator(daily_export_budget_mb=0.0001).execute(context={})

    assert "daily export budget is used up" in str(failed.value)
    assert now.add(hours=2).format("YYYY-MM-DDTHH:mm:ss") in str(failed.value)  # the quota day's reset
    assert emulator.job(export_id)["status"] in {"Queued", "Processing", "Completed"}


# --- bad input, before any call -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"on_quota_exceeded": "retry"}, "on_quota_exceeded"),
        ({"quota_waits": -1}, "quota_waits"),
        ({"daily_export_budget_mb": 0}, "daily_export_budget_mb"),
        ({"daily_export_budget_mb": "lots"}, "daily_export_budget_mb"),
    ],
)
def test_bad_quota_arguments_are_refused_when_the_dag_is_parsed(kwargs, field):
    with pytest.raises((MarketoRequestError, ValueError), match=field):
        start_operator(**kwargs)


def test_a_templated_budget_is_checked_once_rendered_before_any_call(emulator):
    op = start_operator(daily_export_budget_mb="{{ var.value.budget }}")
    op.daily_export_budget_mb = "-5"  # as rendered

    with pytest.raises(MarketoRequestError, match="daily_export_budget_mb"):
        op.execute(context={})

    assert emulator.requests == []


def test_a_bad_budget_extra_names_the_extra(emulator, monkeypatch):
    conn = json.loads(emulator.connection_json())
    conn["extra"] = {"daily_export_budget_mb": "-1"}
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", json.dumps(conn))

    with pytest.raises(MarketoRequestError, match=r"extra\.daily_export_budget_mb"):
        start_operator().execute(context={})

    assert emulator.requests == []
