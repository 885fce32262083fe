"""Reading Marketo's answers: a malformed envelope, record, count, checksum or token is one of our errors,
naming the call and the field; never a KeyError, TypeError, ValueError or RecursionError. What is kept is
bounded (the documented fields of a record, each text cut).
"""

from __future__ import annotations

import json
import pickle

import pytest

from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoAuthError,
    MarketoMalformedAnswerError,
    MarketoTransientError,
)
from airflow_provider_marketo_pm.hooks.marketo_responses import (
    MAX_COUNT,
    MESSAGE_CHARS,
    SHORT_TEXT_CHARS,
    checksum_hex,
    export_record,
    marketo_count,
    payload_from_answer,
    read_export_record,
    token_from_answer,
)

EXPORT_ID = "ce45a7a1-f19d-4ce2-882c-a3c795a8f4c8"
HEX = "b3c8e70e6e501cf1025e345a66b409d4fd07364c7da773cfa68a2b68ce1a7212"


def answer(payload: object) -> str:
    return json.dumps(payload)


def completed(**fields: object) -> dict[str, object]:
    return {
        "exportId": EXPORT_ID,
        "status": "Completed",
        "numberOfRecords": 12,
        "fileSize": 1740,
        "fileChecksum": f"sha256:{HEX}",
        **fields,
    }


# -- the envelope ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field", "what"),
    [
        ({"success": False, "errors": {"code": "606", "message": "x"}}, "errors", "`errors` is an object"),
        ({"success": False, "errors": "606"}, "errors", "`errors` is a string"),
        ({"success": False, "errors": [["606"]]}, "errors", "an item of `errors` is a list"),
        ({"success": False, "errors": [{"code": ["606"]}]}, "errors", "an error's `code` is a list"),
        ({"success": False, "errors": [{"code": "1", "message": {}}]}, "errors", "`message` is an object"),
        ({"success": True, "result": "Completed"}, "result", "`result` is a string, not a list"),
        ({"success": True, "result": {"exportId": "x"}}, "result", "`result` is an object"),
        ({"success": True, "result": ["x"]}, "result", "an item of `result` is a string"),
        ({"success": "true", "result": []}, "success", "`success` is a string, not a boolean"),
        ({"success": 1, "result": []}, "success", "`success` is a number"),
        ({"success": None}, "success", "`success` is null"),
        ({"result": []}, "success", "no `success`"),
        ({"success": True, "requestId": ["r"]}, "requestId", "`requestId` is a list"),
        ({"success": True, "result": [], "nextPageToken": 7}, "nextPageToken", "`nextPageToken` is a number"),
        ({"success": True, "warnings": "careful"}, "warnings", "`warnings` is a string"),
    ],
)
def test_an_envelope_of_the_wrong_shape_names_the_call_and_the_field(payload, field, what):
    with pytest.raises(MarketoMalformedAnswerError) as caught:
        payload_from_answer(200, answer(payload), endpoint="status")
    assert caught.value.field == field
    assert caught.value.endpoint == "status"
    assert not caught.value.retryable
    assert str(caught.value).startswith("Marketo status call failed with a malformed answer: ")
    assert what in str(caught.value)


def test_json_nested_a_hundred_thousand_deep_is_refused_not_a_recursion_error():
    deep = '{"success": true, "result": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(MarketoMalformedAnswerError, match="nested deeper than it can be read") as caught:
        payload_from_answer(200, deep, endpoint="status")
    assert caught.value.field == "body"


@pytest.mark.parametrize(
    "cut",
    [
        '{"success": true, "result": [{"exportId": "ce45a7a1',
        '{"success": true, "result": [{"exportId": "x"}',
        '{"success": true,',
        "[",
    ],
)
def test_a_truncated_body_is_transient_and_says_so(cut):
    with pytest.raises(MarketoTransientError, match="a truncated answer") as caught:
        payload_from_answer(200, cut, endpoint="status")
    assert caught.value.retryable


def test_a_body_that_is_no_json_at_all_is_not_called_truncated():
    with pytest.raises(MarketoMalformedAnswerError, match="not a JSON object") as caught:
        payload_from_answer(200, "<html><body>Sign in</body></html>", endpoint="status")
    assert not isinstance(caught.value, MarketoTransientError)


