"""Bulk Activity Extract: activity types, the activity log of the dataset's leads, Marketo's rules."""

from __future__ import annotations

import json

import pytest
from emulator_client import ACTIVITIES, error_of, parse_rows, window_around

SEPTEMBER = {"startAt": "2026-09-01T00:00:00Z", "endAt": "2026-10-01T00:00:00Z"}  # for create rules only
DEFAULT_COLUMNS = [
    "marketoGUID", "leadId", "activityDate", "activityTypeId", "campaignId",
    "primaryAttributeValueId", "primaryAttributeValue", "attributes",
]  # fmt: skip
CHANGE_STATUS, FILL_OUT_FORM, NEW_LEAD, CHANGE_DATA_VALUE = 104, 2, 12, 13


def activities(api, flt, **body):
    _, content = api.export({"filter": flt, **body}, ACTIVITIES)
    header, *rows = parse_rows(content)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_activity_types_answer_the_documented_shape(api):
    types = api.call("GET", "/rest/v1/activities/types.json")["result"]

    form = next(t for t in types if t["name"] == "Fill Out Form")
    assert form["id"] == FILL_OUT_FORM
    assert form["primaryAttribute"] == {"name": "Webform ID", "dataType": "integer"}
    assert {"name": "Form Fields", "dataType": "text"} in form["attributes"]
    for activity_type in types:
        assert set(activity_type) == {"id", "name", "description", "primaryAttribute", "attributes"}
        assert set(activity_type["primaryAttribute"]) == {"name", "dataType"}
        assert all(set(attribute) == {"name", "dataType"} for attribute in activity_type["attributes"])


