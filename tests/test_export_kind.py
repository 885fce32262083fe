"""A second export kind runs the whole lifecycle through the core, with nothing copied.

The kind below is defined here only: its own request builder (another argument shape than program
members), pointed at the emulator's program member paths. Start (create, enqueue, wait, re-attach),
sensor, trigger, cancel and the verified download all come from the kind-neutral core.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar

import pytest
from marketo_exports import start_export_via_hook

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.export_kind import ExportKind, ExportRequest
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.operators.bulk_export import (
    MarketoDownloadExportOperator,
    MarketoStartExportOperator,
)
from airflow_provider_marketo_pm.sensors.bulk_export import MarketoExportSensor
from airflow_provider_marketo_pm.triggers.bulk_export import MarketoExportStatusTrigger


def build_roster_body(*, program: int, columns: list[str]) -> dict[str, Any]:
    """The second kind's own request builder: one program, a list of columns, always CSV."""
    if not columns:
        raise MarketoRequestError("columns", columns, "name at least one column")
    return {"fields": list(columns), "format": "CSV", "filter": {"programId": int(program)}}


ROSTER = ExportKind("roster", "/bulk/v1/program/members/export", build_roster_body)


class StartRosterExport(MarketoStartExportOperator):
    export_kind = ROSTER
    template_fields: ClassVar = ("program",)

    def __init__(self, *, program: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.program = program

    def export_request(self) -> ExportRequest:
        return ROSTER.request(program=self.program, columns=["leadId", "email"])


class RosterSensor(MarketoExportSensor):
    export_kind = ROSTER


class DownloadRosterExport(MarketoDownloadExportOperator):
    export_kind = ROSTER


class TaskStateStore:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


def test_the_request_is_built_by_the_kind_and_refused_before_any_call(emulator):
    request = ROSTER.request(program=1044, columns=["leadId"])
    assert request.kind is ROSTER
    assert request.body == {"fields": ["leadId"], "format": "CSV", "filter": {"programId": 1044}}
    assert request == ROSTER.request(program=1044, columns=["leadId"])  # a value
    with pytest.raises(MarketoRequestError, match="columns"):
        ROSTER.request(program=1044, columns=[])
    assert emulator.calls("create") == []


def test_the_whole_lifecycle_runs_through_the_core(emulator, tmp_path):
    store = TaskStateStore()
    start = StartRosterExport(
        task_id="start", program=1044, wait_for_completion=True, poll_interval=0.05, deferrable=False
    )

    export_id = start.execute(context={"task_state_store": store})

    assert emulator.job(export_id)["status"] == "Completed"
    assert json.loads(emulator.calls("create")[0].body) == {
        "fields": ["leadId", "email"],
        "format": "CSV",
        "filter": {"programId": 1044},
    }
    # A retried try re-attaches to its Completed job instead of creating another.
    retry = StartRosterExport(
        task_id="start", program=1044, wait_for_completion=True, poll_interval=0.05, deferrable=False
    )
    assert retry.execute(context={"task_state_store": store}) == export_id
    assert len(emulator.calls("create")) == 1
    assert store.values["marketo_roster_export"]["export_id"] == export_id  # the kind's state key

    record = RosterSensor(task_id="wait", export_id=export_id, poll_interval=0.05, deferrable=False).execute(
        context={}
    )
    assert record["status"] == "Completed"

    result = DownloadRosterExport(
        task_id="download", export_id=export_id, destination=f"file://{tmp_path}/roster.csv", record=record
    ).execute(context={})
    assert result["bytes"] == (tmp_path / "roster.csv").stat().st_size == int(record["fileSize"])
    assert result["export_id"] == export_id


async def test_the_trigger_watches_a_job_of_the_kind_by_its_path(emulator):
    export_id = start_export_via_hook()
    trigger = MarketoExportStatusTrigger(export_id, poll_interval=0.05, export_path=ROSTER.path)

    events = [event.payload async for event in trigger.run()]

    assert [event["status"] for event in events] == ["success"]


def test_cancel_goes_through_the_kind(emulator):
    export_id = start_export_via_hook(enqueue=False)

    MarketoHook().cancel_export(ROSTER, export_id)

    assert emulator.job(export_id)["status"] == "Cancelled"


# --- a parameterised path (custom objects: the apiName is in the path) -----------------------------------

CARS = ExportKind(
    "car",
    "/bulk/v1/customobjects/{apiName}/export",
    build_roster_body,
    field_describes=("/rest/v1/customobjects/{apiName}/describe.json",),
)


def test_a_parameterised_path_is_bound_per_task():
    cars = CARS.bind(apiName="car_c")

    assert CARS.path_parameters == ("apiName",)
    assert cars.path_parameters == ()
    assert cars.create_path == "/bulk/v1/customobjects/car_c/export/create.json"
    assert cars.job_path("e1", "file") == "/bulk/v1/customobjects/car_c/export/e1/file.json"
    assert cars.field_describes == ("/rest/v1/customobjects/car_c/describe.json",)
    assert cars.request(program=1, columns=["leadId"]).kind == cars


@pytest.mark.parametrize(
    ("values", "name"),
    [({}, "apiName"), ({"apiName": "car_c", "other": "x"}, "other"), ({"apiName": "../leads"}, "apiName"),
     ({"apiName": ""}, "apiName"), ({"apiName": 3}, "apiName")],
)  # fmt: skip
def test_a_bad_path_value_is_refused_naming_it(values, name):
    with pytest.raises(MarketoRequestError, match=name):
        CARS.bind(**values)


def test_an_unbound_kind_makes_no_request_and_names_no_path(emulator):
    with pytest.raises(MarketoRequestError, match="apiName"):
        CARS.request(program=1, columns=["leadId"])
    with pytest.raises(MarketoRequestError, match="bind it first"):
        CARS.job_path("e1", "status")
    assert emulator.requests == []


def test_a_kind_without_a_state_key_gets_one_from_its_name():
    assert ROSTER.state_key == "marketo_roster_export"


def test_a_bound_kind_keeps_its_jobs_under_a_state_key_of_its_own():
    assert CARS.bind(apiName="car_c").state_key == "marketo_car_export_car_c"
    assert CARS.bind(apiName="boat_c").state_key == "marketo_car_export_boat_c"


class ObjectTask:
    """A task as the lifecycle reads it: the values of the kind's path arguments as attributes."""

    def __init__(self, **arguments: Any) -> None:
        vars(self).update(arguments)


def test_a_task_binds_its_kind_from_its_path_arguments():
    kind = dataclasses.replace(CARS, path_arguments=(("apiName", "api_name"),))

    bound = kind.bound_for(ObjectTask(api_name="car_c"))

    assert bound.create_path == "/bulk/v1/customobjects/car_c/export/create.json"
    assert ROSTER.bound_for(ObjectTask()) is ROSTER  # nothing to bind
    with pytest.raises(MarketoRequestError, match="api_name='car c'"):  # named as the task's argument
        kind.bound_for(ObjectTask(api_name="car c"))
    with pytest.raises(MarketoRequestError, match="api_name=None"):
        kind.bound_for(ObjectTask())
