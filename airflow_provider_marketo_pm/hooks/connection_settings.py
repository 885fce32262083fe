"""The Airflow connection of a Marketo instance, parsed and checked once: base URLs, credentials, extras.

Kept apart from the hook so that the rules for hosts (Munchkin ids, https only off loopback) and extras are
readable, and testable, without any HTTP.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

from airflow_provider_marketo_pm.exceptions import MarketoConnectionConfigError
from airflow_provider_marketo_pm.export_budget import BUDGET_FIELD, validate_daily_budget_mb

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_MIN_WAIT = 1.0
DEFAULT_RETRY_MAX_WAIT = 30.0
DEFAULT_RETRY_MAX_TIME = 300.0
DEFAULT_MAX_CONCURRENT_CALLS = 5
"""Adobe's advice for one integration; Marketo itself refuses an 11th concurrent call (615)."""
MARKETO_MAX_CONCURRENT_CALLS = 10
DEFAULT_CALLS_PER_20S = 50
"""Adobe's advice: half of the instance's 100 calls per 20 s, which every integration shares (606)."""
MARKETO_CALLS_PER_20S = 100
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_PORT = 65535
KNOWN_EXTRAS = frozenset(
    {
        "identity_url",
        "allow_insecure_http",
        "timeout",
        "max_retries",
        "retry_min_wait",
        "retry_max_wait",
        "retry_max_time",
        "daily_export_budget_mb",
        "max_concurrent_calls",
        "calls_per_20s",
    }
)


@dataclass(frozen=True)
class MarketoConnectionSettings:
    """Everything a call needs from the Airflow connection, parsed and checked once."""

    conn_id: str
    base_url: str
    identity_url: str
    client_id: str
    client_secret: str = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_min_wait: float = DEFAULT_RETRY_MIN_WAIT
    retry_max_wait: float = DEFAULT_RETRY_MAX_WAIT
    retry_max_time: float = DEFAULT_RETRY_MAX_TIME
    #: MB of program member exports this API user allows itself per quota day (None: no budget).
    daily_export_budget_mb: float | None = None
    #: calls of this process in flight at once to the instance (its shared async session's bound).
    max_concurrent_calls: int = DEFAULT_MAX_CONCURRENT_CALLS
    #: calls this process makes to the instance in any 20 s (token calls aside: Marketo does not count them).
    calls_per_20s: int = DEFAULT_CALLS_PER_20S


