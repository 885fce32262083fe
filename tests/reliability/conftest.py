"""Reliability suites: a fresh token cache for every test, and the session-wide fault report."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fault_cases import DAG_CASES, FAULT_CASES
from fault_report import FaultReport

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook

DAGS_DIR = Path(__file__).resolve().parent / "dags"


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    """Each row starts its own emulator: a token cached by an earlier row means nothing to it."""
    MarketoHook.clear_token_cache()
    yield
    MarketoHook.clear_token_cache()


@pytest.fixture(scope="session")
def fault_report() -> Iterator[FaultReport]:
    """Collects every row's observation; writes docs/reliability.md only after a full matrix run."""
    report = FaultReport([case.name for case in FAULT_CASES], [case.name for case in DAG_CASES])
    yield report
    if report.complete:
        report.write()


@pytest.fixture
def fault_dag(monkeypatch: pytest.MonkeyPatch, airflow_db: Path) -> Any:
    """The start -> sensor -> download DAG of dags/fault_dag.py, ready for ``dag.test()``."""
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS_DIR))
    monkeypatch.setenv(
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST",
        json.dumps(
            [
                {
                    "name": "dags-folder",
                    "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {"path": str(DAGS_DIR)},
                }
            ]
        ),
    )
    monkeypatch.syspath_prepend(str(DAGS_DIR))
    from fault_dag import dag

    return dag
