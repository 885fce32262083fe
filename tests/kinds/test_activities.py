"""Bulk Activity Extract requests: Marketo's exact create body, activity type names resolved to ids."""

from __future__ import annotations

import json
import math

import pytest
from testing.emulator_client import ACTIVITIES, parse_rows

from airflow_provider_marketo_pm.exceptions import MarketoMalformedAnswerError, MarketoRequestError
from airflow_provider_marketo_pm.kinds import activities as activity_kind
from airflow_provider_marketo_pm.kinds.activities import (
    ACTIVITY_COLUMNS,
    ACTIVITY_TABLE,
    DEFAULT_FIELDS,
    FIELDS,
    PATH,
    TYPES_PATH,
    activity_refusal_hint,
    activity_unsupported_filter_hint,
    build_activity_export_request,
    resolve_activity_type_ids,
)

JANUARY = {"startAt": "2024-01-01", "endAt": "2024-01-31"}
JANUARY_SENT = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T00:00:00Z"}
TYPES = [
    {"id": 1, "name": "Visit Webpage"},
    {"id": 2, "name": "Fill Out Form"},
    {"id": 12, "name": "New Lead"},
    {"id": 37, "name": "Delete Lead"},
    {"id": 104, "name": "Change Status in Progression"},
]


def refused(flt=None, **options) -> MarketoRequestError:
    """The error of a request that is good but for what the test gives."""
    with pytest.raises(MarketoRequestError) as caught:
        build_activity_export_request({"createdAt": JANUARY} if flt is None else flt, **options)
    return caught.value


class TestBody:
    def test_only_created_at_is_required_and_fields_default_to_marketos_columns(self):
        body = build_activity_export_request({"createdAt": JANUARY})

        assert body == {"format": "CSV", "filter": {"createdAt": JANUARY_SENT}}

    def test_every_filter_and_option(self):
        body = build_activity_export_request(
            {"createdAt": JANUARY, "activityTypeIds": [2, "104"], "primaryAttributeValueIds": [16, 102]},
            fields=["leadId", "activityDate", "actionResult"],
            format="tsv",
            column_header_names={"leadId": "Lead Id"},
        )

        assert body == {
            "fields": ["leadId", "activityDate", "actionResult"],
            "format": "TSV",
            "filter": {
                "createdAt": JANUARY_SENT,
                "activityTypeIds": [2, 104],
                "primaryAttributeValueIds": [16, 102],
            },
            "columnHeaderNames": {"leadId": "Lead Id"},
        }

    def test_primary_attribute_values_by_name(self):
        names = ["GL_OP_ALL_2021.MPS Outbound", "Webinar, Q1 (ü).Registration Form"]
        body = build_activity_export_request(
            {"createdAt": JANUARY, "activityTypeIds": [2], "primaryAttributeValues": names}
        )

        assert body["filter"]["primaryAttributeValues"] == names

    def test_the_default_columns_can_be_renamed_without_naming_fields(self):
        body = build_activity_export_request(
            {"createdAt": JANUARY}, column_header_names={"attributes": "Attrs"}
        )

        assert "fields" not in body
        assert body["columnHeaderNames"] == {"attributes": "Attrs"}

    def test_the_documented_columns(self):
        assert DEFAULT_FIELDS == (
            "marketoGUID", "leadId", "activityDate", "activityTypeId", "campaignId",
            "primaryAttributeValueId", "primaryAttributeValue", "attributes",
        )  # fmt: skip
        assert FIELDS[:-1] == DEFAULT_FIELDS
        assert FIELDS[-1] == "actionResult"
        assert (PATH, TYPES_PATH) == ("/bulk/v1/activities/export", "/rest/v1/activities/types.json")


