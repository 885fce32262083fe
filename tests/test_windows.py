"""split_updated_at and batch_program_ids: the shapes Marketo's export filter accepts, and plans of them."""

from __future__ import annotations

import datetime as dt
import itertools

import pendulum
import pytest

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.windows import (
    DEFAULT_EXPORT_PATH,
    batch_program_ids,
    plan_last_days,
    plan_updated_at,
    split_updated_at,
)

UTC = pendulum.timezone("UTC")


def _parse(stamp: str) -> pendulum.DateTime:
    parsed = pendulum.parse(stamp)
    assert isinstance(parsed, pendulum.DateTime)
    return parsed


def assert_well_formed(windows: list[dict[str, str]], start: str, end: str, max_days: int = 31) -> None:
    """Contiguous, non-empty, no longer than max_days, exactly covering [start, end)."""
    assert windows, "at least one window"
    assert windows[0]["startAt"] == start
    assert windows[-1]["endAt"] == end
    for window in windows:
        assert set(window) == {"startAt", "endAt"}
        lower, upper = _parse(window["startAt"]), _parse(window["endAt"])
        assert lower < upper
        assert upper - lower <= dt.timedelta(days=max_days)
    for before, after in itertools.pairwise(windows):
        assert before["endAt"] == after["startAt"]


