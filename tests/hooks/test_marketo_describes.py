"""The describes the other kinds rest on, and what the hook adds to their refusals (1003, 1035).

Leads name their fields from Describe Lead2, activities their types from Get Activity Types, a custom object
its fields from its own describe; a misspelled field gets the described name meant, and a filter the
subscription lacks (1035) gets what to use instead. All over real HTTP, against the emulator.
"""

from __future__ import annotations

import pytest

from airflow_provider_marketo_pm.exceptions import MarketoApiError, MarketoRequestError
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.activities import ACTIVITIES
from airflow_provider_marketo_pm.kinds.custom_objects import CUSTOM_OBJECTS
from airflow_provider_marketo_pm.kinds.leads import LEADS
from airflow_provider_marketo_pm.testing import Fault, MarketoEmulator

FAST = {"retry_min_wait": 0.001, "retry_max_wait": 0.01}
JANUARY = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T00:00:00Z"}
CARS = CUSTOM_OBJECTS.bind(apiName="car_c")


@pytest.fixture
def hook(emulator):
    return MarketoHook(**FAST)


def described_names(records):
    return {field["name"] for record in records for field in record["fields"]}


def test_describe_leads_reads_describe_lead2(emulator, hook):
    names = described_names(hook.describe_leads())

    assert {"id", "email", "firstName", "updatedAt"} <= names
    assert [call.path for call in emulator.calls("lead_describe2")] == ["/rest/v1/leads/describe2.json"]


def test_describe_activity_types_lists_ids_and_names(emulator, hook):
    types = {entry["id"]: entry["name"] for entry in hook.describe_activity_types()}

    assert types[1] == "Visit Webpage"
    assert types[37] == "Delete Lead"
    assert len(emulator.calls("activity_types")) == 1


def test_custom_objects_are_listed_and_described(emulator, hook):
    assert {entry["apiName"] for entry in hook.list_custom_objects()} >= {"car_c", "contract_c"}
    assert [entry["apiName"] for entry in hook.list_custom_objects(["car_c"])] == ["car_c"]

    describe = hook.describe_custom_object("car_c")

    assert describe["apiName"] == "car_c"
    assert describe["dedupeFields"] == ["vin"]
    assert {"marketoGUID", "leadId", "vin", "make"} <= {field["name"] for field in describe["fields"]}
    assert emulator.calls("custom_object_describe")[0].path == "/rest/v1/customobjects/car_c/describe.json"


def test_a_bad_api_name_is_refused_before_any_call(emulator, hook):
    with pytest.raises(MarketoRequestError, match="api_name='car c'"):
        hook.describe_custom_object("car c")
    with pytest.raises(MarketoRequestError, match=r"api_name='\.\./x'"):
        hook.list_custom_objects(["../x"])
    assert emulator.requests == []


def test_an_unknown_custom_object_fails_naming_marketos_answer(hook):
    with pytest.raises(MarketoApiError) as caught:
        hook.describe_custom_object("boat_c")
    assert caught.value.code == "1013"


def test_a_misspelled_lead_field_gets_the_describe_lead2_name_meant(emulator, hook):
    with pytest.raises(MarketoApiError) as caught:
        hook.create_export(LEADS.request(fields=["id", "emial"], filter={"staticListId": 1081}))

    assert "Did you mean `email` (for `emial`)?" in str(caught.value)
    assert "/rest/v1/leads/describe2.json" in str(caught.value)
    assert len(emulator.calls("lead_describe2")) == 1


def test_a_misspelled_custom_object_field_gets_the_objects_field_meant(emulator, hook):
    with pytest.raises(MarketoApiError) as caught:
        hook.create_export(CARS.request(fields=["marketoGUID", "VIN"], filter={"updatedAt": JANUARY}))

    assert "Did you mean `vin` (for `VIN`)?" in str(caught.value)
    assert [call.path for call in emulator.calls("custom_object_describe")] == [
        "/rest/v1/customobjects/car_c/describe.json"
    ]


def test_an_unknown_activity_type_id_gets_the_activity_hint(emulator, hook):
    with pytest.raises(MarketoApiError) as caught:
        hook.create_export(ACTIVITIES.request(filter={"createdAt": JANUARY, "activityTypeIds": [999]}))

    assert caught.value.code == "1003"
    assert "Check filter.activityTypeIds" in str(caught.value)
    assert "/rest/v1/activities/types.json" in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "export_filter", "instead"),
    [
        (LEADS, {"updatedAt": JANUARY}, "Instead of updatedAt: export new leads by createdAt windows"),
        (LEADS, {"smartListId": 2001}, "Instead of smartListId: put the leads in a static list"),
        (CARS, {"smartListName": "Chicago Leads"}, "Instead of smartListName: filter on updatedAt windows"),
    ],
)
def test_a_filter_the_subscription_lacks_says_what_to_use_instead(monkeypatch, kind, export_filter, instead):
    with MarketoEmulator(updated_at_filter=False, smart_list_filter=False) as emu:
        monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", emu.connection_json())
        fields = ["marketoGUID"] if kind is CARS else ["id"]
        with pytest.raises(MarketoApiError) as caught:
            MarketoHook(**FAST).create_export(kind.request(fields=fields, filter=export_filter))

    assert caught.value.code == "1035"
    assert f"does not support {next(iter(export_filter))} for {kind.name} exports" in str(caught.value)
    assert instead in str(caught.value)


def test_an_activity_1035_names_what_to_use_instead(emulator, hook):
    emulator.inject("create", Fault(code="1035", message="Unsupported filter type: primaryAttributeValues"))
    request = ACTIVITIES.request(
        filter={"createdAt": JANUARY, "activityTypeIds": [2], "primaryAttributeValues": ["Web.Form"]}
    )
    with pytest.raises(MarketoApiError) as caught:
        hook.create_export(request)

    assert "Instead of primaryAttributeValues: export the activity types without it" in str(caught.value)
