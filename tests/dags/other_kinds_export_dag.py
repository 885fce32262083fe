"""The test DAG of the activity and custom object kinds: their shipped task groups, mapped (``dag.test()``).

Two activity jobs (the default columns of every type; two types by name) and one custom object job per
object (``car_c``, ``contract_c``, the records of a static list's leads); activities over the window the
run conf gives. Values are tuned for the emulator's
fast mode (a real instance wants poll_interval >= 60).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param, task

from airflow_provider_marketo_pm.task_groups.activities import activity_export_group
from airflow_provider_marketo_pm.task_groups.custom_objects import custom_object_export_group

DAG_ID = "marketo_other_kinds_export_test"
FAST = {"poll_interval": 0.1, "pool": None, "queue_full_wait": dt.timedelta(seconds=1)}
OBJECTS = {  # api_name: (fields, the records of a static list's leads, by id and by name)
    "car_c": (["marketoGUID", "leadId", "vin", "make", "model", "updatedAt"], {"staticListId": 1081}),
    "contract_c": (
        ["marketoGUID", "leadId", "contractId", "plan", "seats", "amount", "updatedAt"],
        {"staticListName": "Newsletter, Weekly"},
    ),
}

with DAG(
    dag_id=DAG_ID,
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    params={
        "destination": Param("file:///tmp/marketo-other-kinds-test", type="string"),
        "window": Param({}, type="object"),
    },
    tags=["test"],
) as dag:
    activities = activity_export_group(group_id="activities", **FAST)
    custom_objects = custom_object_export_group(group_id="custom_objects", **FAST)

    @task
    def plan_activities(params: dict | None = None) -> list[dict]:
        destination, window = (params or {})["destination"], (params or {})["window"]
        every_type = {
            "export_filter": {"createdAt": window},
            "activity_types": None,
            "fields": None,
            "destination": f"{destination}/activities.csv",
        }
        by_name = {
            "export_filter": {"createdAt": window},
            "activity_types": ["Visit Webpage", "Change Status in Progression"],
            "fields": ["marketoGUID", "leadId", "activityTypeId", "attributes"],
            "destination": f"{destination}/named-activities.csv",
        }
        return [{"dest_conn_id": None, **job} for job in (every_type, by_name)]

    @task
    def plan_custom_objects(params: dict | None = None) -> list[dict]:
        destination = (params or {})["destination"]
        return [
            {
                "api_name": api_name,
                "fields": fields,
                "export_filter": export_filter,
                "destination": f"{destination}/{api_name}.csv",
                "dest_conn_id": None,
            }
            for api_name, (fields, export_filter) in OBJECTS.items()
        ]

    activities.expand_kwargs(plan_activities())
    custom_objects.expand_kwargs(plan_custom_objects())
