"""Reading Marketo's JSON answers: the envelope, its records and the token, or the classified error.

Both transports of the hook (requests for workers, aiohttp for the triggerer) hand the status and text of
an answer to these functions, so the rules for what counts as success live in one place. An answer is
untrusted until read here: a field of the wrong type, a number that is not a count, an id or a checksum
that is not one becomes :class:`MarketoMalformedAnswerError` naming the call and the field (a truncated or
empty answer :class:`MarketoTransientError`, retried), never a bare Python error. What is kept is bounded:
an export record holds only the fields Marketo documents (``ExportResponse``), each string cut to a length,
so a record, an XCom value or a trigger event stays small whatever the answer was.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoAuthError,
    MarketoMalformedAnswerError,
    MarketoTransientError,
)
from airflow_provider_marketo_pm.hooks.error_classification import error_from_envelope, error_from_http_status

SHORT_TEXT_CHARS = 64
"""A status word, a format, a timestamp, a requestId, an error code: longer is cut (and is wrong anyway)."""
MESSAGE_CHARS = 1000
"""An ``errorMsg`` or an error's ``message``: kept up to this many characters, the rest is cut."""
MAX_COUNT = 2**63 - 1
"""``numberOfRecords`` and ``fileSize`` are int64 in Marketo's spec."""
MAX_TOKEN_LIFE_SECONDS = 86400.0
"""A Marketo token lives 3600 s; an ``expires_in`` beyond a day is no Marketo answer."""
MAX_TOKEN_CHARS = 4096
EXPORT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
"""A sane exportId (Marketo's are UUIDs): letters, digits, ``-`` and ``_``; nothing a path climbs with."""
CHECKSUM = re.compile(r"sha256:([0-9a-f]{64})", re.IGNORECASE)
"""``fileChecksum``: ``sha256:`` (in any case) and exactly 64 hex digits."""
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")
_TOKEN_CHARS = re.compile(r"[!-~]+")  # visible ASCII: a token travels in an HTTP header
RECORD_TEXT_FIELDS = {
    "status": SHORT_TEXT_CHARS,
    "format": SHORT_TEXT_CHARS,
    "createdAt": SHORT_TEXT_CHARS,
    "queuedAt": SHORT_TEXT_CHARS,
    "startedAt": SHORT_TEXT_CHARS,
    "finishedAt": SHORT_TEXT_CHARS,
    "errorMsg": MESSAGE_CHARS,
}
"""The text fields of Marketo's ``ExportResponse`` and how much of each is kept."""
RECORD_COUNT_FIELDS = ("numberOfRecords", "fileSize")
MALFORMED_HINT = (
    "The answer does not follow Marketo's API: check that the connection host is the REST base URL (a proxy "
    "or another service may answer instead). A retry of the task reads it again."
)


def bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


def _kind(value: Any) -> str:
    """What a JSON value is, for a message (never the value itself, which may be huge or secret)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _shown(value: Any) -> str:
    """A value quoted for a message, cut short."""
    return bounded(repr(value), 40)


def malformed(
    endpoint: str, field: str, what: str, *, request_id: Any = None, http_status: int | None = 200
) -> MarketoMalformedAnswerError:
    """The error for an answer whose ``field`` is unusable; ``what`` says how, in a few words."""
    return MarketoMalformedAnswerError(
        f"a malformed answer: {what}",
        field=field,
        endpoint=endpoint,
        http_status=http_status,
        request_id=request_id if isinstance(request_id, str) else None,
        hint=MALFORMED_HINT,
    )


def json_object(text: str, endpoint: str, status: int) -> dict[str, Any]:
    """
    The answer as a JSON object; anything else means the connection does not point at Marketo.

    An empty body is the exception: Marketo has been seen answering HTTP 200 with nothing at all (other
    clients retry it), so it is transient and retried within the retry policy. So is a body cut short (JSON
    that ends before it is complete). JSON nested deeper than Python reads is refused, not a RecursionError.
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
    except RecursionError:
        raise malformed(
            endpoint, "body", "JSON nested deeper than it can be read", http_status=status
        ) from None
    except json.JSONDecodeError as err:
        if _truncated(text, err):
            raise MarketoTransientError(
                f"a truncated answer: its JSON ends after {len(text)} characters, before it is complete",
                endpoint=endpoint,
                http_status=status,
                hint="The connection was probably cut; the call was retried within the retry policy.",
            ) from None
        payload = None
    if not isinstance(payload, dict):
        raise MarketoMalformedAnswerError(
            f"the answer is not a JSON object: {' '.join(text[:500].split())[:120]!r}",
            field="body",
            endpoint=endpoint,
            http_status=status,
            hint="Check that the connection host is the REST base URL from Admin > Web Services.",
        )
    return payload


