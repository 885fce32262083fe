"""The emulator's data is deterministic and awkward, and every export filter and format option is honoured."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from emulator_client import error_of, parse_rows

from airflow_provider_marketo_pm.testing import MarketoEmulator
from airflow_provider_marketo_pm.testing.emulator.dataset import DATETIME_FIELDS, SPAN_DAYS, build_dataset

#: The day earlier releases' fixed dataset ended before (updatedAt 2022-01-01 to 2026-10-31).
FIXED_UNTIL = date(2026, 11, 1)

DESCRIBE = "/rest/v1/programs/members/describe.json"


def export_rows(api, fields, flt, **extra):
    record, content = api.export({"fields": fields, "filter": flt, **extra})
    rows = parse_rows(content, {"CSV": ",", "TSV": "\t", "SSV": " "}[record["format"]])
    return rows[0], rows[1:]


def test_describe_lists_the_documented_program_member_fields(api):
    payload = api.call("GET", DESCRIBE)

    (described,) = payload["result"]
    names = [field["name"] for field in described["fields"]]
    assert described["dedupeFields"] == ["leadId", "programId"]
    assert {"leadId", "programId", "statusName", "membershipDate", "reachedSuccess", "updatedAt"} <= set(
        names
    )
    assert {"pMCustomField01", "pMCustomField02"} <= set(names)


def test_the_dataset_is_seeded_spread_over_years_and_has_program_1044():
    dataset = build_dataset(42, 60, 4000, until=FIXED_UNTIL)

    assert dataset == build_dataset(42, 60, 4000, until=FIXED_UNTIL)
    assert dataset.programs[1044].name == "PMCF Program"
    assert sorted(dataset.programs) == list(range(1001, 1061))
    assert len(dataset.members) > 3000
    years = {datetime.fromtimestamp(m["updatedAt"], UTC).year for m in dataset.members}
    assert years == {2022, 2023, 2024, 2025, 2026}
    assert build_dataset(7, 60, 4000, until=FIXED_UNTIL).members != dataset.members


def epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def test_another_until_moves_every_date_by_whole_days_and_keeps_the_rows():
    fixed = build_dataset(42, 60, 4000, until=FIXED_UNTIL)
    until = FIXED_UNTIL + timedelta(days=400)
    moved = build_dataset(42, 60, 4000, until=until)
    shift = 400 * 86400

    assert len(moved.members) == len(fixed.members)
    for before, after in zip(fixed.members, moved.members, strict=True):
        for name, value in before.items():
            expected = value + shift if name in DATETIME_FIELDS and isinstance(value, int) else value
            assert after[name] == expected, name
    assert moved.programs[1001].created_at == fixed.programs[1001].created_at + shift
    first, last = moved.updated_at_range() or (0, 0)
    assert epoch(until - timedelta(days=SPAN_DAYS)) <= first < last < epoch(until)


def test_by_default_the_data_ends_the_day_the_emulator_starts_so_the_last_31_days_have_rows(start_emulator):
    emulator, api = start_emulator(start_at="2031-05-20T10:30:00+00:00")
    window = {"startAt": "2031-04-19T00:00:00Z", "endAt": "2031-05-20T00:00:00Z"}
    flt = {"programIds": list(range(1001, 1011)), "updatedAt": window}

    _, rows = export_rows(api, ["leadId", "updatedAt"], flt)

    assert rows, "the last 31 days before the emulator's day have rows"
    assert all(window["startAt"] <= row[2] < window["endAt"] for row in rows)
    assert emulator.data_until == "2031-05-20"
    first, last = emulator.updated_at_range() or ("", "")
    assert "2031-05-19T00:00:00Z" <= last < "2031-05-20T00:00:00Z", "the data ends with yesterday"
    assert first >= (date(2031, 5, 20) - timedelta(days=SPAN_DAYS)).isoformat()


def test_without_start_at_the_data_ends_the_day_it_starts():
    before = datetime.now(UTC).date().isoformat()
    with MarketoEmulator() as emulator:
        data_until = emulator.data_until
    after = datetime.now(UTC).date().isoformat()

    assert data_until in {before, after}


def test_a_pinned_data_until_serves_the_same_rows_whatever_the_day(start_emulator):
    window = {"startAt": "2026-10-01T00:00:00Z", "endAt": "2026-11-01T00:00:00Z"}
    body = {
        "fields": ["leadId", "updatedAt"],
        "filter": {"programIds": list(range(1001, 1011)), "updatedAt": window},
    }
    days = ("2026-12-06T12:00:00+00:00", "2031-01-01T00:00:00+00:00")

    served = [start_emulator(start_at=day, data_until="2026-11-01")[1].export(body) for day in days]

    assert len({record["fileChecksum"] for record, _ in served}) == 1
    assert served[0][0]["numberOfRecords"] > 0


def test_a_data_until_may_be_a_date():
    assert MarketoEmulator(data_until=FIXED_UNTIL).options.data_until == "2026-11-01"


def test_same_seed_same_file(start_emulator):
    body = {"fields": ["leadId", "firstName", "updatedAt"], "filter": {"programId": 1044}}
    checksums = {start_emulator(seed=3)[1].export(body)[0]["fileChecksum"] for _ in range(2)}

    assert len(checksums) == 1


def test_values_are_nasty_but_quoted_correctly_and_empties_are_null(api):
    fields = ["leadId", "firstName", "lastName", "company", "leadCustomField01", "leadCustomField02"]
    header, rows = export_rows(api, fields, {"programIds": [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008]})

    values = [value for row in rows for value in row]
    assert all(len(row) == len(header) for row in rows)
    assert any("\n" in value for value in values)
    assert any("," in value for value in values)
    assert any('"' in value for value in values)
    assert any(not value.isascii() for value in values)
    assert "null" in values
    assert "" not in values


def test_fields_order_and_column_header_names(api):
    header, _ = export_rows(
        api, ["email", "leadId", "statusName"], {"programId": 1044}, columnHeaderNames={"leadId": "Lead Id"}
    )

    assert header == ["email", "Lead Id", "statusName"]


def test_program_ids_adds_a_first_program_id_column(api):
    header, rows = export_rows(api, ["leadId", "program"], {"programIds": [1044, 1045]})

    assert header == ["programId", "leadId", "program"]
    assert {row[0] for row in rows} == {"1044", "1045"}


def test_status_names_are_ored(api):
    _, rows = export_rows(
        api, ["leadId", "statusName"], {"programId": 1044, "statusNames": ["On List", "Member"]}
    )

    assert rows
    assert {row[1] for row in rows} <= {"On List", "Member"}


def test_a_status_name_found_in_no_program_is_1003(api):
    payload = api.create({"fields": ["leadId"], "filter": {"programId": 1044, "statusNames": ["Attended"]}})

    code, message = error_of(payload)
    assert code == "1003"
    assert "Attended" in message


def test_is_exhausted_and_nurture_cadence_filters(api):
    programs = list(range(1001, 1011))
    _, exhausted = export_rows(api, ["leadId", "isExhausted"], {"programIds": programs, "isExhausted": True})
    _, paused = export_rows(api, ["nurtureCadence"], {"programIds": programs, "nurtureCadence": "paused"})
    _, pause = export_rows(api, ["nurtureCadence"], {"programIds": programs, "nurtureCadence": "pause"})

    assert exhausted
    assert {row[2] for row in exhausted} == {"true"}
    assert paused
    assert paused == pause


def test_updated_at_selects_the_window(api):
    window = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T23:59:59Z"}
    programs = list(range(1001, 1011))
    _, rows = export_rows(api, ["leadId", "updatedAt"], {"programIds": programs, "updatedAt": window})
    _, everything = export_rows(api, ["leadId", "updatedAt"], {"programIds": programs})

    assert rows
    assert len(rows) < len(everything)
    assert all("2024-01-01T00:00:00Z" <= row[2] <= "2024-01-31T23:59:59Z" for row in rows)


@pytest.mark.parametrize(
    "window",
    [
        {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-03-01T00:00:00Z"},
        {"startAt": "2024-02-01T00:00:00Z", "endAt": "2024-01-01T00:00:00Z"},
        {"startAt": "yesterday", "endAt": "2024-01-01T00:00:00Z"},
    ],
)
def test_bad_updated_at_windows_are_1003(api, window):
    payload = api.create({"fields": ["leadId"], "filter": {"programId": 1044, "updatedAt": window}})

    assert error_of(payload)[0] == "1003"


def test_a_subscription_without_the_updated_at_filter_answers_1035(start_emulator):
    _, api = start_emulator(updated_at_filter=False)
    window = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T00:00:00Z"}

    payload = api.create({"fields": ["leadId"], "filter": {"programId": 1044, "updatedAt": window}})

    assert error_of(payload)[0] == "1035"


@pytest.mark.parametrize(("export_format", "delimiter"), [("TSV", "\t"), ("SSV", " ")])
def test_tsv_and_ssv_quote_what_needs_quoting(api, export_format, delimiter):
    fields = ["leadId", "lastName", "leadCustomField01", "program"]
    header, rows = export_rows(api, fields, {"programIds": list(range(1001, 1011))}, format=export_format)

    assert header == ["programId", *fields]
    assert all(len(row) == len(header) for row in rows)
    assert any(delimiter in value for row in rows for value in row)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"fields": ["leadId"], "filter": {"programId": 1044, "programIds": [1044]}}, "1003"),
        ({"fields": ["leadId"], "filter": {}}, "1003"),
        ({"fields": ["leadId"], "filter": {"programIds": list(range(1001, 1012))}}, "1003"),
        ({"fields": ["noSuchField"], "filter": {"programId": 1044}}, "1003"),
        ({"fields": [], "filter": {"programId": 1044}}, "1003"),
        ({"fields": ["leadId"], "filter": {"programId": 1044}, "format": "XLS"}, "1003"),
        ({"fields": ["leadId"], "filter": {"programId": 1044}, "columnHeaderNames": {"email": "E"}}, "1003"),
        ({"fields": ["leadId"], "filter": {"programId": 99}}, "1003"),
    ],
)
def test_invalid_create_requests_are_refused(api, body, code):
    assert error_of(api.create(body))[0] == code


def test_a_body_that_is_not_json_is_609(api):
    response = api.request("POST", "/bulk/v1/program/members/export/create.json", data=b"{not json")

    assert error_of(response.json())[0] == "609"
