"""Strict where Marketo is strict: what Marketo refuses, the emulator refuses, with Marketo's error."""

from __future__ import annotations

import pytest
from emulator_client import error_of, parse_rows

from airflow_provider_marketo_pm.testing.emulator.dataset import LEAD_FIELD_NAMES

DESCRIBE = "/rest/v1/programs/members/describe.json"
PROGRAMS = list(range(1001, 1011))


class TestNurtureCadence:
    @pytest.mark.parametrize("spelling", ["pause", "paused", "paus", "norm", "normal"])
    def test_each_documented_spelling_is_accepted(self, api, spelling):
        payload = api.create(
            {"fields": ["leadId"], "filter": {"programIds": PROGRAMS, "nurtureCadence": spelling}}
        )

        assert payload["success"] is True

    @pytest.mark.parametrize("spelling", ["PAUSEXYZ", "pauseX", "PAUSE", "Normal", "normally", "", "stop"])
    def test_anything_else_is_1003(self, api, spelling):
        payload = api.create(
            {"fields": ["leadId"], "filter": {"programIds": PROGRAMS, "nurtureCadence": spelling}}
        )

        code, message = error_of(payload)
        assert code == "1003"
        assert "nurtureCadence" in message

    def test_the_spellings_of_one_cadence_select_the_same_rows(self, api):
        def rows(spelling):
            flt = {"programIds": PROGRAMS, "nurtureCadence": spelling}
            return parse_rows(api.export({"fields": ["leadId", "nurtureCadence"], "filter": flt})[1])[1:]

        paused = rows("pause")
        assert paused
        assert {row[2] for row in paused} == {"paus"}
        assert rows("paused") == rows("paus") == paused


class TestUpdatedAt:
    @pytest.mark.parametrize(
        "start", ["2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.5+00:00", "2024-01-01T00:00:00,123Z"]
    )
    def test_milliseconds_are_refused_as_the_docs_say(self, api, start):
        window = {"startAt": start, "endAt": "2024-01-31T00:00:00Z"}

        code, message = error_of(
            api.create({"fields": ["leadId"], "filter": {"programId": 1044, "updatedAt": window}})
        )

        assert code == "1003"
        assert "without milliseconds" in message

    def test_whole_seconds_with_an_offset_are_fine(self, api):
        window = {"startAt": "2024-01-01T00:00:00-06:00", "endAt": "2024-01-31T00:00:00-06:00"}

        assert api.create({"fields": ["leadId"], "filter": {"programId": 1044, "updatedAt": window}})[
            "success"
        ]


class TestFields:
    def test_unknown_fields_are_named_in_marketos_error(self, api):
        payload = api.create({"fields": ["leadId", "leadID", "emial"], "filter": {"programId": 1044}})

        assert error_of(payload) == ("1003", "Invalid fields: leadID, emial")

    def test_a_realistic_field_list_is_accepted_and_served(self, api):
        fields = ["id", "company", "title", "createdAt", "updatedAt", "email", "firstName", "lastName",
                  "phone", "city", "country", "leadSource", "leadStatus", "leadId", "statusName",
                  "leadCustomField01"]  # fmt: skip

        _, content = api.export({"fields": fields, "filter": {"programId": 1044}})
        header, *rows = parse_rows(content)

        assert header == fields
        assert rows
        assert all(row[0] == row[fields.index("leadId")] for row in rows)  # a lead's id is its leadId
        assert any(row[fields.index("title")] != "null" for row in rows)
        assert all(row[fields.index("createdAt")].endswith("Z") for row in rows)

    def test_lead_custom_fields_of_your_own_are_accepted_listed_and_filled(self, start_emulator):
        _, api = start_emulator(lead_custom_fields=("acmeScore", "region__c"))

        _, content = api.export(
            {"fields": ["leadId", "acmeScore", "region__c"], "filter": {"programId": 1044}}
        )
        described = api.call("GET", "/rest/v1/leads/describe2.json")["result"][0]
        rows = parse_rows(content)[1:]

        assert rows
        assert {field["name"] for field in described["fields"]} >= {"acmeScore", "region__c"}
        assert {row[1] for row in rows} - {"null"}
        again = parse_rows(api.export({"fields": ["leadId", "acmeScore"], "filter": {"programId": 1044}})[1])[
            1:
        ]
        assert [row[:2] for row in rows] == again  # deterministic per lead

    def test_describe_leads_lists_every_exportable_lead_field_with_rest_names(self, api):
        payload = api.call("GET", "/rest/v1/leads/describe.json")

        names = [field["rest"]["name"] for field in payload["result"]]
        assert names == list(LEAD_FIELD_NAMES)
        company = next(field for field in payload["result"] if field["rest"]["name"] == "company")
        assert company == {
            "id": 2,
            "displayName": "Company Name",
            "dataType": "string",
            "length": 255,
            "rest": {"name": "company", "readOnly": False},
            "soap": {"name": "Company", "readOnly": False},
        }

    def test_describe2_answers_the_api_lead_record(self, api):
        (record,) = api.call("GET", "/rest/v1/leads/describe2.json")["result"]

        assert record["name"] == "API Lead"
        assert ["email"] in record["searchableFields"]
        assert {"name", "displayName", "dataType", "updateable", "crmManaged"} <= set(record["fields"][0])
        assert [field["name"] for field in record["fields"]] == list(LEAD_FIELD_NAMES)


class TestRateWindow:
    def test_refused_calls_do_not_count_against_the_rate_window(self, start_emulator):
        emulator, api = start_emulator(rate_limit_calls=3, rate_limit_window=2.0)
        answers = [api.call("GET", DESCRIBE) for _ in range(3)]
        refused = [api.call("GET", DESCRIBE) for _ in range(20)]

        assert all(answer["success"] for answer in answers)
        assert {error_of(answer)[0] for answer in refused} == {"606"}
        emulator.advance(2.0)  # the three admitted calls leave the window; the 20 refusals never entered it
        assert [api.call("GET", DESCRIBE)["success"] for _ in range(3)] == [True] * 3

    def test_a_615_refusal_holds_no_concurrency_slot(self, start_emulator):
        emulator, api = start_emulator(max_concurrent=1)
        emulator.instance.limits.enter()  # one call in flight, as another integration's would be
        try:
            assert error_of(api.call("GET", DESCRIBE))[0] == "615"
            assert error_of(api.call("GET", DESCRIBE))[0] == "615"
        finally:
            emulator.instance.limits.leave()

        assert api.call("GET", DESCRIBE)["success"] is True
        assert [call.marketo_code for call in emulator.calls("describe")] == ["615", "615", None]
