"""The program member kind: its data (paths, state key, describes, table) and the rules only it has."""

from __future__ import annotations

import importlib

import pytest
from marketo_exports import FIELDS, PROGRAM_ID

from airflow_provider_marketo_pm.exceptions import MarketoApiError
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.testing import Fault


def test_the_task_state_store_key_is_the_one_jobs_in_flight_were_saved_under():
    assert PROGRAM_MEMBERS.state_key == "marketo_program_member_export"


def test_its_jobs_live_under_the_program_member_export_path():
    assert PROGRAM_MEMBERS.create_path == "/bulk/v1/program/members/export/create.json"
    assert PROGRAM_MEMBERS.job_path("e1", "status") == "/bulk/v1/program/members/export/e1/status.json"
    assert PROGRAM_MEMBERS.list_path == "/bulk/v1/program/members/export.json"


def test_its_waits_defer_to_the_trigger_deferred_tasks_have_stored():
    module, _, name = PROGRAM_MEMBERS.status_trigger.rpartition(".")
    trigger = getattr(importlib.import_module(module), name)
    assert f"{trigger.__module__}.{trigger.__qualname__}" == (
        "airflow_provider_marketo_pm.triggers.program_members.MarketoProgramMemberExportTrigger"
    )


def test_a_status_name_refused_by_1003_is_named_in_the_hint(emulator):
    emulator.inject("create", Fault(code="1003", message="Invalid status"))
    request = PROGRAM_MEMBERS.request(
        fields=FIELDS, filter={"programId": PROGRAM_ID, "statusNames": ["Gone"]}
    )

    with pytest.raises(MarketoApiError) as caught:
        MarketoHook().create_export(request)

    assert "Check filter.statusNames ['Gone']" in str(caught.value)
    assert emulator.calls("describe") == []  # no field was refused: no describe is read


def test_a_1003_of_a_request_without_status_names_keeps_the_plain_hint(emulator):
    emulator.inject("create", Fault(code="1003", message="Invalid data"))
    request = PROGRAM_MEMBERS.request(fields=FIELDS, filter={"programId": PROGRAM_ID})

    with pytest.raises(MarketoApiError, match="Marketo refused the request data") as caught:
        MarketoHook().create_export(request)

    assert "statusNames" not in str(caught.value)
