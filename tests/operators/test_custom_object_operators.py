"""The custom object start and download: one object per task, its apiName bound into every path."""

from __future__ import annotations

import json

import pytest
from marketo_exports import wait_for_export_status

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.operators.custom_objects import (
    MarketoDownloadCustomObjectExportOperator,
    MarketoStartCustomObjectExportOperator,
)

JANUARY = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T00:00:00Z"}
FIELDS = ["marketoGUID", "leadId", "vin", "make"]


def start(**kwargs) -> MarketoStartCustomObjectExportOperator:
    kwargs.setdefault("api_name", "car_c")
    kwargs.setdefault("fields", FIELDS)
    kwargs.setdefault("filter", {"staticListId": 1081})
    return MarketoStartCustomObjectExportOperator(task_id="start", **kwargs)


def test_api_name_is_templated_on_every_task():
    assert {"api_name", "fields", "filter"} <= set(MarketoStartCustomObjectExportOperator.template_fields)
    assert "api_name" in MarketoDownloadCustomObjectExportOperator.template_fields


def test_the_start_creates_and_enqueues_on_the_objects_path(emulator):
    export_id = start().execute(context={})

    (create,) = emulator.calls("create")
    assert create.path == "/bulk/v1/customobjects/car_c/export/create.json"
    assert json.loads(create.body) == {"fields": FIELDS, "filter": {"staticListId": 1081}, "format": "CSV"}
    assert [call.path for call in emulator.calls("enqueue")] == [
        f"/bulk/v1/customobjects/car_c/export/{export_id}/enqueue.json"
    ]


def test_a_rendered_api_name_is_bound_when_the_task_runs(emulator):
    op = start(api_name="{{ params.object }}", fields=["marketoGUID", "leadId", "plan"])
    op.render_template_fields({"params": {"object": "contract_c"}})

    op.execute(context={})

    assert emulator.calls("create")[0].path == "/bulk/v1/customobjects/contract_c/export/create.json"


@pytest.mark.parametrize("api_name", ["car c", "../leads", "", 7])
def test_a_bad_api_name_is_refused_when_the_dag_is_parsed(api_name):
    with pytest.raises(MarketoRequestError, match="api_name"):
        start(api_name=api_name)


def test_a_bad_rendered_api_name_fails_before_any_call(emulator):
    op = start(api_name="{{ params.object }}")
    op.render_template_fields({"params": {"object": "car c"}})

    with pytest.raises(MarketoRequestError, match="api_name='car c'"):
        op.execute(context={})
    assert emulator.requests == []


def test_each_object_keeps_its_own_job_for_a_retry(emulator):
    class Store(dict):
        def set(self, key, value, *, retention=None):
            self[key] = value

    store = Store()
    first = start().execute(context={"task_state_store": store})
    again = start().execute(context={"task_state_store": store})
    other = start(api_name="contract_c", fields=["marketoGUID", "leadId"]).execute(
        context={"task_state_store": store}
    )

    assert again == first  # re-attached
    assert other != first
    assert set(store) == {"marketo_custom_object_export_car_c", "marketo_custom_object_export_contract_c"}


def test_the_download_reads_the_objects_file(emulator, tmp_path):
    export_id = start().execute(context={})
    wait_for_export_status(emulator, export_id)
    target = tmp_path / "cars.csv"

    result = MarketoDownloadCustomObjectExportOperator(
        task_id="download", api_name="car_c", export_id=export_id, destination=target.as_uri()
    ).execute(context={})

    assert target.read_bytes() == emulator.file_bytes(export_id)
    assert result["records"] == emulator.job(export_id)["numberOfRecords"]
    assert all(
        call.path.startswith("/bulk/v1/customobjects/car_c/export/") for call in emulator.calls("file")
    )
