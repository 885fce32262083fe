"""Reading Marketo's JSON answers: the envelope, its records and the token, or the classified error.

Both transports of the hook (requests for workers, aiohttp for the triggerer) hand the status and text of
an answer to these functions, so the rules for what counts as success live in one place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow_provider_marketo_pm.exceptions import MarketoApiError, MarketoAuthError, MarketoTransientError
from airflow_provider_marketo_pm.hooks.error_classification import error_from_envelope, error_from_http_status


def json_object(text: str, endpoint: str, status: int) -> dict[str, Any]:
    """
    The answer as a JSON object; anything else means the connection does not point at Marketo.

    An empty body is the exception: Marketo has been seen answering HTTP 200 with nothing at all (other
    clients retry it), so it is transient and retried within the retry policy.
    """
    if not text.strip():
        raise MarketoTransientError(
            "an empty answer (HTTP 200 without a body)",
            endpoint=endpoint,
            http_status=status,
            hint="Marketo sometimes answers so under load; the call was retried within the retry policy.",
        )
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise MarketoApiError(
            f"the answer is not a JSON object: {' '.join(text.split())[:120]!r}",
            endpoint=endpoint,
            http_status=status,
            hint="Check that the connection host is the REST base URL from Admin > Web Services.",
        )
    return payload


def payload_from_answer(
    status: int, text: str, *, endpoint: str, request_body: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON payload of a successful REST answer; an HTTP error or ``success: false`` raises."""
    if not 200 <= status < 300:
        raise error_from_http_status(status, text, endpoint=endpoint)
    payload = json_object(text, endpoint, status)
    if payload.get("success") is False:
        raise error_from_envelope(payload, endpoint=endpoint, http_status=status, request_body=request_body)
    return payload


def first_record(payload: Mapping[str, Any], endpoint: str) -> dict[str, Any]:
    """
    The first record of ``result`` (create, enqueue, status and cancel answer with exactly one).

    A success envelope without ``result`` is transient: Marketo has been seen answering so (other clients
    retry it), and the hook's JSON calls that need a record check it inside their retries.
    """
    result = payload.get("result") or []
    if not result:
        raise MarketoTransientError(
            "a success answer without `result`: it holds no record",
            endpoint=endpoint,
            request_id=payload.get("requestId"),
        )
    return dict(result[0])


def token_from_answer(status: int, text: str) -> tuple[str, float]:
    """``(access_token, expires_in seconds)`` from the identity service's answer, or the classified error."""
    if status != 200:
        raise error_from_http_status(status, text, endpoint="token")
    payload = json_object(text, "token", status)
    if payload.get("access_token"):
        return str(payload["access_token"]), float(payload.get("expires_in") or 0)
    if payload.get("success") is False:
        raise error_from_envelope(payload, endpoint="token")
    if payload.get("error"):
        raise MarketoAuthError(
            str(payload.get("error_description") or payload["error"]),
            endpoint="token",
            hint="Check the client id (login) and client secret (password) of the connection.",
        )
    raise MarketoApiError("no access_token in the answer", endpoint="token", hint="Check the identity URL.")


__all__ = ["first_record", "json_object", "payload_from_answer", "token_from_answer"]
