"""lead_export_group, activity_export_group, custom_object_export_group: each kind's three tasks, mappable.

What every group shares (pacing, the pool, the settings) is export_tasks', tested once with the program
member group; here, what each kind's group adds: its classes, its job's keys, its start's name in the UI.
"""

from __future__ import annotations

from types import SimpleNamespace

import pendulum
import pytest
from airflow.sdk import DAG, task
from airflow.sdk.definitions.taskgroup import MappedTaskGroup

from airflow_provider_marketo_pm.operators.activities import MarketoStartActivityExportOperator
from airflow_provider_marketo_pm.operators.custom_objects import (
    MarketoDownloadCustomObjectExportOperator,
    MarketoStartCustomObjectExportOperator,
)
from airflow_provider_marketo_pm.operators.leads import (
    MarketoDownloadLeadExportOperator,
    MarketoStartLeadExportOperator,
)
from airflow_provider_marketo_pm.sensors.activities import MarketoActivityExportSensor
from airflow_provider_marketo_pm.sensors.custom_objects import MarketoCustomObjectExportSensor
from airflow_provider_marketo_pm.sensors.leads import MarketoLeadExportSensor
from airflow_provider_marketo_pm.task_groups import (
    activity_export_group,
    custom_object_export_group,
    lead_export_group,
)

JANUARY = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T00:00:00Z"}
DESTINATION = {"destination": "file:///tmp/kinds/x.csv", "dest_conn_id": None}
LEAD_JOB = {"fields": ["id", "email"], "export_filter": {"staticListId": 1081}, **DESTINATION}
ACTIVITY_JOB = {
    "export_filter": {"createdAt": JANUARY},
    "activity_types": ["Visit Webpage"],
    "fields": None,
    **DESTINATION,
}
OBJECT_JOB = {"api_name": "car_c", "fields": ["vin"], "export_filter": {"updatedAt": JANUARY}, **DESTINATION}


def one_job_dag(group, job, **settings) -> DAG:
    with DAG("one_job", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:
        group(pool=None, **settings)(**job)
    return dag


def tasks_of(dag: DAG, group_id: str):
    return tuple(
        dag.task_dict[f"{group_id}.{name}"] for name in ("start_export", "wait_for_export", "download_export")
    )


def rendered(dag: DAG, template: str, **task_attributes) -> str:
    """A start's name in the UI as Airflow renders it (StrictUndefined)."""
    return dag.get_template_env().from_string(template).render(task=SimpleNamespace(**task_attributes))


def test_the_lead_group_is_the_lead_classes_mapped_over_jobs():
    with DAG("mapped", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:

        @task
        def plan() -> list[dict]:
            return [LEAD_JOB]

        lead_export_group().expand_kwargs(plan())

    start, wait, download = tasks_of(dag, "lead_export")
    assert (type(start), type(wait), type(download)) == (
        MarketoStartLeadExportOperator,
        MarketoLeadExportSensor,
        MarketoDownloadLeadExportOperator,
    )
    assert isinstance(dag.task_group_dict["lead_export"], MappedTaskGroup)


@pytest.mark.parametrize(
    ("export_filter", "name"),
    [
        ({"staticListId": 1081}, "staticListId 1081"),
        ({"createdAt": {**JANUARY, "endAt": "2024-01-31"}}, "createdAt 2024-01-01..2024-01-31"),
        (
            {"createdAt": JANUARY, "activityTypeIds": [1, 12]},
            "createdAt 2024-01-01..2024-01-31 activityTypeIds 1,12",
        ),
    ],
)
def test_each_start_is_named_after_its_filter(export_filter, name):
    start, _, _ = tasks_of(one_job_dag(lead_export_group, LEAD_JOB), "lead_export")
    assert rendered(start.dag, start.map_index_template, filter=export_filter) == name


def test_the_activity_group_hands_the_type_names_to_its_start():
    start, wait, _ = tasks_of(one_job_dag(activity_export_group, ACTIVITY_JOB), "activity_export")

    assert isinstance(start, MarketoStartActivityExportOperator)
    assert isinstance(wait, MarketoActivityExportSensor)
    assert start.activity_types == ["Visit Webpage"]
    assert start.fields is None  # Marketo's default columns


def test_the_custom_object_group_gives_every_task_the_objects_api_name():
    dag = one_job_dag(custom_object_export_group, OBJECT_JOB)
    start, wait, download = tasks_of(dag, "custom_object_export")

    assert isinstance(start, MarketoStartCustomObjectExportOperator)
    assert isinstance(wait, MarketoCustomObjectExportSensor)
    assert isinstance(download, MarketoDownloadCustomObjectExportOperator)
    assert {start.api_name, wait.api_name, download.api_name} == {"car_c"}
    assert rendered(dag, start.map_index_template, api_name="car_c", filter={"staticListId": 1081}) == (
        "car_c staticListId 1081"
    )


def test_custom_objects_refuse_parquet_when_the_dag_is_parsed():
    with pytest.raises(TypeError, match="parquet=True is not available for custom object exports"):
        custom_object_export_group(parquet=True)


def test_a_bad_api_name_is_refused_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match="api_name='car c'"):
        one_job_dag(custom_object_export_group, {**OBJECT_JOB, "api_name": "car c"})
