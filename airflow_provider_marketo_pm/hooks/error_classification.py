"""Marketo's error answers -> the exception a caller can act on (retry, wait, or fix something).

Marketo reports most errors as HTTP 200 with ``success: false`` and a code; a few as HTTP statuses; the
network adds its own. The sync (requests) and async (aiohttp) paths of the hook classify through here, so
both raise the same exception with the same hint for the same answer.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_marketo_pm.daily_quota import next_quota_reset
from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoApiQuotaError,
    MarketoAuthError,
    MarketoExportQuotaError,
    MarketoFileNotAvailableError,
    MarketoNetworkError,
    MarketoQueueFullError,
    MarketoTransientError,
    describe_quota_reset,
)
from airflow_provider_marketo_pm.hooks.call_limits import MAX_JSON_BODY, AnswerTooLarge

TOKEN_CODES = frozenset({"601", "602"})
"""The access token is invalid or expired: get a new one and replay the call once."""
TRANSIENT_CODES = frozenset({"604", "606", "608", "611", "615", "713"})
"""Worth retrying with backoff: time-outs, rate and concurrency limits, temporary unavailability."""
SHARED_QUEUE = 'bulk export queue (10 jobs, shared by every integration; see the docs, "Pacing and pools")'
"""Marketo's one bulk queue, named in errors: the docs, "Pacing and pools", explain it, once."""


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
        # What exactly to check depends on the request's kind: the hook's create adds it (field_suggestions).
        return MarketoApiError(message, hint="Marketo refused the request data.", **common)
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


def error_from_redirect(status: int, location: str | None, *, endpoint: str) -> MarketoApiError:
    """
    A 3xx answer, never followed: Marketo's REST API does not redirect, and following one would carry the
    client secret (the token call's form) or the access token to wherever it points. The error names the
    status and the host it pointed at, never the whole URL (its query may hold anything).
    """
    return MarketoApiError(
        f"a redirect to {_location_host(location)}, not followed",
        endpoint=endpoint,
        http_status=status,
        hint=(
            "Marketo's REST API does not redirect: set the connection's host (and identity_url) to the REST "
            "API endpoint from Admin > Integration > Web Services (https://<munchkin-id>.mktorest.com/rest); "
            "a proxy or gateway in between may be redirecting."
        ),
    )


