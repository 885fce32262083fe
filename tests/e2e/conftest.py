"""End-to-end wiring: the emulator as ``marketo_default`` and the test DAG, run with ``dag.test()``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TEST_DAGS = Path(__file__).resolve().parents[1] / "dags"
sys.path.insert(0, str(TEST_DAGS))  # the tests import the DAG module itself


@pytest.fixture
def emulator(emulator, use_dags_folder):
    """The root ``emulator`` fixture, with the DAGs folder holding only the test DAG."""
    use_dags_folder(TEST_DAGS)
    return emulator
