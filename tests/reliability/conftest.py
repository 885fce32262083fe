"""Reliability suites: fast hook backoff for every test, and the session-wide fault report."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_cases import DAG_CASES, FAULT_CASES
from fault_report import FaultReport
from reliability_support import fast_hook_backoff


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    fast_hook_backoff(monkeypatch)


@pytest.fixture(scope="session")
def fault_report() -> Iterator[FaultReport]:
    """Collects every row's observation; writes docs/reliability.md only after a full matrix run."""
    report = FaultReport([case.name for case in FAULT_CASES], [case.name for case in DAG_CASES])
    yield report
    if report.complete:
        report.write()
