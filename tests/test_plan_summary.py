"""A plan's figures for a person to approve: jobs, estimated MB, quota days of the shared 500 MB, windows."""

from __future__ import annotations

import math

import pytest

from airflow_provider_marketo_pm.backfill_runs import plan_backfill_runs
from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.plan_summary import (
    DAILY_QUOTA_MB,
    DEFAULT_MB_PER_JOB,
    summarize_backfill_runs,
    summarize_plan,
)
from airflow_provider_marketo_pm.windows import batch_program_ids, plan_updated_at, split_updated_at

PROGRAMS = list(range(1001, 1013))  # 12 programs: batches of 10 and 2
START, END = "2024-01-01", "2024-07-01"


def half_year_jobs() -> list[dict]:
    return plan_updated_at(START, END, batch_program_ids(PROGRAMS)).exports


def test_the_summary_counts_jobs_estimates_mb_and_quota_days_and_names_the_windows():
    windows = split_updated_at(START, END)

    summary = summarize_plan(half_year_jobs(), mb_per_job=50)

    assert summary.jobs == len(windows) * 2
    assert summary.estimated_mb == summary.jobs * 50
    assert summary.daily_mb == DAILY_QUOTA_MB
    assert summary.quota_days == math.ceil(summary.jobs * 50 / 500)
    assert summary.spans_quota_days
    assert summary.first_window == windows[0]
    assert summary.last_window == windows[-1]
    assert summary.as_dict()["first_window"] == {
        "startAt": "2024-01-01T00:00:00Z",
        "endAt": "2024-02-01T00:00:00Z",
    }


def test_without_a_figure_the_measured_mb_per_job_is_used_and_a_small_plan_needs_one_day():
    summary = summarize_plan(half_year_jobs())

    assert summary.mb_per_job == DEFAULT_MB_PER_JOB
    assert summary.quota_days == 1
    assert not summary.spans_quota_days


@pytest.mark.parametrize(("budget", "daily"), [(100, 100.0), ("100", 100.0), (2000, DAILY_QUOTA_MB)])
def test_a_daily_budget_below_the_quota_stretches_the_days_one_above_it_counts_as_the_quota(budget, daily):
    summary = summarize_plan(half_year_jobs(), mb_per_job=50, daily_budget_mb=budget)

    assert summary.daily_mb == daily
    assert summary.quota_days == math.ceil(summary.estimated_mb / daily)


def test_the_windows_are_the_earliest_and_latest_whatever_the_order_of_the_jobs():
    jobs = half_year_jobs()

    assert summarize_plan(list(reversed(jobs))) == summarize_plan(jobs)


def test_the_jobs_of_the_export_group_summarize_as_the_plan_does():
    """The group's jobs (``ProgramMemberExportSettings.job``) carry the same filter beside other keys."""
    group_jobs = [
        {
            "fields": ["leadId"],
            "export_filter": job["export_filter"],
            "destination": f"file:///x/{job['path']}",
        }
        for job in half_year_jobs()
    ]

    assert summarize_plan(group_jobs) == summarize_plan(half_year_jobs())


def test_the_text_an_approver_reads_carries_every_figure():
    summary = summarize_plan(half_year_jobs(), mb_per_job=50)

    text = summary.markdown()

    assert f"| Export jobs | {summary.jobs} |" in text
    assert f"| Estimated size | {summary.estimated_mb:,.1f} MB (50 MB per job) |" in text
    assert f"| Quota days | {summary.quota_days} quota days of 500 MB |" in text
    assert "| First window | 2024-01-01T00:00:00Z..2024-02-01T00:00:00Z |" in text
    assert str(summary).startswith(f"{summary.jobs} export jobs, about {summary.estimated_mb:,.0f} MB, ")


@pytest.mark.parametrize("value", [0, -1, "lots", True, [5], float("nan")])
def test_a_bad_mb_per_job_is_refused_naming_it(value):
    with pytest.raises(MarketoRequestError, match="mb_per_job"):
        summarize_plan(half_year_jobs(), mb_per_job=value)


@pytest.mark.parametrize("value", [None, "", "  "])
def test_an_empty_mb_per_job_means_the_default(value):
    assert summarize_plan(half_year_jobs(), mb_per_job=value).mb_per_job == DEFAULT_MB_PER_JOB


@pytest.mark.parametrize(
    "jobs",
    [[], [{"path": "a.csv"}], [{"export_filter": {"programIds": [1]}}]],
    ids=["none", "no filter", "no dates"],
)
def test_a_plan_without_jobs_or_dates_is_refused_naming_the_plan(jobs):
    with pytest.raises(MarketoRequestError, match="plan"):
        summarize_plan(jobs)


def test_a_backfill_planned_as_runs_summarizes_from_its_counts_as_its_jobs_would():
    runs = plan_backfill_runs(START, END, batch_program_ids(PROGRAMS), max_jobs_per_run=3)
    assert runs.split  # one run per window: no list of jobs exists in the planning task

    by_counts = summarize_backfill_runs(runs.as_dict(), mb_per_job=50)

    assert by_counts == summarize_plan(runs.exports(), mb_per_job=50)


def test_the_largest_plan_is_summarized_without_listing_its_jobs():
    programs = list(range(1, 5001))  # 10 years x 5,000 programs: 60,000 jobs
    runs = plan_backfill_runs("2015-01-01", "2025-01-01", batch_program_ids(programs))

    summary = summarize_backfill_runs(runs, mb_per_job=1)

    assert summary.jobs == len(runs.windows) * 500
    assert summary.quota_days == math.ceil(summary.jobs / 500)
    assert summary.first_window["startAt"] == "2015-01-01T00:00:00Z"