def _truncated(text: str, err: json.JSONDecodeError) -> bool:
    """JSON that started as an object or list and broke only where it ended: a body cut short."""
    stripped = text.strip()
    return stripped[:1] in ("{", "[") and (
        err.pos >= len(stripped) or err.msg.startswith("Unterminated string")
    )


def checked_envelope(payload: Mapping[str, Any], endpoint: str, status: int = 200) -> dict[str, Any]:
    """
    Marketo's REST envelope with the types its spec gives (``success`` a boolean, ``errors`` and ``result``
    lists of objects, ``requestId`` and ``nextPageToken`` strings), its error codes and messages bounded;
    anything else raises :class:`MarketoMalformedAnswerError` naming the field.
    """
    request_id = payload.get("requestId")
    if request_id is not None and not isinstance(request_id, str):
        raise malformed(endpoint, "requestId", f"`requestId` is {_kind(request_id)}, not a string")
    checked = dict(payload)
    if request_id is not None:
        checked["requestId"] = bounded(request_id, SHORT_TEXT_CHARS)

    def refuse(field: str, what: str) -> MarketoMalformedAnswerError:
        return malformed(endpoint, field, what, request_id=request_id, http_status=status)

    success = payload.get("success")
    if not isinstance(success, bool):
        missing = "success" not in payload
        raise refuse(
            "success", "no `success`" if missing else f"`success` is {_kind(success)}, not a boolean"
        )
    for field in ("errors", "result", "warnings"):
        value = payload.get(field)
        if value is not None and not isinstance(value, list):
            raise refuse(field, f"`{field}` is {_kind(value)}, not a list")
    for field in ("errors", "result"):
        for item in payload.get(field) or []:
            if not isinstance(item, Mapping):
                raise refuse(field, f"an item of `{field}` is {_kind(item)}, not an object")
    token = payload.get("nextPageToken")
    if token is not None and not isinstance(token, str):
        raise refuse("nextPageToken", f"`nextPageToken` is {_kind(token)}, not a string")
    if payload.get("errors"):
        checked["errors"] = [_checked_error(error, refuse) for error in payload["errors"]]
    return checked


def _checked_error(error: Mapping[str, Any], refuse: Any) -> dict[str, Any]:
    code, message = error.get("code"), error.get("message")
    if code is not None and (isinstance(code, bool) or not isinstance(code, str | int)):
        raise refuse("errors", f"an error's `code` is {_kind(code)}, not a string")
    if message is not None and not isinstance(message, str):
        raise refuse("errors", f"an error's `message` is {_kind(message)}, not a string")
    return {
        "code": None if code is None else bounded(str(code), SHORT_TEXT_CHARS),
        "message": None if message is None else bounded(message, MESSAGE_CHARS),
    }


