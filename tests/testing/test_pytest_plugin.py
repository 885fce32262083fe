"""The fixtures users get by installing the package (the ``pytest11`` entry point)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook


@pytest.fixture
def marketo_emulator_options():
    return {"token_ttl": 120}


def test_options_fixture_configures_the_emulator(marketo_emulator):
    assert marketo_emulator.options.token_ttl == 120


def test_marketo_connection_makes_the_emulator_the_default_connection(marketo_connection):
    assert marketo_connection.base_url in os.environ["AIRFLOW_CONN_MARKETO_DEFAULT"]

    records = MarketoHook().describe_program_members()

    assert records[0]["dedupeFields"] == ["leadId", "programId"]
    assert [call.endpoint for call in marketo_connection.requests] == ["token", "describe"]


def _user_env(home: Path) -> dict[str, str]:
    """The environment of a user's shell: no Airflow settings of this test session, a home of its own."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    return env


@pytest.mark.parametrize(
    "module", ["airflow_provider_marketo_pm.testing.pytest_plugin", "airflow_provider_marketo_pm.testing"]
)
def test_importing_the_plugin_loads_neither_airflow_nor_the_emulator_server(module, tmp_path):
    """pytest loads the plugin in every session where the provider is installed: it must cost nothing."""
    probe = (
        "import importlib, logging, sys\n"
        f"importlib.import_module({module!r})\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "heavy = sorted(loaded & {'airflow', 'uvicorn', 'starlette', 'anyio'})\n"
        "print(heavy, logging.getLogger('uvicorn.error').filters)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=_user_env(tmp_path), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[] []"


def test_the_lazy_names_still_import(tmp_path):
    from airflow_provider_marketo_pm.testing import Fault, MarketoEmulator
    from airflow_provider_marketo_pm.testing.emulator import MarketoEmulator as Direct

    assert MarketoEmulator is Direct
    assert Fault(code="1029").code == "1029"


def _readme_example_files() -> dict[str, str]:
    """The files of the README's ``marketo_airflow_home`` example, by the path each one names."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    found = re.findall(r"<!-- example file: (\S+) -->\n```python\n(.*?)```", readme, flags=re.S)
    return dict(found)


@pytest.mark.slow
def test_the_readme_dag_test_example_passes_in_a_user_project(tmp_path):
    """The README's DAG file and test, in a fresh project folder, pass under a plain ``pytest``."""
    files = _readme_example_files()
    assert set(files) == {"dags/marketo_members.py", "tests/test_marketo_members.py"}
    project = tmp_path / "project"
    for relative, text in files.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(text)
    (tmp_path / "home").mkdir()

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=_user_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "1 passed" in run.stdout
