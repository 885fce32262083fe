"""A backfill's plan shown before any job is created and, when asked for, approved by a person in the UI.

:class:`MarketoPlanApprovalOperator` sits between the task that plans the jobs and the export group, and hands
the jobs on: map the group over its output, and no job can start before it lets them through. It always
summarizes the plan (:mod:`~airflow_provider_marketo_pm.plan_summary`: jobs, estimated MB, quota days, first
and last window), logs it and pushes it as XCom ``plan_summary``. With ``approve=True`` it then waits for a
person: it is Airflow's ``ApprovalOperator`` (human-in-the-loop, Airflow 3.1+), so the run shows "Required
actions" in the UI with the plan as the form's text. Approve: the exports start. Reject, or no answer within
``response_timeout``: every task after it is skipped and the run ends without a single job created.

On Airflow 3.0 the DAG still parses and runs without approval; ``approve=True`` fails the task before any
export, naming the Airflow version and the one needed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import airflow
from airflow.exceptions import AirflowOptionalProviderFeatureException
from airflow.sdk import BaseOperator, Param

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.plan_summary import PlanSummary, summarize_backfill_runs, summarize_plan

if TYPE_CHECKING:
    from airflow.providers.standard.operators.hitl import ApprovalOperator as _ApprovalBase
    from airflow.sdk import Context
else:
    try:
        from airflow.providers.standard.operators.hitl import ApprovalOperator as _ApprovalBase
    except (ImportError, AirflowOptionalProviderFeatureException):  # Airflow < 3.1: no human in the loop
        _ApprovalBase = None

HITL_AVAILABLE = _ApprovalBase is not None
"""Whether this Airflow has the human-in-the-loop operators (3.1+), which the approval waits with."""

HITL_NEEDS = "Airflow 3.1+ (its human-in-the-loop operators)"
SUBJECT = "Approve the Marketo backfill plan"
DEFAULT_RESPONSE_TIMEOUT = dt.timedelta(days=7)
"""A plan not answered within a week is rejected: the run ends with no job rather than waiting forever."""


def approval_wanted(value: Any) -> bool:
    """``approve`` as a bool: ``True``/``False``, or their text as a template renders it ("True")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise MarketoRequestError("approve_plan", value, "must be true or false")


def approve_plan_param(default: bool = False) -> Param:
    """The DAG param ``approve_plan``; its description says so when this Airflow cannot wait for approval."""
    description = "wait for a person to approve the plan (jobs, MB, quota days) in the UI before any export"
    if not HITL_AVAILABLE:
        description += f"; unavailable on Airflow {airflow.__version__}: needs {HITL_NEEDS}"
    return Param(default, type="boolean", description=description)


def mb_per_job_param() -> Param:
    """The DAG param ``mb_per_job``: the plan's MB estimate per job (empty: the measured default)."""
    return Param(None, type=["null", "number"], description="MB per job for the plan's estimate")


class MarketoPlanApprovalOperator(_ApprovalBase if HITL_AVAILABLE else BaseOperator):  # type: ignore[misc]
    """
    Summarize a plan's jobs and, with ``approve``, wait for a person to approve it before its exports.

    :param plan: the jobs, each with its ``export_filter``, or a backfill planned as DAG runs
        (``BackfillRuns.as_dict()``, summarized by its counts); templated. It is this task's output once
        approved (or when no approval is asked for): map the exports over it, or set this task upstream of
        what reads the plan (a rejection skips every task after it).
    :param approve: wait for approval (a bool, or its text from a template such as
        ``"{{ params.approve_plan }}"``). Needs Airflow 3.1+; otherwise ``True`` fails the task.
    :param mb_per_job: MB one job's file is expected to take (templated); default the measured
        ``plan_summary.DEFAULT_MB_PER_JOB``.
    :param daily_budget_mb: MB per day the backfill may use, if less than the 500 MB quota (templated).
    :param response_timeout: how long to wait for an answer; then the plan counts as rejected.
    """

    template_fields: Sequence[str] = (
        *(_ApprovalBase.template_fields if HITL_AVAILABLE else ()),
        "plan",
        "approve",
        "mb_per_job",
        "daily_budget_mb",
    )
    ui_color = "#fff3c4"

    def __init__(
        self,
        *,
        plan: Any,
        approve: Any = False,
        mb_per_job: Any = None,
        daily_budget_mb: Any = None,
        response_timeout: dt.timedelta = DEFAULT_RESPONSE_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        if _ApprovalBase is not None:
            kwargs.update(
                subject=SUBJECT,
                defaults=_ApprovalBase.REJECT,  # no answer in time: rejected
                response_timeout=response_timeout,
                ignore_downstream_trigger_rules=True,  # a rejection skips the whole export, not one task
            )
        super().__init__(**kwargs)
        self.plan = plan
        self.approve = approve
        self.mb_per_job = mb_per_job
        self.daily_budget_mb = daily_budget_mb

    def execute(self, context: Context) -> Any:
        summary = self._summary()
        self.log.info("Backfill plan: %s", summary)
        context["ti"].xcom_push(key="plan_summary", value=summary.as_dict())
        if not approval_wanted(self.approve):
            return self.plan
        if not HITL_AVAILABLE:
            raise MarketoRequestError(
                "approve_plan", True, f"needs {HITL_NEEDS}; this is Airflow {airflow.__version__}"
            )
        self.body = summary.markdown()
        return super().execute(context)

    def _summary(self) -> PlanSummary:
        """A backfill planned as runs (a mapping of windows and batches) by its counts; else its jobs."""
        figures = {"mb_per_job": self.mb_per_job, "daily_budget_mb": self.daily_budget_mb}
        if isinstance(self.plan, Mapping):
            return summarize_backfill_runs(self.plan, **figures)
        return summarize_plan(self.plan, **figures)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """The person's answer: the jobs when approved; rejected, the tasks after this one are skipped."""
        answer = super().execute_complete(context, event)
        who = (answer.get("responded_by_user") or {}).get("name", "the timeout")
        if answer["chosen_options"] == [_ApprovalBase.APPROVE]:
            self.log.info("Plan approved by %s", who)
            return self.plan
        self.log.info("Plan rejected by %s: no export job is created", who)
        return None


__all__ = [
    "HITL_AVAILABLE",
    "MarketoPlanApprovalOperator",
    "approval_wanted",
    "approve_plan_param",
    "mb_per_job_param",
]
