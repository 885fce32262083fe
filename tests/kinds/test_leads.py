"""Bulk Lead Extract requests: Marketo's exact create body, or an error naming the field and the rule."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from testing.emulator_client import LEADS, error_of, parse_rows

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.kinds import leads as lead_kind
from airflow_provider_marketo_pm.kinds.leads import (
    DESCRIBE_PATH,
    FILTER_TYPES,
    LEAD_TABLE,
    PATH,
    build_lead_export_request,
    lead_unsupported_filter_hint,
)

JANUARY = {"startAt": "2024-01-01", "endAt": "2024-01-31"}
JANUARY_SENT = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T00:00:00Z"}


def refused(fields=None, flt=None, **options) -> MarketoRequestError:
    """The error of a request that is good but for what the test gives."""
    fields = ["id", "email"] if fields is None else fields
    with pytest.raises(MarketoRequestError) as caught:
        build_lead_export_request(fields, {"createdAt": JANUARY} if flt is None else flt, **options)
    return caught.value


class TestBody:
    def test_a_date_range_filter_is_sent_in_utc_without_milliseconds(self):
        start = dt.datetime(2024, 1, 1, 1, 30, 15, 999999, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        body = build_lead_export_request(
            ["id", "email"], {"updatedAt": {"startAt": start, "endAt": dt.date(2024, 1, 31)}}
        )

        assert body == {
            "fields": ["id", "email"],
            "format": "CSV",
            "filter": {"updatedAt": {"startAt": "2024-01-01T00:30:15Z", "endAt": "2024-01-31T00:00:00Z"}},
        }

    @pytest.mark.parametrize(
        ("flt", "sent"),
        [
            ({"createdAt": JANUARY}, {"createdAt": JANUARY_SENT}),
            ({"staticListId": 1081}, {"staticListId": 1081}),
            ({"staticListId": "1081"}, {"staticListId": 1081}),  # as Jinja renders an id
            ({"smartListId": 2001}, {"smartListId": 2001}),
            ({"staticListName": "Newsletter, Weekly"}, {"staticListName": "Newsletter, Weekly"}),
            ({"smartListName": "Qualified, EMEA (ü)"}, {"smartListName": "Qualified, EMEA (ü)"}),
        ],
    )
    def test_each_filter_type(self, flt, sent):
        assert build_lead_export_request(["id"], flt)["filter"] == sent

    def test_format_and_column_headers(self):
        body = build_lead_export_request(
            ["id", "email"], {"staticListId": 1081}, format="tsv", column_header_names={"id": "Lead Id"}
        )

        assert body["format"] == "TSV"
        assert body["columnHeaderNames"] == {"id": "Lead Id"}

    def test_the_path_is_the_bulk_lead_extract(self):
        assert PATH == "/bulk/v1/leads/export"


class TestRefused:
    @pytest.mark.parametrize(
        ("fields", "rule"),
        [
            ([], "at least one field"),
            ("id,email", "must be a list of field names"),
            (["id", "id"], "must not repeat"),
            (["email 📧"], "ASCII letters, digits and underscores"),
            (["first name"], "ASCII letters, digits and underscores"),
            ([None], "non-empty string"),
            ([math.nan], "non-empty string"),
        ],
    )
    def test_fields(self, fields, rule):
        error = refused(fields=fields)

        assert error.key == "fields"
        assert rule in error.rule

    def test_fields_are_required(self):
        with pytest.raises(TypeError):
            build_lead_export_request(filter={"createdAt": JANUARY})  # type: ignore[call-arg]

    @pytest.mark.parametrize(
        ("flt", "key", "rule"),
        [
            ({}, "filter", "exactly one of createdAt, updatedAt, staticListId"),
            ({"createdAt": JANUARY, "staticListId": 1}, "filter", "got createdAt and staticListId"),
            ({"createdAt": JANUARY, "updatedAt": JANUARY}, "filter", "got createdAt and updatedAt"),
            ({"programId": 1044}, "filter.programId", "unknown filter key"),
            ("createdAt", "filter", "must be a mapping"),
            ([("createdAt", JANUARY)], "filter", "must be a mapping"),
        ],
    )
    def test_exactly_one_known_filter_type(self, flt, key, rule):
        error = refused(flt=flt)

        assert (error.key, rule in error.rule) == (key, True)

    @pytest.mark.parametrize("filter_type", ["createdAt", "updatedAt"])
    @pytest.mark.parametrize(
        ("window", "key", "rule"),
        [
            ({"startAt": "2024-01-01", "endAt": "2024-02-02"}, "", "at most 31 days"),
            ({"startAt": "2024-01-01", "endAt": "2024-01-01"}, "", "CronDataIntervalTimetable"),
            ({"startAt": "2024-02-01", "endAt": "2024-01-01"}, "", "startAt must be before endAt"),
            ({"startAt": "2024-01-01"}, "", "exactly the keys startAt and endAt"),
            ({"startAt": "2024-01-01T00:00:00", "endAt": "2024-01-02"}, ".startAt", "naive"),
            ({"startAt": math.inf, "endAt": "2024-01-02"}, ".startAt", "not float"),
            ({"startAt": "2024-01-01", "endAt": math.nan}, ".endAt", "not float"),
            ({"startAt": "0001-01-01", "endAt": "2024-01-02"}, ".startAt", "from 1970-01-01"),
            ("2024-01", "", "must be a mapping"),
        ],
    )
    def test_date_ranges(self, filter_type, window, key, rule):
        error = refused(flt={filter_type: window})

        assert error.key == f"filter.{filter_type}{key}"
        assert rule in error.rule

    def test_exactly_31_days_is_allowed(self):
        body = build_lead_export_request(
            ["id"], {"createdAt": {"startAt": "2024-01-01", "endAt": "2024-02-01"}}
        )

        assert body["filter"]["createdAt"]["endAt"] == "2024-02-01T00:00:00Z"

    @pytest.mark.parametrize("filter_type", ["staticListId", "smartListId"])
    @pytest.mark.parametrize(
        "value", [0, -1, True, 1.5, math.inf, math.nan, "01081", " 1081", "1e3", 2**31, 10**4000, None]
    )
    def test_list_ids(self, filter_type, value):
        error = refused(flt={filter_type: value})

        assert error.key == f"filter.{filter_type}"
        assert "positive integer list id" in error.rule

    @pytest.mark.parametrize("filter_type", ["staticListName", "smartListName"])
    @pytest.mark.parametrize("value", ["", "   ", 1081, None, ["Car Buyers"]])
    def test_list_names(self, filter_type, value):
        error = refused(flt={filter_type: value})

        assert (error.key, error.rule) == (
            f"filter.{filter_type}",
            "must be the list's name, a non-empty string",
        )

    def test_an_id_of_5000_digits_is_shown_short(self):
        assert "<an int of" in str(refused(flt={"staticListId": 10**5000}))

    @pytest.mark.parametrize(
        ("options", "key"),
        [
            ({"format": "XLSX"}, "format"),
            ({"format": None}, "format"),
            ({"column_header_names": {"company": "Company"}}, "columnHeaderNames.company"),
            ({"column_header_names": {"id": ""}}, "columnHeaderNames.id"),
            ({"column_header_names": ["id"]}, "columnHeaderNames"),
        ],
    )
    def test_format_and_headers(self, options, key):
        assert refused(**options).key == key


class TestTheEmulatorAcceptsTheBody:
    """Each body as created over HTTP: the emulator checks requests as Marketo's lead extract does."""

    @pytest.mark.parametrize(
        "flt",
        [
            {"staticListId": "1081"},
            {"staticListName": "Newsletter, Weekly"},
            {"smartListId": 2001},
            {"smartListName": "Qualified, EMEA (ü)"},
            {"createdAt": JANUARY},
            {
                "updatedAt": {
                    "startAt": dt.datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=dt.UTC),
                    "endAt": "2024-02-01",
                }
            },
        ],
    )
    def test_every_filter_type_is_created(self, api, flt):
        created = api.create(build_lead_export_request(["id", "email"], flt, format="ssv"), LEADS)

        assert created["success"], created
        assert created["result"][0]["format"] == "SSV"

    def test_the_file_has_the_fields_and_renamed_headers(self, api, recent_month):
        body = build_lead_export_request(
            ["id", "email", "updatedAt"],
            {"updatedAt": recent_month},
            column_header_names={"id": "Lead Id"},
        )

        _, content = api.export(body, LEADS)
        header, *rows = parse_rows(content)

        assert header == ["Lead Id", "email", "updatedAt"]
        sent = body["filter"]["updatedAt"]
        assert rows
        assert all(sent["startAt"] <= updated <= sent["endAt"] for *_, updated in rows)

    def test_a_subscription_without_updated_at_is_explained(self, start_emulator):
        api = start_emulator(updated_at_filter=False)
        body = build_lead_export_request(["id"], {"updatedAt": JANUARY})

        code, message = error_of(api.create(body, LEADS))
        hint = lead_unsupported_filter_hint(message)

        assert code == "1035"
        assert "does not support updatedAt for lead exports" in hint
        assert "createdAt windows" in hint
        assert "smartList" not in hint

    def test_a_subscription_without_smart_lists_is_explained(self, start_emulator):
        api = start_emulator(smart_list_filter=False)

        code, message = error_of(api.create(build_lead_export_request(["id"], {"smartListId": 2001}), LEADS))

        assert code == "1035"
        assert "static list and filter on staticListId" in lead_unsupported_filter_hint(message)


