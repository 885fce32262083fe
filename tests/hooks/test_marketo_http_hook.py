"""MarketoHook as an HttpHook, against the emulator over real HTTP: HttpHook's public calls made right for
Marketo (token, replay, envelope, error classes, no extra as a header), and the hook's own methods sending
through HttpHook's machinery."""

from __future__ import annotations

import json
import logging

import pytest
import requests
import tenacity
from airflow.providers.http.hooks.http import HttpHook

from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoFileNotAvailableError,
    MarketoTransientError,
)
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.hooks.marketo_call import endpoint_name
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.testing import Fault

DESCRIBE_PATH = "/rest/v1/programs/members/describe.json"
"""Describe program members: any REST path will do for ``run``."""
FAST = {"retry_min_wait": 0.001, "retry_max_wait": 0.01}
BODY = {"fields": ["leadId", "email"], "filter": {"programId": 1044}}
EXTRAS = {"timeout": 7, "max_retries": 2, "retry_min_wait": 0.001, "retry_max_wait": 0.01}


@pytest.fixture
def emu(emulator, monkeypatch):
    """The emulator as ``marketo_default``, with retry extras that must never travel as headers."""
    conn = json.loads(emulator.connection_json())
    conn["extra"] = {**conn.get("extra", {}), **EXTRAS}
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", json.dumps(conn))
    return emulator


@pytest.fixture
def hook(emu):
    return MarketoHook(**FAST)


def retry_transient(attempts):
    return {
        "stop": tenacity.stop_after_attempt(attempts),
        "wait": tenacity.wait_none(),
        "retry": tenacity.retry_if_exception_type(MarketoTransientError),
        "reraise": True,
    }


def hook_request(hook, path):
    """A GET of ``path`` on the connection's base URL, with no token."""
    return requests.Request("GET", hook.url_from_endpoint(path))


def assert_bearer_and_no_extra_header(emu, endpoint):
    (token,) = {r.headers["authorization"] for r in emu.calls(endpoint)}
    assert token.startswith("Bearer ")
    for request in emu.calls(endpoint):
        assert not {name.lower() for name in request.headers} & set(EXTRAS), request.headers
        assert "access_token" not in request.query
        assert token.split(" ", 1)[1] not in request.url


# --- run ---------------------------------------------------------------------------------------------------


def test_run_carries_the_token_and_sends_no_extra_as_a_header(emu, hook):
    response = hook.run(DESCRIBE_PATH)
    assert response.status_code == 200
    assert response.json()["result"][0]["name"]
    assert_bearer_and_no_extra_header(emu, "describe")
    assert len(emu.calls("token")) == 1


def test_run_posts_with_the_hooks_method(emu, hook):
    hook.method = "POST"
    record = hook.run(PROGRAM_MEMBERS.create_path, json=BODY).json()["result"][0]
    assert record["status"] == "Created"
    (create,) = emu.calls("create")
    assert json.loads(create.body) == BODY
    assert_bearer_and_no_extra_header(emu, "create")


def test_run_sends_data_as_the_query_of_a_get_and_refuses_it_twice(emu, hook):
    hook.run(PROGRAM_MEMBERS.list_path, data={"status": "Completed"})
    assert emu.calls("list")[-1].query == {"status": "Completed"}
    hook.run(PROGRAM_MEMBERS.list_path, params={"status": "Queued"})
    assert emu.calls("list")[-1].query == {"status": "Queued"}
    with pytest.raises(TypeError, match="data and params"):
        hook.run(PROGRAM_MEMBERS.list_path, data={"status": "Completed"}, params={"status": "Queued"})
    assert len(emu.calls("list")) == 2


@pytest.mark.parametrize("code", ["601", "602"])
def test_run_replaces_a_stale_token_and_replays_once(emu, hook, code):
    emu.inject("describe", Fault(code=code))
    assert hook.run(DESCRIBE_PATH).json()["success"] is True
    assert [r.marketo_code for r in emu.calls("describe")] == [code, None]
    assert len(emu.calls("token")) == 2


