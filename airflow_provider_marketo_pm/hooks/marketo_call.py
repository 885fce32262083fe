"""One call to Marketo as both transports of the hook make it: one set of rules, two ways to send.

The worker's ``requests`` path and the triggerer's ``aiohttp`` path name a call the same way (errors and
retry logs say ``status``, ``file``, ``token`` ...), send the same headers and the same token request, refuse
a redirect the same way and read a JSON answer with the same function, so a rule changed here holds for
both. The rest of what both share lives beside this module: the deadline and the size of an answer
(``call_limits``), the envelope and the records (``marketo_responses``), the classified errors
(``error_classification``), the retries (``call_retries``) and the token (``token_cache``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_marketo_pm import __version__
from airflow_provider_marketo_pm.exceptions import MarketoError
from airflow_provider_marketo_pm.hooks.connection_settings import MarketoConnectionSettings
from airflow_provider_marketo_pm.hooks.error_classification import (
    error_from_deadline,
    error_from_network,
    error_from_redirect,
)
from airflow_provider_marketo_pm.hooks.marketo_responses import export_record, payload_from_answer

HEADERS = {"Accept": "application/json", "User-Agent": f"airflow-provider-marketo-pm/{__version__}"}
"""The headers of every call's session, sync and async (a call adds its bearer token)."""


def endpoint_name(url: str) -> str:
    """
    The short name of a Marketo endpoint (``status``, ``file``, ``list`` ...) from its URL or path, as errors
    and retry logs name it: the last path segment without ``.json``; a kind's job list is ``list``.
    """
    last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return "list" if last == "export.json" else last.removesuffix(".json") or url


def host(url: str | None) -> str | None:
    """The host of a URL as errors name it (never its path or query)."""
    return urlsplit(url or "").hostname


def bearer(token: str) -> dict[str, str]:
    """The header a token travels in: never the URL (Marketo also reads ``access_token`` there)."""
    return {"Authorization": f"Bearer {token}"}


def token_request(settings: MarketoConnectionSettings) -> tuple[str, dict[str, str]]:
    """The token call's URL and form body: the secret travels in the body, never in a URL."""
    form = {
        "grant_type": "client_credentials",
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
    }
    return f"{settings.identity_url}/oauth/token", form


def refuse_redirect(status: int, location: str | None, url: str) -> None:
    """A 3xx answer is an error, never followed: it would carry the secret or the token elsewhere."""
    if 300 <= status < 400:
        raise error_from_redirect(status, location, endpoint=endpoint_name(url))


def json_answer(
    status: int,
    text: str,
    url: str,
    *,
    request_body: Mapping[str, Any] | None = None,
    needs_record: bool = False,
) -> dict[str, Any]:
    """
    A JSON call's payload, or the classified error (the request's body lets a 1003 hint name its fields).
    With ``needs_record``, an answer without a job record is transient like an empty one: it is retried.
    """
    endpoint = endpoint_name(url)
    payload = payload_from_answer(status, text, endpoint=endpoint, request_body=request_body)
    if needs_record:
        export_record(payload, endpoint)
    return payload


def sent_json(body: bytes | str | None) -> Mapping[str, Any] | None:
    """The JSON object a prepared request carries, if it carries one (for :func:`json_answer`'s hints)."""
    try:
        decoded = json.loads(body) if body else None
    except (TypeError, ValueError):
        return None
    return decoded if isinstance(decoded, Mapping) else None


def no_answer(err: Exception, expired: bool, seconds: float, url: str) -> MarketoError:
    """The error for a call that got no (whole) answer: its deadline passed, or the network failed."""
    if expired:
        return error_from_deadline(seconds, endpoint=endpoint_name(url), host=host(url))
    return error_from_network(err, endpoint_name(url))


__all__: list[str] = []  # the hook's own rules: no public names
