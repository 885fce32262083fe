"""pytest plugin (registered through the ``pytest11`` entry point): the Marketo emulator and Airflow fixtures.

- ``marketo_emulator``: a running emulator; override ``marketo_emulator_options`` to change its options.
- ``marketo_connection``: the emulator as the Airflow connection ``marketo_default``, and the test pace: the
  Variable ``marketo_pm_poll_interval`` at ``marketo_poll_interval`` (1 s; override that fixture to choose).
- ``marketo_airflow_home``: a throw-away Airflow home with a migrated metadata DB and your DAGs folder,
  so ``dag.test()`` runs; override ``marketo_dags_folder`` to say where your DAG files live.

pytest loads this plugin in every session of an environment where the provider is installed: importing it
imports neither Airflow nor the emulator's server stack (Starlette, uvicorn). They load inside a fixture,
when a test uses it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_marketo_pm.testing.emulator import MarketoEmulator


@pytest.fixture
def marketo_emulator_options() -> dict[str, Any]:
    """Options for ``marketo_emulator``; the defaults are the fast pace (jobs finish in well under 1 s)."""
    return {}


@pytest.fixture
def marketo_emulator(marketo_emulator_options: dict[str, Any]) -> Iterator[MarketoEmulator]:
    """A running Marketo emulator on a free loopback port, fresh for each test."""
    from airflow_provider_marketo_pm.testing.emulator import MarketoEmulator

    with MarketoEmulator(**marketo_emulator_options) as emulator:
        yield emulator


@pytest.fixture
def marketo_poll_interval(marketo_emulator: MarketoEmulator) -> float:
    """
    Seconds between status checks of DAGs run against the emulator: ``marketo_connection`` sets the Variable
    ``marketo_pm_poll_interval`` to it. Default: the emulator's pace, 1 s (its status refresh when slower).
    Override this fixture to choose (return 60 for Marketo's cadence: about 68 s per job in ``dag.test()``).
    """
    return marketo_emulator.poll_interval


@pytest.fixture
def marketo_connection(
    marketo_emulator: MarketoEmulator, marketo_poll_interval: float, monkeypatch: pytest.MonkeyPatch
) -> MarketoEmulator:
    """
    The emulator, reachable as the Airflow connection ``marketo_default`` for the test's duration, with the
    Variable ``marketo_pm_poll_interval`` at ``marketo_poll_interval``: DAGs that template their poll
    interval from it (as the example DAGs do) wait about a second per job, not Marketo's 60 s.
    """
    env = marketo_emulator.connection_env("marketo_default", poll_interval=marketo_poll_interval)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return marketo_emulator


@pytest.fixture(scope="session")
def marketo_dags_folder(pytestconfig: pytest.Config) -> Path:
    """The folder of your DAG files: ``dags/`` under pytest's rootdir if it exists, else the rootdir."""
    root = Path(pytestconfig.rootpath)
    return root / "dags" if (root / "dags").is_dir() else root


@pytest.fixture(scope="session")
def marketo_airflow_home(
    marketo_dags_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """
    A throw-away ``AIRFLOW_HOME`` for the test session: a migrated SQLite metadata DB, example DAGs off,
    and ``marketo_dags_folder`` as the DAGs folder (the one DAG bundle ``dag.test()`` needs its DAG in),
    also put on ``sys.path`` so tests can import the DAG files. Yields the home's path.
    """
    home = tmp_path_factory.mktemp("airflow-home")
    dags = Path(marketo_dags_folder).resolve()
    bundle = {
        "name": "dags-folder",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(dags)},
    }
    settings_env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps([bundle]),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings_env.items():
            patch.setenv(name, value)
        patch.syspath_prepend(str(dags))
        migrated = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            check=False,
        )
        if migrated.returncode != 0:
            raise RuntimeError(
                f"marketo_airflow_home: `airflow db migrate` failed ({migrated.returncode}):\n"
                f"{migrated.stderr[-4000:]}"
            )
        _reconnect_airflow_db()  # Airflow imported before this fixture still points at the old DB
        try:
            yield home
        finally:
            patch.undo()
            _reconnect_airflow_db()


def _reconnect_airflow_db() -> None:
    """Point an already imported Airflow at the metadata DB the environment names now."""
    settings = sys.modules.get("airflow.settings")
    if settings is None:
        return  # Airflow reads the environment when it is first imported
    settings.dispose_orm()
    settings.configure_vars()
    settings.configure_orm()
