"""Plain helpers (not fixtures) shared by the operator, sensor, trigger and end-to-end tests of exports.

They are actions a test takes at a chosen moment (after injecting a fault, inside a thread ...), so they
stay functions. The setup every such test needs, the emulator registered as ``marketo_default``, is a
fixture: ``emulator`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_marketo_pm.export_kind import ExportRequest
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.activities import ACTIVITIES
from airflow_provider_marketo_pm.kinds.custom_objects import CUSTOM_OBJECTS
from airflow_provider_marketo_pm.kinds.leads import LEADS
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS

FIELDS = ["leadId", "firstName", "lastName", "email", "statusName"]
PROGRAM_ID = 1044


def start_export_via_hook(conn_id: str = "marketo_default", *, enqueue: bool = True) -> str:
    """Create (and enqueue) a small export through the hook, not the operator, and return its exportId."""
    hook = MarketoHook(marketo_conn_id=conn_id)
    record = hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter={"programId": PROGRAM_ID}))
    export_id = str(record["exportId"])
    if enqueue:
        hook.enqueue_export(PROGRAM_MEMBERS, export_id)
    return export_id


def wait_for_export_status(
    emulator: Any, export_id: str, status: str = "Completed", *, attempts: int = 200
) -> dict[str, Any]:
    """Poll the emulator's own record (no API call) until the job has ``status``; return that record."""
    for _ in range(attempts):
        record = emulator.job(export_id)
        if record["status"] == status:
            return record
        time.sleep(0.05)
    raise AssertionError(f"export {export_id} never reached {status}: {emulator.job(export_id)}")


def enqueued_export_ids(emulator: Any) -> list[str]:
    """exportIds in the order they were enqueued (from ``.../export/{exportId}/enqueue.json``)."""
    ids: list[str] = []
    for call in emulator.calls("enqueue"):
        export_id = call.path.rsplit("/", 2)[-2]
        if export_id not in ids:
            ids.append(export_id)
    return ids


def recent_window(emulator: Any, days: int = 30) -> dict[str, str]:
    """The ``days`` up to the emulator's latest data change (leads, activities, records change then)."""
    found = emulator.updated_at_range()
    assert found is not None
    end = datetime.fromisoformat(found[1]).astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
    start = end - timedelta(days=days)
    return {"startAt": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "endAt": end.strftime("%Y-%m-%dT%H:%M:%SZ")}


def kind_request(kind: str, window: dict[str, str]) -> ExportRequest:
    """A small export request of one kind (``program_members``, ``leads``, ``activities``, ``car_c``)."""
    if kind == "program_members":
        return PROGRAM_MEMBERS.request(fields=FIELDS, filter={"programId": PROGRAM_ID})
    if kind == "leads":
        return LEADS.request(fields=["id", "email"], filter={"createdAt": window})
    if kind == "activities":
        return ACTIVITIES.request(filter={"createdAt": window})
    return CUSTOM_OBJECTS.bind(apiName=kind).request(fields=["vin"], filter={"updatedAt": window})


def export_of(emulator: Any, kind: str, *, enqueue: bool = True, conn_id: str = "marketo_default") -> str:
    """Create (and enqueue) a small export of ``kind`` through the hook (see :func:`kind_request`)."""
    hook = MarketoHook(marketo_conn_id=conn_id)
    request = kind_request(kind, recent_window(emulator))
    export_id = str(hook.create_export(request)["exportId"])
    if enqueue:
        hook.enqueue_export(request.kind, export_id)
    return export_id


def finished_export_of(emulator: Any, kind: str, conn_id: str = "marketo_default") -> dict[str, Any]:
    """Create, enqueue and wait for a small export of ``kind``; its record."""
    return wait_for_export_status(emulator, export_of(emulator, kind, conn_id=conn_id))


KINDS_OF_START = ("program_members", "leads", "activities", "car_c")
"""The kinds whose start operators a test runs alike: one queue and one quota for all of them."""


def start_of_kind(kind: str, emulator: Any, **kwargs: Any) -> Any:
    """The start operator of ``kind`` for the request :func:`kind_request` builds (kwargs: the start's)."""
    from airflow_provider_marketo_pm.operators.activities import MarketoStartActivityExportOperator
    from airflow_provider_marketo_pm.operators.custom_objects import MarketoStartCustomObjectExportOperator
    from airflow_provider_marketo_pm.operators.leads import MarketoStartLeadExportOperator
    from airflow_provider_marketo_pm.operators.program_members import MarketoStartProgramMemberExportOperator

    window = recent_window(emulator)
    if kind == "program_members":
        cls, request = (
            MarketoStartProgramMemberExportOperator,
            {"fields": FIELDS, "filter": {"programId": PROGRAM_ID}},
        )
    elif kind == "leads":
        cls, request = (
            MarketoStartLeadExportOperator,
            {"fields": ["id", "email"], "filter": {"createdAt": window}},
        )
    elif kind == "activities":
        cls, request = MarketoStartActivityExportOperator, {"filter": {"createdAt": window}}
    else:
        cls = MarketoStartCustomObjectExportOperator
        request = {"api_name": kind, "fields": ["vin"], "filter": {"updatedAt": window}}
    return cls(task_id="start", **request, **kwargs)