def is_loopback_host(url_or_host: str) -> bool:
    """Tell whether a URL (or a bare host name) points at this machine: ``localhost``, 127.0.0.0/8 or ::1."""
    text = url_or_host.strip()
    host = urlsplit(text).hostname if "://" in text else urlsplit(f"//{text}").hostname
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_base_url(
    host: str | None, *, schema: str | None = None, port: int | None = None, allow_insecure_http: bool = False
) -> str:
    """
    Turn the connection's host into the REST base URL.

    Accepts ``https://123-ABC-456.mktorest.com`` (a trailing ``/rest`` or ``/`` is dropped), a bare host, a
    Munchkin id (``123-ABC-456`` -> ``https://123-ABC-456.mktorest.com``) or a loopback emulator URL.
    Plain http is refused unless the host is loopback, or ``allow_insecure_http`` is set (an emulator in
    another container of a private network, never a real instance).
    """
    text = (host or "").strip()
    if not text:
        raise MarketoConnectionConfigError(
            "The Marketo connection has no host: set it to the REST base URL (Admin > Web Services), "
            "e.g. https://123-ABC-456.mktorest.com, or to the Munchkin id 123-ABC-456."
        )
    if "://" not in text:
        if _is_munchkin_id(text):
            text = f"{text}.mktorest.com"
        scheme = (schema or "").lower()
        if scheme not in ("http", "https"):
            scheme = "http" if is_loopback_host(text) else "https"
        text = f"{scheme}://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MarketoConnectionConfigError(f"The Marketo connection host {host!r} is not an http(s) URL.")
    if is_marketo_ui_host(parts.hostname):
        raise MarketoConnectionConfigError(
            f"The Marketo connection host {host!r} is Marketo's web UI, not its REST API: set the REST API "
            "Endpoint from Admin > Integration > Web Services > REST API, like "
            "https://123-ABC-456.mktorest.com/rest (or the Munchkin id alone, 123-ABC-456)."
        )
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback_host(text):
        raise MarketoConnectionConfigError(
            f"Refusing plain http for {parts.hostname!r}: the client secret and access token would travel "
            "unencrypted. Use the https REST base URL (https://<munchkin-id>.mktorest.com); plain http is "
            "only allowed for a loopback emulator (127.0.0.1, ::1, localhost), or for an emulator on a "
            "private network with the extra allow_insecure_http=true."
        )
    netloc = _with_port(parts, port, host)
    path = parts.path.rstrip("/")
    for suffix in ("/rest", "/identity"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return f"{parts.scheme}://{netloc}{path}"


def _with_port(parts: SplitResult, port: int | None, host: str | None) -> str:
    """
    The URL's netloc with the connection's Port field applied.

    Port is optional (Airflow 3.3.1 and 3.3.2 need one for the UI's Test button): the scheme's default
    port adds nothing, so ``https://...mktorest.com`` with port 443 is the same base URL as without it.
    A port that contradicts the one written in the host is refused rather than one of them ignored.
    """
    if not port:
        return parts.netloc
    if not 0 < port <= MAX_PORT:
        raise MarketoConnectionConfigError(
            f"The Marketo connection port {port} is not a TCP port (1 to {MAX_PORT}): leave it empty, "
            "or set 443 for Marketo's REST API."
        )
    if parts.port is not None:
        if parts.port != port:
            raise MarketoConnectionConfigError(
                f"The Marketo connection port {port} differs from the port {parts.port} in its host "
                f"{host!r}: leave Port empty or make the two match."
            )
        return parts.netloc
    if port == DEFAULT_PORTS[parts.scheme]:
        return parts.netloc
    return f"{parts.netloc}:{port}"


def is_marketo_ui_host(hostname: str) -> bool:
    """``app-ab12.marketo.com``: where users log in to Marketo, often pasted instead of the REST endpoint."""
    name = hostname.lower().rstrip(".")
    return name.startswith("app-") and name.endswith(".marketo.com")


def _is_munchkin_id(text: str) -> bool:
    pieces = text.split("-")
    return (
        len(pieces) == 3
        and pieces[0].isdigit()
        and pieces[1].isalpha()
        and pieces[2].isdigit()
        and (len(pieces[0]), len(pieces[1]), len(pieces[2])) == (3, 3, 3)
    )


def parse_connection_settings(
    conn_id: str,
    *,
    host: str | None,
    schema: str | None,
    port: int | None,
    login: str | None,
    password: str | None,
    extra: Mapping[str, Any],
) -> MarketoConnectionSettings:
    """
    Validate the connection fields and extras.

    Extras: ``identity_url``, ``timeout``, ``max_retries``, ``retry_min_wait`` and ``retry_max_wait`` (the
    first and the longest backoff wait, seconds), ``retry_max_time``, ``daily_export_budget_mb`` (see
    :mod:`~airflow_provider_marketo_pm.export_budget`), ``max_concurrent_calls`` (1 to 10, default 5) and
    ``calls_per_20s`` (1 to 100, default 50): this process's share of Marketo's per-instance limits, and
    ``allow_insecure_http`` (emulators on a private network only). A numeric extra set to null means its
    default. Anything else is refused, so a typo does not pass silently.
    """
    if not login or not password:
        raise MarketoConnectionConfigError(
            f"The Marketo connection {conn_id!r} needs the LaunchPoint client id as login and the client "
            "secret as password (Admin > LaunchPoint > View Details)."
        )
    unknown = sorted(set(extra) - KNOWN_EXTRAS)
    if unknown:
        raise MarketoConnectionConfigError(
            f"The Marketo connection {conn_id!r} has unknown extra(s) {unknown}; "
            f"allowed: {sorted(KNOWN_EXTRAS)}."
        )
    insecure = extra.get("allow_insecure_http", False)
    if not isinstance(insecure, bool):
        if str(insecure).lower() not in ("true", "false"):
            raise MarketoConnectionConfigError(
                f"The Marketo connection {conn_id!r}: allow_insecure_http={insecure!r} must be a boolean."
            )
        insecure = str(insecure).lower() == "true"
    base_url = resolve_base_url(host, schema=schema, port=port, allow_insecure_http=insecure)
    identity_url = base_url + "/identity"
    if extra.get("identity_url"):
        identity_url = resolve_base_url(str(extra["identity_url"]), allow_insecure_http=insecure)
        if not identity_url.endswith("/identity"):
            identity_url += "/identity"

    def number(name: str, default: float, minimum: float = 1e-9) -> float:
        value = extra.get(name)
        return default if value is None else _positive_number(conn_id, name, value, minimum)

    settings = MarketoConnectionSettings(
        conn_id=conn_id,
        base_url=base_url,
        identity_url=identity_url,
        client_id=login,
        client_secret=password,
        timeout=number("timeout", DEFAULT_TIMEOUT),
        max_retries=int(number("max_retries", DEFAULT_MAX_RETRIES, minimum=0)),
        retry_min_wait=number("retry_min_wait", DEFAULT_RETRY_MIN_WAIT),
        retry_max_wait=number("retry_max_wait", DEFAULT_RETRY_MAX_WAIT),
        retry_max_time=number("retry_max_time", DEFAULT_RETRY_MAX_TIME),
        daily_export_budget_mb=validate_daily_budget_mb(
            extra.get(BUDGET_FIELD), field=f"extra.{BUDGET_FIELD}"
        ),
        max_concurrent_calls=_count_within(
            conn_id,
            "max_concurrent_calls",
            extra.get("max_concurrent_calls"),
            DEFAULT_MAX_CONCURRENT_CALLS,
            MARKETO_MAX_CONCURRENT_CALLS,
            "Marketo refuses more than 10 concurrent calls per instance (615); Adobe advises at most 5 "
            "per integration",
        ),
        calls_per_20s=_count_within(
            conn_id,
            "calls_per_20s",
            extra.get("calls_per_20s"),
            DEFAULT_CALLS_PER_20S,
            MARKETO_CALLS_PER_20S,
            "Marketo refuses more than 100 calls per 20 s per instance (606), shared by every integration; "
            "Adobe advises at most 50 per integration",
        ),
    )
    if settings.retry_min_wait > settings.retry_max_wait:
        raise MarketoConnectionConfigError(
            f"The Marketo connection {conn_id!r} extra retry_min_wait={settings.retry_min_wait:g} is longer "
            f"than retry_max_wait={settings.retry_max_wait:g}: the first backoff wait must not exceed the "
            "longest one."
        )
    return settings


def _count_within(conn_id: str, name: str, value: Any, default: int, maximum: int, why: str) -> int:
    """A whole number from 1 to ``maximum`` (``None``: the default); ``"5"`` from a form counts as 5."""
    if value is None:
        return default
    text = str(value).strip()
    if not isinstance(value, bool) and isinstance(value, int | str) and text.isdigit():
        number = int(text)
        if 1 <= number <= maximum:
            return number
    raise MarketoConnectionConfigError(
        f"The Marketo connection {conn_id!r} extra {name}={value!r} must be a whole number from 1 to "
        f"{maximum} ({why}; default {default})."
    )


def _positive_number(conn_id: str, name: str, value: Any, minimum: float = 1e-9) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number >= minimum:
        rule = "a positive number" if minimum > 0 else f"a number >= {minimum:g}"
        raise MarketoConnectionConfigError(
            f"The Marketo connection {conn_id!r} extra {name}={value!r} must be {rule}."
        )
    if not math.isfinite(number):  # a deadline or a wait that never ends is no setting
        raise MarketoConnectionConfigError(
            f"The Marketo connection {conn_id!r} extra {name}={value!r} must be a finite number."
        )
    return number


__all__ = ["MarketoConnectionSettings"]  # MarketoHook.settings
