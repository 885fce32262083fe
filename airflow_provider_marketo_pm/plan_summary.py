"""A backfill's plan in the figures a person approves: jobs, estimated MB, quota days, first and last window.

Marketo meters 500 MB of bulk export files per instance per day, shared by every lead, activity, custom object
and program member export of every integration (:mod:`~airflow_provider_marketo_pm.export_budget`), and
resets it at 12:00 AM US Central (:mod:`~airflow_provider_marketo_pm.daily_quota`). A backfill larger than
that runs for several days (the start operator waits for each reset): before its first job is created, this
summary says how many, so that someone can decide whether to start it now, narrow it, or wait.

The MB are an estimate: jobs x ``mb_per_job``. Without a figure of your own, :data:`DEFAULT_MB_PER_JOB` is
the one measured on the bundled emulator's dataset; measure yours on one window first (a Completed job's
``fileSize``), since real values are often longer. Nothing here calls Marketo.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_marketo_pm.backfill_runs import BackfillRuns
from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.export_budget import validate_daily_budget_mb
from airflow_provider_marketo_pm.export_status import counted
from airflow_provider_marketo_pm.windows import to_utc

DAILY_QUOTA_MB = 500.0
"""Marketo's default daily bulk export quota, in MB of 1,048,576 bytes, shared by every export kind."""

DEFAULT_MB_PER_JOB = 7.5
"""MB per job (31-day window x 10 programs, the example DAGs' 9 fields) measured on the emulator's dataset:
2,575 MB over 342 jobs for 60 programs over 57 windows (docs/backfill.md, bench/bench_quota_backfill.py)."""


@dataclass(frozen=True)
class PlanSummary:
    """The figures of one plan; :meth:`as_dict` is its XCom, :meth:`markdown` the text an approver reads."""

    jobs: int
    mb_per_job: float
    estimated_mb: float
    daily_mb: float
    quota_days: int
    first_window: dict[str, str]
    last_window: dict[str, str]

    @property
    def spans_quota_days(self) -> bool:
        """Whether the plan needs more than one quota day (even with the whole quota to itself)."""
        return self.quota_days > 1

    def __str__(self) -> str:
        return (
            f"{counted(self.jobs, 'export job')}, about {self.estimated_mb:,.0f} MB, "
            f"{counted(self.quota_days, 'quota day')} of {self.daily_mb:,.0f} MB, "
            f"{_window(self.first_window)} to {_window(self.last_window)}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobs": self.jobs,
            "mb_per_job": self.mb_per_job,
            "estimated_mb": self.estimated_mb,
            "daily_mb": self.daily_mb,
            "quota_days": self.quota_days,
            "first_window": dict(self.first_window),
            "last_window": dict(self.last_window),
        }

    def markdown(self) -> str:
        """The plan as the approval form shows it (Markdown)."""
        days = counted(self.quota_days, "quota day")
        lines = [
            "| | |",
            "| --- | --- |",
            f"| Export jobs | {self.jobs:,} |",
            f"| Estimated size | {self.estimated_mb:,.1f} MB ({self.mb_per_job:g} MB per job) |",
            f"| Quota days | {days} of {self.daily_mb:,.0f} MB |",
            f"| First window | {_window(self.first_window)} |",
            f"| Last window | {_window(self.last_window)} |",
            "",
            "The daily quota is shared by every bulk export of the instance (leads, activities, custom"
            " objects, program members) and resets at 12:00 AM US Central: other integrations' exports on"
            " the same days add days. Jobs are created only after you approve; Reject ends the run without"
            " any.",
        ]
        return "\n".join(lines)


def _window(window: Mapping[str, str]) -> str:
    return f"{window['startAt']}..{window['endAt']}"


def validate_mb_per_job(value: Any) -> float:
    """``mb_per_job`` as a float (``None`` or blank: :data:`DEFAULT_MB_PER_JOB`); positive, text accepted."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_MB_PER_JOB
    number = validate_daily_budget_mb(value, field="mb_per_job")
    assert number is not None  # None was handled above
    return number


def job_window(job: Mapping[str, Any]) -> dict[str, str]:
    """The date range of one job: the ``startAt``/``endAt`` filter of its ``export_filter``."""
    export_filter = job.get("export_filter") if isinstance(job, Mapping) else None
    if isinstance(export_filter, Mapping):
        for value in export_filter.values():
            if isinstance(value, Mapping) and {"startAt", "endAt"} <= set(value):
                return {"startAt": str(value["startAt"]), "endAt": str(value["endAt"])}
    raise MarketoRequestError(
        "plan", job, "each job needs an export_filter with a date range ({'startAt': ..., 'endAt': ...})"
    )


def summarize_plan(
    jobs: Iterable[Mapping[str, Any]], *, mb_per_job: Any = None, daily_budget_mb: Any = None
) -> PlanSummary:
    """
    Summarize the jobs of a plan (each with its ``export_filter``, as ``plan_updated_at(...).exports``,
    ``ProgramMemberExportSettings.job`` and ``plan_backfill`` give them).

    :param mb_per_job: MB one job's file is expected to take; default :data:`DEFAULT_MB_PER_JOB`.
    :param daily_budget_mb: the MB per day this backfill may use (the start's ``daily_export_budget_mb``);
        default the whole quota, :data:`DAILY_QUOTA_MB`. Above the quota it counts as the quota.
    """
    windows = [job_window(job) for job in jobs]
    return _summary(windows, len(windows), mb_per_job, daily_budget_mb)


def summarize_backfill_runs(
    plan: BackfillRuns | Mapping[str, Any], *, mb_per_job: Any = None, daily_budget_mb: Any = None
) -> PlanSummary:
    """
    Summarize a backfill planned as DAG runs
    (:func:`~airflow_provider_marketo_pm.backfill_runs.plan_backfill_runs`, or its ``as_dict()`` as the
    planning task hands it on) from its counts, without listing its jobs: a 60,000-job plan is summarized
    from its 120 windows and 500 batches. The parameters are
    :func:`summarize_plan`'s.
    """
    runs = plan if isinstance(plan, BackfillRuns) else BackfillRuns.from_dict(plan)
    return _summary(runs.windows, runs.jobs, mb_per_job, daily_budget_mb)


def _summary(
    windows: Sequence[Mapping[str, str]], jobs: int, mb_per_job: Any, daily_budget_mb: Any
) -> PlanSummary:
    per_job = validate_mb_per_job(mb_per_job)
    budget = validate_daily_budget_mb(daily_budget_mb)
    daily = min(budget, DAILY_QUOTA_MB) if budget is not None else DAILY_QUOTA_MB
    if not windows or not jobs:
        raise MarketoRequestError("plan", [], "has no job to summarize")
    first = min(windows, key=lambda window: to_utc(window["startAt"]))
    last = max(windows, key=lambda window: to_utc(window["endAt"]))
    estimated = jobs * per_job
    return PlanSummary(
        jobs=jobs,
        mb_per_job=per_job,
        estimated_mb=estimated,
        daily_mb=daily,
        quota_days=max(1, math.ceil(estimated / daily)),
        first_window={"startAt": str(first["startAt"]), "endAt": str(first["endAt"])},
        last_window={"startAt": str(last["startAt"]), "endAt": str(last["endAt"])},
    )


__all__ = [
    "DAILY_QUOTA_MB",
    "DEFAULT_MB_PER_JOB",
    "PlanSummary",
    "job_window",
    "summarize_backfill_runs",
    "summarize_plan",
    "validate_mb_per_job",
]
