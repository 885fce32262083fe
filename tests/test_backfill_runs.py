"""A backfill as DAG runs Airflow can map: one run when it fits, else one per window, else refused at once."""

from __future__ import annotations

import datetime as dt

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_marketo_pm import backfill_runs
from airflow_provider_marketo_pm.backfill_runs import BackfillRuns, max_map_length, plan_backfill_runs
from airflow_provider_marketo_pm.exceptions import MarketoPlanTooLargeError, MarketoRequestError
from airflow_provider_marketo_pm.windows import batch_program_ids, plan_updated_at

TEN_YEARS = ("2016-01-01", "2026-01-01")  # 3,653 days: 118 windows of 31 days


def programs(count: int) -> list[list[int]]:
    return batch_program_ids(range(100_000, 100_000 + count))


class TestOneRunOrOnePerWindow:
    def test_a_plan_within_one_run_maps_all_its_jobs_in_that_run(self):
        plan = plan_backfill_runs("2024-01-01", "2024-04-01", programs(20))

        assert (plan.split, plan.jobs, plan.runs) == (False, 6, 1)
        assert (
            str(plan) == "3 windows x 2 batches = 6 export jobs, in one DAG run (at most 1024 jobs per run)"
        )
        assert plan.exports() == plan_updated_at("2024-01-01", "2024-04-01", plan.batches).exports

    def test_ten_years_of_5000_programs_is_one_run_of_500_jobs_per_window(self):
        plan = plan_backfill_runs(*TEN_YEARS, programs(5000))

        assert (plan.split, len(plan.windows), len(plan.batches)) == (True, 118, 500)
        assert (plan.jobs, plan.runs) == (59_000, 118)
        assert str(plan) == (
            "118 windows x 500 batches = 59,000 export jobs, in 118 DAG runs of 500 jobs "
            "(one per window; at most 1024 jobs per run)"
        )

    def test_each_window_run_makes_the_jobs_and_files_of_the_whole_plan_for_its_window(self):
        path = "backfill/{start_day}/{last_day}/job={job}.csv"
        whole = plan_updated_at("2024-01-01", "2024-07-01", programs(30), path=path).exports
        plan = plan_backfill_runs("2024-01-01", "2024-07-01", programs(30), path=path, max_jobs_per_run=3)

        assert (plan.split, plan.runs) == (True, 6)
        assert [job for n in range(plan.runs) for job in plan.window_exports(n)] == whole

    def test_the_plan_crosses_to_the_window_runs_as_json_and_back(self):
        plan = plan_backfill_runs("2024-01-01", "2024-07-01", programs(30), max_jobs_per_run=3)

        assert BackfillRuns.from_dict(plan.as_dict()) == plan
        with pytest.raises(
            MarketoRequestError, match="window=6 is invalid: must be a window number from 0 to 5"
        ):
            plan.window_exports(6)

    def test_max_jobs_per_run_splits_a_plan_that_one_run_could_hold(self):
        assert plan_backfill_runs("2024-01-01", "2024-04-01", programs(20), max_jobs_per_run=6).split is False
        assert plan_backfill_runs("2024-01-01", "2024-04-01", programs(20), max_jobs_per_run=5).split is True


class TestRefusedBeforeAnything:
    def test_a_window_with_more_batches_than_one_run_maps_names_the_numbers_option_and_remedy(self):
        with pytest.raises(MarketoPlanTooLargeError) as caught:
            plan_backfill_runs(*TEN_YEARS, programs(10_300))

        assert isinstance(caught.value, AirflowFailException), "final: a retry meets the same numbers"
        assert str(caught.value) == (
            "max_jobs_per_run=1024 is invalid: the plan has 118 windows of 31 days x 1,030 batches of 10 "
            "programs = 121,540 export jobs; one window alone has 1,030 jobs, more than one DAG run maps "
            "([core] max_map_length=1024). Back fill at most 10,240 programs at a time (split program_ids "
            "into several backfills), or raise [core] max_map_length (the API server's and the workers')"
        )

    def test_more_windows_than_max_runs_names_the_numbers_and_the_longest_range(self):
        with pytest.raises(MarketoPlanTooLargeError) as caught:
            plan_backfill_runs(*TEN_YEARS, programs(5000), max_runs=100)

        assert str(caught.value) == (
            "max_runs=100 is invalid: the plan has 118 windows of 31 days x 500 batches of 10 programs = "
            "59,000 export jobs in 118 DAG runs of 500 jobs (one per window), more than max_runs=100; "
            "[core] max_map_length=1024. Shorten the range to at most 3,100 days per backfill, or raise "
            "max_runs (at most [core] max_map_length)"
        )

    def test_the_runs_are_started_by_one_mapped_task_so_never_more_than_max_map_length(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "100")

        with pytest.raises(
            MarketoPlanTooLargeError, match=r"118 DAG runs .* more than \[core\] max_map_length=100"
        ):
            plan_backfill_runs(*TEN_YEARS, programs(50))

    def test_the_limit_is_airflows_max_map_length_as_configured(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "2048")

        assert max_map_length() == 2048
        assert plan_backfill_runs("2024-01-01", "2024-02-01", programs(15_000)).batches[-1][-1] == 114_999

    def test_a_per_run_limit_above_airflows_is_refused(self):
        with pytest.raises(
            MarketoPlanTooLargeError, match=r"max_jobs_per_run=2000 is invalid: .*max_map_length=1024"
        ):
            plan_backfill_runs("2024-01-01", "2024-02-01", programs(10), max_jobs_per_run=2000)

    @pytest.mark.parametrize("value", [0, -1, True, 2.5, "10"])
    def test_limits_are_whole_numbers(self, value):
        with pytest.raises(MarketoRequestError, match="must be a whole number >= 1"):
            plan_backfill_runs("2024-01-01", "2024-02-01", programs(10), max_runs=value)

    def test_a_huge_range_is_counted_not_built_before_it_is_refused(self, monkeypatch):
        def refuse(*args, **kwargs):
            raise AssertionError("windows were built for a plan refused by its count")

        monkeypatch.setattr(backfill_runs, "split_updated_at", refuse)
        days = (dt.date(2999, 12, 31) - dt.date(1970, 1, 1)).days
        with pytest.raises(
            MarketoPlanTooLargeError, match=f"{-(-days // 31):,} windows of 31 days x 2,000 batches"
        ):
            plan_backfill_runs("1970-01-01", "2999-12-31", programs(20_000))
