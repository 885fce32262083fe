"""Test-session wiring: a throw-away AIRFLOW_HOME, set before anything imports Airflow.

Airflow reads its configuration at import time, so this module sets the environment at import
(pytest imports the root conftest before any test module). The DAGs folder is the repository root
so that both example_dags/ and the DAG files of end-to-end tests are "in the bundle", which
``dag.test()`` requires; ``.airflowignore`` keeps everything else out of parsing.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_provider_marketo_pm.testing import MarketoEmulator

REPO_ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="marketo-pm-airflow-home-"))
# Removed when the session's process exits (at import: a session that fails to collect cleans up too).
atexit.register(shutil.rmtree, AIRFLOW_HOME, ignore_errors=True)

os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# As docker-compose.yaml and the docs advise: waits in the triggerer (Airflow ships this false).
os.environ["AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE"] = "True"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}"
# Tests must never reach a real Marketo: no marketo_default unless a test sets it.
os.environ.pop("AIRFLOW_CONN_MARKETO_DEFAULT", None)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """An initialised metadata DB (SQLite), needed by ``dag.test()`` and anything stateful."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return AIRFLOW_HOME


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def emulator(marketo_connection: MarketoEmulator) -> MarketoEmulator:
    """The emulator as connection ``marketo_default`` (the plugin's ``marketo_connection``, short name)."""
    return marketo_connection


def dags_folder_env(folder: Path) -> dict[str, str]:
    """Settings that make ``folder`` the one DAG bundle: ``dag.test()`` re-parses it on every run."""
    bundle = {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle"}
    return {
        "AIRFLOW__CORE__DAGS_FOLDER": str(folder),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [{**bundle, "kwargs": {"path": str(folder)}}]
        ),
    }


@pytest.fixture
def use_dags_folder(monkeypatch: pytest.MonkeyPatch, airflow_db: Path) -> Callable[[Path], None]:
    """Point DAG parsing at one folder for the test, and make its DAG files importable."""

    def use(folder: Path) -> None:
        for name, value in dags_folder_env(folder).items():
            monkeypatch.setenv(name, value)
        monkeypatch.syspath_prepend(str(folder))

    return use


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """
    ``small_tmpfs(size="8m", read_only=False)`` mounts a tmpfs of that size and returns its directory; all
    are unmounted after the test. It needs root on Linux: elsewhere the test is skipped with the reason,
    except under ``CI=true``, where the test must run, so it fails instead.
    """
    mounted: list[Path] = []

    def mount(size: str = "8m", *, read_only: bool = False) -> Path:
        reason = None
        if not sys.platform.startswith("linux"):
            reason = "a tmpfs needs Linux"
        elif os.geteuid() != 0:
            reason = "mounting a tmpfs needs root"
        else:
            point = tmp_path / f"tmpfs-{len(mounted)}"
            point.mkdir()
            options = f"size={size}" + (",ro" if read_only else "")
            result = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode == 0:
                mounted.append(point)
                return point
            reason = f"mount -t tmpfs failed: {result.stderr.strip() or result.returncode}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"this test must run under CI=true, but {reason}")
        pytest.skip(reason)

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", str(point)], check=True)
