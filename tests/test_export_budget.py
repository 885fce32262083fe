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
    exported_bytes_since_across_kinds,
    exported_bytes_today,
    exported_bytes_today_across_kinds,
    list_paths,
    validate_daily_budget_mb,
)
from airflow_provider_marketo_pm.kinds.activities import build_activity_export_request
from airflow_provider_marketo_pm.kinds.custom_objects import build_custom_object_export_request, export_path
from airflow_provider_marketo_pm.kinds.leads import build_lead_export_request

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
    from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
    from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS

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


PROGRAM_MEMBERS_LIST = "/bulk/v1/program/members/export.json"
LEADS_LIST = "/bulk/v1/leads/export.json"
ACTIVITIES_LIST = "/bulk/v1/activities/export.json"
CARS_LIST = "/bulk/v1/customobjects/car_c/export.json"


class TestAcrossKinds:
    def every_list(self, **lists):
        """Each kind's list answer (empty unless given), by path."""
        listed = {PROGRAM_MEMBERS_LIST: [], LEADS_LIST: [], ACTIVITIES_LIST: [], CARS_LIST: []}
        listed.update({path: lists[name] for name, path in (
            ("members", PROGRAM_MEMBERS_LIST), ("leads", LEADS_LIST),
            ("activities", ACTIVITIES_LIST), ("cars", CARS_LIST),
        ) if name in lists})  # fmt: skip
        return listed

    def test_the_lists_of_every_kind_and_of_each_custom_object_in_use(self):
        assert list_paths(["car_c", "contract_c", "car_c"]) == (
            PROGRAM_MEMBERS_LIST,
            LEADS_LIST,
            ACTIVITIES_LIST,
            CARS_LIST,
            "/bulk/v1/customobjects/contract_c/export.json",
        )
        assert list_paths("car_c")[-1] == CARS_LIST  # one name, not its letters
        assert list_paths() == (PROGRAM_MEMBERS_LIST, LEADS_LIST, ACTIVITIES_LIST)

    def test_a_bad_api_name_is_refused(self):
        with pytest.raises(MarketoRequestError) as caught:
            list_paths(["car_c/../../x"])
        assert caught.value.key == "api_name"

    def test_sums_completed_jobs_of_every_kind_since_the_reset(self):
        listed = self.every_list(
            members=[job(finished="2024-07-15T06:00:00Z", size=1 * MB)],
            leads=[job(finished="2024-07-15T07:00:00Z", size=2 * MB), job("Failed", finished=RESET)],
            activities=[
                job(finished="2024-07-15T04:59:59Z", size=100 * MB),
                job(finished=RESET, size=4 * MB),
            ],
            cars=[job(finished="2024-07-15T17:00:00Z", size=8 * MB)],
        )

        assert (
            exported_bytes_today_across_kinds(listed, custom_object_api_names=["car_c"], now=NOW) == 15 * MB
        )
        assert exported_bytes_since_across_kinds(listed, NOW, custom_object_api_names=["car_c"]) == 0

    def test_a_job_listed_twice_in_one_list_counts_once(self):
        twice = job(finished="2024-07-15T06:00:00Z", size=3 * MB, exportId="a")
        listed = self.every_list(leads=[twice, dict(twice)], activities=[dict(twice, exportId="b")])

        assert exported_bytes_today_across_kinds(listed, custom_object_api_names=["car_c"], now=NOW) == 6 * MB

    def test_records_that_are_no_objects_count_nothing(self):
        listed = self.every_list(leads=["a", None, job(finished=RESET, size=5)])

        assert exported_bytes_today_across_kinds(listed, custom_object_api_names=["car_c"], now=NOW) == 5

    def test_a_missing_list_is_refused_as_it_would_hide_a_kinds_bytes(self):
        listed = self.every_list()
        del listed[ACTIVITIES_LIST]

        with pytest.raises(MarketoRequestError) as caught:
            exported_bytes_today_across_kinds(listed, custom_object_api_names=["car_c"], now=NOW)

        assert caught.value.key == "listed"
        assert caught.value.rule.endswith(f"missing {ACTIVITIES_LIST}")

    def test_a_custom_object_list_not_named_in_use_is_refused(self):
        with pytest.raises(MarketoRequestError, match="needs its apiName in custom_object_api_names"):
            exported_bytes_today_across_kinds(self.every_list(), now=NOW)

    def test_the_lists_must_be_a_mapping(self):
        with pytest.raises(MarketoRequestError, match="must map each list endpoint to its jobs"):
            exported_bytes_today_across_kinds([[job(size=1)]], now=NOW)  # type: ignore[arg-type]


def _all_jobs(api, path):
    """Every job record of one list endpoint, page by page."""
    jobs, params = [], {"batchSize": 2}
    while True:
        page = api.call("GET", path, params=params)
        assert page["success"], page
        jobs += page["result"]
        if "nextPageToken" not in page:
            return jobs
        params = {"batchSize": 2, "nextPageToken": page["nextPageToken"]}


def test_every_kinds_lists_summed_equal_the_emulators_one_quota_meter(marketo_emulator):
    """This API user's exports of all four kinds are on their lists; together they are the day's meter."""
    from testing.emulator_client import RawMarketoClient

    api = RawMarketoClient(marketo_emulator)
    month = {"startAt": "2026-09-01", "endAt": "2026-10-01"}
    bodies = [
        (
            "/bulk/v1/program/members/export",
            {"fields": ["leadId", "firstName"], "filter": {"programId": 1044}},
        ),
        ("/bulk/v1/program/members/export", {"fields": ["leadId"], "filter": {"programId": 1045}}),
        ("/bulk/v1/leads/export", build_lead_export_request(["id", "email"], {"staticListId": 1081})),
        ("/bulk/v1/activities/export", build_activity_export_request({"createdAt": month})),
        (export_path("car_c"), build_custom_object_export_request(["vin", "make"], {"staticListId": 1081})),
    ]
    for path, body in bodies:
        api.export(body, path)
    listed = {path: _all_jobs(api, path) for path in list_paths(["car_c"])}
    now = pendulum.from_timestamp(marketo_emulator.now(), tz="UTC")

    spent = exported_bytes_today_across_kinds(listed, custom_object_api_names=["car_c"], now=now)

    assert sum(len(jobs) for jobs in listed.values()) == len(bodies)
    assert spent == marketo_emulator.quota_used() > 0
    assert exported_bytes_today(listed[PROGRAM_MEMBERS_LIST], now) < spent  # one kind's list sees less
    api.session.close()
