"""Bulk Lead Extract: the program member dataset's leads, under Marketo's lead create rules."""

from __future__ import annotations

import hashlib

import pytest
from emulator_client import EXPORT, LEADS, error_of, parse_rows, window_around

from airflow_provider_marketo_pm.testing.emulator.clock import iso_utc as iso
from airflow_provider_marketo_pm.testing.emulator.dataset import LEAD_FIELD_NAMES

SEPTEMBER = {"startAt": "2026-09-01T00:00:00Z", "endAt": "2026-10-01T00:00:00Z"}


def lead_rows(api, fields, flt):
    _, content = api.export({"fields": fields, "filter": flt}, LEADS)
    header, *rows = parse_rows(content)
    assert header == fields
    return rows


class TestLifecycle:
    def test_create_enqueue_status_and_a_verifiable_file(self, api):
        created = api.create({"fields": ["id", "email"], "filter": {"createdAt": SEPTEMBER}}, LEADS)
        (job,) = created["result"]
        assert set(job) == {"exportId", "format", "status", "createdAt"}
        assert job["status"] == "Created"

        assert api.enqueue(job["exportId"], LEADS)["result"][0]["status"] == "Queued"
        done = api.wait_for(job["exportId"], "Completed", path=LEADS)
        content = api.file(job["exportId"], LEADS).content
        assert done["fileChecksum"] == "sha256:" + hashlib.sha256(content).hexdigest()
        assert done["fileSize"] == len(content)
        assert done["numberOfRecords"] == len(parse_rows(content)) - 1

    def test_the_file_answers_ranges(self, api):
        record, whole = api.export(
            {"fields": ["id", "email", "company"], "filter": {"staticListId": 1081}}, LEADS
        )
        export_id = api.listed(LEADS)[-1]

        part = api.file(export_id, LEADS, headers={"Range": "bytes=10-99"})

        assert part.status_code == 206
        assert part.headers["Content-Range"] == f"bytes 10-99/{record['fileSize']}"
        assert part.content == whole[10:100]

    def test_cancel_and_list(self, start_emulator):
        _, api = start_emulator(processing_seconds=3600)
        first, second = api.create_job(path=LEADS), api.create_job(path=LEADS)
        api.enqueue(second, LEADS)

        assert api.cancel(first, LEADS)["result"][0]["status"] == "Cancelled"
        assert api.listed(LEADS) == [first, second]
        assert api.listed(LEADS, status="processing") == [second]
        assert api.file(second, LEADS).status_code == 404


