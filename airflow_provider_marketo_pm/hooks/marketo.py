"""MarketoHook: the one place that talks to Marketo's REST and Bulk Program Member Extract APIs.

Built on the http provider's ``HttpHook`` the way the dbt Cloud provider builds its hook: a ``requests``
session of our own for the worker (so connection extras are never sent as headers) and an ``aiohttp`` path
for the trigger. On top of HTTP it adds Marketo's rules: a client-credentials token shared by every hook of
the process, Marketo's error envelope (HTTP 200 with ``success: false``), a replay after 601/602, retries
with backoff for transient codes, and messages that say what to fix for the fatal ones.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlsplit

import aiohttp
import requests
import tenacity
from airflow.providers.http.hooks.http import HttpHook

from airflow_provider_marketo_pm import __version__
from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoApiQuotaError,
    MarketoAuthError,
    MarketoConnectionConfigError,
    MarketoExportQuotaError,
    MarketoFileNotAvailableError,
    MarketoQueueFullError,
    MarketoRequestError,
    MarketoTransientError,
    describe_quota_reset,
    next_quota_reset,
)
from airflow_provider_marketo_pm.get_provider_info import CONNECTION_UI_FIELD_BEHAVIOUR
from airflow_provider_marketo_pm.validation import build_export_request, is_loopback_host

try:
    from airflow.sdk.log import amask_secret, mask_secret
except ImportError:  # pragma: no cover - older task SDKs
    from airflow.providers.common.compat.sdk import mask_secret

    async def amask_secret(secret: Any, name: str | None = None) -> None:  # type: ignore[misc]
        mask_secret(secret, name)


T = TypeVar("T")

TOKEN_CODES = frozenset({"601", "602"})
TRANSIENT_CODES = frozenset({"604", "606", "608", "611", "615", "713"})
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_MIN_WAIT = 1.0
DEFAULT_RETRY_MAX_WAIT = 30.0
DEFAULT_RETRY_MAX_TIME = 300.0
DEFAULT_TOKEN_REFRESH_MARGIN = 60.0
ENVELOPE_PEEK_LIMIT = 64 * 1024
USER_AGENT = f"airflow-provider-marketo-pm/{__version__}"

DESCRIBE_PATH = "/rest/v1/programs/members/describe.json"
EXPORTS_PATH = "/bulk/v1/program/members/export"

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


# --- Connection ------------------------------------------------------------------------------------------


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
    retry_max_time: float = DEFAULT_RETRY_MAX_TIME


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
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback_host(text):
        raise MarketoConnectionConfigError(
            f"Refusing plain http for {parts.hostname!r}: the client secret and access token would travel "
            "unencrypted. Use the https REST base URL (https://<munchkin-id>.mktorest.com); plain http is "
            "only allowed for a loopback emulator (127.0.0.1, ::1, localhost), or for an emulator on a "
            "private network with the extra allow_insecure_http=true."
        )
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    for suffix in ("/rest", "/identity"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return f"{parts.scheme}://{netloc}{path}"


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

    Extras: ``identity_url``, ``timeout``, ``max_retries``, ``retry_max_time`` and ``allow_insecure_http``
    (emulators on a private network only). Anything else is refused, so a typo does not pass silently.
    """
    if not login or not password:
        raise MarketoConnectionConfigError(
            f"The Marketo connection {conn_id!r} needs the LaunchPoint client id as login and the client "
            "secret as password (Admin > LaunchPoint > View Details)."
        )
    known = {"identity_url", "timeout", "max_retries", "retry_max_time", "allow_insecure_http"}
    unknown = sorted(set(extra) - known)
    if unknown:
        raise MarketoConnectionConfigError(
            f"The Marketo connection {conn_id!r} has unknown extra(s) {unknown}; allowed: {sorted(known)}."
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
    return MarketoConnectionSettings(
        conn_id=conn_id,
        base_url=base_url,
        identity_url=identity_url,
        client_id=login,
        client_secret=password,
        timeout=_positive_number(conn_id, "timeout", extra.get("timeout", DEFAULT_TIMEOUT)),
        max_retries=int(
            _positive_number(conn_id, "max_retries", extra.get("max_retries", DEFAULT_MAX_RETRIES), 0)
        ),
        retry_max_time=_positive_number(
            conn_id, "retry_max_time", extra.get("retry_max_time", DEFAULT_RETRY_MAX_TIME)
        ),
    )


def _positive_number(conn_id: str, name: str, value: Any, minimum: float = 1e-9) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number >= minimum:
        raise MarketoConnectionConfigError(
            f"The Marketo connection {conn_id!r} extra {name}={value!r} must be a number >= {minimum:g}."
        )
    return number


# --- Token cache -----------------------------------------------------------------------------------------


@dataclass
class _CachedToken:
    value: str
    expires_at: float  # time.monotonic()


class _TokenCache:
    """Tokens per (identity URL, client id), shared by every hook of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], _CachedToken] = {}

    def get(self, key: tuple[str, str], margin: float) -> str | None:
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached.expires_at - margin > time.monotonic():
                return cached.value
            return None

    def put(self, key: tuple[str, str], token: str, expires_in: float) -> None:
        with self._lock:
            self._tokens[key] = _CachedToken(token, time.monotonic() + expires_in)

    def discard(self, key: tuple[str, str], token: str | None) -> None:
        with self._lock:
            cached = self._tokens.get(key)
            if cached and (token is None or cached.value == token):
                del self._tokens[key]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


# --- Answers -> errors (shared by the sync and async paths) ----------------------------------------------


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
            hint = "The bulk export queue shared by every integration is full (10 jobs): enqueue again later."
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


def _network_error(err: Exception, endpoint: str) -> MarketoTransientError:
    return MarketoTransientError(f"network error {type(err).__name__}: {err}"[:300], endpoint=endpoint)


def _token_from_payload(payload: Any, *, endpoint: str = "token") -> tuple[str, float]:
    if isinstance(payload, Mapping) and payload.get("access_token"):
        return str(payload["access_token"]), float(payload.get("expires_in") or 0)
    if isinstance(payload, Mapping) and payload.get("success") is False:
        raise error_from_envelope(payload, endpoint=endpoint)
    if isinstance(payload, Mapping) and payload.get("error"):
        raise MarketoAuthError(
            str(payload.get("error_description") or payload["error"]),
            endpoint=endpoint,
            hint="Check the client id (login) and client secret (password) of the connection.",
        )
    raise MarketoApiError("no access_token in the answer", endpoint=endpoint, hint="Check the identity URL.")


def _first_result(payload: Mapping[str, Any], endpoint: str) -> dict[str, Any]:
    result = payload.get("result") or []
    if not result:
        raise MarketoApiError(
            "the answer holds no record", endpoint=endpoint, request_id=payload.get("requestId")
        )
    return dict(result[0])


def _explain_fresh_token_refused(err: MarketoAuthError) -> None:
    """A 601/602 right after a new token is not a stale token any more: say what to check."""
    if err.code in TOKEN_CODES:
        err.hint = "Marketo refused a freshly issued access token; check the API user is active."
        err.args = (err._render(),)


def _export_path(export_id: str, action: str) -> str:
    if not isinstance(export_id, str) or not export_id.strip():
        raise MarketoRequestError("export_id", export_id, "must be a non-empty string (the exportId)")
    return f"{EXPORTS_PATH}/{quote(export_id, safe='')}/{action}.json"


# --- Streaming file --------------------------------------------------------------------------------------


class MarketoExportFile:
    """
    An open ``file.json`` answer, read in chunks so a file of any size never sits in memory.

    :ivar start: the byte offset this answer starts at (the Range asked for).
    :ivar total_size: the size of the whole file when Marketo said it, else ``None``.
    :ivar bytes_read: bytes handed out so far by :meth:`iter_chunks`.
    """

    def __init__(self, response: requests.Response, *, start: int, total_size: int | None) -> None:
        self._response = response
        self.start = start
        self.total_size = total_size
        self.bytes_read = 0

    def iter_chunks(self, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Yield the body in chunks; a cut connection raises ``MarketoTransientError`` (resume at offset)."""
        try:
            for chunk in self._response.iter_content(chunk_size=chunk_size):
                if chunk:
                    self.bytes_read += len(chunk)
                    yield chunk
        except requests.RequestException as err:
            raise MarketoTransientError(
                f"download interrupted after {self.start + self.bytes_read} bytes ({type(err).__name__})",
                endpoint="file",
                hint="Open the file again with start=<bytes already written> to resume.",
            ) from err
        if self.total_size is not None and self.start + self.bytes_read < self.total_size:
            raise MarketoTransientError(
                f"download ended at byte {self.start + self.bytes_read} of {self.total_size}",
                endpoint="file",
                hint="Open the file again with start=<bytes already written> to resume.",
            )


def _total_size(response: requests.Response, start: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range:
        total = content_range.rsplit("/", 1)[1].strip()
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return start + int(length) if length and length.isdigit() else None


# --- Hook ------------------------------------------------------------------------------------------------


class MarketoHook(HttpHook):
    """
    Interact with Marketo's Bulk Program Member Extract API.

    :param marketo_conn_id: the Airflow connection: host = REST base URL or Munchkin id, login = client id,
        password = client secret; extras ``identity_url``, ``timeout``, ``max_retries``, ``retry_max_time``.
    :param timeout: seconds per HTTP call (overrides the ``timeout`` extra).
    :param max_retries: retries of a transient error (overrides the ``max_retries`` extra).
    :param retry_min_wait: first backoff wait in seconds (doubles each time, plus jitter).
    :param retry_max_wait: longest single backoff wait in seconds.
    :param retry_max_time: stop retrying a call after this many seconds (overrides ``retry_max_time``).
    :param token_refresh_margin: fetch a new token when the cached one has less than this many seconds left.
    """

    conn_name_attr = "marketo_conn_id"
    default_conn_name = "marketo_default"
    conn_type = "marketo"
    hook_name = "Marketo"

    _token_cache: ClassVar[_TokenCache] = _TokenCache()

    def __init__(
        self,
        marketo_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        retry_min_wait: float = DEFAULT_RETRY_MIN_WAIT,
        retry_max_wait: float = DEFAULT_RETRY_MAX_WAIT,
        retry_max_time: float | None = None,
        token_refresh_margin: float = DEFAULT_TOKEN_REFRESH_MARGIN,
    ) -> None:
        super().__init__(method="GET", http_conn_id=marketo_conn_id)
        self.marketo_conn_id = marketo_conn_id
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_min_wait = retry_min_wait
        self.retry_max_wait = retry_max_wait
        self.retry_max_time = retry_max_time
        self.token_refresh_margin = token_refresh_margin

    # -- UI ---------------------------------------------------------------------------------------------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Connection form layout for Airflow < 3.2 (3.2+ reads ``ui-field-behaviour`` from provider info)."""
        return {
            "hidden_fields": list(CONNECTION_UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(CONNECTION_UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": {
                **CONNECTION_UI_FIELD_BEHAVIOUR["placeholders"],
                "extra": '{"identity_url": null, "timeout": 60, "max_retries": 5, "retry_max_time": 300}',
            },
        }

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """No extra widgets: wtforms is not a dependency; the extras are typed in Extra (or conn-fields)."""
        return {}

    # -- connection -------------------------------------------------------------------------------------

    @cached_property
    def settings(self) -> MarketoConnectionSettings:
        """The parsed connection (sync lookup: never use it inside an event loop)."""
        conn = self.get_connection(self.marketo_conn_id)
        settings = self._settings_from(conn, conn.extra_dejson)
        mask_secret(settings.client_secret)
        return settings

    def _settings_from(self, conn: Any, extra: Mapping[str, Any]) -> MarketoConnectionSettings:
        settings = parse_connection_settings(
            self.marketo_conn_id,
            host=conn.host,
            schema=conn.schema,
            port=conn.port,
            login=conn.login,
            password=conn.password,
            extra=extra,
        )
        overrides: dict[str, Any] = {}
        if self.timeout is not None:
            overrides["timeout"] = self.timeout
        if self.max_retries is not None:
            overrides["max_retries"] = self.max_retries
        if self.retry_max_time is not None:
            overrides["retry_max_time"] = self.retry_max_time
        if not overrides:
            return settings
        return MarketoConnectionSettings(**{**settings.__dict__, **overrides})

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """
        Build the ``requests`` session for Marketo calls.

        Unlike ``HttpHook.get_conn`` it never turns connection extras into HTTP headers (they hold settings,
        not headers) and it sets no auth: the bearer token is added per call. ``extra_options`` is ignored.
        """
        session = requests.Session()
        self.base_url = self.settings.base_url
        self._base_url_initialized = True
        session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        if headers:
            session.headers.update(headers)
        return self._configure_session_from_mount_adapters(session)

    @cached_property
    def _session(self) -> requests.Session:
        return self.get_conn()

    def test_connection(self) -> tuple[bool, str]:
        """Get a token and describe program members: proves the URL, the credentials and the permission."""
        try:
            self.describe_program_members()
        except Exception as err:
            return False, str(err)
        return True, f"Connected to Marketo at {self.settings.base_url}"

    @classmethod
    def clear_token_cache(cls) -> None:
        """Forget every cached access token of this process (tests; credential rotation)."""
        cls._token_cache.clear()

    # -- retries ----------------------------------------------------------------------------------------

    def _retry_kwargs(self, settings: MarketoConnectionSettings, endpoint: str) -> dict[str, Any]:
        def give_up(state: tenacity.RetryCallState) -> Any:
            error = state.outcome.exception() if state.outcome else None
            if not isinstance(error, MarketoApiError):  # pragma: no cover - retry only takes these
                raise RuntimeError("retries ended without an error")
            raise MarketoTransientError(
                error.message,
                code=error.code,
                request_id=error.request_id,
                endpoint=error.endpoint,
                http_status=error.http_status,
                hint=f"Gave up after {state.attempt_number} attempts in {state.seconds_since_start:.1f} s.",
            ) from error

        def log_retry(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            self.log.warning(
                "Marketo %s call failed (attempt %d): %s; retrying in %.1f s",
                endpoint,
                state.attempt_number,
                error,
                wait,
            )

        return {
            "stop": tenacity.stop_after_attempt(settings.max_retries + 1)
            | tenacity.stop_after_delay(settings.retry_max_time),
            # Exponential backoff plus jitter: parallel tasks must not retry in step (606/615 are shared).
            "wait": tenacity.wait_exponential(multiplier=self.retry_min_wait, max=self.retry_max_wait)
            + tenacity.wait_random(0, self.retry_min_wait),
            "retry": tenacity.retry_if_exception(
                lambda err: isinstance(err, MarketoApiError) and err.retryable
            ),
            "before_sleep": log_retry,
            "retry_error_callback": give_up,
        }

    def _with_retries(self, endpoint: str, call: Callable[[], T]) -> T:
        settings = self.settings
        return tenacity.Retrying(**self._retry_kwargs(settings, endpoint))(call)

    def _with_token_replay(self, call: Callable[[str], T]) -> T:
        """Run ``call(token)``; on 601/602 drop the token, get a new one and replay once."""
        token = self.get_access_token()
        try:
            return call(token)
        except MarketoAuthError as err:
            if err.code not in TOKEN_CODES:
                raise
            self.log.info("Marketo answered %s (%s): fetching a new access token", err.code, err.message)
            self._token_cache.discard(self._token_key(self.settings), token)
            fresh = self.get_access_token()
        try:
            return call(fresh)
        except MarketoAuthError as err:
            _explain_fresh_token_refused(err)
            raise

    # -- auth -------------------------------------------------------------------------------------------

    @staticmethod
    def _token_key(settings: MarketoConnectionSettings) -> tuple[str, str]:
        return (settings.identity_url, settings.client_id)

    def get_access_token(self) -> str:
        """Return a valid access token, reusing the process-wide cached one until shortly before expiry."""
        settings = self.settings
        cached = self._token_cache.get(self._token_key(settings), self.token_refresh_margin)
        if cached:
            return cached
        return self._with_retries("token", lambda: self._fetch_token(settings))

    def _fetch_token(self, settings: MarketoConnectionSettings) -> str:
        self.log.debug("Requesting a Marketo access token from %s", settings.identity_url)
        try:
            response = self._session.post(
                f"{settings.identity_url}/oauth/token",
                data=_token_form(settings),
                timeout=settings.timeout,
            )
        except requests.RequestException as err:
            raise _network_error(err, "token") from err
        if response.status_code != 200:
            raise error_from_http_status(response.status_code, response.text, endpoint="token")
        token, expires_in = _token_from_payload(_json_or_error(response.text, "token", response.status_code))
        mask_secret(token)
        self._token_cache.put(self._token_key(settings), token, expires_in)
        return token

    # -- sync calls -------------------------------------------------------------------------------------

    def _call_json(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        settings = self.settings

        def once(token: str) -> dict[str, Any]:
            self.log.debug("Marketo %s %s", method, path)
            try:
                response = self._session.request(
                    method,
                    settings.base_url + path,
                    params=params,
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=settings.timeout,
                )
            except requests.RequestException as err:
                raise _network_error(err, endpoint) from err
            if not 200 <= response.status_code < 300:
                raise error_from_http_status(response.status_code, response.text, endpoint=endpoint)
            payload = _json_or_error(response.text, endpoint, response.status_code)
            if payload.get("success") is False:
                raise error_from_envelope(
                    payload, endpoint=endpoint, http_status=response.status_code, request_body=body
                )
            return payload

        return self._with_retries(endpoint, lambda: self._with_token_replay(once))

    def describe_program_members(self) -> list[dict[str, Any]]:
        """Return the describe records of program members (fields, searchable fields, dedupe fields)."""
        return list(self._call_json("describe", "GET", DESCRIBE_PATH).get("result") or [])

    def create_program_member_export(
        self,
        fields: Sequence[str],
        filter: Mapping[str, Any],
        format: str = "CSV",
        column_header_names: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Validate the request (no call if it is bad), create the job and return its record (``Created``)."""
        body = build_export_request(fields, filter, format, column_header_names)
        return _first_result(
            self._call_json("create", "POST", f"{EXPORTS_PATH}/create.json", body=body), "create"
        )

    def enqueue_program_member_export(self, export_id: str) -> dict[str, Any]:
        """
        Put a Created job in Marketo's bulk queue and return its status record.

        1029 "Job already queued" counts as success (the current status is returned), so a replayed enqueue
        is harmless. A full queue raises :class:`MarketoQueueFullError`; enqueue again later.
        """
        path = _export_path(export_id, "enqueue")
        try:
            return _first_result(self._call_json("enqueue", "POST", path), "enqueue")
        except MarketoApiError as err:
            if err.code == "1029" and "already queued" in err.message.lower():
                self.log.info("Export %s was already queued: reading its status", export_id)
                return self.get_program_member_export_status(export_id)
            raise

    def get_program_member_export_status(self, export_id: str) -> dict[str, Any]:
        """Return the job's status record (status, numberOfRecords, fileSize, fileChecksum, errorMsg ...)."""
        return _first_result(self._call_json("status", "GET", _export_path(export_id, "status")), "status")

    def cancel_program_member_export(self, export_id: str) -> dict[str, Any]:
        """Cancel a job that is not finished yet and return its record."""
        return _first_result(self._call_json("cancel", "POST", _export_path(export_id, "cancel")), "cancel")

    def list_program_member_exports(
        self, status: str | Sequence[str] | None = None, *, batch_size: int | None = None
    ) -> list[dict[str, Any]]:
        """List this API user's export jobs of the last 7 days, following ``nextPageToken`` to the end."""
        params: dict[str, Any] = {}
        if status:
            params["status"] = status if isinstance(status, str) else ",".join(status)
        if batch_size:
            params["batchSize"] = batch_size
        jobs: list[dict[str, Any]] = []
        seen_tokens: set[str] = set()
        while True:
            payload = self._call_json("list", "GET", f"{EXPORTS_PATH}.json", params=params)
            page = payload.get("result") or []
            jobs.extend(dict(job) for job in page)
            next_token = payload.get("nextPageToken")
            if not page or not next_token or next_token in seen_tokens:
                return jobs
            seen_tokens.add(next_token)
            params["nextPageToken"] = next_token

    @contextmanager
    def open_program_member_export_file(self, export_id: str, start: int = 0) -> Iterator[MarketoExportFile]:
        """
        Open a Completed job's file for streaming, from byte ``start`` (a Range request when > 0).

        Yields a :class:`MarketoExportFile`; read it with ``iter_chunks()``. The file is never loaded into
        memory. A 404 raises :class:`MarketoFileNotAvailableError`.
        """
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise MarketoRequestError("start", start, "must be a byte offset >= 0")
        settings = self.settings
        path = _export_path(export_id, "file")
        range_header = {"Range": f"bytes={start}-"} if start else {}

        def once(token: str) -> MarketoExportFile:
            try:
                response = self._session.get(
                    settings.base_url + path,
                    headers={"Authorization": f"Bearer {token}", "Accept": "*/*", **range_header},
                    timeout=settings.timeout,
                    stream=True,
                )
            except requests.RequestException as err:
                raise _network_error(err, "file") from err
            try:
                return self._file_from_response(response, start)
            except BaseException:
                response.close()
                raise

        export_file = self._with_retries("file", lambda: self._with_token_replay(once))
        try:
            yield export_file
        finally:
            export_file._response.close()

    @staticmethod
    def _file_from_response(response: requests.Response, start: int) -> MarketoExportFile:
        if response.status_code not in (200, 206):
            raise error_from_http_status(response.status_code, response.text, endpoint="file")
        if start and response.status_code != 206:
            raise MarketoApiError(
                f"asked for bytes from {start} but got the whole file (HTTP {response.status_code})",
                endpoint="file",
                http_status=response.status_code,
            )
        length = response.headers.get("Content-Length", "")
        is_json = "json" in response.headers.get("Content-Type", "")
        if is_json and length.isdigit() and int(length) <= ENVELOPE_PEEK_LIMIT:
            # A small JSON answer is Marketo's error envelope (a 601/602 for instance), not the file.
            try:
                payload = json.loads(response.content)
            except ValueError:
                payload = None
            if isinstance(payload, Mapping) and payload.get("success") is False:
                raise error_from_envelope(payload, endpoint="file", http_status=response.status_code)
        return MarketoExportFile(response, start=start, total_size=_total_size(response, start))

    # -- async (trigger) --------------------------------------------------------------------------------

    async def aget_program_member_export_status(self, export_id: str) -> dict[str, Any]:
        """Status record of a job, for the triggerer: async connection lookup, aiohttp, same errors."""
        payload = await self._acall_json("status", "GET", _export_path(export_id, "status"))
        return _first_result(payload, "status")

    async def acancel_program_member_export(self, export_id: str) -> dict[str, Any]:
        """Cancel a job from the triggerer (a trigger's ``on_kill``) without blocking its event loop."""
        payload = await self._acall_json("cancel", "POST", _export_path(export_id, "cancel"))
        return _first_result(payload, "cancel")

    async def _acall_json(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """
        One async JSON call for the triggerer, with ``_call_json``'s errors, 601/602 replay and retries.

        The connection comes from the async lookup: the sync Connection API must not run in an event loop.
        """
        settings = await self._aget_settings()
        async with self._aiohttp_session(settings) as session:

            async def once(token: str) -> dict[str, Any]:
                self.log.debug("Marketo %s %s", method, path)
                try:
                    async with session.request(
                        method,
                        settings.base_url + path,
                        params=dict(params) if params else None,
                        json=body,
                        headers={"Authorization": f"Bearer {token}"},
                    ) as response:
                        text = await response.text()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as err:
                    raise _network_error(err, endpoint) from err
                if not 200 <= status < 300:
                    raise error_from_http_status(status, text, endpoint=endpoint)
                payload = _json_or_error(text, endpoint, status)
                if payload.get("success") is False:
                    raise error_from_envelope(
                        payload, endpoint=endpoint, http_status=status, request_body=body
                    )
                return payload

            async def with_replay() -> dict[str, Any]:
                token = await self._aget_access_token(settings, session)
                try:
                    return await once(token)
                except MarketoAuthError as err:
                    if err.code not in TOKEN_CODES:
                        raise
                    self.log.info(
                        "Marketo answered %s (%s): fetching a new access token", err.code, err.message
                    )
                    self._token_cache.discard(self._token_key(settings), token)
                fresh = await self._aget_access_token(settings, session)
                try:
                    return await once(fresh)
                except MarketoAuthError as err:
                    _explain_fresh_token_refused(err)
                    raise

            return await self._awith_retries(settings, endpoint, with_replay)

    async def _aget_settings(self) -> MarketoConnectionSettings:
        try:
            from airflow.providers.common.compat.connection import (
                get_async_connection,
                get_async_extra_dejson,
            )
        except ImportError:  # pragma: no cover - older common-compat
            from asgiref.sync import sync_to_async

            conn = await sync_to_async(self.get_connection)(self.marketo_conn_id)
            extra = await sync_to_async(lambda: conn.extra_dejson)()
        else:
            conn = await get_async_connection(self.marketo_conn_id)
            extra = await get_async_extra_dejson(conn)
        settings = self._settings_from(conn, extra)
        await amask_secret(settings.client_secret)
        return settings

    @asynccontextmanager
    async def _aiohttp_session(
        self, settings: MarketoConnectionSettings
    ) -> AsyncIterator[aiohttp.ClientSession]:
        timeout = aiohttp.ClientTimeout(total=settings.timeout)
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
            yield session

    async def _aget_access_token(
        self, settings: MarketoConnectionSettings, session: aiohttp.ClientSession
    ) -> str:
        key = self._token_key(settings)
        cached = self._token_cache.get(key, self.token_refresh_margin)
        if cached:
            return cached
        try:
            async with session.post(
                f"{settings.identity_url}/oauth/token", data=_token_form(settings)
            ) as resp:
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as err:
            raise _network_error(err, "token") from err
        if status != 200:
            raise error_from_http_status(status, text, endpoint="token")
        token, expires_in = _token_from_payload(_json_or_error(text, "token", status))
        await amask_secret(token)
        self._token_cache.put(key, token, expires_in)
        return token

    async def _awith_retries(
        self, settings: MarketoConnectionSettings, endpoint: str, call: Callable[[], Awaitable[T]]
    ) -> T:
        retrying = tenacity.AsyncRetrying(sleep=asyncio.sleep, **self._retry_kwargs(settings, endpoint))
        return await retrying(call)


def _token_form(settings: MarketoConnectionSettings) -> dict[str, str]:
    """The token request's form body: the secret travels in the body, never in a URL."""
    return {
        "grant_type": "client_credentials",
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
    }


def _json_or_error(text: str, endpoint: str, status: int) -> dict[str, Any]:
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


__all__ = [
    "MarketoConnectionSettings",
    "MarketoExportFile",
    "MarketoHook",
    "error_from_envelope",
    "error_from_http_status",
    "parse_connection_settings",
    "resolve_base_url",
]
