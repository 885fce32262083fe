"""The daily quota reset: 12:00 AM US Central, across DST changes, midnight, year end and any input zone."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pendulum
import pytest

from airflow_provider_marketo_pm.daily_quota import (
    DEFAULT_MAX_JITTER,
    QuotaDay,
    QuotaResume,
    last_quota_reset,
    next_quota_reset,
    quota_day_in_use,
    quota_resume_time,
    reset_jitter,
    task_instance_seed,
    time_until_quota_reset,
    use_quota_day,
)
from airflow_provider_marketo_pm.exceptions import MarketoRequestError

CHICAGO = "America/Chicago"
NO_JITTER = dt.timedelta(0)


def utc(*args: int) -> pendulum.DateTime:
    return pendulum.datetime(*args, tz="UTC")


class TestNextQuotaReset:
    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            pytest.param(utc(2024, 1, 15, 12), utc(2024, 1, 16, 6), id="winter: CST midnight is 06:00 UTC"),
            pytest.param(utc(2024, 7, 15, 12), utc(2024, 7, 16, 5), id="summer: CDT midnight is 05:00 UTC"),
            pytest.param(
                utc(2024, 1, 16, 3), utc(2024, 1, 16, 6), id="03:00 UTC is the evening before in Chicago"
            ),
            # Spring forward on Sunday 2024-03-10 (02:00 CST -> 03:00 CDT): that local day lasts 23 hours.
            pytest.param(utc(2024, 3, 10, 5, 59), utc(2024, 3, 10, 6), id="spring: the last CST midnight"),
            pytest.param(
                utc(2024, 3, 10, 7, 30), utc(2024, 3, 11, 5), id="spring: 01:30 CST, before the gap"
            ),
            pytest.param(utc(2024, 3, 10, 8, 30), utc(2024, 3, 11, 5), id="spring: 03:30 CDT, after the gap"),
            # Fall back on Sunday 2024-11-03 (02:00 CDT -> 01:00 CST): that local day lasts 25 hours.
            pytest.param(utc(2024, 11, 3, 4, 59), utc(2024, 11, 3, 5), id="fall: the last CDT midnight"),
            pytest.param(utc(2024, 11, 3, 6, 30), utc(2024, 11, 4, 6), id="fall: the first 01:30 (CDT)"),
            pytest.param(utc(2024, 11, 3, 7, 30), utc(2024, 11, 4, 6), id="fall: the second 01:30 (CST)"),
            pytest.param(
                utc(2024, 12, 31, 23, 30), utc(2025, 1, 1, 6), id="UTC new year, still 2024 in Chicago"
            ),
            pytest.param(utc(2025, 1, 1, 6, 0, 1), utc(2025, 1, 2, 6), id="just after Chicago's new year"),
            pytest.param(utc(2024, 2, 28, 12), utc(2024, 2, 29, 6), id="leap day"),
        ],
    )
    def test_is_the_next_midnight_in_chicago_in_utc(self, now, expected):
        reset = next_quota_reset(now)
        assert reset == expected
        assert reset.timezone_name == "UTC"

    def test_at_midnight_exactly_the_next_reset_is_tomorrow(self):
        midnight = pendulum.datetime(2024, 1, 16, tz=CHICAGO)
        assert next_quota_reset(midnight) == utc(2024, 1, 17, 6)
        assert next_quota_reset(midnight - dt.timedelta(microseconds=1)) == utc(2024, 1, 16, 6)

    @pytest.mark.parametrize(
        "zone",
        [
            pytest.param(dt.UTC, id="stdlib UTC"),
            pytest.param(ZoneInfo("Asia/Tokyo"), id="zoneinfo Tokyo"),
            pytest.param(ZoneInfo("Asia/Kolkata"), id="half-hour offset"),
            pytest.param(ZoneInfo("Pacific/Chatham"), id="quarter-hour offset"),
            pytest.param(dt.timezone(dt.timedelta(hours=-11)), id="fixed offset"),
            pytest.param(pendulum.timezone(CHICAGO), id="pendulum Chicago"),
        ],
    )
    def test_any_input_zone_gives_the_same_instant(self, zone):
        instant = dt.datetime(2024, 3, 10, 7, 30, tzinfo=dt.UTC)  # 01:30 CST on the spring-forward day
        assert next_quota_reset(instant.astimezone(zone)) == utc(2024, 3, 11, 5)
        assert last_quota_reset(instant.astimezone(zone)) == utc(2024, 3, 10, 6)

    def test_defaults_to_the_current_time(self):
        before = pendulum.now("UTC")
        reset = next_quota_reset()
        assert before < reset <= before + dt.timedelta(hours=25)
        assert reset.in_timezone(CHICAGO).format("HH:mm:ss") == "00:00:00"


class TestLastQuotaReset:
    def test_at_midnight_exactly_the_quota_day_starts_now(self):
        midnight = pendulum.datetime(2024, 11, 4, tz=CHICAGO)
        assert last_quota_reset(midnight) == midnight
        assert last_quota_reset(midnight - dt.timedelta(microseconds=1)) == utc(2024, 11, 3, 5)

    def test_every_hour_of_two_years_lies_between_two_chicago_midnights(self):
        # Covers four DST changes: the quota day is 23, 24 or 25 hours long and always starts at 00:00.
        now = utc(2024, 1, 1, 0, 17)
        lengths = set()
        while now < utc(2026, 1, 1):
            last, upcoming = last_quota_reset(now), next_quota_reset(now)
            assert last <= now < upcoming
            assert last.in_timezone(CHICAGO).format("HH:mm:ss") == "00:00:00"
            assert upcoming.in_timezone(CHICAGO).format("HH:mm:ss") == "00:00:00"
            lengths.add((upcoming - last).total_seconds() / 3600)
            now = now.add(hours=1)
        assert lengths == {23, 24, 25}


class TestNaiveDatetimesAreRefused:
    @pytest.mark.parametrize("function", [next_quota_reset, last_quota_reset, time_until_quota_reset])
    def test_naive_datetime(self, function):
        with pytest.raises(MarketoRequestError, match=r"now=.*naive datetime is ambiguous") as caught:
            function(dt.datetime(2024, 3, 10, 1, 30))
        assert caught.value.key == "now"

    def test_not_a_datetime(self):
        with pytest.raises(MarketoRequestError, match="must be an aware datetime, not str"):
            next_quota_reset("2024-03-10T01:30:00Z")  # type: ignore[arg-type]


class TestJitter:
    def test_seeded_jitter_is_the_same_every_time(self):
        seed = "marketo_pm_backfill.start_export.run_1.3"
        first = reset_jitter(dt.timedelta(minutes=5), seed=seed)
        assert all(reset_jitter(dt.timedelta(minutes=5), seed=seed) == first for _ in range(5))

    def test_seeds_spread_tasks_over_the_bound(self):
        bound = dt.timedelta(minutes=5)
        delays = {reset_jitter(bound, seed=f"task-{index}") for index in range(200)}
        assert all(dt.timedelta(0) <= delay <= bound for delay in delays)
        assert len(delays) > 190
        assert max(delays) - min(delays) > dt.timedelta(minutes=4)

    def test_unseeded_jitter_stays_within_the_bound(self):
        bound = dt.timedelta(seconds=2)
        delays = [reset_jitter(bound) for _ in range(100)]
        assert all(dt.timedelta(0) <= delay <= bound for delay in delays)
        assert len(set(delays)) > 1

    def test_zero_bound_means_no_jitter(self):
        assert reset_jitter(NO_JITTER, seed=7) == dt.timedelta(0)

    @pytest.mark.parametrize("bad", [dt.timedelta(seconds=-1), 300, None])
    def test_bound_must_be_a_non_negative_timedelta(self, bad):
        with pytest.raises(MarketoRequestError, match=r"max_jitter=.*must be a timedelta of zero or more"):
            reset_jitter(bad)

    def test_default_bound_is_a_few_minutes(self):
        assert dt.timedelta(minutes=5) == DEFAULT_MAX_JITTER


class TestWaitingForTheReset:
    def test_resume_time_is_the_reset_plus_the_seeded_jitter(self):
        now = utc(2024, 1, 15, 12)
        resume = quota_resume_time(now, seed=42)
        assert resume == utc(2024, 1, 16, 6) + reset_jitter(DEFAULT_MAX_JITTER, seed=42)
        assert resume.timezone_name == "UTC"

    def test_resume_time_is_never_before_the_reset_nor_after_the_bound(self):
        now = utc(2024, 7, 15, 12)
        for seed in range(50):
            resume = quota_resume_time(now, max_jitter=dt.timedelta(seconds=30), seed=seed)
            assert utc(2024, 7, 16, 5) <= resume <= utc(2024, 7, 16, 5, 0, 30)

    @pytest.mark.parametrize(
        ("now", "hours"),
        [
            pytest.param(pendulum.datetime(2024, 3, 10, tz=CHICAGO), 23, id="spring-forward day lasts 23 h"),
            pytest.param(pendulum.datetime(2024, 11, 3, tz=CHICAGO), 25, id="fall-back day lasts 25 h"),
            pytest.param(pendulum.datetime(2024, 6, 1, tz=CHICAGO), 24, id="ordinary day"),
            pytest.param(
                pendulum.datetime(2024, 12, 31, 23, 59, tz=CHICAGO), 1 / 60, id="a minute to new year"
            ),
        ],
    )
    def test_how_long_to_wait(self, now, hours):
        wait = time_until_quota_reset(now, max_jitter=NO_JITTER)
        assert type(wait) is dt.timedelta
        assert wait == dt.timedelta(hours=hours)

    def test_wait_includes_the_jitter(self):
        now = utc(2024, 1, 15, 23)
        jitter = reset_jitter(dt.timedelta(minutes=2), seed="t")
        assert time_until_quota_reset(now, max_jitter=dt.timedelta(minutes=2), seed="t") == (
            dt.timedelta(hours=7) + jitter
        )

    def test_wait_is_positive_even_at_the_reset(self):
        midnight = pendulum.datetime(2024, 1, 16, tz=CHICAGO)
        assert time_until_quota_reset(midnight, max_jitter=NO_JITTER) == dt.timedelta(hours=24)


class TestTheQuotaDayCollaborator:
    """One object holds the clock and the rule; start operators and MarketoRetryPolicy ask the one in use."""

    @pytest.fixture
    def frozen_at(self, monkeypatch):
        def at(instant: pendulum.DateTime) -> None:
            monkeypatch.setattr(pendulum, "now", lambda tz=None: instant.in_timezone(tz or "UTC"))

        return at

    def test_a_task_instance_resumes_just_after_the_reset_with_its_own_jitter(self, frozen_at):
        now = utc(2024, 1, 15, 20)  # 14:00 CST
        frozen_at(now)
        ti = SimpleNamespace(dag_id="backfill", task_id="start", run_id="manual__1", map_index=3)

        resume = QuotaDay().resume({"ti": ti})

        jitter = reset_jitter(DEFAULT_MAX_JITTER, seed="backfill/start/manual__1/3")
        assert resume == QuotaResume(now, utc(2024, 1, 16, 6), utc(2024, 1, 16, 6) + jitter)
        assert resume.wait == dt.timedelta(hours=10) + jitter
        assert resume.resume_at == quota_resume_time(now, seed=task_instance_seed({"ti": ti}))

    def test_the_jitter_bound_is_the_callers(self, frozen_at):
        frozen_at(utc(2024, 7, 15, 12))
        assert QuotaDay().resume(None, max_jitter=NO_JITTER).wait == dt.timedelta(hours=17)

    def test_the_day_began_at_the_last_reset_on_its_clock(self, frozen_at):
        frozen_at(utc(2024, 7, 15, 12))
        assert QuotaDay().last_reset() == utc(2024, 7, 15, 5)

    def test_the_seed_is_the_task_instances_identity(self):
        ti = SimpleNamespace(dag_id="d", task_id="t", run_id="r", map_index=-1)
        assert task_instance_seed({"ti": ti}) == "d/t/r/-1"
        assert task_instance_seed({}) is None
        assert task_instance_seed(None) is None

    def test_marketos_rule_is_in_use_unless_a_block_replaces_it(self):
        assert type(quota_day_in_use()) is QuotaDay
        stand_in = QuotaDay()

        def fail_inside() -> None:
            with use_quota_day(stand_in) as in_use:
                assert in_use is stand_in
                assert quota_day_in_use() is stand_in
                raise RuntimeError("the block fails")

        with pytest.raises(RuntimeError, match="the block fails"):
            fail_inside()

        assert quota_day_in_use() is not stand_in
        assert type(quota_day_in_use()) is QuotaDay
