"""Credentials never leave the configured origin, and never come back in a text we hand on.

Against small hostile servers on 127.0.0.1 (``tests/hostile_servers.py``): a redirect of the token call or of
an API call to another port is never followed, by the sync (requests) or the async (aiohttp) path, and the
other server receives nothing; an error body that echoes the request (the form with the client secret, the
``Authorization`` header with the token) never puts them in an exception, a log line or a trigger event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from hostile_servers import (
    CLIENT_SECRET,
    EXPORT_ID,
    TOKEN,
    HostileServer,
    astatus,
    echo,
    echo_in_envelope,
    redirect,
)

from airflow_provider_marketo_pm.exceptions import MarketoApiError, MarketoError, MarketoRequestError
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger

DESCRIBE_PATH = "/rest/v1/programs/members/describe.json"
CONN_ID = "marketo_hostile"
REDIRECTS = [301, 302, 303, 307, 308]
TARGET_PATHS = {
    "token": "/identity/oauth/token",
    "status": PROGRAM_MEMBERS.job_path(EXPORT_ID, "status"),
    "file": PROGRAM_MEMBERS.job_path(EXPORT_ID, "file"),
}


@pytest.fixture
def elsewhere() -> Iterator[HostileServer]:
    """Where the redirects point: it would answer like Marketo, and must never be asked anything."""
    with HostileServer() as server:
        yield server


def serve(monkeypatch: pytest.MonkeyPatch, server: HostileServer, **extra: object) -> MarketoHook:
    settings = {"max_retries": 0, **extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", server.connection_json(**settings))
    return MarketoHook(CONN_ID)


def redirect_to(elsewhere: HostileServer, endpoint: str, status: int) -> HostileServer:
    location = f"{elsewhere.url}{TARGET_PATHS[endpoint]}?grant=please&client_secret={CLIENT_SECRET}"
    return HostileServer(**{endpoint: redirect(status, location)})


def assert_refused_redirect(
    error: MarketoApiError, status: int, endpoint: str, elsewhere: HostileServer
) -> None:
    assert (type(error), error.http_status, error.endpoint) == (MarketoApiError, status, endpoint)
    port = elsewhere.url.rsplit(":", 1)[1]
    assert f"a redirect to host '127.0.0.1:{port}' (http), not followed" in str(error)
    assert "Marketo's REST API does not redirect" in str(error)
    assert "grant=please" not in str(error)  # the host, never the whole URL
    assert CLIENT_SECRET not in str(error)
    assert elsewhere.received == []


# --- redirects ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", REDIRECTS)
@pytest.mark.parametrize("endpoint", ["token", "status"])
def test_a_sync_call_follows_no_redirect(monkeypatch, elsewhere, endpoint, status):
    with redirect_to(elsewhere, endpoint, status) as server:
        hook = serve(monkeypatch, server)
        with pytest.raises(MarketoApiError) as caught:
            hook.get_export_status(PROGRAM_MEMBERS, EXPORT_ID)

    assert_refused_redirect(caught.value, status, endpoint, elsewhere)
    assert len(server.calls(endpoint)) == 1  # refused, not retried: a redirect does not heal itself


@pytest.mark.parametrize("status", REDIRECTS)
@pytest.mark.parametrize("endpoint", ["token", "status"])
async def test_an_async_call_follows_no_redirect(monkeypatch, elsewhere, endpoint, status):
    with redirect_to(elsewhere, endpoint, status) as server:
        hook = serve(monkeypatch, server)
        with pytest.raises(MarketoApiError) as caught:
            await astatus(hook)

    assert_refused_redirect(caught.value, status, endpoint, elsewhere)
    assert len(server.calls(endpoint)) == 1


@pytest.mark.parametrize("status", [302, 307])
def test_a_file_download_follows_no_redirect(monkeypatch, elsewhere, status):
    with redirect_to(elsewhere, "file", status) as server:
        hook = serve(monkeypatch, server)
        with pytest.raises(MarketoApiError) as caught, hook.open_export_file(PROGRAM_MEMBERS, EXPORT_ID):
            pass

    assert_refused_redirect(caught.value, status, "file", elsewhere)


def test_run_refuses_to_be_told_to_follow_redirects(monkeypatch, elsewhere):
    hook = serve(monkeypatch, elsewhere)
    with pytest.raises(MarketoRequestError, match="allow_redirects=True is invalid: the hook never follows"):
        hook.run(DESCRIBE_PATH, extra_options={"allow_redirects": True})
    assert [r.endpoint for r in elsewhere.received] == ["token"]  # the describe call was never sent


def test_a_redirect_without_location_or_to_a_path_is_named_so(monkeypatch):
    with (
        HostileServer(status=redirect(302, "/elsewhere?x=1")) as server,
        pytest.raises(MarketoApiError, match="a redirect to another path of the same host, not followed"),
    ):
        serve(monkeypatch, server).get_export_status(PROGRAM_MEMBERS, EXPORT_ID)


# --- echoed requests ---------------------------------------------------------------------------------------


def exception_texts(error: BaseException | None) -> list[str]:
    """str, repr and attributes of an exception and of every exception chained to it."""
    texts = []
    while error is not None:
        texts += [str(error), repr(error), repr(vars(error))]
        error = error.__cause__ or error.__context__
    return texts


def leaked(texts: list[str]) -> list[str]:
    """Which of the credentials appear in any of ``texts``."""
    credentials = {"secret": CLIENT_SECRET, "token": TOKEN}
    return [name for name, value in credentials.items() if any(value in text for text in texts)]


ECHOES = {
    "token call, HTTP 401 echoing the form": {"token": echo(401)},
    "token call, HTTP 500 echoing the form": {"token": echo(500)},
    "status call, HTTP 400 echoing the headers": {"status": echo(400)},
    "status call, HTTP 503 echoing the headers": {"status": echo(503)},
    "status call, an error envelope echoing the headers": {"status": echo_in_envelope},
}


@pytest.mark.parametrize("answers", ECHOES.values(), ids=ECHOES.keys())
def test_an_echoed_request_leaves_no_credential_in_the_error_or_the_logs(monkeypatch, caplog, answers):
    caplog.set_level(logging.DEBUG)
    with HostileServer(**answers) as server:
        hook = serve(monkeypatch, server, max_retries=1, retry_min_wait=0.001, retry_max_wait=0.002)
        with pytest.raises(MarketoError) as caught:
            hook.get_export_status(PROGRAM_MEMBERS, EXPORT_ID)
        echoed = [r.echoed().decode() for r in server.received]

    assert leaked(echoed) != []  # the server did echo a credential back
    assert "***" in str(caught.value)  # ... and the error says where it was
    assert leaked(exception_texts(caught.value)) == []
    assert caplog.records
    assert leaked([caplog.text, *(r.getMessage() for r in caplog.records)]) == []


@pytest.mark.parametrize("answers", ECHOES.values(), ids=ECHOES.keys())
async def test_an_echoed_request_leaves_no_credential_in_the_trigger_event(monkeypatch, caplog, answers):
    caplog.set_level(logging.DEBUG)
    with HostileServer(**answers) as server:
        serve(monkeypatch, server)
        trigger = MarketoProgramMemberExportTrigger(EXPORT_ID, marketo_conn_id=CONN_ID, poll_interval=0.01)
        events = [event.payload async for event in trigger.run()]
        echoed = [r.echoed().decode() for r in server.received]

    assert leaked(echoed) != []
    assert [event["status"] for event in events] == ["error"]
    assert "***" in events[0]["message"]
    assert leaked([repr(events)]) == []
    assert leaked([caplog.text, *(r.getMessage() for r in caplog.records)]) == []