class TestRefused:
    def test_created_at_is_required(self):
        error = refused(flt={"activityTypeIds": [1]})

        assert error.key == "filter.createdAt"
        assert "is required" in error.rule

    @pytest.mark.parametrize(
        ("window", "key", "rule"),
        [
            ({"startAt": "2024-01-01", "endAt": "2024-02-02"}, "filter.createdAt", "at most 31 days"),
            (
                {"startAt": "2024-01-01", "endAt": "2024-01-01"},
                "filter.createdAt",
                "CronDataIntervalTimetable",
            ),
            ({"startAt": math.nan, "endAt": "2024-01-02"}, "filter.createdAt.startAt", "not float"),
            ({"startAt": "2024-01-01", "endAt": "2024-01-02T00:00:00"}, "filter.createdAt.endAt", "naive"),
        ],
    )
    def test_created_at_is_a_range_of_at_most_31_days(self, window, key, rule):
        error = refused(flt={"createdAt": window})

        assert error.key == key
        assert rule in error.rule

    @pytest.mark.parametrize(
        ("type_ids", "rule"),
        [
            ([], "must hold at least one activity type id, not 0"),
            ("1,12", "must be a list of activity type ids"),
            ([1, 1], "must not repeat"),
            ([True], "positive integer activity type id"),
            ([1.0], "positive integer activity type id"),
            ([math.inf], "positive integer activity type id"),
            ([-1], "positive integer activity type id"),
            (["Visit Webpage"], "positive integer activity type id"),
            ([2**31], "positive integer activity type id"),
        ],
    )
    def test_activity_type_ids(self, type_ids, rule):
        error = refused(flt={"createdAt": JANUARY, "activityTypeIds": type_ids})

        assert error.key == "filter.activityTypeIds"
        assert rule in error.rule

    def test_delete_lead_is_not_exportable(self):
        error = refused(flt={"createdAt": JANUARY, "activityTypeIds": [1, 37]})

        assert error.key == "filter.activityTypeIds"
        assert "Get Deleted Leads (GET /rest/v1/activities/deletedleads.json)" in error.rule

    def test_primary_attribute_value_ids_and_values_exclude_each_other(self):
        flt = {
            "createdAt": JANUARY,
            "activityTypeIds": [2],
            "primaryAttributeValueIds": [16],
            "primaryAttributeValues": ["P.Form"],
        }

        error = refused(flt=flt)

        assert error.key == "filter.primaryAttributeValues"
        assert "cannot be used with primaryAttributeValueIds" in error.rule

    @pytest.mark.parametrize("key", ["primaryAttributeValueIds", "primaryAttributeValues"])
    def test_primary_attribute_values_need_activity_type_ids(self, key):
        error = refused(flt={"createdAt": JANUARY, key: [16] if key.endswith("Ids") else ["P.Form"]})

        assert error.key == f"filter.{key}"
        assert "needs activityTypeIds" in error.rule

    @pytest.mark.parametrize(
        ("key", "values", "rule"),
        [
            (
                "primaryAttributeValueIds",
                list(range(1, 52)),
                "must hold 1 to 50 primary attribute value ids, not 51",
            ),
            ("primaryAttributeValueIds", [], "must hold 1 to 50"),
            ("primaryAttributeValueIds", ["16"] * 2, "must not repeat"),
            ("primaryAttributeValueIds", [math.nan], "positive integer primary attribute value id"),
            ("primaryAttributeValues", [f"P.Form {n}" for n in range(51)], "not 51"),
            ("primaryAttributeValues", [""], "non-empty string"),
            ("primaryAttributeValues", [16], "non-empty string"),
            ("primaryAttributeValues", "P.Form", "must be a list of primary attribute values"),
            ("primaryAttributeValues", ["P.Form", "P.Form"], "must not repeat"),
        ],
    )
    def test_primary_attribute_values(self, key, values, rule):
        error = refused(flt={"createdAt": JANUARY, "activityTypeIds": [2], key: values})

        assert error.key == f"filter.{key}"
        assert rule in error.rule

    def test_an_oversized_list_is_not_shown_in_full(self):
        error = refused(
            flt={"createdAt": JANUARY, "activityTypeIds": [2], "primaryAttributeValueIds": [1] * 10**5}
        )

        assert len(str(error)) < 300

    def test_a_long_list_with_a_repeat_is_not_shown_in_full(self):
        error = refused(flt={"createdAt": JANUARY, "activityTypeIds": [*range(1, 10**5), 1]})

        assert error.value == "<a list of 100000 items>"

    def test_exactly_50_primary_attribute_values_are_allowed(self):
        flt = {"createdAt": JANUARY, "activityTypeIds": [2], "primaryAttributeValueIds": list(range(1, 51))}

        assert len(build_activity_export_request(flt)["filter"]["primaryAttributeValueIds"]) == 50

    @pytest.mark.parametrize(
        ("fields", "rule"),
        [
            (["leadID"], "Did you mean `leadId`?"),
            (["attribute"], "Did you mean `attributes`?"),
            (["email"], "an activity export has the columns marketoGUID, leadId"),
            (["lead📧Id"], "ASCII letters, digits and underscores"),
            ([], "at least one field"),
            (["leadId", "leadId"], "must not repeat"),
        ],
    )
    def test_fields_are_activity_columns(self, fields, rule):
        error = refused(fields=fields)

        assert error.key == "fields"
        assert rule in error.rule

    def test_unknown_filter_keys_and_headers(self):
        assert refused(flt={"createdAt": JANUARY, "leadIds": [1]}).key == "filter.leadIds"
        assert refused(column_header_names={"actionResult": "Result"}).key == "columnHeaderNames.actionResult"
        assert refused(format="JSON").key == "format"