def test_run_raises_the_classified_error_for_an_envelope_inside_http_200(emu, hook):
    emu.inject("describe", Fault(code="603"))
    with pytest.raises(MarketoApiError, match="Read-Only Lead") as caught:
        hook.run(DESCRIBE_PATH)
    error = caught.value
    assert (type(error), error.code, error.http_status, error.endpoint) == (
        MarketoApiError,
        "603",
        200,
        "describe",
    )
    assert len(emu.calls("describe")) == 1


def test_run_retries_a_transient_envelope_by_the_connection_policy(emu, hook):
    emu.inject("describe", Fault(code="606"), Fault(code="606"))
    assert hook.run(DESCRIBE_PATH).status_code == 200
    assert [r.marketo_code for r in emu.calls("describe")] == ["606", "606", None]


def test_run_gives_up_with_a_transient_error_after_the_policy_budget(emu, hook):
    emu.inject("describe", *[Fault(code="606")] * 3)
    with pytest.raises(MarketoTransientError, match="Gave up after 3 attempts") as caught:
        hook.run(DESCRIBE_PATH)
    assert caught.value.code == "606"
    assert len(emu.calls("describe")) == 3  # max_retries 2 from the extras


def test_run_without_check_hands_back_the_envelope(emu, hook):
    emu.inject("describe", Fault(code="603"))
    response = hook.run(DESCRIBE_PATH, extra_options={"check_response": False})
    assert response.json()["errors"][0]["code"] == "603"


def test_run_reads_a_file_as_a_file_and_a_missing_one_as_not_available(emu, hook):
    with pytest.raises(MarketoFileNotAvailableError):
        hook.run(PROGRAM_MEMBERS.job_path("00000000-0000-0000-0000-000000000000", "file"))
    assert emu.calls("file")[0].status == 404


def test_run_of_an_unreachable_host_is_a_transient_network_error(emu, monkeypatch):
    conn = json.loads(emu.connection_json())
    conn["host"] = "http://127.0.0.1:9"  # discard port: nothing listens
    conn["extra"] = {**conn.get("extra", {}), "max_retries": 0}
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", json.dumps(conn))
    with pytest.raises(MarketoTransientError, match="connection refused") as caught:
        MarketoHook(**FAST).run(DESCRIBE_PATH)
    assert caught.value.endpoint in ("token", "describe")


def test_run_reuses_the_hooks_session_and_makes_one_for_a_session_option(emu, hook, monkeypatch):
    built = []
    get_conn = MarketoHook.get_conn

    def spy_get_conn(self, headers=None, extra_options=None):
        built.append(get_conn(self, headers, extra_options))
        return built[-1]

    monkeypatch.setattr(MarketoHook, "get_conn", spy_get_conn)
    for _ in range(3):
        hook.run(DESCRIBE_PATH)
    assert len(built) == 1  # one kept session, as the hook's own calls keep (HttpHook.run makes one per call)

    assert hook.run(DESCRIBE_PATH, extra_options={"verify": False}).status_code == 200
    assert len(built) == 2  # verify, proxies and cert: a session of their own, as HttpHook.run makes it
    assert built[-1].verify is False
    assert len(emu.calls("describe")) == 4


# --- run_and_check -----------------------------------------------------------------------------------------


def test_run_and_check_reads_the_envelope_of_a_request_without_token(emu, hook):
    session = hook.get_conn()
    prepared = session.prepare_request(hook_request(hook, DESCRIBE_PATH))
    with pytest.raises(MarketoApiError, match="Authorization header") as caught:
        hook.run_and_check(session, prepared, {})
    assert (caught.value.code, caught.value.http_status) == ("600", 200)


def test_run_and_check_sends_what_it_is_given_with_the_connection_timeout(emu, hook):
    session = hook.get_conn(headers={"Authorization": f"Bearer {hook.get_access_token()}"})
    prepared = session.prepare_request(hook_request(hook, DESCRIBE_PATH))
    response = hook.run_and_check(session, prepared, {})
    assert response.json()["success"] is True
    assert_bearer_and_no_extra_header(emu, "describe")


# --- run_with_advanced_retry -------------------------------------------------------------------------------