class TestUnsupportedFilterHint:
    def test_a_message_naming_no_filter_explains_every_filter_a_subscription_may_lack(self):
        hint = lead_unsupported_filter_hint("Unsupported filter type for target subscription")

        assert "Instead of updatedAt" in hint
        assert "Instead of smartListId" in hint
        assert "Instead of smartListName" in hint
        assert "Instead of createdAt" not in hint

    def test_a_message_that_is_no_text(self):
        assert "Instead of updatedAt" in lead_unsupported_filter_hint(None)  # type: ignore[arg-type]


def test_the_filter_types_are_marketos():
    assert FILTER_TYPES == (
        "createdAt",
        "updatedAt",
        "staticListId",
        "staticListName",
        "smartListId",
        "smartListName",
    )


def test_the_lead_kind_is_its_builder_describe_table_and_1035_hint():
    request = lead_kind.LEADS.request(fields=["id", "email"], filter={"createdAt": JANUARY})

    assert request.body == build_lead_export_request(["id", "email"], {"createdAt": JANUARY})
    assert (lead_kind.LEADS.path, lead_kind.LEADS.state_key) == (PATH, "marketo_lead_export")
    assert lead_kind.LEADS.field_describes == (DESCRIBE_PATH,) == LEAD_TABLE.describes  # Describe Lead2
    assert lead_kind.LEADS.table is LEAD_TABLE
    assert lead_kind.LEADS.unsupported_filter_hint is lead_unsupported_filter_hint
    assert lead_kind.LEADS.path_parameters == ()
