"""The fixtures users get by installing the package (the ``pytest11`` entry point)."""

from __future__ import annotations

import os

import pytest

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook


@pytest.fixture
def marketo_emulator_options():
    return {"token_ttl": 120}


def test_options_fixture_configures_the_emulator(marketo_emulator):
    assert marketo_emulator.options.token_ttl == 120


def test_marketo_connection_makes_the_emulator_the_default_connection(marketo_connection):
    assert marketo_connection.base_url in os.environ["AIRFLOW_CONN_MARKETO_DEFAULT"]

    records = MarketoHook().describe_program_members()

    assert records[0]["dedupeFields"] == ["leadId", "programId"]
    assert [call.endpoint for call in marketo_connection.requests] == ["token", "describe"]
