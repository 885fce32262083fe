"""Users' DAGs type-check: the idiomatic ``export_id=start.output`` (an XComArg) is accepted by mypy."""

from __future__ import annotations

import textwrap

import pytest

mypy_api = pytest.importorskip("mypy.api")

pytestmark = pytest.mark.slow

DAG_SOURCE = """
from airflow.sdk import DAG
from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor

with DAG(dag_id="typed", schedule=None):
    start = MarketoStartProgramMemberExportOperator(
        task_id="start", fields=["leadId"], filter={"programId": 1044}
    )
    wait = MarketoProgramMemberExportSensor(task_id="wait", export_id=start.output)
    download = MarketoDownloadProgramMemberExportOperator(
        task_id="download", export_id=start.output, destination="file:///tmp/members.csv"
    )
    templated = MarketoProgramMemberExportSensor(
        task_id="templated", export_id="{{ ti.xcom_pull('start') }}"
    )
"""


def test_export_id_takes_the_start_operators_output(tmp_path):
    dag_file = tmp_path / "typed_dag.py"
    dag_file.write_text(textwrap.dedent(DAG_SOURCE))

    out, err, status = mypy_api.run(
        [str(dag_file), "--ignore-missing-imports", "--no-error-summary", "--cache-dir", str(tmp_path / "c")]
    )

    assert status == 0, out + err
