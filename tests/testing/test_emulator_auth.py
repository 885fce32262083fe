"""The emulator authenticates like Marketo: client-credentials tokens, Bearer header only, 600/601/602."""

from __future__ import annotations

import requests
from emulator_client import EXPORT, error_of

DESCRIBE = "/rest/v1/programs/members/describe.json"


def test_token_from_a_form_body_keeps_the_secret_out_of_the_url(api, marketo_emulator):
    payload = api.fetch_token()

    assert payload["token_type"] == "bearer"
    assert payload["expires_in"] == 3600
    assert payload["scope"]
    (call,) = marketo_emulator.calls("token")
    assert call.method == "POST"
    assert marketo_emulator.client_secret not in call.url
    assert marketo_emulator.client_secret.encode() in call.body


def test_token_from_the_query_string_is_accepted_too(marketo_emulator):
    response = requests.get(
        f"{marketo_emulator.base_url}/identity/oauth/token",
        params={
            "grant_type": "client_credentials",
            "client_id": marketo_emulator.client_id,
            "client_secret": marketo_emulator.client_secret,
        },
    )

    assert response.status_code == 200
    assert response.json()["access_token"]


def test_asking_again_returns_the_same_token_with_less_time_left(api, marketo_emulator):
    first = api.fetch_token()
    marketo_emulator.advance(100)
    second = api.fetch_token()

    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] <= first["expires_in"] - 100


def test_bad_credentials_get_http_401(marketo_emulator):
    response = requests.post(
        f"{marketo_emulator.base_url}/identity/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": marketo_emulator.client_id,
            "client_secret": "x",
        },
    )

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_a_call_without_a_token_is_refused_with_600_in_an_http_200_envelope(marketo_emulator):
    response = requests.get(f"{marketo_emulator.base_url}{DESCRIBE}")

    assert response.status_code == 200
    assert error_of(response.json()) == ("600", "Access token not specified")
    assert marketo_emulator.calls("describe")[0].marketo_code == "600"


def test_access_token_in_the_query_string_counts_as_no_token(api, marketo_emulator):
    response = requests.get(f"{marketo_emulator.base_url}{DESCRIBE}", params={"access_token": api.token})

    assert error_of(response.json())[0] == "600"


def test_an_unknown_token_gets_601(marketo_emulator):
    response = requests.get(
        f"{marketo_emulator.base_url}{DESCRIBE}", headers={"Authorization": "Bearer nope"}
    )

    assert error_of(response.json())[0] == "601"


def test_a_token_past_its_lifetime_gets_602_and_the_token_endpoint_hands_out_a_new_one(api, marketo_emulator):
    old = api.token
    marketo_emulator.advance(3600)

    assert error_of(api.call("GET", DESCRIBE))[0] == "602"
    assert api.fetch_token()["access_token"] != old
    assert api.call("GET", DESCRIBE)["success"] is True


def test_expire_token_makes_the_current_token_answer_602(api, marketo_emulator):
    assert api.call("GET", f"{EXPORT}.json")["success"] is True
    marketo_emulator.expire_token()

    assert error_of(api.call("GET", f"{EXPORT}.json")) == ("602", "Access token expired")


def test_token_lifetime_is_an_option(start_emulator):
    _, client = start_emulator(token_ttl=60)

    assert client.fetch_token()["expires_in"] == 60
