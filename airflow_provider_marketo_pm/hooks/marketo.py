"""MarketoHook: the one place that talks to Marketo's REST and Bulk Extract APIs.

Built on the http provider's ``HttpHook`` the way the dbt Cloud provider builds its hook, with one request
path: every call (``run``, the hook's own methods, the token call) is prepared on a session from
``get_conn`` (HttpHook's adapter mounting, with its TCP keep-alive adapter made to keep a deadline) and sent
by ``HttpHook.run_and_check``, within the call's deadline and never after a redirect; the bearer token, its
replay after 601/602 and the connection's retries wrap it once (:meth:`MarketoHook._call`). HttpHook's
public ``run``/``run_and_check``/``check_response``/``run_with_advanced_retry`` are that path, plus Marketo's
envelope read: an HTTP 200 with ``success: false`` raises the classified error. The triggerer's path is
``aiohttp`` (see :meth:`MarketoHook._acall_json` for why not ``HttpAsyncHook``), mirroring the sync one
through the same rules: the call's name, headers, token request and JSON answer (``marketo_call``), the
connection (``connection_settings``), the process-wide token (``token_cache``), a call's deadline and size
(``call_limits``), reading answers (``marketo_responses``, ``error_classification``), retries
(``call_retries``) and the streamed, resumed file (``export_file``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from typing import Any, ClassVar, TypeVar

import aiohttp
import requests
import tenacity
from airflow.providers.http.hooks.http import HttpHook

from airflow_provider_marketo_pm._compat import ProgramMemberExportMethods
from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoAuthError,
    MarketoExportFailedError,
    MarketoExportTimeoutError,
    MarketoMalformedAnswerError,
    MarketoRequestError,
)
from airflow_provider_marketo_pm.export_kind import ExportKind, ExportRequest
from airflow_provider_marketo_pm.export_status import (
    CANCELLED,
    CANCELLED_STATUSES,
    MAX_REENQUEUES,
    CreatedWatch,
    ExportState,
    jittered_interval,
    read_export_status,
)
from airflow_provider_marketo_pm.field_suggestions import refusal_hint
from airflow_provider_marketo_pm.get_provider_info import CONNECTION_UI_FIELD_BEHAVIOUR
from airflow_provider_marketo_pm.hooks.call_limits import (
    AnswerTooLarge,
    DeadlineAdapter,
    aread_bounded,
    call_deadline,
    decode_text,
)
from airflow_provider_marketo_pm.hooks.call_retries import CallRetries
from airflow_provider_marketo_pm.hooks.connection_settings import (
    MarketoConnectionSettings,
    parse_connection_settings,
)
from airflow_provider_marketo_pm.hooks.error_classification import (
    TOKEN_CODES,
    error_from_deadline,
    error_from_oversized,
    explain_fresh_token_refused,
)
from airflow_provider_marketo_pm.hooks.export_file import MarketoExportFile, ResumableExportFile
from airflow_provider_marketo_pm.hooks.marketo_call import (
    HEADERS,
    bearer,
    endpoint_name,
    host,
    json_answer,
    no_answer,
    refuse_redirect,
    sent_json,
    token_request,
)
from airflow_provider_marketo_pm.hooks.marketo_responses import (
    export_record,
    read_export_record,
    token_from_answer,
)
from airflow_provider_marketo_pm.hooks.token_cache import (
    MAX_TOKEN_CALLS,
    AccessTokenCache,
    TokenKey,
    TokenStep,
)
from airflow_provider_marketo_pm.kinds import activities, custom_objects, leads
from airflow_provider_marketo_pm.program_selection import MAX_RETURN as MAX_PROGRAMS_PAGE
from airflow_provider_marketo_pm.program_selection import PROGRAMS_PATH, program_list_params
from airflow_provider_marketo_pm.version_compat import aget_connection_and_extra, amask_secret, mask_secret

_T = TypeVar("_T")

_TCP_KEEP_ALIVE = {"idle": 120, "count": 20, "interval": 30}
"""HttpHook's default TCP keep-alive settings, kept by the hook's own adapter."""
_SESSION_OPTIONS = frozenset({"verify", "proxies", "cert"})
"""``extra_options`` that only a session of their own carries (``run`` makes one for them, as HttpHook)."""

_DESCRIBE_PATH = "/rest/v1/programs/members/describe.json"


class MarketoHook(HttpHook, ProgramMemberExportMethods):
    """
    Interact with Marketo's Bulk Extract APIs: the export lifecycle of any kind (``export_kind``).

    An ``HttpHook``: its ``run(endpoint, data, headers, extra_options, **request_kwargs)`` calls any Marketo
    REST path (``hook.method`` picks the verb, as for HttpHook) with the bearer token, the connection's retry
    policy and Marketo's errors raised as this package's exceptions; the endpoint methods below take the
    same path.

    :param marketo_conn_id: the Airflow connection: host = REST base URL or Munchkin id, login = client id,
        password = client secret; extras ``identity_url``, ``timeout``, ``max_retries``, ``retry_min_wait``,
        ``retry_max_wait``, ``retry_max_time`` (see :func:`parse_connection_settings`).
    :param timeout: seconds per HTTP call (overrides the ``timeout`` extra).
    :param max_retries: retries of a transient error (overrides the ``max_retries`` extra).
    :param retry_min_wait: first backoff wait in seconds, doubling each time, plus jitter (overrides the
        ``retry_min_wait`` extra, default 1).
    :param retry_max_wait: longest single backoff wait in seconds (overrides the ``retry_max_wait`` extra,
        default 30). When only one of the two is given and it crosses the connection's other one, the
        connection's value yields: the first wait is capped at the longest.
    :param retry_max_time: stop retrying a call after this many seconds (overrides ``retry_max_time``).
    :param token_refresh_margin: the seconds of life a cached token must have left to serve a call (default:
        the call's deadline, the connection's ``timeout``). With less, the call waits for it to expire and
        fetches the next one: Marketo hands back the live token until then.
    """

    conn_name_attr = "marketo_conn_id"
    default_conn_name = "marketo_default"
    conn_type = "marketo"
    hook_name = "Marketo"

    _token_cache: ClassVar[AccessTokenCache] = AccessTokenCache()

    def __init__(
        self,
        marketo_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        retry_min_wait: float | None = None,
        retry_max_wait: float | None = None,
        retry_max_time: float | None = None,
        token_refresh_margin: float | None = None,
    ) -> None:
        if retry_min_wait is not None and retry_max_wait is not None and retry_min_wait > retry_max_wait:
            raise ValueError(
                f"retry_min_wait={retry_min_wait} must not exceed retry_max_wait={retry_max_wait}"
            )
        super().__init__(method="GET", http_conn_id=marketo_conn_id)
        # HttpHook's TCP keep-alive adapter (its default settings), whose calls keep a deadline.
        self.keep_alive_adapter = DeadlineAdapter(**_TCP_KEEP_ALIVE)
        self.marketo_conn_id = marketo_conn_id
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_min_wait = retry_min_wait
        self.retry_max_wait = retry_max_wait
        self.retry_max_time = retry_max_time
        self.token_refresh_margin = token_refresh_margin
        self._asession: aiohttp.ClientSession | None = None
        self._asession_loop: asyncio.AbstractEventLoop | None = None

    # -- UI ---------------------------------------------------------------------------------------------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Connection form layout for Airflow < 3.2 (3.2+ reads ``ui-field-behaviour`` from provider info)."""
        return {
            "hidden_fields": list(CONNECTION_UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(CONNECTION_UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": {
                **CONNECTION_UI_FIELD_BEHAVIOUR["placeholders"],
                "extra": (
                    '{"identity_url": null, "timeout": 60, "max_retries": 5, "retry_min_wait": 1, '
                    '"retry_max_wait": 30, "retry_max_time": 300}'
                ),
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

    async def aget_settings(self) -> MarketoConnectionSettings:
        """The parsed connection through the async lookup, for the triggerer's event loop."""
        conn, extra = await aget_connection_and_extra(self.marketo_conn_id)
        settings = self._settings_from(conn, extra)
        await amask_secret(settings.client_secret)
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
        if self.retry_max_wait is not None:
            overrides["retry_max_wait"] = self.retry_max_wait
            overrides["retry_min_wait"] = min(settings.retry_min_wait, self.retry_max_wait)
        if self.retry_min_wait is not None:
            overrides["retry_min_wait"] = self.retry_min_wait
            overrides.setdefault("retry_max_wait", max(settings.retry_max_wait, self.retry_min_wait))
        return dataclasses.replace(settings, **overrides) if overrides else settings

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """
        Build the ``requests`` session for Marketo calls, as the dbt Cloud provider's hook builds its own.

        The base URL comes from the connection settings (a Munchkin id becomes its REST URL) and HttpHook's
        TCP keep-alive adapter is mounted by HttpHook. Unlike ``HttpHook.get_conn``, no connection extra ever
        becomes an HTTP header (Marketo's extras are settings) and login/password are no basic auth: the
        bearer token is added per call. ``extra_options`` takes HttpHook's request options (``stream``,
        ``verify``, ``proxies``, ``cert``, ``timeout``, ``check_response``); the timeout defaults to the
        connection's. The adapter mounted keeps each call's deadline (see :mod:`~airflow_provider_marketo_pm.
        hooks.call_limits`); no redirect is ever followed.
        """
        settings = self.settings
        self.base_url = settings.base_url
        self.merged_extra = {"timeout": settings.timeout, **(extra_options or {})}
        session = requests.Session()
        for option in ("stream", *_SESSION_OPTIONS):
            if option in self.merged_extra:
                setattr(session, option, self.merged_extra[option])
        session.headers.update(HEADERS)
        if headers:
            session.headers.update(headers)
        return self._configure_session_from_mount_adapters(session)

    def url_from_endpoint(self, endpoint: str | None) -> str:
        """The URL of a REST path, on the base URL of the connection settings (never the raw host)."""
        self.base_url = self.settings.base_url
        return super().url_from_endpoint(endpoint)

    @cached_property
    def _session(self) -> requests.Session:
        """The session the hook's JSON calls share (keep-alive)."""
        return self.get_conn()

    @cached_property
    def _stream_session(self) -> requests.Session:
        """The session for file downloads: HttpHook's ``run_and_check`` streams when its session streams."""
        return self.get_conn(extra_options={"stream": True})

    def _session_for(self, options: Mapping[str, Any]) -> requests.Session:
        if _SESSION_OPTIONS & options.keys():
            return self.get_conn(extra_options=dict(options))
        return self._stream_session if options.get("stream") else self._session

    def _aiohttp_session(self, settings: MarketoConnectionSettings) -> aiohttp.ClientSession:
        """
        The hook's one ``aiohttp`` session, made on first use inside the running loop and kept, so a
        trigger's polls share one keep-alive connection; :meth:`aclose` ends it. Its ``total`` timeout is
        the call's deadline.
        """
        loop = asyncio.get_running_loop()
        session = self._asession
        if session is not None and not session.closed and self._asession_loop is loop:
            return session
        # None yet, closed, or made in another loop (a hook reused across asyncio.run calls).
        timeout = aiohttp.ClientTimeout(total=settings.timeout)
        self._asession = aiohttp.ClientSession(timeout=timeout, headers=HEADERS)
        self._asession_loop = loop
        return self._asession

    async def aclose(self) -> None:
        """Close the async session (and its connections); safe to call twice or when none was opened."""
        session, self._asession, self._asession_loop = self._asession, None, None
        if session is not None and not session.closed:
            await session.close()

    def test_connection(self) -> tuple[bool, str]:
        """Get a token and describe program members: proves the URL, the credentials and the permission."""
        try:
            self.describe_program_members()
        except Exception as err:
            return False, str(err)
        return True, f"Connected to Marketo at {self.settings.base_url}"

    # -- auth -------------------------------------------------------------------------------------------

    @classmethod
    def clear_token_cache(cls) -> None:
        """Forget every cached access token of this process (tests; credential rotation)."""
        cls._token_cache.clear()

    @staticmethod
    def _token_key(settings: MarketoConnectionSettings) -> TokenKey:
        return (settings.identity_url, settings.client_id)

    def get_access_token(self) -> str:
        """
        Return a valid access token: the process-wide cached one while a call fits in its remaining life,
        else the next one (waiting for the cached one to expire first, see :mod:`...hooks.token_cache`).
        """
        return self._with_retries("token", self._access_token)

    def _token_life_needed(self, settings: MarketoConnectionSettings) -> float:
        """The seconds a token must still live to serve a call: the call's deadline, unless set."""
        return settings.timeout if self.token_refresh_margin is None else self.token_refresh_margin

    def _access_token(self) -> str:
        """
        The cached token, or the next one (at most a few token calls, each a single attempt, so inside a
        call they spend that call's retry budget instead of multiplying it). Worker threads fetch behind
        one lock: 20 threads that find no token make one token call.
        """
        settings = self.settings
        key, needed = self._token_key(settings), self._token_life_needed(settings)
        cached = self._token_cache.get(key, needed)
        if cached:
            return cached
        with self._token_cache.thread_lock(key):
            waited_out, fetched = None, ""
            for _ in range(MAX_TOKEN_CALLS):
                step = self._token_cache.next_step(key, needed, waited_out)
                if step.token:
                    return step.token
                if step.waiting_out:
                    self._log_waiting_out(step, needed)
                    time.sleep(step.wait)
                    waited_out = step.waiting_out
                fetched = self._fetch_token(settings)
            return fetched  # the live token answered again after its expiry: the last word on it

    async def _aget_access_token(
        self, settings: MarketoConnectionSettings, session: aiohttp.ClientSession
    ) -> str:
        """:meth:`_access_token` for the triggerer: the coroutines of one event loop fetch behind one lock."""
        key, needed = self._token_key(settings), self._token_life_needed(settings)
        cached = self._token_cache.get(key, needed)
        if cached:
            return cached
        async with self._token_cache.fetch_lock(key):
            waited_out, fetched = None, ""
            for _ in range(MAX_TOKEN_CALLS):
                step = self._token_cache.next_step(key, needed, waited_out)
                if step.token:
                    return step.token
                if step.waiting_out:
                    self._log_waiting_out(step, needed)
                    await asyncio.sleep(step.wait)
                    waited_out = step.waiting_out
                fetched = await self._afetch_token(settings, session)
            return fetched  # the live token answered again after its expiry: the last word on it

    def _log_waiting_out(self, step: TokenStep, needed: float) -> None:
        self.log.info(
            "The Marketo access token has %.0f s left, less than a call may take (%g s): waiting %.1f s for "
            "it to expire, then fetching the next one (Marketo hands back the live token until then).",
            step.left,
            needed,
            step.wait,
        )

    def _fetch_token(self, settings: MarketoConnectionSettings) -> str:
        """One token call (one attempt: it spends the retry budget of the call that needs the token)."""
        self.log.debug("Requesting a Marketo access token from %s", settings.identity_url)
        url, form = token_request(settings)
        asked_at = time.monotonic()
        token, expires_in = self._send(
            "POST", url, lambda response: token_from_answer(response.status_code, response.text), data=form
        )
        mask_secret(token)
        self._token_cache.put(self._token_key(settings), token, expires_in, asked_at=asked_at)
        return token

    async def _afetch_token(self, settings: MarketoConnectionSettings, session: aiohttp.ClientSession) -> str:
        """The async twin of :meth:`_fetch_token`."""
        url, form = token_request(settings)
        asked_at = time.monotonic()
        token, expires_in = token_from_answer(*await self._asend(settings, session, "POST", url, data=form))
        await amask_secret(token)
        self._token_cache.put(self._token_key(settings), token, expires_in, asked_at=asked_at)
        return token

    def _drop_stale_token(
        self, err: MarketoAuthError, settings: MarketoConnectionSettings, token: str
    ) -> None:
        """After 601/602, forget the token so the replay gets a new one; any other auth error is raised."""
        if err.code not in TOKEN_CODES:
            raise err
        self.log.info("Marketo answered %s (%s): fetching a new access token", err.code, err.message)
        self._token_cache.discard(self._token_key(settings), token)

    # -- the one request path: run and the hook's own methods -------------------------------------------

    def run(
        self,
        endpoint: str | None = None,
        data: dict[str, Any] | str | None = None,
        headers: dict[str, Any] | None = None,
        extra_options: dict[str, Any] | None = None,
        **request_kwargs: Any,
    ) -> requests.Response:
        """
        ``HttpHook.run`` for a Marketo REST path (``hook.method``, ``GET`` by default; ``data`` is the query
        of a GET, the body of the others, as for HttpHook), by the hook's one request path (:meth:`_call`):
        the bearer token, replayed once with a new token after 601/602, the connection's retry policy, and
        :meth:`check_response` (an HTTP 200 with ``success: false`` raises the classified error). Returns the
        ``requests.Response``. With ``extra_options={"check_response": False}`` the answer is handed back
        unchecked (so a 601/602 is not replayed); only a network failure is still retried. The connection's
        ``timeout`` bounds the whole call (a streamed answer: its headers; its body then has that long
        between bytes), and a redirect is never followed: it raises :class:`MarketoApiError`.
        """
        options = dict(extra_options or {})
        if data is not None and self.method != "HEAD":
            key = "params" if self.method == "GET" else "data"
            if key in request_kwargs:  # HttpHook.run refuses it too (a TypeError): which one would be sent?
                raise TypeError(f"run() got data and {key}: give the {self.method} call's {key} once")
            request_kwargs[key] = data
        read = self._checked if options.get("check_response", True) else _unread
        url = self.url_from_endpoint(endpoint)
        return self._call(self.method, url, read, options=options, headers=headers, **request_kwargs)

    def run_and_check(
        self,
        session: requests.Session,
        prepped_request: requests.PreparedRequest,
        extra_options: dict[Any, Any],
    ) -> requests.Response:
        """
        ``HttpHook.run_and_check``, which sends every call of the hook: one request within a deadline (the
        connection's timeout, or a number given as ``timeout``) for the whole call: connect, send, and read
        the answer, or for a streamed one its headers and :meth:`check_response`'s look at it. No answer in
        time, or none at all, raises :class:`MarketoTransientError`; a redirect is refused (never followed:
        ``allow_redirects`` must not be true); a JSON answer over 4 MiB is refused unread; the answer is
        checked by :meth:`check_response` unless ``check_response`` is false. It adds no token: :meth:`run`
        does.
        """
        options = {**(extra_options or {})}
        if options.get("allow_redirects"):
            raise MarketoRequestError(
                "allow_redirects",
                options["allow_redirects"],
                "the hook never follows a redirect: Marketo's REST API does not redirect, and the client "
                "secret or the access token would travel with it",
            )
        url = prepped_request.url or ""
        seconds = self._deadline(options)
        stream = bool(options.get("stream", session.stream))
        with call_deadline(seconds) as deadline:
            send_options = {
                **options,
                "timeout": deadline.requests_timeout(stream=stream),
                "allow_redirects": False,
                "check_response": False,
            }
            try:
                response = super().run_and_check(session, prepped_request, send_options)
            except requests.RequestException as err:
                raise no_answer(err, deadline.expired, seconds, url) from err
            except AnswerTooLarge as err:
                raise error_from_oversized(err, endpoint=endpoint_name(url)) from None
            try:
                refuse_redirect(response.status_code, response.headers.get("Location"), url)
                if options.get("check_response", True):
                    self.check_response(response)
                if deadline.expired:  # an answer cut short at the deadline may look whole
                    raise error_from_deadline(seconds, endpoint=endpoint_name(url), host=host(url))
            except BaseException:
                response.close()
                raise
        return response

    def check_response(self, response: requests.Response) -> None:
        """
        Raise the classified Marketo error for an answer that is not a success: an HTTP error status, or
        Marketo's ``success: false`` envelope inside an HTTP 200 (which ``HttpHook``'s check lets through),
        read as the hook's own calls read it. A ``file.json`` answer is checked as the downloads check it
        (its body is CSV, not JSON).
        """
        if endpoint_name(response.url or "") == "file":
            MarketoExportFile.from_response(response, 0)
        else:
            self._json(response)

    def run_with_advanced_retry(self, _retry_args: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
        """
        ``HttpHook.run_with_advanced_retry``: :meth:`run` inside ``tenacity.Retrying(**_retry_args)`` of your
        own. Your retries come on top of :meth:`run`'s (the connection's policy), so the budgets multiply;
        make the hook with ``max_retries=0`` for yours to be the only layer. The hook's own methods never
        call this.
        """
        return super().run_with_advanced_retry(_retry_args, *args, **kwargs)

    def _call(
        self,
        method: str,
        url: str,
        read: Callable[[requests.Response], _T],
        *,
        retry: bool = True,
        headers: Mapping[str, str] | None = None,
        **request: Any,
    ) -> _T:
        """
        The one sync path of a call with a token: the bearer token, replayed once with a new one after
        601/602, each attempt sent by :meth:`_send` and its answer read by ``read``; the connection's
        retries (``retry``) around both, so a token call spends the retry budget of the call it serves.
        """

        def attempt(token: str) -> _T:
            return self._send(method, url, read, headers={**(headers or {}), **bearer(token)}, **request)

        def replayed() -> _T:
            return self._with_token_replay(attempt)

        return self._with_retries(endpoint_name(url), replayed) if retry else replayed()

    def _send(
        self,
        method: str,
        url: str,
        read: Callable[[requests.Response], _T],
        *,
        options: Mapping[str, Any] | None = None,
        **request: Any,
    ) -> _T:
        """
        One attempt of one call (the token call too): prepared on the kept session (or, for ``verify``,
        ``proxies`` or ``cert``, a session of its own), sent by :meth:`run_and_check`, its answer read by
        ``read`` inside the call's deadline (a streamed file's look at a small JSON answer too; its body then
        has a stall timeout, see ``hooks.call_limits``). ``check_response`` is off there: ``read`` checks.
        """
        options = {"stream": False, **(options or {}), "check_response": False}
        session = self._session_for(options)
        prepared = session.prepare_request(requests.Request(method, url, **request))
        self.log.debug("Marketo %s %s", method, endpoint_name(url))
        seconds = self._deadline(options)
        with call_deadline(seconds) as deadline:
            response = self.run_and_check(session, prepared, options)
            try:
                return read(response)
            except requests.RequestException as err:  # reading the rest of a streamed answer broke
                response.close()
                raise no_answer(err, deadline.expired, seconds, url) from err
            except BaseException:
                response.close()
                raise

    def _deadline(self, options: Mapping[str, Any]) -> float:
        """A call's deadline: a positive ``timeout`` option, else the connection's."""
        timeout = options.get("timeout")
        return timeout if isinstance(timeout, int | float) and timeout > 0 else self.settings.timeout

    def _json(self, response: requests.Response, *, needs_record: bool = False) -> dict[str, Any]:
        """The payload of a JSON answer, or its classified error (the hints read the request it answers)."""
        return json_answer(
            response.status_code,
            response.text,
            response.url or "",
            request_body=sent_json(response.request.body) if response.request else None,
            needs_record=needs_record,
        )

    def _checked(self, response: requests.Response) -> requests.Response:
        self.check_response(response)
        return response

    def _call_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        needs_record: bool = False,
    ) -> dict[str, Any]:
        """A JSON call of the hook's own methods, through :meth:`_call`."""
        return self._call(
            method,
            self.settings.base_url + path,
            lambda response: self._json(response, needs_record=needs_record),
            params=params,
            json=body,
        )

    def _with_retries(self, endpoint: str, call: Callable[[], _T]) -> _T:
        return tenacity.Retrying(**self._retries(self.settings, endpoint))(call)

    def _retries(self, settings: MarketoConnectionSettings, endpoint: str) -> dict[str, Any]:
        return CallRetries.from_settings(settings).tenacity_kwargs(endpoint, log=self.log)

    def _with_token_replay(self, call: Callable[[str], _T]) -> _T:
        """Run ``call(token)``; on 601/602 drop the token, get a new one and replay once."""
        token = self._access_token()
        try:
            return call(token)
        except MarketoAuthError as err:
            self._drop_stale_token(err, self.settings, token)
        try:
            return call(self._access_token())
        except MarketoAuthError as err:
            explain_fresh_token_refused(err)
            raise

    # -- its async mirror, for the triggerer: the same rules through aiohttp ------------------------------

    async def _acall_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        needs_record: bool = False,
    ) -> dict[str, Any]:
        """
        :meth:`_call_json` for the triggerer, with its errors, 601/602 replay and retries.

        The connection comes from the async lookup: the sync Connection API must not run in an event loop.
        The call reuses the hook's session: whoever makes async calls closes it with :meth:`aclose`.

        Plain ``aiohttp``, not the http provider's ``HttpAsyncHook``: that hook would send the client id and
        secret as basic auth and the connection extras as headers, take the raw host as the base URL (a
        Munchkin id is none), add its own fixed-wait retries on top of the policy, turn Marketo's error
        answers into ``HttpErrorException(status:reason)`` without the body, and open a session per call
        unless handed one (a polling trigger keeps one).
        """
        settings = await self.aget_settings()
        session = self._aiohttp_session(settings)
        url = settings.base_url + path

        async def attempt(token: str) -> dict[str, Any]:
            self.log.debug("Marketo %s %s", method, endpoint_name(url))
            status, text = await self._asend(
                settings,
                session,
                method,
                url,
                params=dict(params) if params else None,
                json=body,
                headers=bearer(token),
            )
            return json_answer(status, text, url, request_body=body, needs_record=needs_record)

        async def replayed() -> dict[str, Any]:
            # A coroutine function, not a lambda: tenacity only awaits what it sees is async.
            return await self._awith_token_replay(settings, session, attempt)

        return await self._awith_retries(settings, endpoint_name(url), replayed)

    @staticmethod
    async def _asend(
        settings: MarketoConnectionSettings,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        **request: Any,
    ) -> tuple[int, str]:
        """
        :meth:`_send` for ``aiohttp``, to the same rules as :meth:`run_and_check`: the session's ``total``
        timeout is the call's deadline (connect, send, read the answer), a redirect is refused, a JSON answer
        over 4 MiB is refused unread. Returns the status and the text.
        """
        try:
            async with session.request(method, url, allow_redirects=False, **request) as response:
                refuse_redirect(response.status, response.headers.get("Location"), url)
                try:
                    body = await aread_bounded(response)
                except AnswerTooLarge as err:
                    raise error_from_oversized(err, endpoint=endpoint_name(url)) from None
                return response.status, decode_text(body, response.charset)
        except TimeoutError as err:
            raise no_answer(err, True, settings.timeout, url) from err
        except aiohttp.ClientError as err:
            raise no_answer(err, False, settings.timeout, url) from err

    async def _awith_retries(
        self, settings: MarketoConnectionSettings, endpoint: str, call: Callable[[], Awaitable[_T]]
    ) -> _T:
        retrying = tenacity.AsyncRetrying(sleep=asyncio.sleep, **self._retries(settings, endpoint))
        return await retrying(call)

    async def _awith_token_replay(
        self,
        settings: MarketoConnectionSettings,
        session: aiohttp.ClientSession,
        call: Callable[[str], Awaitable[_T]],
    ) -> _T:
        """The async twin of :meth:`_with_token_replay`."""
        token = await self._aget_access_token(settings, session)
        try:
            return await call(token)
        except MarketoAuthError as err:
            self._drop_stale_token(err, settings, token)
        try:
            return await call(await self._aget_access_token(settings, session))
        except MarketoAuthError as err:
            explain_fresh_token_refused(err)
            raise

    # -- the export lifecycle, written once for every export kind ------------------------------------------

    def describe_program_members(self) -> list[dict[str, Any]]:
        """Return the describe records of program members (fields, searchable fields, dedupe fields)."""
        return list(self._call_json("GET", _DESCRIBE_PATH).get("result") or [])

    def describe_leads(self) -> list[dict[str, Any]]:
        """
        Return Describe Lead2's records (``GET /rest/v1/leads/describe2.json``): the lead's ``fields``, each
        a REST ``name`` and ``dataType``, the names a lead export's ``fields`` are chosen from.
        """
        return list(self._call_json("GET", leads.DESCRIBE_PATH).get("result") or [])

    def describe_activity_types(self) -> list[dict[str, Any]]:
        """
        Return the instance's activity types (``GET /rest/v1/activities/types.json``): each an ``id``, a
        ``name``, its primary attribute and attributes; the start resolves activity type names with it.
        """
        return list(self._call_json("GET", activities.TYPES_PATH).get("result") or [])

    def list_custom_objects(self, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """
        Return the instance's custom objects (``GET /rest/v1/customobjects.json``), each with its
        ``apiName``; ``names`` narrows them to those API names.
        """
        params = {"names": ",".join(custom_objects.parse_api_name(name) for name in names)} if names else None
        return list(self._call_json("GET", custom_objects.LIST_PATH, params=params).get("result") or [])

    def describe_custom_object(self, api_name: str) -> dict[str, Any]:
        """
        Return one custom object's describe (``GET /rest/v1/customobjects/{apiName}/describe.json``): its
        ``fields`` (what a custom object export's ``fields`` names), ``idField`` and ``dedupeFields``.
        """
        path = custom_objects.describe_path(api_name)
        result = self._call_json("GET", path).get("result")
        if not isinstance(result, list) or not result or not isinstance(result[0], Mapping):
            raise MarketoMalformedAnswerError(
                f"the describe of custom object {api_name} answered no record", field="result", endpoint=path
            )
        return dict(result[0])

    def list_programs(
        self,
        filter_type: str | None = None,
        filter_values: str | int | Sequence[str | int] | None = None,
        *,
        earliest_updated_at: str | None = None,
        latest_updated_at: str | None = None,
        max_return: int = MAX_PROGRAMS_PAGE,
    ) -> list[dict[str, Any]]:
        """
        Every program of Marketo's Asset API browse (``GET /rest/asset/v1/programs.json``), paged with
        ``offset`` by ``max_return`` (at most 200); ``filter_type`` (``id``, ``programId``, ``folderId``,
        ``workspace``) with ``filter_values`` narrows them. Past the last program Marketo answers success
        with the warning "No assets found" and no ``result``: that ends the list.
        """
        params = program_list_params(
            filter_type,
            filter_values,
            earliest_updated_at=earliest_updated_at,
            latest_updated_at=latest_updated_at,
            max_return=max_return,
        )
        programs: list[dict[str, Any]] = []
        while True:
            page = self._call_json("GET", PROGRAMS_PATH, params=params).get("result") or []
            programs.extend(dict(program) for program in page)
            if len(page) < params["maxReturn"]:
                return programs
            params["offset"] += len(page)

    def create_export(self, request: ExportRequest) -> dict[str, Any]:
        """
        Create a job for a validated request and return its record (``Created``). When Marketo refuses a
        field name (1003 "Invalid fields: leadID"), the error suggests the described field meant.

        An answer without ``result`` (or an empty one), or whose record has no ``exportId`` (or ``null``), is
        retried within the retry policy, then fails naming the create call; an exportId that is not a sane id
        fails at once (nothing is enqueued). Retrying create cannot leave two export jobs that both run: such
        an answer carries no exportId, so no later call can enqueue whatever that attempt may have created.
        At worst such a job stays Created, which uses no export quota and no queue slot, and Marketo drops
        it; only the job whose record this returns is ever enqueued. (The emulator's ``no_result`` fault
        creates nothing at all.)
        """
        kind = request.kind
        try:
            payload = self._call_json("POST", kind.create_path, body=request.body, needs_record=True)
        except MarketoApiError as err:
            if err.code == "1003":
                self._explain_refusal(err, request)
            elif err.code == "1035" and kind.unsupported_filter_hint is not None:
                err.hint = kind.unsupported_filter_hint(err.message)  # the filter it lacks, and what instead
                err.args = (err._render(),)
            raise
        return export_record(payload, "create")

    def _explain_refusal(self, err: MarketoApiError, request: ExportRequest) -> None:
        """Add what to check to a 1003: the field meant (from the kind's describes) or the kind's hint."""

        def read_describe(path: str) -> list[dict[str, Any]]:
            return list(self._call_json("GET", path).get("result") or [])

        hint = refusal_hint(err.message, request, read_describe, self.log)
        if hint:
            err.hint = hint
            err.args = (err._render(),)

    def enqueue_export(self, kind: ExportKind, export_id: str) -> dict[str, Any]:
        """
        Put a Created job in Marketo's bulk queue and return its status record.

        1029 "Job already queued" counts as success (the current status is returned), so a replayed enqueue
        is harmless. A full queue raises :class:`MarketoQueueFullError`; enqueue again later.
        """
        try:
            return export_record(
                self._call_json("POST", kind.job_path(export_id, "enqueue"), needs_record=True),
                "enqueue",
                export_id=export_id,
            )
        except MarketoApiError as err:
            if err.code == "1029" and "already queued" in err.message.lower():
                self.log.info("Export %s was already queued: reading its status", export_id)
                return self.get_export_status(kind, export_id)
            raise

    def get_export_status(self, kind: ExportKind, export_id: str) -> dict[str, Any]:
        """Return the job's status record (status, numberOfRecords, fileSize, fileChecksum, errorMsg ...)."""
        payload = self._call_json("GET", kind.job_path(export_id, "status"), needs_record=True)
        return export_record(payload, "status", export_id=export_id)

    async def aget_export_status(self, kind: ExportKind, export_id: str) -> dict[str, Any]:
        """Status record of a job, for the triggerer: async connection lookup, aiohttp, same errors."""
        payload = await self._acall_json("GET", kind.job_path(export_id, "status"), needs_record=True)
        return export_record(payload, "status", export_id=export_id)

    def cancel_export(self, kind: ExportKind, export_id: str) -> dict[str, Any]:
        """Cancel a job that is not finished yet and return its record."""
        payload = self._call_json("POST", kind.job_path(export_id, "cancel"), needs_record=True)
        return export_record(payload, "cancel", export_id=export_id)

    async def acancel_export(self, kind: ExportKind, export_id: str) -> dict[str, Any]:
        """Cancel a job from the triggerer (a trigger's ``on_kill``) without blocking its event loop."""
        payload = await self._acall_json("POST", kind.job_path(export_id, "cancel"), needs_record=True)
        return export_record(payload, "cancel", export_id=export_id)

    def list_exports(
        self, kind: ExportKind, status: str | Sequence[str] | None = None, *, batch_size: int | None = None
    ) -> list[dict[str, Any]]:
        """
        List this API user's jobs of a kind of the last 7 days, following ``nextPageToken`` to the end.

        ``status`` filters by one status word or several; ``Canceled`` and ``Cancelled`` (Marketo's docs spell
        it both ways) are both accepted in any case and sent as ``Cancelled``, the word status answers use.
        """
        params: dict[str, Any] = {}
        if status:
            params["status"] = ",".join(_list_status_filter(status))
        if batch_size:
            params["batchSize"] = batch_size
        jobs: list[dict[str, Any]] = []
        seen_tokens: set[str] = set()
        while True:
            payload = self._call_json("GET", kind.list_path, params=params)
            page = payload.get("result") or []
            jobs.extend(read_export_record(job, endpoint="list") for job in page)
            next_token = payload.get("nextPageToken")
            if not page or not next_token or next_token in seen_tokens:
                return jobs
            seen_tokens.add(next_token)
            params["nextPageToken"] = next_token

    def check_export(
        self, kind: ExportKind, export_id: str, *, created_watch: CreatedWatch | None = None
    ) -> dict[str, Any] | None:
        """
        One status call: the Completed record, ``None`` while pending; Failed/Cancelled raise
        :class:`MarketoExportFailedError` (final). The sensor's poke and :meth:`wait_for_export` use it.

        With ``created_watch``, a job that has read Created too often since it was enqueued is enqueued
        again (:meth:`reenqueue_export`).
        """
        record = self.get_export_status(kind, export_id)
        status = read_export_status(record)
        if status.state is ExportState.ERROR:
            raise MarketoExportFailedError(status.message, record=record)
        self.log.info(status.message)
        if created_watch is not None and created_watch.should_reenqueue(record):
            self.reenqueue_export(kind, export_id, created_watch)
        return record if status.state is ExportState.DONE else None

    def reenqueue_export(
        self, kind: ExportKind, export_id: str, created_watch: CreatedWatch
    ) -> dict[str, Any]:
        """
        Enqueue again a job that still reads Created after it was enqueued, and return its status record.

        "Job already queued" (1029) is success: Marketo holds the job and only its status lagged. After
        :data:`~airflow_provider_marketo_pm.export_status.MAX_REENQUEUES` enqueues of one wait this raises
        :class:`MarketoExportNotEnqueuedError`. A POST: only ever called on a worker, never in a trigger.
        """
        created_watch.count_reenqueue()
        self.log.warning(
            "Export %s still reads Created after %s status reads since it was enqueued: enqueueing it again "
            "(%d of at most %d).",
            export_id,
            created_watch.after_polls,
            created_watch.reenqueues,
            MAX_REENQUEUES,
        )
        return self.enqueue_export(kind, export_id)

    def wait_for_export(
        self,
        kind: ExportKind,
        export_id: str,
        *,
        poll_interval: float,
        timeout: float,
        reenqueue_after_polls: int | None = None,
    ) -> dict[str, Any]:
        """
        Poll until the job is Completed and return its record, from a worker (as dbt's
        ``wait_for_job_run_status``); Failed/Cancelled raise :class:`MarketoExportFailedError`, the deadline
        :class:`MarketoExportTimeoutError`. The first check is at once. With ``reenqueue_after_polls``, a job
        that reads Created that many times in a row is enqueued again (see :class:`CreatedWatch`).
        """
        deadline = time.monotonic() + timeout
        watch = None if reenqueue_after_polls is None else CreatedWatch(export_id, reenqueue_after_polls)
        while (record := self.check_export(kind, export_id, created_watch=watch)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MarketoExportTimeoutError(
                    f"Timed out waiting for Marketo export {export_id} to complete."
                )
            time.sleep(min(jittered_interval(poll_interval), remaining))
        return record

    def open_export_file(
        self, kind: ExportKind, export_id: str, start: int = 0
    ) -> AbstractContextManager[MarketoExportFile]:
        """
        Open a Completed job's file for streaming, from byte ``start`` (a Range request when > 0).

        Yields a :class:`MarketoExportFile`; read it with ``iter_chunks()``. The file is never loaded into
        memory. A 404 raises :class:`MarketoFileNotAvailableError`. The open is retried by the connection's
        retry policy; :meth:`read_export_file` resumes whole downloads instead.
        """
        return self._open_file(kind, export_id, start, retry=True)

    def read_export_file(
        self,
        kind: ExportKind,
        export_id: str,
        *,
        total_size: int | None,
        max_resumes: int,
        file_available_timeout: float = 0.0,
    ) -> ResumableExportFile:
        """
        The whole file of a Completed job as chunks (``.chunks(size)``), resumed with Range after a failed
        open or a broken stream, at most ``max_resumes`` times in all (see :class:`ResumableExportFile`).

        A file that answers 404 is asked for again, with the retry policy's waits, for about
        ``file_available_timeout`` seconds (0: not at all). ``total_size`` ``None``: the size is unknown.
        """
        policy = CallRetries.from_settings(self.settings)
        return ResumableExportFile(
            export_id,
            lambda start: self._open_file(kind, export_id, start, retry=False),
            total_size=total_size,
            max_resumes=max_resumes,
            wait_before=policy.wait_before,
            log=self.log,
            not_yet_available_waits=policy.waits_within(file_available_timeout),
        )

    @contextmanager
    def _open_file(
        self, kind: ExportKind, export_id: str, start: int, *, retry: bool
    ) -> Iterator[MarketoExportFile]:
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise MarketoRequestError("start", start, "must be a byte offset >= 0")
        settings = self.settings
        export_file = self._call(
            "GET",
            settings.base_url + kind.job_path(export_id, "file"),
            lambda response: MarketoExportFile.from_response(response, start, read_timeout=settings.timeout),
            retry=retry,
            options={"stream": True},
            headers={"Accept": "*/*", **({"Range": f"bytes={start}-"} if start else {})},
        )
        try:
            yield export_file
        finally:
            export_file.close()


def _unread(response: requests.Response) -> requests.Response:
    return response


def _list_status_filter(status: str | Sequence[str]) -> list[str]:
    """The list endpoint's status values as sent: either spelling of cancelled becomes ``Cancelled``, once."""
    words = [status] if isinstance(status, str) else list(status)
    sent: list[str] = []
    for word in words:
        if str(word).strip().lower() in {spelling.lower() for spelling in CANCELLED_STATUSES}:
            word = CANCELLED
        if word not in sent:
            sent.append(word)
    return sent


__all__ = ["MarketoHook"]