def _location_host(location: str | None) -> str:
    if not location or not location.strip():
        return "nowhere (no Location header)"
    try:
        parts = urlsplit(location.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return "an unreadable Location"
    if not host:
        return "another path of the same host"
    where = f"{host}:{port}" if port else host
    return f"host {where!r} ({parts.scheme})" if parts.scheme else f"host {where!r}"


def error_from_deadline(seconds: float, *, endpoint: str, host: str | None) -> MarketoNetworkError:
    """
    The whole call (connect, send, read the answer) took longer than the connection's ``timeout``: transient,
    retried as any time-out (see :mod:`~airflow_provider_marketo_pm.hooks.call_limits`).
    """
    _, check, max_retries = NETWORK_FAILURES["timeout"]
    return MarketoNetworkError(
        f"time-out: no whole answer from {repr(host) if host else 'Marketo'} within the call's deadline of "
        f"{seconds:g} s (the connection's timeout bounds connecting, sending and reading the answer)",
        reason="timeout",
        max_retries=max_retries,
        endpoint=endpoint,
        hint=check,
    )


def error_from_oversized(err: AnswerTooLarge, *, endpoint: str) -> MarketoApiError:
    """A JSON answer larger than :data:`MAX_JSON_BODY`: refused, unread (no Marketo answer is that large)."""
    limit = f"{MAX_JSON_BODY // (1024 * 1024)} MiB"
    what = f"announces {err.size} bytes" if err.announced else f"goes on past {MAX_JSON_BODY} bytes"
    return MarketoApiError(
        f"the answer {what}, more than the {limit} a JSON answer may have: refused",
        endpoint=endpoint,
        http_status=err.status,
        hint="No Marketo JSON answer is that large: check that the connection's host is Marketo's REST API.",
    )


CHECK_HOST = (
    "Check the connection's host: the REST API endpoint from Admin > Integration > Web Services "
    "(https://<munchkin-id>.mktorest.com/rest) or the Munchkin id alone"
)
NETWORK_FAILURES: dict[str, tuple[str, str, int | None]] = {
    # reason: (what happened, what to check, most retries it deserves; None = the connection's policy)
    "dns": (
        "DNS error: the host name {host} does not resolve",
        f"{CHECK_HOST}; then this machine's DNS and proxy settings (HTTPS_PROXY, NO_PROXY).",
        1,
    ),
    "refused": (
        "connection refused: {host} refused the connection",
        f"{CHECK_HOST}, and its port; then proxies (HTTPS_PROXY, NO_PROXY) and firewalls between this "
        "machine and Marketo.",
        None,
    ),
    "tls": (
        "TLS error: the TLS handshake with {host} failed",
        "Use the https REST API endpoint (https://<munchkin-id>.mktorest.com/rest); behind a proxy that "
        "inspects TLS, point REQUESTS_CA_BUNDLE / SSL_CERT_FILE at its CA bundle; a plain-http emulator "
        "needs an http:// host.",
        0,
    ),
    "timeout": (
        "time-out: no answer from {host} in time",
        "Raise the connection's timeout extra if Marketo is slow; check proxies and firewalls.",
        None,
    ),
    "network": ("network error: the connection to {host} failed", "Check proxies and firewalls.", None),
}


def error_from_network(err: Exception, endpoint: str) -> MarketoNetworkError:
    """
    No answer at all, named for what it was (the host does not resolve, the connection was refused, TLS
    failed, a time-out) with what to check, and the whole cause on the first line: never cut.

    How often each is retried, within the connection's retry policy: a refused connection or a time-out
    as any transient error; a name that does not resolve once (a resolver hiccup passes within seconds,
    a wrong host never does); a TLS failure not at all.
    """
    reason, cause = _network_failure(err)
    what, check, max_retries = NETWORK_FAILURES[reason]
    host = _host_of(err)
    if not str(cause).strip():  # e.g. a bare ConnectionResetError(): the wrapper's text says more
        cause = err
    detail = " ".join(f"{type(cause).__name__}: {cause}".split())
    return MarketoNetworkError(
        f"{what.format(host=repr(host) if host else 'Marketo')} ({detail})",
        reason=reason,
        max_retries=max_retries,
        endpoint=endpoint,
        hint=check,
    )


def _causes(err: BaseException) -> list[BaseException]:
    """``err`` and what it wraps (requests -> urllib3 -> socket/ssl; aiohttp -> OSError), outermost first."""
    found: list[BaseException] = []
    todo: list[BaseException] = [err]
    while todo and len(found) < 20:
        current = todo.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        for inner in (
            current.__cause__,
            current.__context__,
            getattr(current, "reason", None),
            getattr(current, "os_error", None),
            *current.args[:1],
        ):
            if isinstance(inner, BaseException):
                todo.append(inner)
    return found


def _network_failure(err: BaseException) -> tuple[str, BaseException]:
    """(reason, the exception that says it): the most telling wrapped exception."""
    causes = _causes(err)
    for reason, test in (
        ("tls", lambda e: isinstance(e, ssl.SSLError) or "SSLError" in type(e).__name__),
        ("dns", lambda e: isinstance(e, socket.gaierror) or type(e).__name__ in _DNS_ERRORS),
        ("refused", lambda e: isinstance(e, ConnectionRefusedError)),
        ("timeout", lambda e: isinstance(e, TimeoutError) or "Timeout" in type(e).__name__),
    ):
        # The outermost that matches says it best (urllib3's names the host, the socket's only the errno).
        matches = [cause for cause in causes if test(cause)]
        if matches:
            return reason, matches[0] if reason != "refused" else _outer_text(causes, matches[0])
    return "network", causes[-1] if len(causes) > 1 else err


_DNS_ERRORS = frozenset({"NameResolutionError", "ClientConnectorDNSError"})


def _outer_text(causes: list[BaseException], fallback: BaseException) -> BaseException:
    """urllib3's NewConnectionError wraps a refused socket with the host and port: prefer its text."""
    for cause in causes:
        if type(cause).__name__ in ("NewConnectionError", "ClientConnectorError"):
            return cause
    return fallback


def _host_of(err: BaseException) -> str | None:
    """The host that was called, from whichever wrapper knows it (aiohttp's error, urllib3's pool)."""
    for cause in _causes(err):
        for holder in (cause, getattr(cause, "pool", None), getattr(cause, "conn", None)):
            host = getattr(holder, "host", None)
            if isinstance(host, str) and host:
                return host
    return None


def explain_fresh_token_refused(err: MarketoAuthError) -> None:
    """A 601/602 right after a new token is not a stale token any more: say what to check."""
    if err.code in TOKEN_CODES:
        err.hint = "Marketo refused a freshly issued access token; check the API user is active."
        err.args = (err._render(),)


__all__: list[str] = []  # the hook's own rules: no public names
