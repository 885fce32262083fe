"""The daily export budget: what counts since the reset, when the budget is spent, which values are valid."""

from __future__ import annotations

import datetime as dt
import time

import pendulum
import pytest

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.export_budget import (
    BYTES_PER_MB,
    budget_spent,
    exported_bytes_since,
    exported_bytes_today,
    validate_daily_budget_mb,
)

MB = BYTES_PER_MB
# 2024-07-15 is CDT: the quota day started at 05:00 UTC.
NOW = pendulum.datetime(2024, 7, 15, 18, tz="UTC")
RESET = "2024-07-15T05:00:00Z"


def job(status="Completed", *, finished=None, created="2024-07-15T04:00:00Z", size=None, **extra):
    """A record as the list endpoint returns it (absent properties omitted)."""
    record = {"exportId": f"id-{status}-{finished}-{size}", "format": "CSV", "status": status, **extra}
    if created is not None:
        record["createdAt"] = created
    if finished is not None:
        record["finishedAt"] = finished
    if size is not None:
        record["fileSize"] = size
    return record


class TestExportedBytes:
    def test_sums_completed_jobs_finished_since_the_reset(self):
        jobs = [
            job(finished="2024-07-15T05:00:00Z", size=3 * MB),  # at the reset: today
            job(finished="2024-07-15T17:59:59Z", size=2 * MB),
            job(finished="2024-07-15T04:59:59Z", size=100 * MB),  # yesterday's quota day
            job(finished="2024-07-09T12:00:00Z", size=100 * MB),
        ]
        assert exported_bytes_today(jobs, NOW) == 5 * MB

    def test_only_completed_jobs_have_a_file_that_counts(self):
        jobs = [
            job("Failed", finished="2024-07-15T06:00:00Z", errorMsg="internal error"),
            job("Cancelled", finished="2024-07-15T06:00:00Z"),
            job("Processing", created="2024-07-15T06:00:00Z"),
            job("Queued", created="2024-07-15T06:00:00Z"),
            job("Created", created="2024-07-15T06:00:00Z"),
            job(finished="2024-07-15T06:00:00Z", size=7),
        ]
        assert exported_bytes_today(jobs, NOW) == 7

    def test_reads_marketos_offset_spellings(self):
        jobs = [
            job(finished="2024-07-15T05:30:00+0000", size=1),
            job(finished="2024-07-15T00:30:00-05:00", size=10),  # 05:30 UTC
            job(finished="2024-07-15T04:30:00.000Z", size=100),  # before the reset
        ]
        assert exported_bytes_today(jobs, NOW) == 11

    def test_without_finished_at_created_at_decides(self):
        jobs = [
            job(created="2024-07-15T06:00:00Z", size=1),  # created after the reset: finished after it too
            job(created="2024-07-14T06:00:00Z", size=10),
        ]
        assert exported_bytes_today(jobs, NOW) == 1

    def test_a_completed_job_without_any_readable_time_counts(self):
        # A budget errs towards exporting less.
        jobs = [job(created=None, size=4), job(created="not a date", size=40)]
        assert exported_bytes_today(jobs, NOW) == 44

    def test_a_completed_job_without_a_size_adds_nothing(self):
        jobs = [job(finished="2024-07-15T06:00:00Z"), job(finished="2024-07-15T06:00:00Z", size="12")]
        assert exported_bytes_today(jobs, NOW) == 0

    def test_the_quota_day_follows_chicago_across_dst(self):
        # 2024-11-03 falls back: the quota day started at 05:00 UTC (CDT) and lasts until 06:00 UTC on Nov 4.
        jobs = [job(finished="2024-11-03T05:00:00Z", size=1), job(finished="2024-11-04T05:30:00Z", size=10)]
        assert exported_bytes_today(jobs, pendulum.datetime(2024, 11, 4, 5, 59, tz="UTC")) == 11
        assert exported_bytes_today(jobs, pendulum.datetime(2024, 11, 4, 6, tz="UTC")) == 0

    def test_since_is_any_aware_instant(self):
        jobs = [job(finished="2024-07-15T12:00:00Z", size=1), job(finished="2024-07-15T13:00:00Z", size=10)]
        assert exported_bytes_since(jobs, pendulum.datetime(2024, 7, 15, 7, 30, tz="America/Chicago")) == 10

    def test_a_naive_since_is_refused(self):
        with pytest.raises(MarketoRequestError, match=r"since=.*naive datetime is ambiguous"):
            exported_bytes_since([], dt.datetime(2024, 7, 15))

    def test_no_jobs_no_bytes(self):
        assert exported_bytes_today([], NOW) == 0


class TestBudgetSpent:
    @pytest.mark.parametrize(
        ("exported", "budget_mb", "spent"),
        [
            (0, 100, False),
            (100 * MB - 1, 100, False),
            (100 * MB, 100, True),
            (250 * MB, 100, True),
            (MB // 2, 0.5, True),
            (10**12, None, False),
        ],
    )
    def test_spent_once_the_bytes_reach_the_budget(self, exported, budget_mb, spent):
        assert budget_spent(exported, budget_mb) is spent


class TestValidateDailyBudget:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(None, None), (100, 100.0), (0.5, 0.5), ("250", 250.0), (" 12.5 ", 12.5)],
    )
    def test_valid_budgets(self, value, expected):
        assert validate_daily_budget_mb(value) == expected

    @pytest.mark.parametrize(
        "value", [0, -1, "0", "", "lots", True, float("nan"), float("inf"), [100], {"mb": 100}]
    )
    def test_invalid_budgets_name_the_field_and_the_rule(self, value):
        with pytest.raises(
            MarketoRequestError, match=r"daily_export_budget_mb=.*must be a positive number of MB"
        ):
            validate_daily_budget_mb(value)

    def test_the_error_names_the_field_it_came_from(self):
        with pytest.raises(MarketoRequestError) as caught:
            validate_daily_budget_mb(-5, field="extra.daily_export_budget_mb")
        assert caught.value.key == "extra.daily_export_budget_mb"
        assert str(caught.value).startswith("extra.daily_export_budget_mb=-5 is invalid")


def test_the_sum_matches_the_emulators_own_quota_meter(marketo_connection):
    """The list endpoint's records, summed, equal what Marketo (here the emulator) meters for today."""
    from airflow_provider_marketo_pm.export_kind import PROGRAM_MEMBERS
    from airflow_provider_marketo_pm.hooks.marketo import MarketoHook

    hook = MarketoHook()
    export_ids = []
    for program_id in (1001, 1002, 1003):
        created = hook.create_export(
            PROGRAM_MEMBERS.request(fields=["leadId", "firstName"], filter={"programId": program_id})
        )
        hook.enqueue_export(PROGRAM_MEMBERS, created["exportId"])
        export_ids.append(created["exportId"])
    deadline = time.monotonic() + 30
    while any(hook.get_export_status(PROGRAM_MEMBERS, i)["status"] != "Completed" for i in export_ids):
        assert time.monotonic() < deadline, "the emulator's jobs did not complete"
        time.sleep(0.1)

    jobs = hook.list_exports(PROGRAM_MEMBERS)
    now = pendulum.from_timestamp(marketo_connection.now(), tz="UTC")

    assert marketo_connection.quota_used() > 0
    assert exported_bytes_today(jobs, now) == marketo_connection.quota_used()
    next_day = now.add(days=1)
    assert exported_bytes_today(jobs, next_day) == 0
