"""Marketo answers -> exceptions, without HTTP: the table both transports of the hook classify through."""

from __future__ import annotations

import pytest

from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoApiQuotaError,
    MarketoAuthError,
    MarketoExportQuotaError,
    MarketoFileNotAvailableError,
    MarketoQueueFullError,
    MarketoTransientError,
)
from airflow_provider_marketo_pm.hooks.error_classification import (
    error_from_envelope,
    error_from_http_status,
    error_from_network,
)
from airflow_provider_marketo_pm.hooks.marketo_responses import (
    first_record,
    payload_from_answer,
    token_from_answer,
)


def envelope(code: str, message: str = "something") -> dict:
    return {"requestId": "e42b#1", "success": False, "errors": [{"code": code, "message": message}]}


@pytest.mark.parametrize(
    ("code", "message", "error_class", "retryable"),
    [
        ("601", "Access token invalid", MarketoAuthError, False),
        ("602", "Access token expired", MarketoAuthError, False),
        *[(code, "busy", MarketoTransientError, True) for code in ("604", "606", "608", "611", "615", "713")],
        ("1029", "Too many jobs (10) in queue", MarketoQueueFullError, False),
        ("1029", "Export daily quota 500MB exceeded.", MarketoExportQuotaError, False),
        ("1029", "Job already queued", MarketoApiError, False),
        ("607", "Daily quota reached", MarketoApiQuotaError, False),
        ("603", "Access denied", MarketoApiError, False),
    ],
)
def test_envelope_codes_map_to_the_error_callers_act_on(code, message, error_class, retryable):
    error = error_from_envelope(envelope(code, message), endpoint="enqueue")
    assert type(error) is error_class
    assert (error.code, error.message, error.request_id) == (code, message, "e42b#1")
    assert error.endpoint == "enqueue"
    assert error.retryable is retryable


@pytest.mark.parametrize(
    ("status", "endpoint", "error_class", "hint"),
    [
        (503, "status", MarketoTransientError, None),
        (429, "create", MarketoTransientError, None),
        (401, "token", MarketoAuthError, "check the client id"),
        (404, "file", MarketoFileNotAvailableError, "files are kept 7 days"),
        (404, "status", MarketoApiError, "REST base URL"),
    ],
)
def test_http_statuses_map_to_the_error_callers_act_on(status, endpoint, error_class, hint):
    error = error_from_http_status(status, "  upstream\n says no ", endpoint=endpoint)
    assert type(error) is error_class
    assert (error.http_status, error.message) == (status, "upstream says no")
    assert hint is None or hint in str(error)


def test_network_errors_are_transient():
    error = error_from_network(ConnectionResetError("reset by peer"), "file")
    assert isinstance(error, MarketoTransientError)
    assert error.retryable
    assert "ConnectionResetError: reset by peer" in str(error)


def test_a_successful_answer_is_its_payload():
    text = '{"success": true, "result": [{"exportId": "x"}]}'
    payload = payload_from_answer(200, text, endpoint="status")
    assert payload == {"success": True, "result": [{"exportId": "x"}]}


def test_an_error_envelope_or_status_or_non_json_answer_raises():
    with pytest.raises(MarketoTransientError, match="606"):
        payload_from_answer(200, '{"success": false, "errors": [{"code": "606"}]}', endpoint="status")
    with pytest.raises(MarketoTransientError, match="HTTP 502"):
        payload_from_answer(502, "<html>bad gateway</html>", endpoint="status")
    with pytest.raises(MarketoApiError, match=r"not a JSON object.*REST base URL"):
        payload_from_answer(200, "<html>login page</html>", endpoint="status")
    with pytest.raises(MarketoTransientError, match=r"status call failed with an empty answer"):
        payload_from_answer(200, "", endpoint="status")


def test_an_answer_without_a_record_raises():
    assert first_record({"result": [{"exportId": "x"}, {"exportId": "y"}]}, "status") == {"exportId": "x"}
    with pytest.raises(MarketoTransientError, match="holds no record"):
        first_record({"success": True, "result": []}, "status")
    with pytest.raises(MarketoTransientError, match=r"create call failed with .*without `result`"):
        first_record({"success": True, "requestId": "r1"}, "create")


def test_token_answers():
    assert token_from_answer(200, '{"access_token": "t0k", "expires_in": 3599}') == ("t0k", 3599.0)
    with pytest.raises(MarketoAuthError, match=r"Bad client credentials.*client secret"):
        token_from_answer(200, '{"error": "unauthorized", "error_description": "Bad client credentials"}')
    with pytest.raises(MarketoAuthError, match="client id"):
        token_from_answer(401, '{"error": "unauthorized"}')
    with pytest.raises(MarketoApiError, match=r"no access_token.*identity URL"):
        token_from_answer(200, "{}")
