"""Helpers shared by the operator, sensor, trigger and end-to-end tests of program member exports."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook

FIELDS = ["leadId", "firstName", "lastName", "email", "statusName"]
PROGRAM_ID = 1044


def use_emulator(monkeypatch: pytest.MonkeyPatch, emulator: Any, conn_id: str = "marketo_default") -> None:
    """Point the Airflow connection ``conn_id`` at the emulator (env var, no DB)."""
    for key, value in emulator.connection_env(conn_id=conn_id).items():
        monkeypatch.setenv(key, value)


def start_export(conn_id: str = "marketo_default", *, enqueue: bool = True) -> str:
    """Create (and enqueue) a small export through the hook and return its exportId."""
    hook = MarketoHook(marketo_conn_id=conn_id)
    record = hook.create_program_member_export(fields=FIELDS, filter={"programId": PROGRAM_ID})
    export_id = str(record["exportId"])
    if enqueue:
        hook.enqueue_program_member_export(export_id)
    return export_id
