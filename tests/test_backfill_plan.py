"""A backfill of several kinds over one range: one job per window x batch (or type) x kind, newest first."""

from __future__ import annotations

import json

import pytest
from testing.emulator_client import RawMarketoClient

from airflow_provider_marketo_pm.backfill_plan import MAX_JOBS, plan_backfill, plan_recent_days
from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.kinds.activities import PATH as ACTIVITIES_PATH
from airflow_provider_marketo_pm.kinds.activities import build_activity_export_request
from airflow_provider_marketo_pm.kinds.custom_objects import build_custom_object_export_request, export_path
from airflow_provider_marketo_pm.kinds.leads import PATH as LEADS_PATH
from airflow_provider_marketo_pm.kinds.leads import build_lead_export_request
from airflow_provider_marketo_pm.kinds.program_members import build_request

MIXED = {
    "program_members": {"fields": ["leadId", "statusName"], "program_batches": [[1044, 1045], [1046]]},
    "leads": {"fields": ["id", "email"]},
    "activities": {"activity_type_ids": [1, 104]},
}
BUILDERS = {
    "program_members": build_request,
    "leads": build_lead_export_request,
    "activities": build_activity_export_request,
    "custom_objects": build_custom_object_export_request,
}
# Jan 1 to Mar 1 2024 in 31-day windows: [Jan 1, Feb 1) and [Feb 1, Mar 1)
JANUARY = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-02-01T00:00:00Z"}
FEBRUARY = {"startAt": "2024-02-01T00:00:00Z", "endAt": "2024-03-01T00:00:00Z"}


def refused(**changes) -> MarketoRequestError:
    """The error of a plan that is good but for what the test changes."""
    arguments = {"start": "2024-01-01", "end": "2024-03-01", "kinds": MIXED, **changes}
    with pytest.raises(MarketoRequestError) as caught:
        plan_backfill(**arguments)
    return caught.value


