"""Reliability suites: a fresh token cache for every test, and the session-wide fault report."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fault_cases import DAG_CASES, FAULT_CASES
from fault_report import FaultReport

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook

TEST_DAGS = Path(__file__).resolve().parents[1] / "dags"


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
def fault_dag(use_dags_folder: Any) -> Any:
    """The start -> sensor -> download test DAG (tests/dags/export_dag.py), ready for ``dag.test()``."""
    use_dags_folder(TEST_DAGS)
    from export_dag import dag

    return dag