class TestData:
    def test_leads_are_the_leads_of_the_program_members(self, api, marketo_emulator):
        members = {int(m["leadId"]) for m in marketo_emulator.instance.dataset.members}

        every_list = [lead_rows(api, ["id"], {"staticListId": list_id}) for list_id in (1081, 1082, 1083)]
        exported = {int(row[0]) for rows in every_list for row in rows}

        assert exported
        assert exported <= members
        assert {lead.id for lead in marketo_emulator.instance.records.leads.leads} == members

    def test_a_leads_fields_are_those_of_its_program_memberships(self, api):
        fields = ["email", "firstName", "lastName", "company", "leadCustomField01"]
        leads = {row[0]: row for row in lead_rows(api, ["id", *fields], {"staticListId": 1081})}
        _, content = api.export({"fields": ["leadId", *fields], "filter": {"programId": 1044}})
        members = parse_rows(content)[1:]

        shared = [row for row in members if row[0] in leads]
        assert shared
        assert all(leads[row[0]] == row for row in shared)

    def test_created_at_and_updated_at_select_by_the_leads_own_dates(self, api, marketo_emulator):
        leads = marketo_emulator.instance.records.leads.leads
        for filter_type, moments in (
            ("createdAt", sorted(lead.created_at for lead in leads)),
            ("updatedAt", sorted(lead.updated_at for lead in leads)),
        ):
            window = window_around(moments[len(moments) // 2])
            rows = lead_rows(api, ["id", filter_type], {filter_type: window})

            assert rows, filter_type
            assert all(window["startAt"] <= row[1] <= window["endAt"] for row in rows)
            assert len(rows) == sum(window["startAt"] <= iso(m) <= window["endAt"] for m in moments)

    def test_a_static_list_selects_the_same_leads_by_id_and_by_name(self, api):
        by_id = lead_rows(api, ["id"], {"staticListId": 1082})
        by_name = lead_rows(api, ["id"], {"staticListName": "Newsletter, Weekly"})

        assert by_id
        assert by_id == by_name

    def test_smart_lists_select_by_their_rule(self, api):
        rows = lead_rows(api, ["id", "city"], {"smartListName": "Chicago Leads"})

        assert rows
        assert {row[1] for row in rows} == {"Chicago"}
        assert rows == lead_rows(api, ["id", "city"], {"smartListId": 2001})

    def test_lead_custom_fields_of_your_own_are_filled_like_in_member_exports(self, start_emulator):
        _, api = start_emulator(lead_custom_fields=("acmeScore",))
        leads = dict(lead_rows(api, ["id", "acmeScore"], {"staticListId": 1081}))
        _, content = api.export({"fields": ["leadId", "acmeScore"], "filter": {"programId": 1044}})

        shared = [row for row in parse_rows(content)[1:] if row[0] in leads]
        assert shared
        assert all(leads[lead_id] == value for lead_id, value in shared)

    def test_nul_bytes_reach_lead_custom_fields_too(self, start_emulator):
        _, api = start_emulator(nul_bytes=True)

        rows = lead_rows(api, ["id", "leadCustomField01"], {"staticListId": 1082})

        assert any("\x00" in value for _, value in rows)


class TestCreateRules:
    @pytest.mark.parametrize(
        ("body", "says"),
        [
            ({"filter": {"staticListId": 1081}}, "fields"),
            ({"fields": [], "filter": {"staticListId": 1081}}, "fields"),
            ({"fields": ["id"]}, "filter is required"),
            ({"fields": ["id"], "filter": {}}, "exactly one of createdAt, updatedAt"),
            ({"fields": ["id"], "filter": {"staticListId": 1081, "createdAt": SEPTEMBER}}, "got createdAt"),
            ({"fields": ["id"], "filter": {"programId": 1044}}, "Unsupported filter type: programId"),
            ({"fields": ["id"], "filter": {"staticListId": 999}}, "Static list not found: 999"),
            ({"fields": ["id"], "filter": {"smartListName": "Nope"}}, "Smart list not found: 'Nope'"),
            ({"fields": ["id"], "filter": {"staticListId": "1081"}}, "staticListId must be an integer"),
            ({"fields": ["id"], "format": "XLS", "filter": {"staticListId": 1081}}, "Invalid format"),
            (
                {"fields": ["id"], "filter": {"createdAt": {"startAt": "2026-01-01T00:00:00Z",
                                                             "endAt": "2026-02-02T00:00:01Z"}}},
                "createdAt date range must be 31 days or fewer",
            ),
            (
                {"fields": ["id"], "filter": {"updatedAt": {"startAt": "2026-01-01T00:00:00.000Z",
                                                             "endAt": "2026-01-02T00:00:00Z"}}},
                "without milliseconds",
            ),
            (
                {"fields": ["id"], "columnHeaderNames": {"email": "E"}, "filter": {"staticListId": 1081}},
                "columnHeaderNames refers to fields not in the export: email",
            ),
        ],
    )  # fmt: skip
    def test_bad_requests_get_1003_naming_the_problem(self, api, body, says):
        code, message = error_of(api.create(body, LEADS))

        assert code == "1003"
        assert says in message

    def test_fields_must_come_from_describe_lead2(self, api):
        described = [
            f["name"] for f in api.call("GET", "/rest/v1/leads/describe2.json")["result"][0]["fields"]
        ]

        assert api.create({"fields": described, "filter": {"staticListId": 1081}}, LEADS)["success"]
        assert described == list(LEAD_FIELD_NAMES)
        payload = api.create({"fields": ["id", "leadId", "emial"], "filter": {"staticListId": 1081}}, LEADS)
        assert error_of(payload) == ("1003", "Invalid fields: leadId, emial")

    @pytest.mark.parametrize(
        ("option", "flt"),
        [
            ("updated_at_filter", {"updatedAt": SEPTEMBER}),
            ("smart_list_filter", {"smartListId": 2001}),
            ("smart_list_filter", {"smartListName": "Chicago Leads"}),
        ],
    )
    def test_a_subscription_without_the_filter_answers_1035(self, start_emulator, option, flt):
        _, api = start_emulator(**{option: False})

        refused = error_of(api.create({"fields": ["id"], "filter": flt}, LEADS))

        (filter_type,) = flt
        assert refused == ("1035", f"Unsupported filter type for target subscription: {filter_type}")
        assert api.create({"fields": ["id"], "filter": {"createdAt": SEPTEMBER}}, LEADS)["success"]
        assert api.create({"fields": ["id"], "filter": {"staticListId": 1081}}, LEADS)["success"]

    def test_a_program_member_job_is_unknown_on_the_lead_paths(self, api):
        member_job = api.create_job()

        assert error_of(api.status(member_job, LEADS))[0] == "1003"
        assert error_of(api.enqueue(member_job, LEADS))[0] == "1003"
        assert api.status(member_job, EXPORT)["success"] is True
