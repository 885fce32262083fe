"""The test DAG of the lead kind: its shipped task group mapped over two static lists (``dag.test()``).

Values are tuned for the emulator's fast mode (a real instance wants poll_interval >= 60).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param, task

from airflow_provider_marketo_pm.task_groups.leads import lead_export_group

DAG_ID = "marketo_leads_export_test"

with DAG(
    dag_id=DAG_ID,
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    params={"destination": Param("file:///tmp/marketo-leads-export-test", type="string")},
    tags=["test"],
) as dag:
    export_job = lead_export_group(
        group_id="export_job", poll_interval=0.1, pool=None, queue_full_wait=dt.timedelta(seconds=1)
    )

    @task
    def plan(params: dict | None = None) -> list[dict]:
        destination = (params or {})["destination"]
        return [
            {
                "fields": ["id", "email", "firstName"],
                "export_filter": {"staticListId": list_id},
                "destination": f"{destination}/list={list_id}.csv",
                "dest_conn_id": None,
            }
            for list_id in (1081, 1082)
        ]

    export_job.expand_kwargs(plan())
