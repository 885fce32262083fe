"""Kind tables: each kind's key and newest-by column, and its column types from Marketo's describe."""

from __future__ import annotations

import pytest

from airflow_provider_marketo_pm.exceptions import MarketoExportSchemaError
from airflow_provider_marketo_pm.export_kind import ExportKind
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kind_tables import KindTable, described_types, kind_table
from airflow_provider_marketo_pm.kinds.activities import ACTIVITIES, ACTIVITY_COLUMNS, ACTIVITY_TABLE
from airflow_provider_marketo_pm.kinds.custom_objects import CUSTOM_OBJECT_TABLE, CUSTOM_OBJECTS
from airflow_provider_marketo_pm.kinds.leads import LEAD_TABLE, LEADS
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBER_TABLE, PROGRAM_MEMBERS


def test_each_kind_declares_its_key_and_newest_column():
    assert (PROGRAM_MEMBER_TABLE.key, PROGRAM_MEMBER_TABLE.newest_by) == (
        ("leadId", "programId"),
        "updatedAt",
    )
    assert (LEAD_TABLE.key, LEAD_TABLE.newest_by) == (("id",), "updatedAt")
    assert (ACTIVITY_TABLE.key, ACTIVITY_TABLE.newest_by) == (("marketoGUID",), None)
    assert (CUSTOM_OBJECT_TABLE.key, CUSTOM_OBJECT_TABLE.newest_by) == (("marketoGUID",), "updatedAt")
    assert kind_table(PROGRAM_MEMBERS) is PROGRAM_MEMBER_TABLE  # the kind links its table
    assert kind_table(LEADS) is LEAD_TABLE
    assert kind_table(ACTIVITIES) is ACTIVITY_TABLE
    # A custom object's table reads the describe of the object its kind is bound to.
    assert kind_table(CUSTOM_OBJECTS.bind(apiName="car_c")).describes == (
        "/rest/v1/customobjects/car_c/describe.json",
    )


def test_a_kind_bound_to_its_path_keeps_its_table_with_the_describes_bound():
    describe = "/rest/v1/customobjects/{apiName}/describe.json"
    table = KindTable("car", ("marketoGUID",), "updatedAt", describes=(describe,))
    cars = ExportKind("car", "/bulk/v1/customobjects/{apiName}/export", table=table).bind(apiName="car_c")

    assert kind_table(cars).key == ("marketoGUID",)
    assert kind_table(cars).describes == ("/rest/v1/customobjects/car_c/describe.json",)


def test_a_kind_without_a_table_shape_is_refused_naming_it():
    with pytest.raises(MarketoExportSchemaError, match=r"widget.*KindTable"):  # a kind with no table
        kind_table(ExportKind("widget", "/bulk/v1/widgets/export"))


def test_program_member_columns_come_from_both_describes(emulator):
    MarketoHook.clear_token_cache()

    types = PROGRAM_MEMBER_TABLE.describe(MarketoHook())

    assert (types["leadId"], types["reachedSuccess"], types["membershipDate"]) == (
        "integer",
        "boolean",
        "datetime",
    )
    assert (types["email"], types["leadCustomField01"]) == ("email", "string"), "lead fields: Describe Lead2"
    assert [call.path for call in emulator.calls("lead_describe2")] == ["/rest/v1/leads/describe2.json"]
    assert len(emulator.calls("describe")) == 1


def test_fixed_columns_need_no_describe(emulator):
    assert ACTIVITY_TABLE.describe(MarketoHook()) == dict(ACTIVITY_COLUMNS)
    assert emulator.requests == []


def test_a_lying_describe_answer_through_the_hook_names_the_describe(emulator):
    table = KindTable("thing", ("id",), None, describes=("/rest/v1/stats/usage.json",))  # no fields in it

    with pytest.raises(MarketoExportSchemaError, match=r"/rest/v1/stats/usage\.json"):
        table.describe(MarketoHook())


@pytest.mark.parametrize(
    "result",
    [
        [{"name": "API Lead", "fields": [{"name": "email"}]}],  # no dataType
        [{"name": "API Lead", "fields": [{"dataType": "email"}]}],  # no name
        [{"name": "API Lead", "fields": "email"}],
        {"fields": []},
        [],
        None,
    ],
    ids=["no dataType", "no name", "fields not a list", "result not a list", "no fields", "no result"],
)
def test_a_describe_answer_that_lies_is_our_error_naming_the_describe(result):
    """Marketo's answer is checked before anything is typed by it: an error, never a bare traceback."""
    with pytest.raises(MarketoExportSchemaError, match="Describe Lead2"):
        described_types(result, source="Describe Lead2")


def test_described_types_keep_the_first_type_of_a_name():
    records = [
        {"fields": [{"name": "updatedAt", "dataType": "datetime"}, {"name": "updatedAt", "dataType": "x"}]}
    ]
    assert described_types(records, source="d") == {"updatedAt": "datetime"}
