"""Get Daily Usage (``/rest/v1/stats/usage.json``): clients such as tap-marketo read it to pace themselves."""

from __future__ import annotations

from emulator_client import error_of


def test_usage_counts_the_calls_made_token_requests_aside(api, marketo_emulator):
    for _ in range(3):
        api.call("GET", "/rest/v1/leads/describe.json")

    (day,) = api.call("GET", "/rest/v1/stats/usage.json")["result"]

    assert day["total"] == 4  # three describes and this call; the token request is not counted
    assert day["users"] == [{"userId": "api-user@emulated-marketo.invalid", "count": 4}]
    assert day["date"].endswith("T00:00:00Z")
    assert len(marketo_emulator.calls("usage")) == 1


def test_usage_needs_a_token_like_every_call(api):
    response = api.session.get(f"{api.base_url}/rest/v1/stats/usage.json")

    assert error_of(response.json())[0] == "600"
