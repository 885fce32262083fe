"""Marketo's error answers -> the exception a caller can act on (retry, wait, or fix something).

Marketo reports most errors as HTTP 200 with ``success: false`` and a code; a few as HTTP statuses; the
network adds its own. The sync (requests) and async (aiohttp) paths of the hook classify through here, so
both raise the same exception with the same hint for the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_marketo_pm.daily_quota import next_quota_reset
from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoApiQuotaError,
    MarketoAuthError,
    MarketoExportQuotaError,
    MarketoFileNotAvailableError,
    MarketoQueueFullError,
    MarketoTransientError,
    describe_quota_reset,
)

TOKEN_CODES = frozenset({"601", "602"})
"""The access token is invalid or expired: get a new one and replay the call once."""
TRANSIENT_CODES = frozenset({"604", "606", "608", "611", "615", "713"})
"""Worth retrying with backoff: time-outs, rate and concurrency limits, temporary unavailability."""
SHARED_QUEUE = 'bulk export queue (10 jobs, shared by every integration; see the README, "Pacing and pools")'
"""Marketo's one bulk queue, named in errors: the README's "Pacing and pools" explains it, once."""


ERROR_HINTS = {
    "600": "Marketo received no access token: a proxy may strip the Authorization header.",
    "603": (
        "Access denied: give the API user's role the 'Read-Only Lead' or 'Read-Write Lead' permission "
        "(Admin > Users & Roles), or add this machine's IP address to the instance's IP allow-list "
        "(Admin > Web Services)."
    ),
    "609": "Marketo could not parse the request (invalid JSON): this is a bug, please report it.",
    "610": "Marketo does not know this API path: this is a bug (or a wrong REST base URL), please report it.",
    "612": "Marketo refused the content type: this is a bug, please report it.",
    "1035": (
        "The updatedAt filter is not enabled for this Marketo subscription: ask Marketo support to enable "
        "it, or drop updatedAt from the filter."
    ),
}


def error_from_envelope(
    payload: Mapping[str, Any],
    *,
    endpoint: str,
    http_status: int | None = 200,
    request_body: Mapping[str, Any] | None = None,
) -> MarketoApiError:
    """Classify Marketo's ``success: false`` envelope into the exception callers can act on."""
    errors = payload.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], Mapping) else {}
    code = str(first["code"]) if first.get("code") is not None else None
    message = str(first.get("message") or "unknown error")
    common: dict[str, Any] = {
        "code": code,
        "request_id": payload.get("requestId"),
        "endpoint": endpoint,
        "http_status": http_status,
    }
    if code in TOKEN_CODES:
        return MarketoAuthError(message, **common)
    if code in TRANSIENT_CODES:
        return MarketoTransientError(message, **common)
    if code == "1029":
        lowered = message.lower()
        if "quota" in lowered:
            resets_at = next_quota_reset()
            hint = (
                "The daily bulk export quota (shared by all bulk extracts of the instance) is used up; "
                f"{describe_quota_reset(resets_at)}."
            )
            return MarketoExportQuotaError(message, resets_at=resets_at, hint=hint, **common)
        if "queue" in lowered and "already" not in lowered:
            hint = f"Marketo's {SHARED_QUEUE} is full: enqueue again later."
            return MarketoQueueFullError(message, hint=hint, **common)
        return MarketoApiError(message, **common)
    if code == "607":
        resets_at = next_quota_reset()
        hint = f"The instance's daily API call quota is used up; {describe_quota_reset(resets_at)}."
        return MarketoApiQuotaError(message, resets_at=resets_at, hint=hint, **common)
    if code == "1003":
        status_names = ((request_body or {}).get("filter") or {}).get("statusNames")
        hint = "Marketo refused the request data."
        if status_names:
            hint = (
                f"Check filter.statusNames {status_names!r}: each value must be a program status of the "
                "channel of at least one of the programs (see the program's channel in Marketo Admin)."
            )
        return MarketoApiError(message, hint=hint, **common)
    return MarketoApiError(message, hint=ERROR_HINTS.get(code or ""), **common)


def error_from_http_status(status: int, body: str, *, endpoint: str) -> MarketoApiError:
    """Classify an HTTP error status (not Marketo's HTTP 200 envelope)."""
    excerpt = " ".join(body.split())[:200] or "an empty answer"
    common: dict[str, Any] = {"endpoint": endpoint, "http_status": status}
    if status >= 500 or status == 429:
        return MarketoTransientError(excerpt, **common)
    if endpoint == "token" and status in (400, 401):
        return MarketoAuthError(
            excerpt,
            hint="Marketo refused the credentials: check the client id (login) and client secret (password).",
            **common,
        )
    if endpoint == "file" and status == 404:
        return MarketoFileNotAvailableError(
            excerpt,
            hint="The file is not available: the job is not Completed, unknown, or expired (files are kept "
            "7 days).",
            **common,
        )
    if status in (413, 414):
        return MarketoApiError(excerpt, hint="The request is too large for Marketo: this is a bug.", **common)
    if status == 404:
        return MarketoApiError(excerpt, hint="Check the REST base URL of the connection.", **common)
    return MarketoApiError(excerpt, **common)


def error_from_network(err: Exception, endpoint: str) -> MarketoTransientError:
    """A connection error or time-out (no answer at all): transient."""
    return MarketoTransientError(f"network error {type(err).__name__}: {err}"[:300], endpoint=endpoint)


def explain_fresh_token_refused(err: MarketoAuthError) -> None:
    """A 601/602 right after a new token is not a stale token any more: say what to check."""
    if err.code in TOKEN_CODES:
        err.hint = "Marketo refused a freshly issued access token; check the API user is active."
        err.args = (err._render(),)


__all__ = [
    "ERROR_HINTS",
    "SHARED_QUEUE",
    "TOKEN_CODES",
    "TRANSIENT_CODES",
    "error_from_envelope",
    "error_from_http_status",
    "error_from_network",
    "explain_fresh_token_refused",
]