def payload_from_answer(
    status: int, text: str, *, endpoint: str, request_body: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON payload of a successful REST answer; an HTTP error or ``success: false`` raises."""
    if not 200 <= status < 300:
        raise error_from_http_status(status, text, endpoint=endpoint)
    payload = checked_envelope(json_object(text, endpoint, status), endpoint, status)
    if payload["success"] is False:
        raise error_from_envelope(payload, endpoint=endpoint, http_status=status, request_body=request_body)
    return payload


def envelope_error(payload: Mapping[str, Any], *, endpoint: str, http_status: int) -> MarketoApiError:
    """The classified error of a ``success: false`` envelope met where a file was expected."""
    checked = checked_envelope(payload, endpoint, http_status)
    return error_from_envelope(checked, endpoint=endpoint, http_status=http_status)


def first_record(payload: Mapping[str, Any], endpoint: str) -> dict[str, Any]:
    """
    The first record of ``result`` (create, enqueue, status and cancel answer with exactly one).

    A success envelope without ``result`` is transient: Marketo has been seen answering so (other clients
    retry it), and the hook's JSON calls that need a record check it inside their retries.
    """
    result = payload.get("result")
    request_id = payload.get("requestId")
    if result is not None and not isinstance(result, list):
        raise malformed(endpoint, "result", f"`result` is {_kind(result)}, not a list", request_id=request_id)
    if not result:
        raise MarketoTransientError(
            "a success answer without `result`: it holds no record",
            endpoint=endpoint,
            request_id=request_id if isinstance(request_id, str) else None,
        )
    if not isinstance(result[0], Mapping):
        raise malformed(
            endpoint, "result", f"its record is {_kind(result[0])}, not an object", request_id=request_id
        )
    return dict(result[0])


def export_record(
    payload: Mapping[str, Any], endpoint: str, *, export_id: str | None = None
) -> dict[str, Any]:
    """The job record of a create, enqueue, status or cancel answer, read by :func:`read_export_record`."""
    return read_export_record(
        first_record(payload, endpoint),
        endpoint=endpoint,
        export_id=export_id,
        request_id=payload.get("requestId"),
    )


def read_export_record(
    record: Any, *, endpoint: str = "status", export_id: str | None = None, request_id: Any = None
) -> dict[str, Any]:
    """
    A job record as Marketo documents it (``ExportResponse``), and nothing else: the fields it does not
    document are dropped, texts are cut to a bound, ``numberOfRecords`` and ``fileSize`` are counts,
    ``fileChecksum`` is ``sha256:`` and 64 hex digits (kept lower case).

    ``exportId`` is required and a sane id; with ``export_id`` it must be that job's. A record without one
    (or with ``null``) is transient like an answer without ``result``: it names no job, so nothing can be
    enqueued or waited for, and the call is retried. Anything else unusable raises
    :class:`MarketoMalformedAnswerError` naming the field.
    """

    def refuse(field: str, what: str) -> MarketoMalformedAnswerError:
        return malformed(endpoint, field, what, request_id=request_id)

    if not isinstance(record, Mapping):
        raise refuse("result", f"the record is {_kind(record)}, not an object")
    found_id = record.get("exportId")
    if found_id is None or found_id == "":
        raise MarketoTransientError(
            f"a record without an `exportId` ({_kind(found_id) if 'exportId' in record else 'none'}): "
            "it names no export job",
            endpoint=endpoint,
            request_id=request_id if isinstance(request_id, str) else None,
        )
    if not isinstance(found_id, str) or not EXPORT_ID.fullmatch(found_id):
        raise refuse(
            "exportId",
            f"`exportId` {_shown(found_id)} is not an export id (up to 100 letters, digits, '-' or '_')",
        )
    if export_id is not None and found_id != export_id:
        raise refuse("exportId", f"the record is about export {found_id}, not {export_id}")
    if not isinstance(record.get("status"), str) or not record["status"]:
        raise refuse("status", f"export {found_id}'s `status` is {_kind(record.get('status'))}, not a word")
    checked: dict[str, Any] = {"exportId": found_id}
    for field, limit in RECORD_TEXT_FIELDS.items():
        if field not in record:
            continue
        value = record[field]
        if value is not None and not isinstance(value, str):
            raise refuse(field, f"export {found_id}'s `{field}` is {_kind(value)}, not a string")
        checked[field] = None if value is None else bounded(value, limit)
    for field in RECORD_COUNT_FIELDS:
        if field in record:
            checked[field] = marketo_count(record[field], field, endpoint=endpoint, export_id=found_id)
    if "fileChecksum" in record:
        value = record["fileChecksum"]
        hex_digits = None if value is None else checksum_hex(value, endpoint=endpoint, export_id=found_id)
        checked["fileChecksum"] = None if hex_digits is None else f"sha256:{hex_digits}"
    return checked


def marketo_count(
    value: Any, field: str, *, endpoint: str = "status", export_id: str | None = None
) -> int | None:
    """
    A count of Marketo's (``numberOfRecords``, ``fileSize``): ``None`` for null, else an int from 0 to
    int64's largest, given as a JSON integer or a string of ASCII digits. Not a boolean, not a float (nor
    ``"12.0"``), not ``"1,204"``: those raise :class:`MarketoMalformedAnswerError` naming the field.
    """
    if value is None:
        return None
    count: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, str) and _ASCII_DIGITS.fullmatch(value):
        count = int(value)
    if count is None or not 0 <= count <= MAX_COUNT:
        whose = f"export {export_id}'s " if export_id else ""
        raise malformed(endpoint, field, f"{whose}`{field}` {_shown(value)} is not a whole number >= 0")
    return count


def checksum_hex(value: Any, *, endpoint: str = "status", export_id: str | None = None) -> str:
    """The 64 lower-case hex digits of a ``fileChecksum`` (``sha256:<hex>``, prefix in any case)."""
    match = CHECKSUM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        whose = f"export {export_id}'s " if export_id else ""
        raise malformed(
            endpoint,
            "fileChecksum",
            f"{whose}`fileChecksum` {_shown(value)} is not 'sha256:' followed by 64 hex digits",
        )
    return match.group(1).lower()


def token_from_answer(status: int, text: str) -> tuple[str, float]:
    """
    ``(access_token, expires_in seconds)`` from the identity service's answer, or the classified error.

    The token must be visible ASCII (it travels in a header) and ``expires_in`` a finite number of seconds
    from 0 to a day: 0 is transient (the token just expired; the next call gets a new one), anything else
    outside that raises :class:`MarketoMalformedAnswerError`. Neither message carries the token.
    """
    if status != 200:
        raise error_from_http_status(status, text, endpoint="token")
    payload = json_object(text, "token", status)
    token = payload.get("access_token")
    if token:
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or not _TOKEN_CHARS.fullmatch(token):
            kind = f"{len(token)} characters" if isinstance(token, str) else _kind(token)
            raise malformed(
                "token", "access_token", f"`access_token` ({kind}) is not a token of visible ASCII"
            )
        return token, token_life(payload.get("expires_in"), "expires_in" in payload)
    if payload.get("success") is False:
        raise envelope_error(payload, endpoint="token", http_status=status)
    if payload.get("error"):
        description = payload.get("error_description") or payload["error"]
        raise MarketoAuthError(
            bounded(description if isinstance(description, str) else repr(description), MESSAGE_CHARS),
            endpoint="token",
            hint="Check the client id (login) and client secret (password) of the connection.",
        )
    raise MarketoApiError("no access_token in the answer", endpoint="token", hint="Check the identity URL.")


def token_life(value: Any, present: bool = True) -> float:
    """``expires_in`` as seconds: finite, from 0 (exclusive: transient) to a day."""
    seconds: float | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = float(value) if abs(value) <= MAX_TOKEN_LIFE_SECONDS else math.inf
    elif isinstance(value, float):
        seconds = value
    elif isinstance(value, str) and _ASCII_DIGITS.fullmatch(value):
        seconds = float(min(int(value), 10**6))
    if seconds is None or not math.isfinite(seconds) or not 0 <= seconds <= MAX_TOKEN_LIFE_SECONDS:
        what = f"`expires_in` {_shown(value)}" if present else "no `expires_in`"
        raise malformed(
            "token", "expires_in", f"{what}: not a number of seconds from 0 to {MAX_TOKEN_LIFE_SECONDS:.0f}"
        )
    if seconds == 0:
        raise MarketoTransientError(
            "a token with no life left (`expires_in` 0)",
            endpoint="token",
            hint="The identity service handed back a token that has just expired; the call was retried.",
        )
    return seconds


__all__: list[str] = []  # the hook's own rules: no public names