class TestJobs:
    def test_one_job_per_window_and_batch_or_type_and_kind(self):
        plan = plan_backfill("2024-01-01", "2024-03-01", MIXED)

        assert plan.windows == [JANUARY, FEBRUARY]
        assert plan.per_window == {"program_members": 2, "leads": 1, "activities": 2}
        assert len(plan.jobs) == 2 * (2 + 1 + 2)
        filters = {(job.kind, json.dumps(job.arguments["filter"], sort_keys=True)) for job in plan.jobs}
        assert len(filters) == len(plan.jobs)
        assert str(plan) == (
            "2 windows x (2 program member batches + 1 lead job + 2 activity jobs) = 10 export jobs, "
            "newest windows first"
        )

    def test_each_job_is_its_kinds_request_for_its_window(self):
        plan = plan_backfill("2024-01-01", "2024-03-01", MIXED, order="by_kind")

        assert [job.arguments for job in plan.of_kind("program_members")[:2]] == [
            {
                "fields": ["leadId", "statusName"],
                "filter": {"programIds": [1044, 1045], "updatedAt": FEBRUARY},
            },
            {"fields": ["leadId", "statusName"], "filter": {"programIds": [1046], "updatedAt": FEBRUARY}},
        ]
        assert plan.of_kind("leads")[0].arguments == {
            "fields": ["id", "email"],
            "filter": {"updatedAt": FEBRUARY},
        }
        assert [job.arguments["filter"] for job in plan.of_kind("activities")[:2]] == [
            {"activityTypeIds": [1], "createdAt": FEBRUARY},
            {"activityTypeIds": [104], "createdAt": FEBRUARY},
        ]
        for job in plan.jobs:
            BUILDERS[job.kind](**job.arguments)  # every job is a valid request of its kind
            assert job.window in (JANUARY, FEBRUARY)

    def test_leads_by_created_at_and_activities_of_every_type_in_one_job(self):
        kinds = {
            "leads": {"fields": ["id"], "date_filter": "createdAt"},
            "activities": {"fields": ["leadId"]},
        }

        plan = plan_backfill("2024-01-01", "2024-02-01", kinds)

        assert [(job.kind, job.arguments) for job in plan.jobs] == [
            ("leads", {"fields": ["id"], "filter": {"createdAt": JANUARY}}),
            ("activities", {"fields": ["leadId"], "filter": {"createdAt": JANUARY}}),
        ]
        assert [job.path for job in plan.jobs] == [
            "leads/created_from=2024-01-01/created_to=2024-02-01.csv",
            "activities/created_from=2024-01-01/created_to=2024-02-01/type=all.csv",
        ]

    def test_format_and_headers_go_to_every_job_of_the_kind(self):
        kinds = {"leads": {"fields": ("id",), "format": "tsv", "column_header_names": {"id": "Lead Id"}}}

        (job,) = plan_backfill("2024-01-01", "2024-01-15", kinds).jobs

        assert job.arguments == {
            "fields": ["id"],
            "format": "tsv",
            "column_header_names": {"id": "Lead Id"},
            "filter": {"updatedAt": {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-15T00:00:00Z"}},
        }
        assert job.path == "leads/updated_from=2024-01-01/updated_to=2024-01-15.tsv"
        assert json.loads(json.dumps(job.as_dict())) == job.as_dict()


class TestOrder:
    def test_by_default_the_newest_windows_come_first_across_kinds(self):
        plan = plan_backfill("2024-01-01", "2024-03-01", MIXED)

        assert [(job.window["startAt"][:7], job.kind) for job in plan.jobs] == [
            ("2024-02", "program_members"), ("2024-02", "program_members"), ("2024-02", "leads"),
            ("2024-02", "activities"), ("2024-02", "activities"),
            ("2024-01", "program_members"), ("2024-01", "program_members"), ("2024-01", "leads"),
            ("2024-01", "activities"), ("2024-01", "activities"),
        ]  # fmt: skip

    def test_within_a_window_the_kinds_run_in_the_order_given(self):
        kinds = {"activities": MIXED["activities"], "leads": MIXED["leads"]}

        plan = plan_backfill("2024-01-01", "2024-03-01", kinds)

        assert [job.kind for job in plan.jobs] == ["activities"] * 2 + ["leads"] + ["activities"] * 2 + [
            "leads"
        ]

    def test_by_kind_runs_each_kind_newest_first_before_the_next(self):
        plan = plan_backfill("2024-01-01", "2024-03-01", {"leads": MIXED["leads"], **MIXED}, order="by_kind")

        assert [(job.kind, job.window["startAt"][:7]) for job in plan.jobs] == [
            ("leads", "2024-02"), ("leads", "2024-01"),
            ("program_members", "2024-02"), ("program_members", "2024-02"),
            ("program_members", "2024-01"), ("program_members", "2024-01"),
            ("activities", "2024-02"), ("activities", "2024-02"),
            ("activities", "2024-01"), ("activities", "2024-01"),
        ]  # fmt: skip
        assert str(plan).endswith(", kind by kind")

    def test_job_numbers_follow_the_plan_order(self):
        kinds = {"leads": {"fields": ["id"], "path": "{job:03d}-{start_day}.csv"}}

        plan = plan_backfill("2024-01-01", "2024-01-04", kinds, window_days=1)

        assert [job.path for job in plan.jobs] == [
            "000-2024-01-03.csv",
            "001-2024-01-02.csv",
            "002-2024-01-01.csv",
        ]


CUSTOM_OBJECTS = {"objects": {"car_c": ["vin", "make"], "contract_c": ["contractId", "plan"]}}


class TestCustomObjects:
    def test_one_job_per_window_and_custom_object_type_each_with_its_own_fields(self):
        plan = plan_backfill(
            "2024-01-01", "2024-03-01", {"leads": MIXED["leads"], "custom_objects": CUSTOM_OBJECTS}
        )

        assert plan.per_window == {"leads": 1, "custom_objects": 2}
        assert (
            str(plan)
            == "2 windows x (1 lead job + 2 custom object jobs) = 6 export jobs, newest windows first"
        )
        jobs = plan.of_kind("custom_objects")
        assert [(job.api_name, job.window) for job in jobs] == [
            ("car_c", FEBRUARY),
            ("contract_c", FEBRUARY),
            ("car_c", JANUARY),
            ("contract_c", JANUARY),
        ]
        assert jobs[0].arguments == {"fields": ["vin", "make"], "filter": {"updatedAt": FEBRUARY}}
        assert jobs[1].arguments["fields"] == ["contractId", "plan"]
        assert {job.api_name for job in plan.of_kind("leads")} == {None}

    def test_the_default_path_and_the_api_name_placeholder(self):
        plan = plan_backfill("2024-01-01", "2024-02-01", {"custom_objects": CUSTOM_OBJECTS})
        named = plan_backfill(
            "2024-01-01",
            "2024-02-01",
            {"custom_objects": {**CUSTOM_OBJECTS, "path": "{api_name}/{start_day}.{ext}"}},
        )

        assert [job.path for job in plan.jobs] == [
            "custom_objects/car_c/updated_from=2024-01-01/updated_to=2024-02-01.csv",
            "custom_objects/contract_c/updated_from=2024-01-01/updated_to=2024-02-01.csv",
        ]
        assert [job.path for job in named.jobs] == ["car_c/2024-01-01.csv", "contract_c/2024-01-01.csv"]

    def test_a_custom_object_job_as_json_names_its_type_the_others_keep_their_shape(self):
        plan = plan_backfill(
            "2024-01-01", "2024-02-01", {"leads": MIXED["leads"], "custom_objects": CUSTOM_OBJECTS}
        )

        lead, car, _ = (job.as_dict() for job in plan.jobs)
        assert json.loads(json.dumps(car)) == car
        assert car["api_name"] == "car_c"
        assert set(lead) == {"kind", "window", "arguments", "path"}


class TestRecentDays:
    def test_the_last_days_up_to_the_end_of_a_run_are_the_range_planned(self):
        recent = plan_recent_days(40, "2024-03-01T00:00:00Z", {"leads": MIXED["leads"]})

        assert recent.windows == plan_backfill("2024-01-21", "2024-03-01", {"leads": MIXED["leads"]}).windows
        assert recent.windows[-1]["endAt"] == "2024-03-01T00:00:00Z"
        assert str(recent) == "2 windows x (1 lead job) = 2 export jobs, newest windows first"

    @pytest.mark.parametrize("days", [0, -1, True, "3", 1.5, None])
    def test_days_must_be_a_whole_number_of_days(self, days):
        with pytest.raises(MarketoRequestError) as caught:
            plan_recent_days(days, "2024-03-01", {"leads": MIXED["leads"]})

        assert caught.value.key == "days"
        assert "whole number of days >= 1" in caught.value.rule


class TestPaths:
    def test_the_default_paths_say_the_kind_the_window_and_the_batch_or_type(self):
        plan = plan_backfill("2024-01-01", "2024-02-01", MIXED)

        assert [job.path for job in plan.jobs] == [
            "program_members/updated_from=2024-01-01/updated_to=2024-02-01/batch=00.csv",
            "program_members/updated_from=2024-01-01/updated_to=2024-02-01/batch=01.csv",
            "leads/updated_from=2024-01-01/updated_to=2024-02-01.csv",
            "activities/created_from=2024-01-01/created_to=2024-02-01/type=1.csv",
            "activities/created_from=2024-01-01/created_to=2024-02-01/type=104.csv",
        ]

    def test_every_placeholder(self):
        kinds = {
            "activities": {
                "activity_type_ids": [12],
                "path": "{last_day}/{start_day}/{end_day}/{activity_type}.{ext}",
            }
        }

        (job,) = plan_backfill("2024-01-01", "2024-01-10", kinds).jobs

        assert job.path == "2024-01-09/2024-01-01/2024-01-10/12.csv"

    @pytest.mark.parametrize(
        ("kind", "options", "rule"),
        [
            ("leads", {"fields": ["id"], "path": "leads/{batch}.csv"}, "unknown placeholder {batch}"),
            ("leads", {"fields": ["id"], "path": "leads.csv"}, "gives two jobs the same file 'leads.csv'"),
            (
                "program_members",
                {**MIXED["program_members"], "path": "{start_day}.csv"},
                "gives two jobs the same",
            ),
            ("activities", {"path": "{activity_type:03d}.csv"}, "is not a usable template"),
            ("leads", {"fields": ["id"], "path": "{start_day"}, "is not a usable template"),
            ("leads", {"fields": ["id"], "path": " / "}, "must be a file path template"),
        ],
    )
    def test_a_path_two_jobs_share_or_that_cannot_be_filled_is_refused(self, kind, options, rule):
        error = refused(kinds={kind: options})

        assert error.key == f"kinds.{kind}.path"
        assert rule in error.rule

    def test_two_kinds_cannot_write_the_same_file(self):
        kinds = {
            "leads": {"fields": ["id"], "path": "{start_day}.csv"},
            "activities": {"path": "{start_day}.csv"},
        }

        assert "gives two jobs the same file '2024-02-01.csv'" in refused(kinds=kinds).rule


class TestRefused:
    def test_a_range_that_is_empty_or_reversed_names_both_ends(self):
        error = refused(start="2024-03-01", end="2024-01-01")

        assert error.key == "start"
        assert "must be before end=2024-01-01T00:00:00Z" in error.rule

    def test_too_many_jobs_names_the_numbers(self):
        error = refused(start="2023-01-01", end="2024-01-01", window_days=7, max_jobs=264)

        assert error.key == "max_jobs"
        assert error.rule.startswith(
            "the plan has 53 windows x (2 program member batches + 1 lead job + 2 activity jobs) = 265 "
            "export jobs, more than max_jobs=264"
        )
        assert len(plan_backfill("2023-01-01", "2024-01-01", MIXED, window_days=7, max_jobs=265).jobs) == 265

    def test_the_default_cap_is_airflows_default_max_map_length(self):
        assert MAX_JOBS == 1024
        assert "more than max_jobs=1024" in refused(start="2000-01-01", end="2024-01-01", window_days=7).rule

    def test_the_largest_range_is_refused_at_once_without_making_its_windows(self):
        error = refused(start="1970-01-01", end="2999-12-31", window_days=1)

        assert "376199 windows x" in error.rule

    @pytest.mark.parametrize(
        ("start", "end", "days"),
        [
            ("2024-01-01T00:00:00.5Z", "2024-02-01T00:00:00.2Z", 31),
            ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00.2Z", 31),
            ("2024-01-01", "2024-02-01", 31),
            ("2024-01-01T12:00:00Z", "2024-01-04T11:59:59Z", 1),
        ],
    )
    def test_the_windows_counted_before_they_are_made_are_the_windows_made(self, start, end, days):
        kinds = {"leads": {"fields": ["id"]}, "activities": {}}
        windows = len(plan_backfill(start, end, kinds, window_days=days).windows)

        with pytest.raises(MarketoRequestError) as caught:
            plan_backfill(start, end, kinds, window_days=days, max_jobs=2 * windows - 1)

        assert caught.value.rule.startswith(f"the plan has {windows} window")

    @pytest.mark.parametrize(
        ("kinds", "key", "rule"),
        [
            ({}, "kinds", "must map one or more of program_members, leads, activities"),
            ([("leads", {})], "kinds", "must map one or more"),
            (
                {"custom_object": {}},
                "kinds",
                "is no kind a backfill plans; use program_members, leads, activities, custom_objects",
            ),
            ({"custom_objects": {}}, "kinds.custom_objects.objects", "is required for custom_objects"),
            (
                {"custom_objects": {"objects": ["car_c"]}},
                "kinds.custom_objects.objects",
                "apiName to its fields",
            ),
            ({"custom_objects": {"objects": {"car c": ["vin"]}}}, "kinds.custom_objects.objects", "API name"),
            (
                {"custom_objects": {"objects": {"car_c": "vin"}}},
                "kinds.custom_objects.objects.car_c",
                "fields",
            ),
            ({"custom_objects": {"objects": {"car_c": []}}}, "kinds.custom_objects.fields", "one field"),
            (
                {"custom_objects": {"objects": {"car_c": ["vin"]}, "fields": ["vin"]}},
                "kinds.custom_objects.fields",
                "is no option of custom_objects",
            ),
            ({"program_member": {}}, "kinds", "is no kind a backfill plans"),
            ({"leads": ["id"]}, "kinds.leads", "must be a mapping of the kind's options"),
            ({"leads": {"fields": ["id"], "filter": {}}}, "kinds.leads.filter", "is no option of leads"),
            ({"leads": {}}, "kinds.leads.fields", "is required for leads"),
            (
                {"program_members": {"fields": ["leadId"]}},
                "kinds.program_members.program_batches",
                "is required",
            ),
            (
                {"leads": {"fields": ["id"], "date_filter": "staticListId"}},
                "kinds.leads.date_filter",
                "createdAt",
            ),
            ({"leads": {"fields": ["first name"]}}, "kinds.leads.fields", "ASCII letters"),
            ({"leads": {"fields": ["id"], "format": "xls"}}, "kinds.leads.format", "CSV, TSV, SSV"),
            (
                {"activities": {"fields": ["email"]}},
                "kinds.activities.fields",
                "an activity export has the columns",
            ),
            (
                {"activities": {"activity_type_ids": [37]}},
                "kinds.activities.filter.activityTypeIds",
                "Deleted Leads",
            ),
            (
                {"activities": {"activity_type_ids": "1,2"}},
                "kinds.activities.activity_type_ids",
                "must be a list",
            ),
            (
                {"activities": {"activity_type_ids": [float("nan")]}},
                "kinds.activities.activity_type_ids",
                "positive",
            ),
            (
                {"program_members": {"fields": ["leadId"], "program_batches": [[1044], [1044]]}},
                "kinds.program_members.program_batches",
                "program 1044 would export twice",
            ),
            (
                {"program_members": {"fields": ["leadId"], "program_batches": [list(range(1, 12))]}},
                "kinds.program_members.program_batches",
                "1 to 10 program ids",
            ),
        ],
    )
    def test_kinds_and_their_options(self, kinds, key, rule):
        error = refused(kinds=kinds)

        assert error.key == key
        assert rule in error.rule

    @pytest.mark.parametrize(
        ("option", "value", "rule"),
        [
            ("order", "oldest_first", "must be one of newest_first, by_kind"),
            ("window_days", 32, "from 1 to 31"),
            ("window_days", 0, "from 1 to 31"),
            ("window_days", True, "whole number of days"),
            ("window_days", "7", "whole number of days"),
            ("window_days", 7.0, "whole number of days"),
            ("max_jobs", 0, "whole number of jobs >= 1"),
            ("max_jobs", float("inf"), "whole number of jobs >= 1"),
        ],
    )
    def test_plan_options(self, option, value, rule):
        error = refused(**{option: value})

        assert error.key == option
        assert rule in error.rule


def test_every_planned_job_is_created_by_the_emulator(marketo_emulator):
    """The jobs' requests as the builders send them, created over HTTP: Marketo's rules, per kind."""
    plan = plan_backfill("2026-08-01", "2026-10-01", {**MIXED, "custom_objects": CUSTOM_OBJECTS})
    paths = {
        "program_members": "/bulk/v1/program/members/export",
        "leads": LEADS_PATH,
        "activities": ACTIVITIES_PATH,
    }
    api = RawMarketoClient(marketo_emulator)

    answers = [
        api.create(BUILDERS[job.kind](**job.arguments), paths.get(job.kind) or export_path(job.api_name))
        for job in plan.jobs
    ]

    assert [answer["success"] for answer in answers] == [True] * len(plan.jobs) == [True] * 14
    api.session.close()
