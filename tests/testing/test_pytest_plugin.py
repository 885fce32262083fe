"""The fixtures users get by installing the package (the ``pytest11`` entry point)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
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


def test_marketo_connection_sets_the_test_pace_for_dags_that_read_the_variable(marketo_connection):
    assert os.environ["AIRFLOW_VAR_MARKETO_PM_POLL_INTERVAL"] == "1"


class TestChosenPollInterval:
    @pytest.fixture
    def marketo_poll_interval(self):
        return 60

    def test_overriding_marketo_poll_interval_chooses_the_variable(self, marketo_connection):
        assert os.environ["AIRFLOW_VAR_MARKETO_PM_POLL_INTERVAL"] == "60"


#: A task group DAG whose poll interval is templated from the Variable, as the example DAGs' are.
PACED_DAG = """
import pendulum
from airflow.sdk import DAG, task

from airflow_provider_marketo_pm.task_groups.program_members import (
    ProgramMemberExportSettings,
    program_member_export_group,
)

with DAG(dag_id="marketo_paced", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:
    export_job = program_member_export_group(
        poll_interval="{{ var.value.get('marketo_pm_poll_interval', 60) }}"
    )

    @task
    def plan_exports(params=None):
        settings = ProgramMemberExportSettings.from_params(params)
        return [
            settings.job({"programIds": batch}, f"batch={n:02d}.csv")
            for n, batch in enumerate(settings.program_batches)
        ]

    export_job.expand_kwargs(plan_exports())
"""


@pytest.mark.slow
@pytest.mark.e2e
def test_a_task_group_dag_runs_at_the_test_pace_without_setting_anything(
    marketo_connection, use_dags_folder, tmp_path, monkeypatch
):
    """Two jobs in seconds: at Marketo's 60 s cadence (no Variable) each would wait a minute or more."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "marketo_paced.py").write_text(PACED_DAG)
    use_dags_folder(dags)
    monkeypatch.setenv("AIRFLOW_VAR_MARKETO_PM_PROGRAM_IDS", json.dumps(list(range(1001, 1013))))
    monkeypatch.setenv("AIRFLOW_VAR_MARKETO_PM_DESTINATION", (tmp_path / "out").as_uri())
    from marketo_paced import dag

    started = time.monotonic()
    run = dag.test()
    elapsed = time.monotonic() - started

    assert run.state == "success"
    assert len(marketo_connection.calls("create")) == 2
    assert len(list((tmp_path / "out").glob("batch=*.csv"))) == 2
    assert elapsed < 60, f"{elapsed:.0f} s for two jobs: the poll interval was not the test pace"


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


def _docs_example_files() -> dict[str, str]:
    """The files of the ``marketo_airflow_home`` example in docs/testing.md, by the path each one names."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "testing.md").read_text()
    found = re.findall(r"<!-- example file: (\S+) -->\n```python\n(.*?)```", page, flags=re.S)
    return dict(found)


@pytest.mark.slow
def test_the_docs_dag_test_example_passes_in_a_user_project(tmp_path):
    """The DAG file and test of docs/testing.md, in a fresh project folder, pass under a plain ``pytest``."""
    files = _docs_example_files()
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