@pytest.fixture
def month(marketo_emulator):
    """30 days around the middle of the activity log, where every kind of activity happens."""
    log = marketo_emulator.instance.records.activities
    return window_around(log[len(log) // 2].created_at)


def test_the_default_columns_with_attributes_as_one_json_object_per_row(api, month):
    _, content = api.export({"filter": {"createdAt": month}}, ACTIVITIES)
    header, *rows = parse_rows(content)
    types = {t["id"]: t for t in api.call("GET", "/rest/v1/activities/types.json")["result"]}

    assert header == DEFAULT_COLUMNS
    assert len({row[3] for row in rows}) >= 3  # several activity types in one month
    for row in rows:
        attributes = json.loads(row[7])
        described = {attribute["name"] for attribute in types[int(row[3])]["attributes"]}
        assert isinstance(attributes, dict)
        assert set(attributes) <= described
        assert month["startAt"] <= row[2] <= month["endAt"]
    assert any("\n" in row[7] or "," in row[7] for row in rows)  # awkward values survive quoting
    assert len({row[0] for row in rows}) == len(rows)  # marketoGUID is unique


def test_fields_choose_and_order_the_columns_and_action_result_is_available(api, month):
    rows = activities(api, {"createdAt": month}, fields=["activityTypeId", "leadId", "actionResult"])

    assert rows
    assert list(rows[0]) == ["activityTypeId", "leadId", "actionResult"]
    assert {row["actionResult"] for row in rows} <= {"succeeded", "skipped", "failed"}


def test_activities_belong_to_the_leads_of_the_program_members(api, marketo_emulator, month):
    lead_ids = {str(m["leadId"]) for m in marketo_emulator.instance.dataset.members}

    rows = activities(api, {"createdAt": month})

    assert {row["leadId"] for row in rows} <= lead_ids


def test_activity_type_ids_select_the_types(api, month):
    rows = activities(api, {"createdAt": month, "activityTypeIds": [CHANGE_STATUS, CHANGE_DATA_VALUE]})

    assert {row["activityTypeId"] for row in rows} == {str(CHANGE_STATUS), str(CHANGE_DATA_VALUE)}


def test_a_change_status_row_tells_the_membership(api, marketo_emulator, month):
    rows = activities(api, {"createdAt": month, "activityTypeIds": [CHANGE_STATUS]})
    programs = marketo_emulator.instance.dataset.programs

    assert rows
    for row in rows:
        program = programs[int(row["primaryAttributeValueId"])]
        assert row["primaryAttributeValue"] == program.name
        assert json.loads(row["attributes"])["New Status"] in program.statuses


def test_primary_attribute_values_filter_by_id_or_by_name(api, month):
    every = activities(api, {"createdAt": month, "activityTypeIds": [CHANGE_STATUS]})
    program_id, program_name = every[0]["primaryAttributeValueId"], every[0]["primaryAttributeValue"]

    by_id = activities(
        api,
        {
            "createdAt": month,
            "activityTypeIds": [CHANGE_STATUS],
            "primaryAttributeValueIds": [int(program_id)],
        },
    )
    by_name = activities(
        api,
        {"createdAt": month, "activityTypeIds": [CHANGE_STATUS], "primaryAttributeValues": [program_name]},
    )

    assert by_id
    assert by_id == by_name == [row for row in every if row["primaryAttributeValueId"] == program_id]


class TestCreateRules:
    @pytest.mark.parametrize(
        ("flt", "says"),
        [
            ({}, "filter.createdAt is required"),
            ({"activityTypeIds": [1]}, "filter.createdAt is required"),
            ({"createdAt": {"startAt": "2026-01-01T00:00:00Z", "endAt": "2026-02-02T00:00:01Z"}},
             "createdAt date range must be 31 days or fewer"),
            ({"createdAt": {"startAt": "2026-01-01T00:00:00.123Z", "endAt": "2026-01-02T00:00:00Z"}},
             "without milliseconds"),
            ({"createdAt": SEPTEMBER, "activityTypeIds": [37]}, "Delete Lead (37) cannot be exported"),
            ({"createdAt": SEPTEMBER, "activityTypeIds": [99999]}, "Invalid activityTypeIds: 99999"),
            ({"createdAt": SEPTEMBER, "activityTypeIds": []}, "activityTypeIds must be a non-empty array"),
            ({"createdAt": SEPTEMBER, "activityTypeIds": ["104"]}, "must be a non-empty array of activity"),
            ({"createdAt": SEPTEMBER, "primaryAttributeValueIds": [1044]},
             "primaryAttributeValueIds needs activityTypeIds"),
            ({"createdAt": SEPTEMBER, "activityTypeIds": [104], "primaryAttributeValueIds": [1044],
              "primaryAttributeValues": ["PMCF Program"]}, "cannot be used together"),
            ({"createdAt": SEPTEMBER, "activityTypeIds": [104], "primaryAttributeValueIds": list(range(51))},
             "array of 1 to 50 ids"),
            ({"createdAt": SEPTEMBER, "activityTypeIds": [104], "primaryAttributeValues": [1044]},
             "array of 1 to 50 names"),
            ({"createdAt": SEPTEMBER, "activityTypeIds": [104, 2], "primaryAttributeValueIds": [1044]},
             "one asset group"),
            ({"createdAt": SEPTEMBER, "activityTypeIds": [12], "primaryAttributeValues": ["x"]},
             "one asset group"),
            ({"createdAt": SEPTEMBER, "leadIds": [1]}, "Unsupported filter type: leadIds"),
        ],
    )  # fmt: skip
    def test_bad_filters_get_1003_naming_the_problem(self, api, flt, says):
        code, message = error_of(api.create({"filter": flt}, ACTIVITIES))

        assert code == "1003"
        assert says in message

    @pytest.mark.parametrize(
        ("body", "says"),
        [
            ({"fields": ["leadId", "email"]}, "Invalid fields: email"),
            ({"fields": []}, "fields must be a non-empty array"),
            ({"format": "JSON"}, "Invalid format"),
            (
                {"fields": ["leadId"], "columnHeaderNames": {"marketoGUID": "id"}},
                "not in the export: marketoGUID",
            ),
        ],
    )
    def test_bad_options_get_1003(self, api, body, says):
        code, message = error_of(api.create({"filter": {"createdAt": SEPTEMBER}, **body}, ACTIVITIES))

        assert code == "1003"
        assert says in message

    def test_fifty_primary_attribute_values_are_fine(self, api):
        flt = {"createdAt": SEPTEMBER, "activityTypeIds": [104], "primaryAttributeValueIds": list(range(50))}

        assert api.create({"filter": flt}, ACTIVITIES)["success"] is True
