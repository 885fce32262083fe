"""Bulk Custom Object Extract: car_c and contract_c, linked to the dataset's leads by leadId."""

from __future__ import annotations

import pytest
from emulator_client import CARS, CONTRACTS, error_of, parse_rows, window_around

CAR_FIELDS = ["marketoGUID", "createdAt", "updatedAt", "leadId", "vin", "make", "model", "color", "year"]


def records(api, path, fields, flt):
    _, content = api.export({"fields": fields, "filter": flt}, path)
    header, *rows = parse_rows(content)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_list_call_answers_every_object_or_those_named(api):
    every = api.call("GET", "/rest/v1/customobjects.json")["result"]
    named = api.call("GET", "/rest/v1/customobjects.json", params={"names": "contract_c"})["result"]

    assert [obj["name"] for obj in every] == ["car_c", "contract_c"]
    assert [obj["name"] for obj in named] == ["contract_c"]
    car = every[0]
    assert car["idField"] == "marketoGUID"
    assert car["dedupeFields"] == ["vin"]
    assert car["relationships"] == [
        {"field": "leadId", "type": "child", "relatedTo": {"name": "Lead", "field": "Id"}}
    ]
    assert "fields" not in car  # the list call of the docs carries no fields; the describe does


def test_describe_lists_the_fields_an_export_may_ask_for(api):
    (car,) = api.call("GET", "/rest/v1/customobjects/car_c/describe.json")["result"]

    assert [field["name"] for field in car["fields"]] == CAR_FIELDS
    vin = next(field for field in car["fields"] if field["name"] == "vin")
    assert vin == {
        "name": "vin",
        "displayName": "VIN",
        "dataType": "string",
        "length": 255,
        "updateable": True,
        "crmManaged": False,
    }
    assert api.create({"fields": CAR_FIELDS, "filter": {"staticListId": 1081}}, CARS)["success"] is True


def test_describe_of_an_unknown_object_is_object_not_found(api):
    code, message = error_of(api.call("GET", "/rest/v1/customobjects/boat_c/describe.json"))

    assert code == "1013"
    assert "boat_c" in message


def test_records_belong_to_the_leads_of_the_program_members(api, marketo_emulator):
    lead_ids = {str(m["leadId"]) for m in marketo_emulator.instance.dataset.members}

    cars = records(api, CARS, CAR_FIELDS, {"staticListId": 1081})

    assert cars
    assert {car["leadId"] for car in cars} <= lead_ids
    assert len({car["vin"] for car in cars}) == len(cars)  # vin is the dedupe field
    assert any('"' in car["model"] or "," in car["model"] for car in cars)


def test_a_list_filter_exports_the_records_of_the_lists_leads(api, marketo_emulator):
    book = marketo_emulator.instance.records.leads
    in_list = next(lead_list for lead_list in book.lists if lead_list.name == "Car Buyers").lead_ids

    by_name = records(api, CONTRACTS, ["leadId", "contractId"], {"staticListName": "Car Buyers"})
    by_id = records(api, CONTRACTS, ["leadId", "contractId"], {"staticListId": 1081})

    assert by_name
    assert by_name == by_id
    assert {int(row["leadId"]) for row in by_name} <= in_list


def test_updated_at_selects_the_records_own_dates(api, marketo_emulator):
    cars = marketo_emulator.instance.records.custom_object_records["car_c"]
    window = window_around(sorted(car.updated_at for car in cars)[len(cars) // 2])

    rows = records(api, CARS, ["vin", "updatedAt"], {"updatedAt": window})

    assert rows
    assert all(window["startAt"] <= row["updatedAt"] <= window["endAt"] for row in rows)


def test_typed_fields_are_written_as_marketo_writes_them(api):
    rows = records(api, CONTRACTS, ["seats", "amount", "signedOn", "autoRenew"], {"staticListId": 1082})

    assert rows
    assert all(row["seats"].isdigit() for row in rows)
    assert {row["autoRenew"] for row in rows} == {"true", "false"}
    assert all(len(row["signedOn"]) == 10 for row in rows)


class TestCreateRules:
    @pytest.mark.parametrize(
        ("body", "says"),
        [
            ({"filter": {"staticListId": 1081}}, "fields"),
            ({"fields": ["leadId", "email"], "filter": {"staticListId": 1081}}, "Invalid fields: email"),
            ({"fields": ["vin"]}, "filter is required"),
            ({"fields": ["vin"], "filter": {}}, "exactly one of updatedAt, staticListId"),
            ({"fields": ["vin"], "filter": {"createdAt": {}}}, "Unsupported filter type: createdAt"),
            ({"fields": ["vin"], "filter": {"staticListId": 1081, "staticListName": "Cars"}}, "exactly one"),
            ({"fields": ["vin"], "filter": {"staticListName": "Boat Buyers"}}, "Static list not found"),
            (
                {"fields": ["vin"], "filter": {"updatedAt": {"startAt": "2026-01-01T00:00:00Z",
                                                             "endAt": "2026-03-01T00:00:00Z"}}},
                "31 days or fewer",
            ),
        ],
    )  # fmt: skip
    def test_bad_requests_get_1003_naming_the_problem(self, api, body, says):
        code, message = error_of(api.create(body, CARS))

        assert code == "1003"
        assert says in message

    def test_the_fields_are_the_objects_own(self, api):
        payload = api.create({"fields": ["contractId"], "filter": {"staticListId": 1081}}, CARS)

        assert error_of(payload) == ("1003", "Invalid fields: contractId")
        assert api.create({"fields": ["contractId"], "filter": {"staticListId": 1081}}, CONTRACTS)["success"]

    def test_an_unknown_api_name_is_refused_on_every_bulk_path(self, api):
        boats = "/bulk/v1/customobjects/boat_c/export"

        for payload in (
            api.create({"fields": ["vin"], "filter": {"staticListId": 1081}}, boats),
            api.status("any-id", boats),
            api.call("GET", f"{boats}.json"),
        ):
            code, message = error_of(payload)
            assert code == "1003"
            assert "Custom object not found: 'boat_c'" in message

    def test_smart_lists_answer_1035_on_a_subscription_without_them(self, start_emulator):
        _, api = start_emulator(smart_list_filter=False)

        refused = error_of(
            api.create({"fields": ["vin"], "filter": {"smartListName": "Chicago Leads"}}, CARS)
        )

        assert refused == ("1035", "Unsupported filter type for target subscription: smartListName")
        assert api.create({"fields": ["vin"], "filter": {"staticListId": 1081}}, CARS)["success"] is True


def test_each_objects_list_shows_only_that_objects_jobs(api):
    car_job, contract_job = (
        api.create_job(path=CARS),
        api.create_job({"fields": ["contractId"], "filter": {"staticListId": 1081}}, CONTRACTS),
    )

    assert api.listed(CARS) == [car_job]
    assert api.listed(CONTRACTS) == [contract_job]
    assert error_of(api.status(car_job, CONTRACTS))[0] == "1003"
    assert api.file(car_job, CONTRACTS).status_code == 404
