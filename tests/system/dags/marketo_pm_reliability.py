"""Start -> deferred sensor -> download, tuned for the system tests' kill scenarios.

Unlike the example DAGs it polls every second (the emulator, not Marketo) and gives the download,
and only the download, one retry: a killed download must be retried without starting a second
export. The destination file comes from the run's conf.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor

with DAG(
    dag_id="marketo_pm_reliability",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params={
        "destination": Param(type="string", description="file:// URL of the exported file"),
    },
    default_args={"retries": 0},
    tags=["marketo", "system-test"],
) as dag:
    start = MarketoStartProgramMemberExportOperator(
        task_id="start_export",
        fields=["leadId", "firstName", "lastName", "email", "programId", "membershipDate"],
        filter={"programId": 1044},
    )
    wait = MarketoProgramMemberExportSensor(
        task_id="wait_for_export",
        export_id=start.output,
        poll_interval=1,
        timeout=timedelta(minutes=10),
    )
    download = MarketoDownloadProgramMemberExportOperator(
        task_id="download_export",
        export_id=start.output,
        destination="{{ params.destination }}",
        overwrite=True,
        retries=1,
        retry_delay=timedelta(seconds=1),
        progress_interval=1.0,
    )
    start >> wait >> download
