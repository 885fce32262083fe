"""A ``file://`` download task starts with what the copy needs: no other store's library, no lineage models.

A fresh task process pays every import its download reaches. Airflow's ``get_fs`` imports every
provider's filesystem on its first use, whatever the scheme (the Amazon provider's S3 hook and boto for a
local file), and ``ObjectStoragePath.move`` first builds Airflow's hook lineage collector (every provider's
asset factories and the metadata DB's models): about 0.3 s of a 100 MiB download's 0.4 s before these cuts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from marketo_exports import start_export_via_hook, wait_for_export_status

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import json, sys
from airflow_provider_marketo_pm.operators.program_members import MarketoDownloadProgramMemberExportOperator

before = set(sys.modules)
MarketoDownloadProgramMemberExportOperator(
    task_id="download", export_id=sys.argv[1], destination=sys.argv[2]
).execute(context={})
print(json.dumps(sorted(set(sys.modules) - before)))
"""


@pytest.mark.slow
def test_a_local_download_imports_no_other_store_and_no_lineage_models(emulator, tmp_path):
    pytest.importorskip("airflow.providers.amazon", reason="the store whose import a local copy avoids")
    export_id = start_export_via_hook()
    wait_for_export_status(emulator, export_id, "Completed")
    dest = tmp_path / "members.csv"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}

    child = subprocess.run(
        [sys.executable, "-c", CHILD, export_id, dest.as_uri()],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert child.returncode == 0, child.stderr[-3000:]
    imported = json.loads(child.stdout.strip().splitlines()[-1])
    assert dest.read_bytes() == emulator.file_bytes(export_id)
    assert [m for m in imported if m.split(".")[0] in {"boto3", "botocore", "s3fs"}] == []
    assert [m for m in imported if m.startswith("airflow.providers.amazon")] == []
    assert "airflow.models.asset" not in imported
