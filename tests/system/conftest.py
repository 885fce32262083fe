"""Fixtures of the system tests: one real Airflow per module, one Marketo emulator per test."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_marketo_pm.testing import MarketoEmulator
from airflow_provider_marketo_pm.testing.airflow_cluster import AirflowCluster

SYSTEM_DAGS = Path(__file__).resolve().parent / "dags"
EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"


@pytest.fixture(scope="module")
def dags_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example DAGs and the system tests' own DAG, copied so that nothing else gets parsed."""
    folder = tmp_path_factory.mktemp("dags")
    for source in (EXAMPLE_DAGS, SYSTEM_DAGS):
        if source.is_dir():
            shutil.copytree(
                source, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
    return folder


@pytest.fixture(scope="module")
def airflow_cluster(dags_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowCluster]:
    """A running scheduler, dag-processor, triggerer and api-server; killed at teardown whatever happened."""
    cluster = AirflowCluster(
        dags_folder,
        # The example DAGs read the poll interval when parsed: poll the emulator every second.
        env={"AIRFLOW_VAR_MARKETO_PM_POLL_INTERVAL": "1"},
        home=tmp_path_factory.mktemp("airflow-home"),
    )
    with cluster:
        yield cluster
    assert not cluster.processes(), "processes outlived the cluster"


@pytest.fixture(scope="module")
def marketo_connection_fields() -> dict[str, Any]:
    """Fields of ``marketo_default`` besides the emulator's address and credentials (override per module)."""
    return {"conn_type": "marketo"}


@pytest.fixture
def marketo_for_airflow(
    airflow_cluster: AirflowCluster, marketo_connection_fields: dict[str, Any], request: pytest.FixtureRequest
) -> Iterator[Callable[..., MarketoEmulator]]:
    """Start an emulator with the given options and make it the cluster's ``marketo_default``.

    The connection goes into the metadata DB rather than the components' environment, so that one
    cluster serves tests whose emulators differ (job pace, file size).
    """
    fields = dict(marketo_connection_fields)
    conn_type = fields.pop("conn_type")
    with contextlib.ExitStack() as stack:

        def start(**options: Any) -> MarketoEmulator:
            emulator = stack.enter_context(MarketoEmulator(**options))
            airflow_cluster.set_connection(
                "marketo_default",
                conn_type,
                host=emulator.base_url,
                login=emulator.client_id,
                password=emulator.client_secret,
                **fields,
            )
            return emulator

        yield start
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print(airflow_cluster.log_tails())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, so fixtures can print logs when the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