class TestResolveActivityTypeIds:
    def test_names_exactly_or_in_any_case_and_ids_in_the_order_given_once_each(self):
        given = ["Visit Webpage", "new lead", 104, "2", "NEW LEAD"]

        assert resolve_activity_type_ids(given, TYPES) == [1, 12, 104, 2]

    def test_one_name(self):
        assert resolve_activity_type_ids("Fill Out Form", TYPES) == [2]

    def test_an_unknown_name_gets_the_closest_known_one(self):
        with pytest.raises(MarketoRequestError) as caught:
            resolve_activity_type_ids(["Visit Web Page"], TYPES)

        assert caught.value.key == "activity_types"
        assert (
            "is no activity type of this instance (see GET /rest/v1/activities/types.json)"
            in caught.value.rule
        )
        assert "Did you mean `Visit Webpage`?" in caught.value.rule

    @pytest.mark.parametrize("given", ["Delete Lead", "delete lead", 37, "37"])
    def test_delete_lead_is_refused_by_name_and_id(self, given):
        with pytest.raises(MarketoRequestError, match="deleted leads come from Get Deleted Leads"):
            resolve_activity_type_ids([given], TYPES)

    @pytest.mark.parametrize("given", [999, "999", 0, "0", "012", 1.0, True, None, "", "  ", math.nan, [[1]]])
    def test_ids_and_values_that_are_no_type_of_the_instance(self, given):
        with pytest.raises(MarketoRequestError) as caught:
            resolve_activity_type_ids([given], TYPES)

        assert caught.value.key == "activity_types"

    def test_nothing_to_resolve(self):
        with pytest.raises(MarketoRequestError, match="at least one activity type"):
            resolve_activity_type_ids([], TYPES)

    @pytest.mark.parametrize(
        ("answer", "what"),
        [
            ({"result": TYPES}, "not a list"),
            ("Visit Webpage", "not a list"),
            ([1], "not an object"),
            ([{"id": "1", "name": "Visit Webpage"}], "not a positive int32"),
            ([{"id": 2**40, "name": "Visit Webpage"}], "not a positive int32"),
            ([{"id": True, "name": "Visit Webpage"}], "not a positive int32"),
            ([{"id": 1, "name": None}], "not a non-empty string"),
            ([{"id": 1, "name": "A"}, {"id": 1, "name": "B"}], "listed twice"),
        ],
    )
    def test_a_malformed_answer_is_our_error(self, answer, what):
        with pytest.raises(MarketoMalformedAnswerError, match=what) as caught:
            resolve_activity_type_ids(["Visit Webpage"], answer)

        assert caught.value.field == "result"


class TestTheEmulatorAcceptsTheBody:
    def test_names_resolved_from_its_types_answer(self, api, recent_month):
        types = api.call("GET", TYPES_PATH)["result"]
        type_ids = resolve_activity_type_ids(["change status in progression", "Fill Out Form"], types)
        body = build_activity_export_request({"createdAt": recent_month, "activityTypeIds": type_ids})

        _, content = api.export(body, ACTIVITIES)
        header, *rows = parse_rows(content)

        assert header == list(DEFAULT_FIELDS)
        assert rows
        assert {row[3] for row in rows} <= {"104", "2"}
        assert all(isinstance(json.loads(row[7]), dict) for row in rows)

    @pytest.mark.parametrize(
        "extra",
        [
            {"activityTypeIds": [2], "primaryAttributeValueIds": [3044, 3045]},
            {"activityTypeIds": [104], "primaryAttributeValues": ["Webinar, Q1.Registration Form"]},
        ],
    )
    def test_primary_attribute_filters_are_created(self, api, extra):
        body = build_activity_export_request(
            {"createdAt": JANUARY, **extra},
            fields=["leadId", "actionResult"],
            column_header_names={"leadId": "L"},
        )

        created = api.create(body, ACTIVITIES)

        assert created["success"], created


def test_the_1035_hint_names_the_filter():
    hint = activity_unsupported_filter_hint(
        "Unsupported filter type for target subscription: activityTypeIds"
    )

    assert "does not support activityTypeIds for activity exports" in hint
    assert "filter the rows on activityTypeId" in hint


def test_the_activity_kind_is_its_builder_fixed_columns_and_hints():
    request = activity_kind.ACTIVITIES.request(filter={"createdAt": JANUARY})

    assert request.body == {"filter": {"createdAt": JANUARY_SENT}, "format": "CSV"}
    assert (activity_kind.ACTIVITIES.path, activity_kind.ACTIVITIES.state_key) == (
        PATH,
        "marketo_activity_export",
    )
    assert activity_kind.ACTIVITIES.table is ACTIVITY_TABLE
    assert set(ACTIVITY_COLUMNS) == set(FIELDS)  # every column an export can have is typed
    assert activity_kind.ACTIVITIES.unsupported_filter_hint is activity_unsupported_filter_hint
    assert activity_kind.ACTIVITIES.refusal_hint is activity_refusal_hint


def test_a_1003_naming_no_field_points_at_the_activity_types():
    by_type = {"filter": {"createdAt": JANUARY_SENT, "activityTypeIds": [999]}}
    by_value = {"filter": {**by_type["filter"], "primaryAttributeValueIds": [1]}}

    assert activity_refusal_hint({"filter": {"createdAt": JANUARY_SENT}}) is None
    assert TYPES_PATH in activity_refusal_hint(by_type)
    assert "asset group" not in activity_refusal_hint(by_type)
    assert "the group the primary attribute values belong to" in activity_refusal_hint(by_value)
