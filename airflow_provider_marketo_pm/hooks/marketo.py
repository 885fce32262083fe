"""MarketoHook: the one place that talks to Marketo's REST and Bulk Program Member Extract APIs.

A plain Airflow ``BaseHook`` with a ``requests`` session for the worker and an ``aiohttp`` session for the
triggerer, as the dbt Cloud provider's hook has. It does not subclass the http provider's ``HttpHook``:
every Marketo call needs a bearer token, reads Marketo's error envelope inside an HTTP 200 and raises the
classified errors, so ``HttpHook``'s public ``run``/``run_and_check``/``run_with_advanced_retry`` would only
look as if they worked. This module holds the endpoints and the two transports; the rules they share live next
to it: the connection (``connection_settings``), the process-wide token (``token_cache``), reading
answers (``marketo_responses``, ``error_classification``), retries (``retry_policy``) and the streamed,
resumed file (``export_file``).
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
from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_marketo_pm import __version__
from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoAuthError,
    MarketoError,
    MarketoExportFailedError,
    MarketoExportTimeoutError,
    MarketoRequestError,
)
from airflow_provider_marketo_pm.export_kind import (
    PROGRAM_MEMBERS,
    ExportKind,
    ExportRequest,
    program_member_export_request,
)
from airflow_provider_marketo_pm.export_status import ExportState, jittered_interval, read_export_status
from airflow_provider_marketo_pm.get_provider_info import CONNECTION_UI_FIELD_BEHAVIOUR
from airflow_provider_marketo_pm.hooks.connection_settings import (
    MarketoConnectionSettings,
    parse_connection_settings,
)
from airflow_provider_marketo_pm.hooks.error_classification import (
    TOKEN_CODES,
    error_from_network,
    explain_fresh_token_refused,
)
from airflow_provider_marketo_pm.hooks.export_file import MarketoExportFile, ResumableExportFile
from airflow_provider_marketo_pm.hooks.field_suggestions import (
    describe_hint,
    described_field_names,
    invalid_field_names,
    suggest_fields,
)
from airflow_provider_marketo_pm.hooks.marketo_responses import (
    first_record,
    payload_from_answer,
    token_from_answer,
)
from airflow_provider_marketo_pm.hooks.retry_policy import RetryPolicy
from airflow_provider_marketo_pm.hooks.token_cache import AccessTokenCache, TokenKey
from airflow_provider_marketo_pm.version_compat import aget_connection_and_extra, amask_secret, mask_secret

T = TypeVar("T")

DEFAULT_TOKEN_REFRESH_MARGIN = 60.0
USER_AGENT = f"airflow-provider-marketo-pm/{__version__}"

DESCRIBE_PATH = "/rest/v1/programs/members/describe.json"
LEAD_DESCRIBE_PATH = "/rest/v1/leads/describe.json"
EXPORTS_PATH = PROGRAM_MEMBERS.path


class MarketoHook(BaseHook):
    """
    Interact with Marketo's Bulk Program Member Extract API.

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
    :param token_refresh_margin: fetch a new token when the cached one has less than this many seconds left.
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
        token_refresh_margin: float = DEFAULT_TOKEN_REFRESH_MARGIN,
    ) -> None:
        if retry_min_wait is not None and retry_max_wait is not None and retry_min_wait > retry_max_wait:
            raise ValueError(
                f"retry_min_wait={retry_min_wait} must not exceed retry_max_wait={retry_max_wait}"
            )
        super().__init__()
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
        Build the ``requests`` session for Marketo calls.

        Connection extras are settings, never HTTP headers, and no auth is set: the bearer token is added per
        call. ``extra_options`` is accepted for ``get_conn``'s usual signature and ignored.
        """
        session = requests.Session()
        session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        if headers:
            session.headers.update(headers)
        return session

    @cached_property
    def _session(self) -> requests.Session:
        return self.get_conn()

    def _aiohttp_session(self, settings: MarketoConnectionSettings) -> aiohttp.ClientSession:
        """
        The hook's one ``aiohttp`` session, made on first use inside the running loop and kept, so a
        trigger's polls share one keep-alive connection; :meth:`aclose` ends it.
        """
        loop = asyncio.get_running_loop()
        session = self._asession
        if session is not None and not session.closed and self._asession_loop is loop:
            return session
        # None yet, closed, or made in another loop (a hook reused across asyncio.run calls).
        timeout = aiohttp.ClientTimeout(total=settings.timeout)
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        self._asession = aiohttp.ClientSession(timeout=timeout, headers=headers)
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
        """Return a valid access token, reusing the process-wide cached one until shortly before expiry."""
        return self._with_retries("token", self._access_token)

    def _access_token(self) -> str:
        """
        The cached token, or one token call: a single attempt, so inside a call it spends that call's
        retry budget instead of multiplying it.
        """
        settings = self.settings
        cached = self._token_cache.get(self._token_key(settings), self.token_refresh_margin)
        if cached:
            return cached
        return self._fetch_token(settings)

    def _fetch_token(self, settings: MarketoConnectionSettings) -> str:
        self.log.debug("Requesting a Marketo access token from %s", settings.identity_url)
        try:
            response = self._session.post(
                f"{settings.identity_url}/oauth/token",
                data=_token_form(settings),
                timeout=settings.timeout,
            )
        except requests.RequestException as err:
            raise error_from_network(err, "token") from err
        token, expires_in = token_from_answer(response.status_code, response.text)
        mask_secret(token)
        self._token_cache.put(self._token_key(settings), token, expires_in)
        return token

    async def _aget_access_token(
        self, settings: MarketoConnectionSettings, session: aiohttp.ClientSession
    ) -> str:
        key = self._token_key(settings)
        cached = self._token_cache.get(key, self.token_refresh_margin)
        if cached:
            return cached
        async with self._token_cache.fetch_lock(key):
            # Whoever held the lock before us may have fetched it: many triggers, one token call.
            cached = self._token_cache.get(key, self.token_refresh_margin)
            if cached:
                return cached
            return await self._afetch_token(settings, session)

    async def _afetch_token(self, settings: MarketoConnectionSettings, session: aiohttp.ClientSession) -> str:
        key = self._token_key(settings)
        try:
            async with session.post(
                f"{settings.identity_url}/oauth/token", data=_token_form(settings)
            ) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as err:
            raise error_from_network(err, "token") from err
        token, expires_in = token_from_answer(status, text)
        await amask_secret(token)
        self._token_cache.put(key, token, expires_in)
        return token

    def _drop_stale_token(
        self, err: MarketoAuthError, settings: MarketoConnectionSettings, token: str
    ) -> None:
        """After 601/602, forget the token so the replay gets a new one; any other auth error is raised."""
        if err.code not in TOKEN_CODES:
            raise err
        self.log.info("Marketo answered %s (%s): fetching a new access token", err.code, err.message)
        self._token_cache.discard(self._token_key(settings), token)

    # -- retries and token replay, sync and async ---------------------------------------------------------

    def _retry_policy(self, settings: MarketoConnectionSettings, endpoint: str) -> dict[str, Any]:
        return RetryPolicy.from_settings(settings).tenacity_kwargs(endpoint, log=self.log)

    def _with_retries(self, endpoint: str, call: Callable[[], T]) -> T:
        return tenacity.Retrying(**self._retry_policy(self.settings, endpoint))(call)

    async def _awith_retries(
        self, settings: MarketoConnectionSettings, endpoint: str, call: Callable[[], Awaitable[T]]
    ) -> T:
        retrying = tenacity.AsyncRetrying(sleep=asyncio.sleep, **self._retry_policy(settings, endpoint))
        return await retrying(call)

    def _with_token_replay(self, call: Callable[[str], T]) -> T:
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

    async def _awith_token_replay(
        self,
        settings: MarketoConnectionSettings,
        session: aiohttp.ClientSession,
        call: Callable[[str], Awaitable[T]],
    ) -> T:
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

    # -- JSON calls, sync and async ---------------------------------------------------------------------

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
                raise error_from_network(err, endpoint) from err
            return payload_from_answer(
                response.status_code, response.text, endpoint=endpoint, request_body=body
            )

        return self._with_retries(endpoint, lambda: self._with_token_replay(once))

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
        The call reuses the hook's session: whoever makes async calls closes it with :meth:`aclose`.
        """
        settings = await self.aget_settings()
        session = self._aiohttp_session(settings)

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
                raise error_from_network(err, endpoint) from err
            return payload_from_answer(status, text, endpoint=endpoint, request_body=body)

        async def with_replay() -> dict[str, Any]:
            # A coroutine function, not a lambda: tenacity only awaits what it sees is async.
            return await self._awith_token_replay(settings, session, once)

        return await self._awith_retries(settings, endpoint, with_replay)

    # -- the export lifecycle, written once for every export kind ------------------------------------------

    def describe_program_members(self) -> list[dict[str, Any]]:
        """Return the describe records of program members (fields, searchable fields, dedupe fields)."""
        return list(self._call_json("describe", "GET", DESCRIBE_PATH).get("result") or [])

    def create_export(self, request: ExportRequest) -> dict[str, Any]:
        """
        Create a job for a validated request and return its record (``Created``). When Marketo refuses a
        field name (1003 "Invalid fields: leadID"), the error suggests the described field meant.
        """
        kind = request.kind
        try:
            payload = self._call_json("create", "POST", kind.create_path, body=request.body)
        except MarketoApiError as err:
            if err.code == "1003":
                self._suggest_fields_meant(err)
            raise
        return first_record(payload, "create")

    def _suggest_fields_meant(self, err: MarketoApiError) -> None:
        """Read the describe fields once (program members, leads) and add "did you mean" to ``err``."""
        unknown = invalid_field_names(err.message)
        if not unknown:
            return
        try:
            describes = [
                *(self._call_json("describe", "GET", DESCRIBE_PATH).get("result") or []),
                *(self._call_json("describe", "GET", LEAD_DESCRIBE_PATH).get("result") or []),
            ]
        except MarketoError as describe_error:
            self.log.warning("Could not read the described fields to suggest one: %s", describe_error)
            return
        err.hint = describe_hint(suggest_fields(unknown, described_field_names(describes)))
        err.args = (err._render(),)

    def enqueue_export(self, kind: ExportKind, export_id: str) -> dict[str, Any]:
        """
        Put a Created job in Marketo's bulk queue and return its status record.

        1029 "Job already queued" counts as success (the current status is returned), so a replayed enqueue
        is harmless. A full queue raises :class:`MarketoQueueFullError`; enqueue again later.
        """
        try:
            return first_record(
                self._call_json("enqueue", "POST", kind.job_path(export_id, "enqueue")), "enqueue"
            )
        except MarketoApiError as err:
            if err.code == "1029" and "already queued" in err.message.lower():
                self.log.info("Export %s was already queued: reading its status", export_id)
                return self.get_export_status(kind, export_id)
            raise

    def get_export_status(self, kind: ExportKind, export_id: str) -> dict[str, Any]:
        """Return the job's status record (status, numberOfRecords, fileSize, fileChecksum, errorMsg ...)."""
        return first_record(self._call_json("status", "GET", kind.job_path(export_id, "status")), "status")

    async def aget_export_status(self, kind: ExportKind, export_id: str) -> dict[str, Any]:
        """Status record of a job, for the triggerer: async connection lookup, aiohttp, same errors."""
        payload = await self._acall_json("status", "GET", kind.job_path(export_id, "status"))
        return first_record(payload, "status")

    def cancel_export(self, kind: ExportKind, export_id: str) -> dict[str, Any]:
        """Cancel a job that is not finished yet and return its record."""
        return first_record(self._call_json("cancel", "POST", kind.job_path(export_id, "cancel")), "cancel")

    async def acancel_export(self, kind: ExportKind, export_id: str) -> dict[str, Any]:
        """Cancel a job from the triggerer (a trigger's ``on_kill``) without blocking its event loop."""
        payload = await self._acall_json("cancel", "POST", kind.job_path(export_id, "cancel"))
        return first_record(payload, "cancel")

    def list_exports(
        self, kind: ExportKind, status: str | Sequence[str] | None = None, *, batch_size: int | None = None
    ) -> list[dict[str, Any]]:
        """List this API user's jobs of a kind of the last 7 days, following ``nextPageToken`` to the end."""
        params: dict[str, Any] = {}
        if status:
            params["status"] = status if isinstance(status, str) else ",".join(status)
        if batch_size:
            params["batchSize"] = batch_size
        jobs: list[dict[str, Any]] = []
        seen_tokens: set[str] = set()
        while True:
            payload = self._call_json("list", "GET", kind.list_path, params=params)
            page = payload.get("result") or []
            jobs.extend(dict(job) for job in page)
            next_token = payload.get("nextPageToken")
            if not page or not next_token or next_token in seen_tokens:
                return jobs
            seen_tokens.add(next_token)
            params["nextPageToken"] = next_token

    def check_export(self, kind: ExportKind, export_id: str) -> dict[str, Any] | None:
        """
        One status call: the Completed record, ``None`` while pending; Failed/Cancelled raise
        :class:`MarketoExportFailedError` (final). The sensor's poke and :meth:`wait_for_export` use it.
        """
        record = self.get_export_status(kind, export_id)
        status = read_export_status(record)
        if status.state is ExportState.ERROR:
            raise MarketoExportFailedError(status.message, record=record)
        self.log.info(status.message)
        return record if status.state is ExportState.DONE else None

    def wait_for_export(
        self, kind: ExportKind, export_id: str, *, poll_interval: float, timeout: float
    ) -> dict[str, Any]:
        """
        Poll until the job is Completed and return its record, from a worker (as dbt's
        ``wait_for_job_run_status``); Failed/Cancelled raise :class:`MarketoExportFailedError`, the deadline
        :class:`MarketoExportTimeoutError`. The first check is at once.
        """
        deadline = time.monotonic() + timeout
        while (record := self.check_export(kind, export_id)) is None:
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
        self, kind: ExportKind, export_id: str, *, total_size: int, max_resumes: int
    ) -> ResumableExportFile:
        """
        The whole file of a Completed job as chunks (``.chunks(size)``), resumed with Range after a failed
        open or a broken stream, at most ``max_resumes`` times in all (see :class:`ResumableExportFile`).
        """
        policy = RetryPolicy.from_settings(self.settings)
        return ResumableExportFile(
            export_id,
            lambda start: self._open_file(kind, export_id, start, retry=False),
            total_size=total_size,
            max_resumes=max_resumes,
            wait_before=policy.wait_before,
            log=self.log,
        )

    @contextmanager
    def _open_file(
        self, kind: ExportKind, export_id: str, start: int, *, retry: bool
    ) -> Iterator[MarketoExportFile]:
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise MarketoRequestError("start", start, "must be a byte offset >= 0")
        settings = self.settings
        path = kind.job_path(export_id, "file")
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
                raise error_from_network(err, "file") from err
            try:
                return MarketoExportFile.from_response(response, start, read_timeout=settings.timeout)
            except BaseException:
                response.close()
                raise

        def replayed() -> MarketoExportFile:
            return self._with_token_replay(once)

        export_file = self._with_retries("file", replayed) if retry else replayed()
        try:
            yield export_file
        finally:
            export_file.close()

    # -- program members: the lifecycle above for PROGRAM_MEMBERS (the README's API) -----------------------

    def create_program_member_export(
        self,
        fields: Sequence[str] | ExportRequest,
        filter: Mapping[str, Any] | None = None,
        format: str = "CSV",
        column_header_names: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """
        Create a program member job and return its record (``Created``): from an :class:`ExportRequest`,
        or from the request's parts, validated first (no call is made if they are bad).
        """
        if isinstance(fields, ExportRequest):
            return self.create_export(fields)
        return self.create_export(program_member_export_request(fields, filter, format, column_header_names))

    def enqueue_program_member_export(self, export_id: str) -> dict[str, Any]:
        """See :meth:`enqueue_export`."""
        return self.enqueue_export(PROGRAM_MEMBERS, export_id)

    def get_program_member_export_status(self, export_id: str) -> dict[str, Any]:
        """See :meth:`get_export_status`."""
        return self.get_export_status(PROGRAM_MEMBERS, export_id)

    async def aget_program_member_export_status(self, export_id: str) -> dict[str, Any]:
        """See :meth:`aget_export_status`."""
        return await self.aget_export_status(PROGRAM_MEMBERS, export_id)

    def cancel_program_member_export(self, export_id: str) -> dict[str, Any]:
        """See :meth:`cancel_export`."""
        return self.cancel_export(PROGRAM_MEMBERS, export_id)

    async def acancel_program_member_export(self, export_id: str) -> dict[str, Any]:
        """See :meth:`acancel_export`."""
        return await self.acancel_export(PROGRAM_MEMBERS, export_id)

    def list_program_member_exports(
        self, status: str | Sequence[str] | None = None, *, batch_size: int | None = None
    ) -> list[dict[str, Any]]:
        """See :meth:`list_exports`."""
        return self.list_exports(PROGRAM_MEMBERS, status, batch_size=batch_size)

    def open_program_member_export_file(
        self, export_id: str, start: int = 0
    ) -> AbstractContextManager[MarketoExportFile]:
        """See :meth:`open_export_file`."""
        return self.open_export_file(PROGRAM_MEMBERS, export_id, start)


def _token_form(settings: MarketoConnectionSettings) -> dict[str, str]:
    """The token request's form body: the secret travels in the body, never in a URL."""
    return {
        "grant_type": "client_credentials",
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
    }


__all__ = ["MarketoConnectionSettings", "MarketoExportFile", "MarketoHook"]