def test_a_malformed_error_envelope_still_fails_and_long_messages_are_cut():
    long = "x" * 50_000
    with pytest.raises(MarketoApiError) as caught:
        payload_from_answer(
            200, answer({"success": False, "errors": [{"code": 1003, "message": long}]}), endpoint="create"
        )
    assert caught.value.code == "1003"
    assert len(caught.value.message) < MESSAGE_CHARS + 50
    assert "more characters" in caught.value.message


def test_the_malformed_error_pickles_with_its_field():
    err = MarketoMalformedAnswerError("a malformed answer: x", field="fileSize", endpoint="status")
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.field, copy.endpoint, str(copy)) == ("fileSize", "status", str(err))


# -- export records ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [{}, {"exportId": None}, {"exportId": ""}])
def test_a_create_answer_without_an_export_id_is_transient_and_never_the_string_none(missing):
    record = {"status": "Created", **missing}
    with pytest.raises(MarketoTransientError, match="without an `exportId`") as caught:
        export_record({"success": True, "result": [record]}, "create")
    assert caught.value.endpoint == "create"


@pytest.mark.parametrize(
    "bad_id",
    ["../../etc/passwd", "a b", "x" * 101, 123, ["id"], "-leading-dash", "id\n", "é"],
)
def test_an_export_id_that_is_not_a_sane_id_is_refused(bad_id):
    with pytest.raises(MarketoMalformedAnswerError, match="is not an export id") as caught:
        read_export_record({"exportId": bad_id, "status": "Created"}, endpoint="create")
    assert caught.value.field == "exportId"
    assert len(str(caught.value)) < 400  # the value is quoted cut short


def test_a_status_answer_about_another_job_is_refused():
    with pytest.raises(MarketoMalformedAnswerError, match=f"about export other-job, not {EXPORT_ID}"):
        read_export_record({"exportId": "other-job", "status": "Queued"}, export_id=EXPORT_ID)


@pytest.mark.parametrize("status", [None, ["Completed"], {"s": 1}, 3, ""])
def test_a_status_that_is_not_a_word_is_refused(status):
    with pytest.raises(MarketoMalformedAnswerError, match="`status` is") as caught:
        read_export_record({"exportId": EXPORT_ID, "status": status})
    assert caught.value.field == "status"


def test_only_the_documented_fields_are_kept_and_each_text_is_bounded():
    huge = "e" * 50_000_000
    record = read_export_record(
        {
            "exportId": EXPORT_ID,
            "status": "Failed" + "!" * 1000,
            "errorMsg": huge,
            "createdAt": "2024-01-01T00:00:00Z",
            "junk": huge,
            "nested": {"a": [huge]},
        }
    )
    assert set(record) == {"exportId", "status", "errorMsg", "createdAt"}
    assert len(record["errorMsg"]) < MESSAGE_CHARS + 50
    assert len(record["status"]) < SHORT_TEXT_CHARS + 50
    assert len(json.dumps(record)) < 2_000


@pytest.mark.parametrize("field", ["errorMsg", "createdAt", "format", "finishedAt"])
def test_a_documented_text_of_another_type_is_refused(field):
    with pytest.raises(MarketoMalformedAnswerError, match=f"`{field}` is a list, not a string"):
        read_export_record({"exportId": EXPORT_ID, "status": "Failed", field: ["x"]})


def test_a_well_formed_completed_record_reads_as_given_with_the_checksum_lower_case():
    record = read_export_record(completed(fileChecksum=f"SHA256:{HEX.upper()}", fileSize="1740"))
    assert record == completed()


def test_pending_records_keep_their_nulls():
    record = read_export_record(
        {"exportId": EXPORT_ID, "status": "Queued", "fileSize": None, "fileChecksum": None}
    )
    assert record == {"exportId": EXPORT_ID, "status": "Queued", "fileSize": None, "fileChecksum": None}


# -- numbers and the checksum -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "1,204",
        "12.0",
        12.0,
        1.5,
        True,
        False,
        -1,
        "-1",
        " 12",
        "1e3",
        "",
        "١٢",
        MAX_COUNT + 1,
        "9" * 20,
        [],
        {},
    ],
)
@pytest.mark.parametrize("field", ["numberOfRecords", "fileSize"])
def test_a_count_that_is_not_a_whole_number_is_refused_naming_the_field(field, value):
    with pytest.raises(
        MarketoMalformedAnswerError, match=f"`{field}` .* is not a whole number >= 0"
    ) as caught:
        read_export_record(completed(**{field: value}))
    assert caught.value.field == field
    assert EXPORT_ID in str(caught.value)


