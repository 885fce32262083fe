"""Scripted faults, call limits and the request log: what tests of clients need to provoke and observe."""

from __future__ import annotations

import threading

import pytest
import requests
from emulator_client import EXPORT, error_of

from airflow_provider_marketo_pm.testing import ENDPOINTS, Fault

DESCRIBE = "/rest/v1/programs/members/describe.json"


def test_injected_marketo_errors_answer_in_order_then_normal_service_resumes(api, marketo_emulator):
    export_id = api.create_job()
    marketo_emulator.inject("status", Fault(code="606"), Fault(code="611", message="System error, try later"))

    assert error_of(api.status(export_id)) == ("606", "Max rate limit '100' exceeded with in '20' secs")
    assert error_of(api.status(export_id)) == ("611", "System error, try later")
    assert api.status(export_id)["success"] is True
    assert [call.marketo_code for call in marketo_emulator.calls("status")] == ["606", "611", None]


def test_injected_http_errors(api, marketo_emulator):
    marketo_emulator.inject("describe", Fault(http_status=503, body="Service Unavailable"))

    response = api.request("GET", DESCRIBE)

    assert response.status_code == 503
    assert response.text == "Service Unavailable"
    assert marketo_emulator.calls("describe")[0].status == 503


def test_injected_token_failures(marketo_emulator):
    marketo_emulator.inject("token", Fault(http_status=401, body='{"error":"unauthorized"}'))

    response = requests.post(
        f"{marketo_emulator.base_url}/identity/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": marketo_emulator.client_id,
            "client_secret": marketo_emulator.client_secret,
        },
    )

    assert response.status_code == 401


def test_a_delay_alone_answers_normally(api, marketo_emulator):
    marketo_emulator.inject("describe", Fault(delay=0.05))

    assert api.call("GET", DESCRIBE)["success"] is True


def test_more_calls_than_the_rate_limit_get_606_until_the_window_passes(start_emulator):
    emulator, api = start_emulator(rate_limit_calls=5)
    answers = [api.call("GET", DESCRIBE) for _ in range(6)]

    assert all(answer["success"] for answer in answers[:5])
    assert error_of(answers[5]) == ("606", "Max rate limit '5' exceeded with in '20' secs")
    emulator.advance(20)
    assert api.call("GET", DESCRIBE)["success"] is True


def test_token_calls_do_not_count_towards_the_rate_limit(start_emulator):
    _, api = start_emulator(rate_limit_calls=2)
    for _ in range(5):
        api.fetch_token()

    assert api.call("GET", DESCRIBE)["success"] is True


def test_more_concurrent_calls_than_allowed_get_615(start_emulator):
    emulator, api = start_emulator(max_concurrent=2)
    token = api.token
    release = threading.Event()
    emulator.inject("describe", Fault(delay=0.5), Fault(delay=0.5))
    slow = [
        threading.Thread(
            target=requests.get,
            args=(f"{emulator.base_url}{DESCRIBE}",),
            kwargs={"headers": {"Authorization": f"Bearer {token}"}},
        )
        for _ in range(2)
    ]
    for thread in slow:
        thread.start()
    while len(emulator.calls("describe")) < 2:  # both slow calls are in flight
        release.wait(0.01)

    assert error_of(api.call("GET", f"{EXPORT}.json")) == ("615", "Concurrent access limit reached")
    for thread in slow:
        thread.join()
    assert api.call("GET", f"{EXPORT}.json")["success"] is True


def test_the_request_log_records_what_the_client_sent(api, marketo_emulator):
    api.create_job()
    api.call("GET", f"{EXPORT}.json", params={"status": "created", "batchSize": "5"})

    create, listing = marketo_emulator.calls("create")[0], marketo_emulator.calls("list")[0]
    assert (create.method, create.path, create.status) == ("POST", f"{EXPORT}/create.json", 200)
    assert b'"programId": 1044' in create.body
    assert create.headers["authorization"].startswith("Bearer ")
    assert listing.query == {"status": "created", "batchSize": "5"}
    assert [r.endpoint for r in marketo_emulator.requests] == ["token", "create", "list"]
    assert not any(api.token in r.url for r in marketo_emulator.requests)
    marketo_emulator.clear_requests()
    assert marketo_emulator.requests == []


def test_unknown_paths_are_logged_as_unknown_404s(api, marketo_emulator):
    assert api.request("GET", "/rest/v1/leads.json").status_code == 404
    assert marketo_emulator.calls("unknown")[0].status == 404


def test_every_endpoint_name_can_be_scripted(marketo_emulator):
    for endpoint in ENDPOINTS:
        marketo_emulator.inject(endpoint, Fault(code="604"))
    with pytest.raises(ValueError, match="unknown endpoint 'files'"):
        marketo_emulator.inject("files", Fault(code="604"))


@pytest.mark.parametrize(
    ("kwargs", "complaint"),
    [
        ({}, "at least one of"),
        ({"code": 606}, "Fault.code"),
        ({"http_status": 200}, "Fault.http_status"),
        ({"code": "606", "http_status": 500}, "not both"),
        ({"delay": -1}, "Fault.delay"),
    ],
)
def test_bad_faults_are_refused_with_a_clear_message(kwargs, complaint):
    with pytest.raises(ValueError, match=complaint):
        Fault(**kwargs)


def test_bodies_over_1mb_get_http_413(api):
    body = {"fields": ["leadId"] * 200_000, "filter": {"programId": 1044}}

    assert api.request("POST", f"{EXPORT}/create.json", json=body).status_code == 413


def test_uris_over_8kb_get_http_414(api):
    assert api.request("GET", f"{EXPORT}.json", params={"status": "created," * 1200}).status_code == 414