def test_run_with_advanced_retry_puts_your_retries_on_top_of_the_policy(emu):
    hook = MarketoHook(max_retries=0, **FAST)  # yours are the only layer
    emu.inject("describe", Fault(code="602"), Fault(code="606"), Fault(code="606"))
    response = hook.run_with_advanced_retry(retry_transient(3), endpoint=DESCRIBE_PATH)
    assert response.json()["success"] is True
    assert [r.marketo_code for r in emu.calls("describe")] == ["602", "606", "606", None]
    assert all(r.headers["authorization"].startswith("Bearer ") for r in emu.calls("describe"))
    assert len(emu.calls("token")) == 2


def test_run_with_advanced_retry_multiplies_with_the_policy_when_both_retry(emu, hook):
    emu.inject("describe", *[Fault(code="606")] * 6)
    with pytest.raises(MarketoTransientError):
        hook.run_with_advanced_retry(retry_transient(2), endpoint=DESCRIBE_PATH)
    assert len(emu.calls("describe")) == 2 * 3  # your 2 attempts x the policy's 1 + max_retries 2


def test_run_with_advanced_retry_raises_a_fatal_envelope_at_once(emu, hook):
    emu.inject("describe", Fault(code="603"))
    with pytest.raises(MarketoApiError, match="Read-Only Lead"):
        hook.run_with_advanced_retry(retry_transient(5), endpoint=DESCRIBE_PATH)
    assert len(emu.calls("describe")) == 1


# --- the hook's own methods go through HttpHook ------------------------------------------------------------


def test_endpoint_methods_send_through_get_conn_and_http_hooks_run_and_check(emu, hook, monkeypatch):
    built, sent = [], []
    get_conn, http_run_and_check = MarketoHook.get_conn, HttpHook.run_and_check

    def spy_get_conn(self, headers=None, extra_options=None):
        built.append(get_conn(self, headers, extra_options))
        return built[-1]

    def spy_run_and_check(self, session, prepped_request, extra_options):
        sent.append((endpoint_name(prepped_request.url), extra_options["stream"], session in built))
        return http_run_and_check(self, session, prepped_request, extra_options)

    monkeypatch.setattr(MarketoHook, "get_conn", spy_get_conn)
    monkeypatch.setattr(HttpHook, "run_and_check", spy_run_and_check)

    hook.describe_program_members()
    export_id = hook.create_export(PROGRAM_MEMBERS.request(fields=BODY["fields"], filter=BODY["filter"]))[
        "exportId"
    ]
    hook.cancel_export(PROGRAM_MEMBERS, export_id)
    with pytest.raises(MarketoFileNotAvailableError), hook.open_export_file(PROGRAM_MEMBERS, export_id):
        pass

    assert sent == [
        ("token", False, True),  # the token call too: no redirect followed, the same deadline
        ("describe", False, True),
        ("create", False, True),
        ("cancel", False, True),
        ("file", True, True),
    ]
    assert len(built) == 2  # one kept JSON session, one kept streaming session
    assert [session.stream for session in built] == [False, True]
    for session in built:  # HttpHook's TCP keep-alive adapter, no auth, no extra as a header
        assert session.get_adapter("https://x.mktorest.com") is hook.keep_alive_adapter
        assert session.auth is None
        assert not {name.lower() for name in session.headers} & set(EXTRAS)


def test_secrets_stay_out_of_urls_and_logs(emu, hook, caplog):
    caplog.set_level(logging.DEBUG)
    hook.run(DESCRIBE_PATH)
    emu.expire_token()
    emu.inject("describe", Fault(code="606"))
    hook.run_with_advanced_retry(retry_transient(2), endpoint=DESCRIBE_PATH)
    tokens = {r.headers["authorization"].split(" ", 1)[1] for r in emu.calls("describe")}
    assert len(tokens) == 2
    assert caplog.records
    for secret in {emu.client_secret, *tokens}:
        assert secret not in caplog.text
        assert all(secret not in r.url for r in emu.requests)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (DESCRIBE_PATH, "describe"),
        (PROGRAM_MEMBERS.create_path, "create"),
        (PROGRAM_MEMBERS.list_path + "?status=Completed", "list"),
        *[
            (PROGRAM_MEMBERS.job_path("abc", action), action)
            for action in ("enqueue", "status", "cancel", "file")
        ],
        ("https://123-ABC-456.mktorest.com/identity/oauth/token", "token"),
    ],
)
def test_endpoint_names_match_the_names_of_the_hooks_methods(path, name):
    assert endpoint_name(path) == name