@pytest.mark.parametrize(
    ("value", "count"), [(0, 0), (1204, 1204), ("1204", 1204), (MAX_COUNT, MAX_COUNT), (None, None)]
)
def test_counts_are_json_integers_or_ascii_digits(value, count):
    assert marketo_count(value, "fileSize") == count


@pytest.mark.parametrize(
    "value",
    [
        HEX,  # no prefix
        f"sha256:{HEX[:-1]}",  # 63 digits
        f"sha256:{HEX}0",  # 65
        f"sha256:{HEX[:-1]}g",  # not hex
        f"md5:{HEX}",
        f" sha256:{HEX}",
        f"sha256: {HEX}",
        "",
        42,
        ["sha256:" + HEX],
    ],
)
def test_a_checksum_that_is_not_sha256_and_64_hex_digits_is_refused(value):
    with pytest.raises(
        MarketoMalformedAnswerError, match=r"`fileChecksum` .* is not 'sha256:' followed by 64"
    ):
        checksum_hex(value, export_id=EXPORT_ID)


@pytest.mark.parametrize("prefix", ["sha256:", "SHA256:", "Sha256:"])
def test_the_checksum_prefix_is_accepted_in_any_case(prefix):
    assert checksum_hex(prefix + HEX.upper()) == HEX


# -- the token answer ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_in", "seconds"), [(3599, 3599.0), (1, 1.0), (0.5, 0.5), ("3599", 3599.0), (86400, 86400.0)]
)
def test_a_token_lives_the_seconds_it_says(expires_in, seconds):
    assert token_from_answer(200, answer({"access_token": "t0k", "expires_in": expires_in})) == (
        "t0k",
        seconds,
    )


@pytest.mark.parametrize(
    "text",
    [
        '{"access_token": "t0k", "expires_in": NaN}',
        '{"access_token": "t0k", "expires_in": Infinity}',
        '{"access_token": "t0k", "expires_in": 1e400}',
        '{"access_token": "t0k", "expires_in": -5}',
        '{"access_token": "t0k", "expires_in": 86401}',
        '{"access_token": "t0k", "expires_in": 1' + "0" * 400 + "}",
        '{"access_token": "t0k", "expires_in": true}',
        '{"access_token": "t0k", "expires_in": "an hour"}',
        '{"access_token": "t0k", "expires_in": null}',
        '{"access_token": "t0k"}',
    ],
)
def test_an_expires_in_that_is_not_a_bounded_number_of_seconds_is_refused(text):
    with pytest.raises(MarketoMalformedAnswerError, match="expires_in") as caught:
        token_from_answer(200, text)
    assert caught.value.field == "expires_in"
    assert caught.value.endpoint == "token"
    assert "t0k" not in str(caught.value)


def test_a_token_with_no_life_left_is_transient():
    with pytest.raises(MarketoTransientError, match="no life left"):
        token_from_answer(200, answer({"access_token": "t0k", "expires_in": 0}))


@pytest.mark.parametrize("token", ["tok en", "tok\r\nX-Evil: 1", ["t"], {"t": 1}, 7, "t" * 5000])
def test_a_token_that_could_not_travel_in_a_header_is_refused_without_being_shown(token):
    with pytest.raises(MarketoMalformedAnswerError, match="is not a token of visible ASCII") as caught:
        token_from_answer(200, answer({"access_token": token, "expires_in": 3599}))
    assert caught.value.field == "access_token"
    assert "X-Evil" not in str(caught.value)


def test_a_token_error_of_the_wrong_shape_is_still_an_auth_error():
    with pytest.raises(MarketoAuthError, match="unauthorized"):
        token_from_answer(200, answer({"error": ["unauthorized"], "error_description": None}))
    with pytest.raises(MarketoMalformedAnswerError, match="`errors` is an object"):
        token_from_answer(200, answer({"success": False, "errors": {"code": "601"}}))
