"""A create request's rules (shared ones and program members' own): the exact body, or an error naming
the key, the value and the rule."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.hooks.connection_settings import is_loopback_host
from airflow_provider_marketo_pm.kinds.program_members import build_request

FIELDS = ["leadId", "programId", "statusName"]
JAN1, JAN2 = "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"


def window(start, end):
    """A programId filter with an updatedAt window."""
    return {"programId": 1, "updatedAt": {"startAt": start, "endAt": end}}


def test_minimal_request_is_normalised():
    body = build_request(FIELDS, {"programId": 1044})
    assert body == {"fields": FIELDS, "format": "CSV", "filter": {"programId": 1044}}


def test_full_request_is_normalised():
    body = build_request(
        FIELDS,
        {
            "programIds": [1001, 1002],
            "updatedAt": {
                "startAt": "2024-01-01T01:00:00.250+01:00",
                "endAt": pendulum.datetime(2024, 1, 31),
            },
            "statusNames": ["Member", "Attended"],
            "isExhausted": False,
            "nurtureCadence": "paused",
        },
        format="tsv",
        column_header_names={"leadId": "Lead ID"},
    )
    assert body == {
        "fields": ["leadId", "statusName"],  # programId: Marketo adds it first for programIds
        "format": "TSV",
        "filter": {
            "programIds": [1001, 1002],
            "updatedAt": {"startAt": JAN1, "endAt": "2024-01-31T00:00:00Z"},
            "statusNames": ["Member", "Attended"],
            "isExhausted": False,
            "nurtureCadence": "paused",
        },
        "columnHeaderNames": {"leadId": "Lead ID"},
    }


@pytest.mark.parametrize("fmt", ["csv", "Tsv", "SSV"])
def test_format_any_case_in_upper_case_out(fmt):
    assert build_request(FIELDS, {"programId": 1})["format"] == "CSV"
    assert build_request(FIELDS, {"programId": 1}, format=fmt)["format"] == fmt.upper()


def test_aware_datetimes_are_sent_in_utc_without_fraction():
    start = dt.datetime(2024, 3, 10, 1, 30, 15, 999999, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    end = start + dt.timedelta(days=31)
    body = build_request(FIELDS, window(start, end))
    assert body["filter"]["updatedAt"] == {"startAt": "2024-03-10T06:30:15Z", "endAt": "2024-04-10T06:30:15Z"}


def test_an_empty_window_says_why_plain_cron_schedules_give_one_and_what_to_use():
    with pytest.raises(MarketoRequestError, match="startAt must be before endAt") as caught:
        build_request(FIELDS, window(JAN1, JAN1))
    assert "plain cron schedule" in caught.value.rule
    assert "zero-length data intervals" in caught.value.rule
    assert "CronDataIntervalTimetable" in caught.value.rule


def test_a_reversed_window_is_not_blamed_on_the_schedule():
    with pytest.raises(MarketoRequestError, match="startAt must be before endAt") as caught:
        build_request(FIELDS, window(JAN2, JAN1))
    assert "CronDataIntervalTimetable" not in caught.value.rule


@pytest.mark.parametrize(
    ("fields", "filter_", "kwargs", "key", "rule"),
    [
        ([], {"programId": 1}, {}, "fields", "at least one field"),
        ("leadId", {"programId": 1}, {}, "fields", "list of field names"),
        (["leadId", "leadId"], {"programId": 1}, {}, "fields", "must not repeat"),
        (["leadId", 3], {"programId": 1}, {}, "fields", "non-empty string"),
        (["leadId", ""], {"programId": 1}, {}, "fields", "non-empty string"),
        (FIELDS, {}, {}, "filter", "exactly one of programId"),
        (FIELDS, {"programId": 1, "programIds": [2]}, {}, "filter", "exactly one of programId"),
        (FIELDS, ["programId"], {}, "filter", "must be a mapping"),
        (FIELDS, {"programId": True}, {}, "filter.programId", "positive integer"),
        (FIELDS, {"programId": "01044"}, {}, "filter.programId", "positive integer"),
        (FIELDS, {"programId": 0}, {}, "filter.programId", "positive integer"),
        (FIELDS, {"programIds": []}, {}, "filter.programIds", "1 to 10"),
        (FIELDS, {"programIds": list(range(1, 12))}, {}, "filter.programIds", "1 to 10"),
        (FIELDS, {"programIds": [1, False]}, {}, "filter.programIds", "positive integer"),
        (FIELDS, {"programIds": [1, 1]}, {}, "filter.programIds", "must not repeat"),
        (FIELDS, {"programIds": 1044}, {}, "filter.programIds", "list of 1 to 10"),
        (FIELDS, {"programId": 1, "updatedat": {}}, {}, "filter.updatedat", "unknown filter key"),
        (FIELDS, {"programId": 1, "updatedAt": {"startAt": JAN1}}, {}, "filter.updatedAt",
         "exactly the keys startAt and endAt"),
        (FIELDS, window(JAN2, JAN1),
         {}, "filter.updatedAt", "startAt must be before endAt"),
        (FIELDS, window(JAN1, JAN1),
         {}, "filter.updatedAt", "startAt must be before endAt"),
        (FIELDS, window(JAN1, "2024-02-01T00:00:01Z"),
         {}, "filter.updatedAt", "at most 31 days"),
        (FIELDS, window("2024-01-01T00:00:00", JAN2),
         {}, "filter.updatedAt.startAt", "timezone-aware"),
        (FIELDS, window(dt.datetime(2024, 1, 1), JAN2),
         {}, "filter.updatedAt.startAt", "naive"),
        (FIELDS, window(JAN1, "yesterday"),
         {}, "filter.updatedAt.endAt", "ISO-8601"),
        (FIELDS, window(JAN1, 20240102),
         {}, "filter.updatedAt.endAt", "timezone-aware datetime"),
        (FIELDS, {"programId": 1, "statusNames": []}, {}, "filter.statusNames", "non-empty list"),
        (FIELDS, {"programId": 1, "statusNames": "Member"}, {}, "filter.statusNames", "non-empty list"),
        (FIELDS, {"programId": 1, "statusNames": ["Member", 2]}, {}, "filter.statusNames", "non-empty"),
        (FIELDS, {"programId": 1, "isExhausted": "false"}, {}, "filter.isExhausted", "true or false"),
        (FIELDS, {"programId": 1, "nurtureCadence": 1}, {}, "filter.nurtureCadence", "non-empty string"),
        (FIELDS, {"programId": 1}, {"format": "XLSX"}, "format", "CSV, TSV, SSV"),
        (FIELDS, {"programId": 1}, {"format": None}, "format", "CSV, TSV, SSV"),
        (FIELDS, {"programId": 1}, {"column_header_names": {"email": "E-mail"}}, "columnHeaderNames.email",
         "one of the exported fields"),
        (FIELDS, {"programId": 1}, {"column_header_names": {"leadId": ""}}, "columnHeaderNames.leadId",
         "non-empty string"),
        (FIELDS, {"programId": 1}, {"column_header_names": [("leadId", "x")]}, "columnHeaderNames",
         "mapping"),
    ],
)  # fmt: skip
def test_bad_input_names_key_value_and_rule(fields, filter_, kwargs, key, rule):
    with pytest.raises(MarketoRequestError) as caught:
        build_request(fields, filter_, **kwargs)
    error = caught.value
    assert error.key == key
    assert rule in error.rule
    assert str(error).startswith(f"{key}=")
    assert repr(error.value) in str(error)
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("filter_", "sent"),
    [
        ({"programId": "1044"}, {"programId": 1044}),
        ({"programId": "7"}, {"programId": 7}),
        ({"programId": "2147483647"}, {"programId": 2147483647}),  # int32's largest
        ({"programIds": ["1001", 1002]}, {"programIds": [1001, 1002]}),
        ({"programIds": ("1001",)}, {"programIds": [1001]}),
    ],
)
def test_rendered_program_ids_are_sent_as_ints(filter_, sent):
    """Jinja renders ``{{ params.program_id }}`` to a string unless render_template_as_native_obj=True."""
    body = build_request(FIELDS, filter_)

    assert body["filter"] == sent
    sent_ids = body["filter"].get("programIds") or [body["filter"]["programId"]]
    assert all(type(pid) is int for pid in sent_ids)


@pytest.mark.parametrize(
    "program_id",
    [
        "01044",  # leading zero: not how the id was written in Marketo
        "0",
        "-5",
        "+5",
        " 1044",
        "1044 ",
        "1044\n",
        "1e3",
        "1_044",
        "10.0",
        "0x10",
        "",
        "\u0661\u0660\u0664\u0664",  # Arabic-Indic digits: str.isdigit() is true, Marketo ids are ASCII
        b"1044",
        1044.0,
        True,
        False,
        None,
        0,
        -5,
    ],
)
@pytest.mark.parametrize("shape", ["programId", "programIds"])
def test_anything_but_a_positive_int_or_its_canonical_string_is_refused(program_id, shape):
    filter_ = {"programId": program_id} if shape == "programId" else {"programIds": [1001, program_id]}

    with pytest.raises(MarketoRequestError) as caught:
        build_request(FIELDS, filter_)

    error = caught.value
    assert error.key == f"filter.{shape}"
    assert error.value == program_id
    assert type(error.value) is type(program_id)
    assert "positive integer program id" in error.rule
    assert "'1044'" in error.rule
    assert repr(program_id) in str(error)


def test_a_rendered_program_id_repeating_an_int_one_is_a_repeat():
    with pytest.raises(MarketoRequestError, match="must not repeat") as caught:
        build_request(FIELDS, {"programIds": ["1044", 1044]})

    assert caught.value.key == "filter.programIds"


def test_programids_rendered_as_one_string_says_how_to_keep_the_list():
    with pytest.raises(MarketoRequestError, match="render_template_as_native_obj") as caught:
        build_request(FIELDS, {"programIds": "[1001, 1002]"})

    assert caught.value.key == "filter.programIds"


def test_input_is_not_mutated():
    filter_ = {
        "programId": 1,
        "updatedAt": {"startAt": JAN1, "endAt": JAN2},
    }
    fields = list(FIELDS)
    body = build_request(fields, filter_)
    body["fields"].append("x")
    body["filter"]["updatedAt"]["startAt"] = "changed"
    assert fields == FIELDS
    assert filter_["updatedAt"]["startAt"] == JAN1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8766", True),
        ("http://127.3.4.5", True),
        ("http://[::1]:8080/x", True),
        ("http://localhost:8766", True),
        ("127.0.0.1:8766", True),
        ("localhost", True),
        ("https://123-ABC-456.mktorest.com", False),
        ("http://10.0.0.5:8766", False),
        ("http://127.0.0.1.example.com", False),
        ("", False),
    ],
)
def test_is_loopback_host(url, expected):
    assert is_loopback_host(url) is expected


def test_dates_in_a_filter_are_midnight_utc_as_in_windows():
    # One rule for dates everywhere (windows.split_updated_at reads them the same way).
    body = build_request(FIELDS, window("2024-01-01", dt.date(2024, 1, 2)))
    assert body["filter"]["updatedAt"] == {"startAt": JAN1, "endAt": JAN2}


@pytest.mark.parametrize(
    "name",
    ["email,firstName", "lead Id", " leadId", "leadId\t", "email\U0001f4e7", "prénom", "lead-id", "a.b"],
)
def test_a_field_name_that_is_not_a_rest_api_name_is_refused(name):
    with pytest.raises(MarketoRequestError, match="letters, digits and underscores") as caught:
        build_request(["leadId", name], {"programId": 1})

    assert (caught.value.key, caught.value.value) == ("fields", name)


def test_rest_api_names_with_digits_and_underscores_are_sent_as_given():
    fields = ["leadId", "leadCustomField01", "Company_Size__c", "_private"]
    assert build_request(fields, {"programId": 1})["fields"] == fields


def test_programid_in_fields_with_a_programids_filter_is_dropped_with_a_warning(caplog):
    """Marketo writes programId first by itself for programIds: asking for it too gave two columns."""
    with caplog.at_level("WARNING"):
        body = build_request(["programId", "leadId"], {"programIds": [1001, 1002]})

    assert body["fields"] == ["leadId"]
    assert "two programId columns" in caplog.text


def test_programid_in_fields_with_a_single_programid_filter_is_kept():
    body = build_request(["leadId", "programId"], {"programId": 1001})

    assert body["fields"] == ["leadId", "programId"]


def test_a_header_name_for_programid_with_a_programids_filter_is_refused():
    with pytest.raises(MarketoRequestError, match="not documented") as caught:
        build_request(
            ["programId", "leadId"], {"programIds": [1001]}, column_header_names={"programId": "Program"}
        )

    assert caught.value.key == "columnHeaderNames.programId"


def test_programid_as_the_only_field_with_a_programids_filter_is_refused():
    with pytest.raises(MarketoRequestError, match="name other fields too") as caught:
        build_request(["programId"], {"programIds": [1001]})

    assert caught.value.key == "fields"


@pytest.mark.parametrize(
    "program_id",
    ["1" * 5000, 10**5000, 2**31, "2147483648", "12345678901"],
    ids=["5000-digit-text", "5000-digit-int", "2**31", "2**31-text", "11-digits"],
)
def test_a_program_id_beyond_int32_is_our_error_however_long(program_id):
    with pytest.raises(MarketoRequestError, match="up to 2147483647") as caught:
        build_request(["leadId"], {"programId": program_id})

    assert caught.value.key == "filter.programId"
    assert len(str(caught.value)) < 400, "the message shows a long value cut short"


@pytest.mark.parametrize(
    "bound",
    [
        "0001-01-01",
        "0001-01-01T00:00:00+01:00",  # before year 1 once in UTC: OverflowError in Python
        "9999-12-31T23:00:00-05:00",  # after year 9999 once in UTC
        "9999-12-31",
        dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))),
        dt.date(1969, 12, 31),
        "3000-01-01T00:00:00Z",
    ],
)
def test_a_time_bound_outside_1970_to_3000_is_our_error(bound):
    with pytest.raises(MarketoRequestError, match="from 1970-01-01 to before 3000-01-01") as caught:
        build_request(["leadId"], window(bound, "2024-01-02T00:00:00Z"))

    assert caught.value.key == "filter.updatedAt.startAt"


def test_the_last_instant_before_3000_is_read():
    body = build_request(["leadId"], window("2999-12-31T00:00:00Z", "2999-12-31T23:59:59Z"))

    assert body["filter"]["updatedAt"]["endAt"] == "2999-12-31T23:59:59Z"
