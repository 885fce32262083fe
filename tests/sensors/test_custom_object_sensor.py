"""MarketoCustomObjectExportSensor: the wait of one object's job, its apiName bound into every path."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from marketo_exports import wait_for_export_status

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.custom_objects import CUSTOM_OBJECTS
from airflow_provider_marketo_pm.sensors.custom_objects import MarketoCustomObjectExportSensor
from airflow_provider_marketo_pm.triggers.bulk_export import MarketoExportStatusTrigger

CARS = CUSTOM_OBJECTS.bind(apiName="car_c")


def created_car_export(*, enqueue: bool) -> str:
    hook = MarketoHook()
    export_id = str(
        hook.create_export(CARS.request(fields=["vin"], filter={"staticListId": 1081}))["exportId"]
    )
    if enqueue:
        hook.enqueue_export(CARS, export_id)
    return export_id


def sensor(export_id: str, **kwargs) -> MarketoCustomObjectExportSensor:
    kwargs.setdefault("api_name", "car_c")
    return MarketoCustomObjectExportSensor(task_id="wait", export_id=export_id, poll_interval=0.05, **kwargs)


def test_a_completed_job_is_read_on_the_objects_path(emulator):
    export_id = created_car_export(enqueue=True)
    wait_for_export_status(emulator, export_id)

    record = sensor(export_id).execute(context={})

    assert record["status"] == "Completed"
    assert emulator.calls("status")[-1].path == f"/bulk/v1/customobjects/car_c/export/{export_id}/status.json"


def test_a_pending_job_defers_to_the_generic_trigger_on_the_objects_path(emulator):
    export_id = created_car_export(enqueue=False)

    with pytest.raises(TaskDeferred) as deferred:
        sensor(export_id, timeout=600).execute(context={})

    trigger = deferred.value.trigger
    assert type(trigger) is MarketoExportStatusTrigger
    assert trigger.serialize()[1]["export_path"] == "/bulk/v1/customobjects/car_c/export"


def test_api_name_is_required_and_checked():
    with pytest.raises(TypeError, match="api_name"):
        MarketoCustomObjectExportSensor(task_id="wait", export_id="x")
    with pytest.raises(MarketoRequestError, match="api_name"):
        sensor("x", api_name="car-c")
