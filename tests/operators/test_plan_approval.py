"""The plan review task: it summarizes, hands the jobs on, and only waits for a person when asked (3.1+)."""

from __future__ import annotations

from typing import Any

import airflow
import pytest

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.operators import plan_approval
from airflow_provider_marketo_pm.operators.plan_approval import (
    MarketoPlanApprovalOperator,
    approval_wanted,
    approve_plan_param,
)
from airflow_provider_marketo_pm.windows import batch_program_ids, plan_updated_at

JOBS = plan_updated_at("2024-01-01", "2024-03-01", batch_program_ids([1044])).exports


class RecordingTI:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def run(approve: Any, **kwargs: Any) -> tuple[Any, RecordingTI]:
    ti = RecordingTI()
    operator = MarketoPlanApprovalOperator(task_id="review_plan", plan=JOBS, approve=approve, **kwargs)
    return operator.execute({"ti": ti}), ti


@pytest.mark.parametrize("approve", [False, "False", "false"])
def test_without_approval_the_jobs_go_on_at_once_and_the_summary_is_pushed(approve):
    output, ti = run(approve, mb_per_job=300)

    assert output == JOBS
    assert ti.pushed["plan_summary"]["jobs"] == 2
    assert ti.pushed["plan_summary"]["quota_days"] == 2  # 600 MB


@pytest.mark.parametrize(
    ("text", "wanted"), [(True, True), ("True", True), (" true ", True), ("False", False)]
)
def test_approval_is_read_from_a_bool_or_its_rendered_text(text, wanted):
    assert approval_wanted(text) is wanted


@pytest.mark.parametrize("value", ["yes", "", None, 1])
def test_anything_else_is_refused_naming_approve_plan(value):
    with pytest.raises(MarketoRequestError, match="approve_plan"):
        approval_wanted(value)


def test_asking_for_approval_where_airflow_cannot_wait_fails_naming_both_versions(monkeypatch):
    """Airflow < 3.1 has no human-in-the-loop operators: simulated here, real in the compat run (3.0)."""
    monkeypatch.setattr(plan_approval, "HITL_AVAILABLE", False)

    with pytest.raises(MarketoRequestError, match="approve_plan") as raised:
        run(True)

    assert f"this is Airflow {airflow.__version__}" in str(raised.value)
    assert "needs Airflow 3.1+" in str(raised.value)


def test_the_param_says_it_is_unavailable_only_where_it_is(monkeypatch):
    assert approve_plan_param().value is False
    available = approve_plan_param().description
    monkeypatch.setattr(plan_approval, "HITL_AVAILABLE", False)

    assert "unavailable" not in available or not plan_approval.HITL_AVAILABLE
    assert (
        f"unavailable on Airflow {airflow.__version__}: needs Airflow 3.1+"
        in approve_plan_param().description
    )


@pytest.mark.skipif(not plan_approval.HITL_AVAILABLE, reason="human-in-the-loop operators need Airflow 3.1+")
def test_on_airflow_3_1_and_later_it_is_airflows_approval_operator_rejecting_on_timeout():
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    operator = MarketoPlanApprovalOperator(task_id="review_plan", plan=JOBS)

    assert isinstance(operator, ApprovalOperator)
    assert operator.defaults == [ApprovalOperator.REJECT]
    assert operator.response_timeout == plan_approval.DEFAULT_RESPONSE_TIMEOUT
    assert operator.ignore_downstream_trigger_rules
    assert {"plan", "approve", "mb_per_job", "subject", "body"} <= set(operator.template_fields)
