"""The ASGI app: Marketo's identity endpoint, the bulk export endpoints of every kind (program members,
leads, activities, custom objects), the describes they rest on and the program browse, with Marketo's
envelopes.

Every request goes through the same pipeline (log, call limits, scripted faults, bearer token), so each
behaviour is implemented once for all endpoints; each bulk export kind gets the same six endpoints under
its own path (see ``kinds.py``).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from airflow_provider_marketo_pm.testing.emulator.activities import ACTIVITY_TYPES
from airflow_provider_marketo_pm.testing.emulator.custom_objects import find_object, list_objects
from airflow_provider_marketo_pm.testing.emulator.dataset import (
    describe_fields,
    describe_lead_fields,
    describe_lead_fields2,
)
from airflow_provider_marketo_pm.testing.emulator.errors import MarketoApiFault, invalid
from airflow_provider_marketo_pm.testing.emulator.file_response import FileRangeResponse, parse_range
from airflow_provider_marketo_pm.testing.emulator.jobs import STATUSES
from airflow_provider_marketo_pm.testing.emulator.jobs import Scope as JobScope
from airflow_provider_marketo_pm.testing.emulator.kinds import KINDS, ExportKind
from airflow_provider_marketo_pm.testing.emulator.programs import browse_programs
from airflow_provider_marketo_pm.testing.emulator.request_log import RecordedRequest
from airflow_provider_marketo_pm.testing.emulator.state import MarketoInstance

MAX_BATCH_SIZE = 300
MAX_BODY_BYTES = 1024 * 1024  # Marketo answers HTTP 413 above 1 MB ...
MAX_URI_BYTES = 8 * 1024  # ... and HTTP 414 above 8 KB of URI
SCOPE_USER = "api-user@emulated-marketo.invalid"
DEFAULT_MESSAGES = {
    "600": "Access token not specified",
    "601": "Access token invalid",
    "602": "Access token expired",
    "603": "Access denied",
    "604": "Request timed out",
    "606": "Max rate limit '100' exceeded with in '20' secs",
    "607": "Daily quota reached",
    "608": "API Temporarily Unavailable",
    "609": "Invalid JSON",
    "610": "Requested resource not found",
    "611": "System error",
    "612": "Invalid Content Type",
    "615": "Concurrent access limit reached",
    "713": "Transient Error",
    "1003": "Invalid data",
    "1029": "Too many jobs in queue",
    "1035": "Unsupported filter type for target subscription",
}

Handler = Callable[[Request, bytes], Awaitable[Any]]


class _Answer(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class MarketoApp:
    """Builds the Starlette app for one ``MarketoInstance``."""

    def __init__(self, instance: MarketoInstance) -> None:
        self.instance = instance
        self._request_ids = itertools.count(0x1000)
        routes = [
            Route("/identity/oauth/token", self._endpoint("token", self.token), methods=["GET", "POST"]),
            Route("/rest/v1/programs/members/describe.json", self._endpoint("describe", self.describe)),
            Route("/rest/v1/leads/describe.json", self._endpoint("lead_describe", self.lead_describe)),
            Route("/rest/v1/leads/describe2.json", self._endpoint("lead_describe2", self.lead_describe2)),
            Route("/rest/asset/v1/programs.json", self._endpoint("programs", self.programs)),
            Route("/rest/v1/activities/types.json", self._endpoint("activity_types", self.activity_types)),
            Route("/rest/v1/customobjects.json", self._endpoint("custom_objects", self.custom_objects)),
            Route(
                "/rest/v1/customobjects/{apiName}/describe.json",
                self._endpoint("custom_object_describe", self.custom_object_describe),
            ),
            Route("/rest/v1/stats/usage.json", self._endpoint("usage", self.usage)),
            *(route for kind in KINDS for route in self._bulk_routes(kind)),
            Route(
                "/{path:path}",
                self._endpoint("unknown", self.not_found),
                methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"],
            ),
        ]
        self.asgi = Starlette(routes=routes)

    def _bulk_routes(self, kind: ExportKind) -> list[Route]:
        """The six endpoints of one bulk export kind, each handler bound to the kind."""

        def route(action: str, suffix: str, handler: Callable[..., Awaitable[Any]], method: str) -> Route:
            bound = functools.partial(handler, kind)
            return Route(f"{kind.path}{suffix}", self._endpoint(action, bound, kind.name), methods=[method])

        return [
            route("create", "/create.json", self.create, "POST"),
            route("enqueue", "/{exportId}/enqueue.json", self.enqueue, "POST"),
            route("status", "/{exportId}/status.json", self.status, "GET"),
            route("file", "/{exportId}/file.json", self.file, "GET"),
            route("cancel", "/{exportId}/cancel.json", self.cancel, "POST"),
            route("list", ".json", self.list_jobs, "GET"),
        ]

    # -- pipeline ----------------------------------------------------------------------------------
    def _endpoint(
        self, name: str, handler: Handler, kind: str | None = None
    ) -> Callable[[Request], Awaitable[ASGIApp]]:
        async def endpoint(request: Request) -> ASGIApp:
            body = await request.body()
            query_items = parse_qsl(request.url.query, keep_blank_values=True)
            record = RecordedRequest(
                method=request.method,
                path=request.url.path,
                query=dict(query_items),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                endpoint=name,
                query_items=query_items,
                kind=kind,
            )
            self.instance.log.add(record)
            counted = name not in ("token", "unknown")  # Marketo does not count token calls
            limit_code = self.instance.limits.enter() if counted else None
            admitted = counted and limit_code is None  # a refused call holds no slot
            try:
                response = await self._respond(name, handler, request, body, limit_code)
            except BaseException:
                if admitted:
                    self.instance.limits.leave()
                raise
            record.status = response.status_code
            record.marketo_code = getattr(response, "marketo_code", None)
            return _Tracked(response, self.instance.limits.leave if admitted else None)

        return endpoint

    async def _respond(
        self, name: str, handler: Handler, request: Request, body: bytes, limit_code: str | None
    ) -> Any:
        try:
            if len(body) > MAX_BODY_BYTES:
                return PlainTextResponse("Request Entity Too Large", status_code=413)
            if len(request.url.path) + len(request.url.query) + 1 > MAX_URI_BYTES:
                return PlainTextResponse("Request-URI Too Long", status_code=414)
            if limit_code is not None:
                raise MarketoApiFault(limit_code, self.instance.limits.messages(limit_code))
            fault = self.instance.faults.next_fault(name) if name != "unknown" else None
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.code is not None:
                    raise MarketoApiFault(
                        fault.code, fault.message or DEFAULT_MESSAGES.get(fault.code, "Error")
                    )
                if fault.http_status is not None:
                    return PlainTextResponse(fault.body, status_code=fault.http_status)
                if fault.empty_body:
                    return Response(b"", status_code=200, media_type="application/json")
                if fault.no_result:
                    return _json({"requestId": self._request_id(), "success": True})
            if name not in ("token", "unknown"):
                self._authenticate(request)
            result = await handler(request, body)
            return result if isinstance(result, Response | FileRangeResponse) else self._success(result)
        except MarketoApiFault as error:
            return self._error(error.code, error.message)
        except _Answer as answer:
            return answer.response

    def _authenticate(self, request: Request) -> None:
        """Only ``Authorization: Bearer`` counts; the retired ``access_token`` query parameter does not."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise MarketoApiFault("600", DEFAULT_MESSAGES["600"])
        code = self.instance.tokens.check(token.strip())
        if code is not None:
            raise MarketoApiFault(code, DEFAULT_MESSAGES[code])

    def _request_id(self) -> str:
        return f"{next(self._request_ids):x}#{int(time.time() * 1000):x}"

    def _success(
        self, result: list[dict[str, Any]] | tuple[list[dict[str, Any]], dict[str, Any]]
    ) -> Response:
        extra: dict[str, Any] = {}
        if isinstance(result, tuple):
            result, extra = result
        return _json({"requestId": self._request_id(), "result": result, "success": True, **extra})

    def _error(self, code: str, message: str) -> Response:
        response = _json(
            {
                "requestId": self._request_id(),
                "success": False,
                "errors": [{"code": code, "message": message}],
            }
        )
        response.marketo_code = code  # type: ignore[attr-defined]
        return response

    # -- endpoints ---------------------------------------------------------------------------------
    async def token(self, request: Request, body: bytes) -> Response:
        params = dict(parse_qsl(request.url.query))
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode("utf-8", "replace")))
        if params.get("grant_type") != "client_credentials":
            return _json(
                {"error": "invalid_request", "error_description": "Missing or unsupported grant type"}, 400
            )
        if not self.instance.tokens.credentials_match(params.get("client_id"), params.get("client_secret")):
            return _json({"error": "unauthorized", "error_description": "Bad client credentials"}, 401)
        access_token, expires_in = self.instance.tokens.issue()
        return _json(
            {
                "access_token": access_token,
                "token_type": "bearer",
                "expires_in": expires_in,
                "scope": SCOPE_USER,
            }
        )

    async def describe(self, request: Request, body: bytes) -> list[dict[str, Any]]:
        return [
            {
                "name": "API Program Membership",
                "description": "Map for API program membership fields",
                "createdAt": "2021-03-20T01:30:05Z",
                "updatedAt": "2021-03-20T01:30:05Z",
                "dedupeFields": ["leadId", "programId"],
                "searchableFields": [["leadId"], ["myCustomField"], ["reachedSuccess"], ["statusName"]],
                "fields": describe_fields(),
            }
        ]

    async def lead_describe(self, request: Request, body: bytes) -> list[dict[str, Any]]:
        return describe_lead_fields(self.instance.options.lead_custom_fields)

    async def lead_describe2(self, request: Request, body: bytes) -> list[dict[str, Any]]:
        return describe_lead_fields2(self.instance.options.lead_custom_fields)

    async def programs(self, request: Request, body: bytes) -> Response:
        """The Asset API's envelope always carries ``warnings`` and ``errors``; past the last program it
        answers success with a warning and no ``result`` at all."""
        found = browse_programs(self.instance.dataset, request.query_params)
        envelope: dict[str, Any] = {
            "success": True,
            "warnings": [],
            "errors": [],
            "requestId": self._request_id(),
        }
        if found:
            envelope["result"] = found
        else:
            envelope["warnings"] = ["No assets found for the given search criteria."]
        return _json(envelope)

    async def activity_types(self, request: Request, body: bytes) -> list[dict[str, Any]]:
        return [dict(activity_type) for activity_type in ACTIVITY_TYPES]

    async def custom_objects(self, request: Request, body: bytes) -> list[dict[str, object]]:
        return list_objects(request.query_params.getlist("names"))

    async def custom_object_describe(self, request: Request, body: bytes) -> list[dict[str, object]]:
        found = find_object(request.path_params["apiName"], "1013")
        return [found.metadata(with_fields=True)]

    async def usage(self, request: Request, body: bytes) -> list[dict[str, Any]]:
        """Get Daily Usage: the calls this emulator counted (every call but token requests) since it started
        or its request log was last cleared."""
        total = sum(1 for r in self.instance.log.all() if r.endpoint not in ("token", "unknown"))
        day = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(self.instance.clock.now()))
        return [{"date": day, "total": total, "users": [{"userId": SCOPE_USER, "count": total}]}]

    # -- bulk export endpoints, one set per kind -----------------------------------------------------
    def _scope(self, kind: ExportKind, request: Request) -> JobScope:
        """The jobs this path sees; a custom object's path must name an object of the instance."""
        api_name = request.path_params.get("apiName")
        if api_name is not None:
            find_object(api_name)
        return kind.scope(api_name)

    async def create(self, kind: ExportKind, request: Request, body: bytes) -> list[dict[str, Any]]:
        scope = self._scope(kind, request)
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            raise MarketoApiFault("609", "Invalid JSON") from None
        # parsing may build the kind's records on first use: off the event loop, as file generation is
        spec = await run_in_threadpool(
            kind.parse, payload, self.instance.records, self.instance.options, scope.api_name
        )
        return [self.instance.jobs.create(spec, scope).record()]

    async def enqueue(self, kind: ExportKind, request: Request, body: bytes) -> list[dict[str, Any]]:
        scope = self._scope(kind, request)
        return [self.instance.jobs.enqueue(request.path_params["exportId"], scope)]

    async def status(self, kind: ExportKind, request: Request, body: bytes) -> list[dict[str, Any]]:
        scope = self._scope(kind, request)
        self.instance.jobs.tick()
        return [self.instance.jobs.status_record(request.path_params["exportId"], scope)]

    async def cancel(self, kind: ExportKind, request: Request, body: bytes) -> list[dict[str, Any]]:
        scope = self._scope(kind, request)
        return [self.instance.jobs.cancel(request.path_params["exportId"], scope).record()]

    async def list_jobs(
        self, kind: ExportKind, request: Request, body: bytes
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        scope = self._scope(kind, request)
        statuses = _status_filter(request.query_params.getlist("status"))
        batch_size = _batch_size(request.query_params.get("batchSize"))
        offset = _decode_page_token(request.query_params.get("nextPageToken"))
        self.instance.jobs.tick()
        jobs = self.instance.jobs.recent(statuses, scope)
        page = [job.record() for job in jobs[offset : offset + batch_size]]
        extra = {}
        if offset + batch_size < len(jobs):
            extra["nextPageToken"] = base64.urlsafe_b64encode(
                f"offset:{offset + batch_size}".encode()
            ).decode()
        return page, extra

    async def file(self, kind: ExportKind, request: Request, body: bytes) -> Any:
        export_id = request.path_params["exportId"]
        job = self.instance.jobs.downloadable(export_id, self._scope(kind, request))
        if job is None or job.path is None or job.file_size is None:
            raise _Answer(PlainTextResponse(f"File for export job {export_id} is not available", 404))
        byte_range = parse_range(request.headers.get("range"), job.file_size)
        if byte_range == "unsatisfiable":
            raise _Answer(
                Response(
                    b"",
                    status_code=416,
                    headers={"Content-Range": f"bytes */{job.file_size}", "Accept-Ranges": "bytes"},
                )
            )
        assert not isinstance(byte_range, str)
        return FileRangeResponse(
            job.path,
            export_format=job.format,
            byte_range=byte_range,
            total=job.file_size,
            interruption=self.instance.faults.next_body_interruption(),
        )

    async def not_found(self, request: Request, body: bytes) -> Response:
        return PlainTextResponse("Not Found", status_code=404)


class _Tracked:
    """Runs a response and calls ``done`` once it has been sent (streamed files included)."""

    def __init__(self, response: Any, done: Callable[[], None] | None) -> None:
        self.response = response
        self.done = done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.response(scope, receive, send)
        finally:
            if self.done is not None:
                self.done()


def _json(payload: dict[str, Any], status_code: int = 200) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False), status_code=status_code, media_type="application/json"
    )


def _status_filter(values: list[str]) -> set[str] | None:
    """``status`` may repeat or be comma separated; both spellings of cancelled are accepted."""
    wanted = {part.strip().lower() for value in values for part in value.split(",") if part.strip()}
    if not wanted:
        return None
    wanted = {"cancelled" if s == "canceled" else s for s in wanted}
    valid = {s.lower() for s in STATUSES}
    bad = sorted(wanted - valid)
    if bad:
        raise invalid(f"Invalid status filter: {', '.join(bad)}")
    return wanted


def _batch_size(value: str | None) -> int:
    if value is None:
        return MAX_BATCH_SIZE
    if not value.isdigit() or not 1 <= int(value) <= MAX_BATCH_SIZE:
        raise invalid(f"batchSize must be an integer from 1 to {MAX_BATCH_SIZE}, got {value!r}")
    return int(value)


def _decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        prefix, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if prefix == "offset" and number.isdigit():
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise invalid(f"Invalid nextPageToken {token!r}")
