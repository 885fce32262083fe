"""The test DAG: start -> sensor -> download, run with ``dag.test()`` against the emulator.

Shared by the end-to-end tests (tests/e2e) and the fault matrix's DAG rows (tests/reliability).

It lives in the DAGs folder of the test session because ``dag.test()`` serializes DAGs from their files.
Values are tuned for the emulator's fast mode (a real instance wants poll_interval >= 60).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param

from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor

DAG_ID = "marketo_pm_export_test"

with DAG(
    dag_id=DAG_ID,
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    params={"destination": Param("file:///tmp/marketo-pm-export-test/members.csv", type="string")},
    tags=["test"],
) as dag:
    start = MarketoStartProgramMemberExportOperator(
        task_id="start_export",
        fields=["leadId", "firstName", "lastName", "email", "statusName"],
        filter={"programId": 1044},
        queue_full_retries=20,
        queue_full_wait=dt.timedelta(seconds=1),
        # Fail on the daily quota instead of waiting for 12:00 AM US Central: the quota tests see the
        # failure. (The wait: tests/example_dags, with the emulator's compressed quota day.)
        on_quota_exceeded="fail",
    )
    wait = MarketoProgramMemberExportSensor(
        task_id="wait_for_export",
        export_id=start.output,
        poll_interval=0.1,
        timeout=60,
    )
    download = MarketoDownloadProgramMemberExportOperator(
        task_id="download_export",
        export_id=start.output,
        destination="{{ params.destination }}",
        chunk_size=256,  # small files in the emulator: several chunks, so a cut lands mid-file
        max_resumes=2,
        progress_interval=0.0,
    )
    start >> wait >> download
