"""End-to-end wiring: the emulator as ``marketo_default`` and the e2e DAG, run with ``dag.test()``.

``dag.test()`` re-parses its DAGs folder on every run; pointing it at ``dags/`` beside this file keeps
that to the one DAG these tests run (and away from virtualenvs in the repository root).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

E2E_DAGS = Path(__file__).resolve().parent / "dags"
sys.path.insert(0, str(E2E_DAGS))


@pytest.fixture
def emulator(emulator, monkeypatch, airflow_db):
    """The root ``emulator`` fixture, plus a DAGs folder (and bundle) holding only the e2e DAG."""
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(E2E_DAGS))
    monkeypatch.setenv(
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST",
        json.dumps(
            [
                {
                    "name": "dags-folder",
                    "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {"path": str(E2E_DAGS)},
                }
            ]
        ),
    )
    return emulator
