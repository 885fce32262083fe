"""Bulk Custom Object Extract requests: the object's path and Marketo's exact create body, or an error."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from testing.emulator_client import error_of, parse_rows

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.kinds.custom_objects import (
    CUSTOM_OBJECT_TABLE,
    CUSTOM_OBJECTS,
    FILTER_TYPES,
    build_custom_object_export_request,
    custom_object_unsupported_filter_hint,
    describe_path,
    export_path,
    parse_api_name,
)

JANUARY = {"startAt": "2024-01-01", "endAt": "2024-01-31"}
CAR_FIELDS = ["marketoGUID", "leadId", "vin", "make", "updatedAt"]


def refused(fields=None, flt=None, **options) -> MarketoRequestError:
    """The error of a request that is good but for what the test gives."""
    fields = ["vin"] if fields is None else fields
    with pytest.raises(MarketoRequestError) as caught:
        build_custom_object_export_request(fields, {"updatedAt": JANUARY} if flt is None else flt, **options)
    return caught.value


class TestApiName:
    def test_the_object_is_in_the_path(self):
        assert export_path("car_c") == "/bulk/v1/customobjects/car_c/export"
        assert describe_path("contract_c") == "/rest/v1/customobjects/contract_c/describe.json"

    @pytest.mark.parametrize(
        "api_name",
        [
            "",
            "car c",
            "car_c/../../leads",
            "car_c?fields=x",
            "car_c#",
            "%2e%2e",
            "voiture_ü_c",
            "🚗_c",
            "_car_c",
            "1car_c",
            "a" * 101,
            None,
            3,
            b"car_c",
        ],
    )
    def test_anything_that_is_not_an_api_name_is_refused_before_it_reaches_a_url(self, api_name):
        with pytest.raises(MarketoRequestError) as caught:
            export_path(api_name)

        assert caught.value.key == "api_name"
        assert "ASCII letters, digits and underscores" in caught.value.rule

    def test_100_characters_is_the_longest(self):
        assert parse_api_name("a" * 100) == "a" * 100


class TestBody:
    @pytest.mark.parametrize(
        ("flt", "sent"),
        [
            (
                {"updatedAt": JANUARY},
                {"updatedAt": {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T00:00:00Z"}},
            ),
            ({"staticListId": "1081"}, {"staticListId": 1081}),
            ({"staticListName": "Car Buyers"}, {"staticListName": "Car Buyers"}),
            ({"smartListId": 2001}, {"smartListId": 2001}),
            ({"smartListName": "Chicago Leads"}, {"smartListName": "Chicago Leads"}),
        ],
    )
    def test_each_filter_type(self, flt, sent):
        body = build_custom_object_export_request(
            ["vin", "make"], flt, format="tsv", column_header_names={"vin": "VIN"}
        )

        assert body == {
            "fields": ["vin", "make"],
            "format": "TSV",
            "filter": sent,
            "columnHeaderNames": {"vin": "VIN"},
        }

    def test_the_filter_types_are_marketos(self):
        assert FILTER_TYPES == ("updatedAt", "staticListId", "staticListName", "smartListId", "smartListName")


class TestRefused:
    @pytest.mark.parametrize(
        ("flt", "key", "rule"),
        [
            ({}, "filter", "needs exactly one of updatedAt, staticListId"),
            ({"updatedAt": JANUARY, "smartListId": 2001}, "filter", "got updatedAt and smartListId"),
            ({"createdAt": JANUARY}, "filter.createdAt", "unknown filter key"),
            (
                {"updatedAt": {"startAt": "2024-01-01", "endAt": "2024-02-02"}},
                "filter.updatedAt",
                "at most 31 days",
            ),
            (
                {"updatedAt": {"startAt": math.inf, "endAt": "2024-02-02"}},
                "filter.updatedAt.startAt",
                "not float",
            ),
            ({"staticListId": math.nan}, "filter.staticListId", "positive integer list id"),
            ({"smartListId": False}, "filter.smartListId", "positive integer list id"),
            ({"staticListName": " "}, "filter.staticListName", "non-empty string"),
            (None, "filter", "must be a mapping"),
        ],
    )
    def test_filters(self, flt, key, rule):
        if flt is None:
            with pytest.raises(MarketoRequestError) as caught:
                build_custom_object_export_request(["vin"], None)  # type: ignore[arg-type]
            error = caught.value
        else:
            error = refused(flt=flt)

        assert error.key == key
        assert rule in error.rule

    @pytest.mark.parametrize("fields", [[], ["vin", "vin"], ["🚗"], "vin,make", [1]])
    def test_fields_are_required_rest_names(self, fields):
        assert refused(fields=fields).key == "fields"


class TestTheEmulatorAcceptsTheBody:
    @pytest.mark.parametrize(
        ("api_name", "fields", "flt"),
        [
            ("car_c", ["vin", "make", "model"], {"staticListId": 1081}),
            ("car_c", ["vin"], {"staticListName": "Car Buyers"}),
            ("contract_c", ["contractId", "amount"], {"smartListId": 2001}),
            ("contract_c", ["contractId"], {"smartListName": "Qualified, EMEA (ü)"}),
            ("contract_c", ["contractId", "signedOn"], {"updatedAt": JANUARY}),
        ],
    )
    def test_every_filter_type_is_created(self, api, api_name, fields, flt):
        created = api.create(build_custom_object_export_request(fields, flt), export_path(api_name))

        assert created["success"], created

    def test_the_file_has_the_records_updated_in_the_window(self, api, marketo_emulator):
        cars = marketo_emulator.instance.records.custom_object_records["car_c"]
        middle = sorted(car.updated_at for car in cars)[len(cars) // 2]
        window = {
            "startAt": dt.datetime.fromtimestamp(middle - 15 * 86400, dt.UTC),
            "endAt": dt.datetime.fromtimestamp(middle + 15 * 86400, dt.UTC),
        }
        body = build_custom_object_export_request(CAR_FIELDS, {"updatedAt": window}, format="ssv")

        _, content = api.export(body, export_path("car_c"))
        header, *rows = parse_rows(content, delimiter=" ")

        sent = body["filter"]["updatedAt"]
        assert header == CAR_FIELDS
        assert rows
        assert all(sent["startAt"] <= row[-1] <= sent["endAt"] for row in rows)

    def test_a_subscription_without_smart_lists_is_explained(self, start_emulator):
        api = start_emulator(smart_list_filter=False)
        body = build_custom_object_export_request(["vin"], {"smartListName": "Chicago Leads"})

        code, message = error_of(api.create(body, export_path("car_c")))
        hint = custom_object_unsupported_filter_hint(message)

        assert code == "1035"
        assert "does not support smartListName for custom object exports" in hint
        assert "filter on updatedAt windows" in hint


def test_a_1035_naming_no_filter_explains_the_smart_lists_only():
    hint = custom_object_unsupported_filter_hint("Unsupported filter type for target subscription")

    assert "Instead of smartListId" in hint
    assert "Instead of smartListName" in hint
    assert "Instead of updatedAt" not in hint


def test_the_custom_object_kind_is_bound_to_one_object_per_task():
    cars = CUSTOM_OBJECTS.bind(apiName="car_c")

    assert CUSTOM_OBJECTS.path_parameters == ("apiName",)
    assert CUSTOM_OBJECTS.path_arguments == (("apiName", "api_name"),)  # the tasks' argument
    assert cars.path == export_path("car_c")
    assert cars.field_describes == (describe_path("car_c"),) == cars.table.describes
    assert cars.state_key == "marketo_custom_object_export_car_c"
    assert cars.request(fields=CAR_FIELDS, filter={"staticListId": 1081}).body == (
        build_custom_object_export_request(CAR_FIELDS, {"staticListId": 1081})
    )
    assert CUSTOM_OBJECTS.table is CUSTOM_OBJECT_TABLE
    assert CUSTOM_OBJECTS.unsupported_filter_hint is custom_object_unsupported_filter_hint
