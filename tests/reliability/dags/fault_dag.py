"""start -> sensor -> download for the fault matrix's ``dag.test()`` rows (emulator pace: fast polls).

The sensor defers (the default), so its trigger runs inline in ``dag.test()`` with the async hook path.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param

from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor

DAG_ID = "marketo_pm_fault_matrix"

with DAG(
    dag_id=DAG_ID,
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    params={"destination": Param("file:///tmp/marketo-fault-matrix/members.csv", type="string")},
    tags=["test"],
) as dag:
    start = MarketoStartProgramMemberExportOperator(
        task_id="start_export",
        fields=["leadId", "firstName", "lastName", "email", "statusName"],
        filter={"programId": 1044},
        queue_full_retries=5,
        queue_full_wait=dt.timedelta(seconds=0.2),
    )
    wait = MarketoProgramMemberExportSensor(
        task_id="wait_for_export", export_id=start.output, poll_interval=0.1, timeout=60
    )
    download = MarketoDownloadProgramMemberExportOperator(
        task_id="download_export",
        export_id=start.output,
        destination="{{ params.destination }}",
        chunk_size=256,
        max_resumes=2,
        progress_interval=0.0,
    )
    start >> wait >> download