class TestSplitUpdatedAt:
    def test_range_shorter_than_one_window_is_one_window(self):
        windows = split_updated_at(
            pendulum.datetime(2024, 3, 1, tz="UTC"), pendulum.datetime(2024, 3, 2, tz="UTC")
        )
        assert windows == [{"startAt": "2024-03-01T00:00:00Z", "endAt": "2024-03-02T00:00:00Z"}]

    def test_exact_multiple_of_31_days_has_no_empty_tail(self):
        start = pendulum.datetime(2024, 1, 1, tz="UTC")
        windows = split_updated_at(start, start.add(days=62))
        assert windows == [
            {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-02-01T00:00:00Z"},
            {"startAt": "2024-02-01T00:00:00Z", "endAt": "2024-03-03T00:00:00Z"},
        ]

    def test_one_second_over_a_window_makes_a_one_second_tail(self):
        start = pendulum.datetime(2024, 1, 1, tz="UTC")
        windows = split_updated_at(start, start.add(days=31, seconds=1))
        assert windows[-1] == {"startAt": "2024-02-01T00:00:00Z", "endAt": "2024-02-01T00:00:01Z"}

    def test_year_end_is_crossed_without_gap(self):
        windows = split_updated_at("2023-12-15T00:00:00Z", "2024-01-20T00:00:00Z")
        assert windows == [
            {"startAt": "2023-12-15T00:00:00Z", "endAt": "2024-01-15T00:00:00Z"},
            {"startAt": "2024-01-15T00:00:00Z", "endAt": "2024-01-20T00:00:00Z"},
        ]

    def test_leap_day_counts_as_a_day(self):
        windows = split_updated_at("2024-02-01", "2024-04-01")
        assert windows[0] == {"startAt": "2024-02-01T00:00:00Z", "endAt": "2024-03-03T00:00:00Z"}
        assert_well_formed(windows, "2024-02-01T00:00:00Z", "2024-04-01T00:00:00Z")

    def test_leap_year_splits_into_twelve_windows(self):
        windows = split_updated_at("2024-01-01", "2025-01-01")
        # 366 days / 31 = 11.8 -> 12 windows, the last one 25 days
        assert len(windows) == 12
        assert windows[-1] == {"startAt": "2024-12-07T00:00:00Z", "endAt": "2025-01-01T00:00:00Z"}
        assert_well_formed(windows, "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z")

    @pytest.mark.parametrize(
        ("end_of_month", "next_month"),
        [("2023-02-28", "2023-03-01"), ("2024-02-29", "2024-03-01"), ("2024-04-30", "2024-05-01")],
    )
    def test_month_ends(self, end_of_month, next_month):
        windows = split_updated_at(end_of_month, next_month)
        assert windows == [{"startAt": f"{end_of_month}T00:00:00Z", "endAt": f"{next_month}T00:00:00Z"}]

    def test_spring_forward_in_local_zone_keeps_windows_at_31_times_24_hours(self):
        # Europe/Paris jumps from 02:00 to 03:00 on 2024-03-31: local midnights are 23 hours apart.
        paris = "Europe/Paris"
        start = pendulum.datetime(2024, 3, 1, tz=paris)
        end = pendulum.datetime(2024, 5, 1, tz=paris)
        windows = split_updated_at(start, end)
        assert windows[0] == {"startAt": "2024-02-29T23:00:00Z", "endAt": "2024-03-31T23:00:00Z"}
        assert_well_formed(windows, "2024-02-29T23:00:00Z", "2024-04-30T22:00:00Z")

    def test_fall_back_in_local_zone_is_converted_to_utc(self):
        # America/Chicago (Marketo's quota clock) falls back on 2024-11-03: that local day lasts 25 hours.
        chicago = "America/Chicago"
        start = pendulum.datetime(2024, 11, 3, tz=chicago)
        end = pendulum.datetime(2024, 11, 4, tz=chicago)
        windows = split_updated_at(start, end)
        assert windows == [{"startAt": "2024-11-03T05:00:00Z", "endAt": "2024-11-04T06:00:00Z"}]

    def test_ambiguous_local_hour_resolves_to_distinct_utc_instants(self):
        first = pendulum.datetime(2024, 11, 3, 1, 30, tz="America/Chicago", fold=0)
        second = pendulum.datetime(2024, 11, 3, 1, 30, tz="America/Chicago", fold=1)
        assert split_updated_at(first, second) == [
            {"startAt": "2024-11-03T06:30:00Z", "endAt": "2024-11-03T07:30:00Z"}
        ]

    def test_accepts_stdlib_aware_datetimes(self):
        start = dt.datetime(2024, 6, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        end = dt.datetime(2024, 6, 2, tzinfo=dt.UTC)
        assert split_updated_at(start, end) == [
            {"startAt": "2024-05-31T22:00:00Z", "endAt": "2024-06-02T00:00:00Z"}
        ]

    def test_iso_strings_with_offset_are_converted_to_utc(self):
        windows = split_updated_at("2024-06-01T02:00:00+02:00", "2024-06-01T12:00:00Z")
        assert windows == [{"startAt": "2024-06-01T00:00:00Z", "endAt": "2024-06-01T12:00:00Z"}]

    def test_iso_date_times_without_offset_are_refused_as_in_filters(self):
        # One rule with the create filter (validation.parse_instant): a date-time without an offset
        # would be read in the machine's zone, so it is refused; a bare date is midnight UTC.
        with pytest.raises(MarketoRequestError, match="naive") as caught:
            split_updated_at("2024-06-01", "2024-06-01T12:00:00")
        assert caught.value.key == "end"

    def test_dates_are_midnight_utc(self):
        windows = split_updated_at(pendulum.date(2024, 1, 1), dt.date(2024, 1, 2))
        assert windows == [{"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-02T00:00:00Z"}]

    def test_milliseconds_never_reach_marketo_and_the_range_only_widens(self):
        start = pendulum.datetime(2024, 1, 1, 0, 0, 0, 500_000, tz="UTC")
        end = pendulum.datetime(2024, 1, 1, 0, 0, 9, 1, tz="UTC")
        assert split_updated_at(start, end) == [
            {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-01T00:00:10Z"}
        ]

    def test_smaller_max_days(self):
        windows = split_updated_at("2024-01-01", "2024-01-10", max_days=7)
        assert [w["endAt"] for w in windows] == ["2024-01-08T00:00:00Z", "2024-01-10T00:00:00Z"]

    def test_long_range_is_contiguous_and_bounded(self):
        windows = split_updated_at("2022-01-01T06:30:00Z", "2026-10-31T00:00:00Z")
        assert_well_formed(windows, "2022-01-01T06:30:00Z", "2026-10-31T00:00:00Z")

    @pytest.mark.parametrize(
        ("start", "end"),
        [
            ("2024-01-02", "2024-01-01"),
            ("2024-01-01", "2024-01-01"),
            ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
        ],
    )
    def test_start_not_before_end_is_refused(self, start, end):
        with pytest.raises(MarketoRequestError, match="must be before end"):
            split_updated_at(start, end)

    def test_naive_datetime_is_refused(self):
        with pytest.raises(MarketoRequestError, match="naive"):
            split_updated_at(dt.datetime(2024, 1, 1), pendulum.datetime(2024, 2, 1, tz="UTC"))

    @pytest.mark.parametrize("bad", [None, 20240101, 1.5, ["2024-01-01"], b"2024-01-01"])
    def test_bad_types_are_refused_with_the_type_named(self, bad):
        with pytest.raises(MarketoRequestError, match=type(bad).__name__):
            split_updated_at(bad, "2024-02-01")

    @pytest.mark.parametrize("bad", ["yesterday", "2024-13-01", "", "P1D"])
    def test_unparseable_strings_are_refused(self, bad):
        with pytest.raises(MarketoRequestError, match="start="):
            split_updated_at(bad, "2024-02-01")

    @pytest.mark.parametrize("max_days", [0, 32, -1, True, 7.0, "31"])
    def test_max_days_outside_marketo_limit_is_refused(self, max_days):
        with pytest.raises(MarketoRequestError, match="max_days"):
            split_updated_at("2024-01-01", "2024-02-01", max_days=max_days)

    def test_refusals_are_value_errors(self):
        with pytest.raises(ValueError, match="must be before end"):
            split_updated_at("2024-01-01", "2023-01-01")


class TestBatchProgramIds:
    def test_batches_in_tens_in_order(self):
        batches = batch_program_ids(range(1001, 1026))
        assert [len(b) for b in batches] == [10, 10, 5]
        assert batches[0][0] == 1001
        assert batches[-1][-1] == 1025

    def test_exact_multiple_of_ten(self):
        assert [len(b) for b in batch_program_ids(range(1, 21))] == [10, 10]

    def test_duplicates_dropped_and_numeric_strings_accepted(self):
        assert batch_program_ids([1044, "1045", 1044, "1046"]) == [[1044, 1045, 1046]]

    @pytest.mark.parametrize("bad", [" 1046 ", "01044", "+5"])
    def test_program_ids_follow_the_filter_rule(self, bad):
        # One parser with the create filter (validation.parse_program_id): canonical decimal text only.
        with pytest.raises(MarketoRequestError, match="leading zeros"):
            batch_program_ids([bad])

    def test_smaller_batches(self):
        assert batch_program_ids([1, 2, 3], size=2) == [[1, 2], [3]]

    @pytest.mark.parametrize("size", [0, 11, True, "10"])
    def test_size_outside_marketo_limit_is_refused(self, size):
        with pytest.raises(MarketoRequestError, match="size"):
            batch_program_ids([1], size=size)

    @pytest.mark.parametrize("bad", [[], [0], [-5], [True], [1.5], ["abc"], [None]])
    def test_bad_ids_are_refused(self, bad):
        with pytest.raises(MarketoRequestError, match="program"):
            batch_program_ids(bad)

    def test_a_string_is_not_a_list_of_ids(self):
        with pytest.raises(MarketoRequestError, match="not a string"):
            batch_program_ids("1044,1045")


TWELVE_PROGRAMS = batch_program_ids(range(1001, 1013))  # [[1001..1010], [1011, 1012]]


class TestPlanUpdatedAt:
    def test_every_window_times_every_batch_is_one_job_with_its_own_file(self):
        plan = plan_updated_at("2024-01-01", "2024-03-01", TWELVE_PROGRAMS)

        assert plan.windows == split_updated_at("2024-01-01", "2024-03-01")
        assert plan.batches == TWELVE_PROGRAMS
        assert [(e["export_filter"]["updatedAt"]["startAt"][:10], e["path"]) for e in plan.exports] == [
            ("2024-01-01", "updated_from=2024-01-01/updated_to=2024-02-01/batch=00.csv"),
            ("2024-01-01", "updated_from=2024-01-01/updated_to=2024-02-01/batch=01.csv"),
            ("2024-02-01", "updated_from=2024-02-01/updated_to=2024-03-01/batch=00.csv"),
            ("2024-02-01", "updated_from=2024-02-01/updated_to=2024-03-01/batch=01.csv"),
        ]
        assert plan.exports[1]["export_filter"] == {
            "programIds": [1011, 1012],
            "updatedAt": {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-02-01T00:00:00Z"},
        }
        assert str(plan) == "2 windows x 2 batches = 4 export jobs"

    def test_a_plan_of_one_job_reads_in_the_singular(self):
        assert (
            str(plan_updated_at("2024-01-01", "2024-01-10", [[1044]])) == "1 window x 1 batch = 1 export job"
        )

    def test_the_path_template_has_the_window_the_plans_last_day_the_batch_and_the_job(self):
        plan = plan_updated_at(
            "2024-01-01",
            "2024-02-10",
            TWELVE_PROGRAMS,
            path="{last_day}/{start_day}_{end_day}/{batch}-{job:03d}",
        )

        assert [e["path"] for e in plan.exports] == [
            "2024-02-09/2024-01-01_2024-02-01/0-000",
            "2024-02-09/2024-01-01_2024-02-01/1-001",
            "2024-02-09/2024-02-01_2024-02-10/0-002",
            "2024-02-09/2024-02-01_2024-02-10/1-003",
        ]

    def test_a_range_ending_mid_day_has_that_day_as_its_last(self):
        plan = plan_updated_at("2024-03-01", "2024-03-05T12:00:00Z", [[1044]], path="{last_day}.csv")
        assert [e["path"] for e in plan.exports] == ["2024-03-05.csv"]

    def test_a_path_two_jobs_would_share_is_refused(self):
        with pytest.raises(MarketoRequestError, match=r"two jobs the same file 'members/2024-01-01.csv'"):
            plan_updated_at("2024-01-01", "2024-02-10", TWELVE_PROGRAMS, path="members/{start_day}.csv")

    @pytest.mark.parametrize(
        ("path", "match"),
        [
            ("members/{ds}.csv", r"unknown placeholder \{ds\}"),
            ("members/{batch:02d}/{start_day:02d}.csv", "not a usable template"),
            ("members/{batch.csv", "not a usable template"),
            ("", "file path template"),
            ("/", "file path template"),
        ],
    )
    def test_a_bad_path_template_is_refused_naming_it(self, path, match):
        with pytest.raises(MarketoRequestError, match=match) as caught:
            plan_updated_at("2024-01-01", "2024-01-10", [[1044]], path=path)
        assert caught.value.key == "path"

    @pytest.mark.parametrize(
        ("batches", "match"),
        [
            ([1044, 1045], "lists of 1 to 10 program ids"),  # ids, not batches of them
            ([], "lists of 1 to 10 program ids"),
            ([[]], "lists of 1 to 10 program ids"),
            ([list(range(1001, 1012))], "lists of 1 to 10 program ids"),
            ("1044", "lists of 1 to 10 program ids"),
            ([[1044], [1045, 1044]], "program 1044 would export twice"),
            ([[1044, "01045"]], "leading zeros"),
        ],
    )
    def test_batches_are_checked_as_marketo_takes_them(self, batches, match):
        with pytest.raises(MarketoRequestError, match=match):
            plan_updated_at("2024-01-01", "2024-01-10", batches)

    def test_ids_given_as_text_become_integers(self):
        plan = plan_updated_at("2024-01-01", "2024-01-10", [["1044", 1045]])
        assert plan.exports[0]["export_filter"]["programIds"] == [1044, 1045]

    def test_bad_dates_are_refused_as_split_updated_at_refuses_them(self):
        with pytest.raises(MarketoRequestError, match="must be before end"):
            plan_updated_at("2024-02-01", "2024-01-01", [[1044]])


class TestPlanLastDays:
    def test_one_day_up_to_midnight_is_the_day_before(self):
        plan = plan_last_days(
            1,
            "2024-03-05T00:00:00+00:00",
            [[1044, 1001]],
            path="daily/updated_date={last_day}/batch={job:02d}.csv",
        )

        assert plan.exports == [
            {
                "export_filter": {
                    "programIds": [1044, 1001],
                    "updatedAt": {"startAt": "2024-03-04T00:00:00Z", "endAt": "2024-03-05T00:00:00Z"},
                },
                "path": "daily/updated_date=2024-03-04/batch=00.csv",
            }
        ]

    def test_the_last_31_days_are_one_window(self):
        plan = plan_last_days(31, pendulum.datetime(2024, 3, 5, tz="UTC"), TWELVE_PROGRAMS)

        assert plan.windows == [{"startAt": "2024-02-03T00:00:00Z", "endAt": "2024-03-05T00:00:00Z"}]
        assert len(plan.exports) == 2

    def test_more_than_31_days_are_contiguous_windows_ending_at_until(self):
        plan = plan_last_days(90, "2024-03-05", [[1044]])

        assert_well_formed(plan.windows, "2023-12-06T00:00:00Z", "2024-03-05T00:00:00Z")
        assert len(plan.windows) == 3

    def test_days_are_24_hours_in_utc_even_across_a_dst_change(self):
        until = pendulum.datetime(2024, 3, 11, tz="America/Chicago")  # the day after spring forward
        plan = plan_last_days(2, until, [[1044]])

        assert plan.windows == [{"startAt": "2024-03-09T05:00:00Z", "endAt": "2024-03-11T05:00:00Z"}]

    def test_a_rolling_window_follows_until_to_the_second(self):
        plan = plan_last_days(7, "2024-03-05T14:37:12Z", [[1044]])
        assert plan.windows == [{"startAt": "2024-02-27T14:37:12Z", "endAt": "2024-03-05T14:37:12Z"}]

    @pytest.mark.parametrize("days", [0, -1, 1.5, "7", True, None])
    def test_days_must_be_a_whole_number_of_at_least_one(self, days):
        with pytest.raises(MarketoRequestError, match="days") as caught:
            plan_last_days(days, "2024-03-05", [[1044]])
        assert caught.value.key == "days"

    def test_a_naive_until_is_refused_naming_it(self):
        with pytest.raises(MarketoRequestError, match="naive") as caught:
            plan_last_days(1, dt.datetime(2024, 3, 5), [[1044]])
        assert caught.value.key == "until"

    def test_the_default_path_is_one_file_per_window_and_batch(self):
        plan = plan_last_days(1, "2024-03-05", TWELVE_PROGRAMS)
        assert [e["path"] for e in plan.exports] == [
            DEFAULT_EXPORT_PATH.format(start_day="2024-03-04", end_day="2024-03-05", batch=n) for n in (0, 1)
        ]
