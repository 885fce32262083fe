"""The start refuses, before the job is created, what would only fail later: no queue slot, no quota spent."""

from __future__ import annotations

import json

import pytest
from marketo_exports import FIELDS, PROGRAM_ID

from airflow_provider_marketo_pm.exceptions import MarketoConnectionConfigError, MarketoRequestError
from airflow_provider_marketo_pm.operators.program_members import MarketoStartProgramMemberExportOperator


def start_operator(**kwargs) -> MarketoStartProgramMemberExportOperator:
    return MarketoStartProgramMemberExportOperator(
        task_id="start", fields=FIELDS, filter={"programId": PROGRAM_ID}, **kwargs
    )


def test_a_literal_destination_without_a_scheme_is_refused_when_the_dag_is_parsed():
    with pytest.raises(MarketoRequestError, match=r"destination='members\.csv' is invalid: must be a URL"):
        start_operator(destination="members.csv")


def test_a_templated_destination_without_a_scheme_fails_the_start_before_create(emulator):
    op = start_operator(destination="{{ params.where }}/members.csv")
    op.render_template_fields({"params": {"where": "/data"}})

    with pytest.raises(MarketoRequestError, match=r"destination='/data/members\.csv' is invalid: .*scheme"):
        op.execute(context={})

    assert emulator.calls("create") == []


def test_an_existing_destination_without_overwrite_fails_the_start_before_create(emulator, tmp_path):
    existing = tmp_path / "members.csv"
    existing.write_text("leadId\n1\n")

    with pytest.raises(MarketoRequestError) as caught:
        start_operator(destination=f"file://{existing}").execute(context={})

    assert caught.value.key == "destination"
    assert "exists already: set overwrite=True" in caught.value.rule
    assert emulator.requests == []
    assert existing.read_text() == "leadId\n1\n"


def test_an_existing_destination_with_overwrite_starts_the_export(emulator, tmp_path):
    existing = tmp_path / "members.csv"
    existing.write_text("old")

    start_operator(destination=f"file://{existing}", overwrite=True).execute(context={})

    assert len(emulator.calls("create")) == 1


def test_a_new_destination_starts_the_export(emulator, tmp_path):
    start_operator(destination=f"file://{tmp_path}/new/members.csv").execute(context={})

    assert len(emulator.calls("create")) == 1


def test_marketos_web_ui_as_host_fails_the_start_before_any_call(emulator, monkeypatch):
    ui = {**json.loads(emulator.connection_json()), "host": "https://app-ab12.marketo.com"}
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_UI", json.dumps(ui))

    with pytest.raises(MarketoConnectionConfigError, match="web UI, not its REST API"):
        start_operator(marketo_conn_id="marketo_ui").execute(context={})

    assert emulator.requests == []
