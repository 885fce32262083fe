"""``scripts/demo.py``: it never empties a folder it did not make, a successful run prints no notice
a user cannot act on, and a failed one names the failed job."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo.py"


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("marketo_pm_demo_script", DEMO)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = load_demo()


def run_demo(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEMO), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


class TestClaimFolder:
    def test_a_new_folder_is_created_and_marked(self, tmp_path):
        folder = tmp_path / "out" / "nested"
        demo.claim_folder(folder, "output folder")
        assert sorted(p.name for p in folder.iterdir()) == [demo.MARKER]

    def test_an_empty_folder_is_used_and_marked(self, tmp_path):
        demo.claim_folder(tmp_path, "output folder")
        assert sorted(p.name for p in tmp_path.iterdir()) == [demo.MARKER]

    def test_a_folder_the_demo_made_earlier_is_emptied(self, tmp_path):
        demo.claim_folder(tmp_path, "output folder")
        (tmp_path / "backfill").mkdir()
        (tmp_path / "backfill" / "batch=00.csv").write_text("leadId\n1\n")
        demo.claim_folder(tmp_path, "output folder")
        assert sorted(p.name for p in tmp_path.iterdir()) == [demo.MARKER]

    def test_a_non_empty_folder_without_the_marker_is_refused_and_left_intact(self, tmp_path):
        (tmp_path / "thesis.tex").write_text("years of work")
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "keep.csv").write_text("a,b\n")
        with pytest.raises(SystemExit, match=r"Refusing to use .* not empty and the demo did not create it"):
            demo.claim_folder(tmp_path, "output folder")
        assert (tmp_path / "thesis.tex").read_text() == "years of work"
        assert (tmp_path / "data" / "keep.csv").read_text() == "a,b\n"
        assert not (tmp_path / demo.MARKER).exists()

    def test_a_file_is_refused(self, tmp_path):
        target = tmp_path / "notes.txt"
        target.write_text("mine")
        with pytest.raises(SystemExit, match="it is a file, not a folder"):
            demo.claim_folder(target, "output folder")
        assert target.read_text() == "mine"


class TestCommandLine:
    def test_help_says_which_folders_it_empties(self):
        done = run_demo("--help")
        assert done.returncode == 0
        text = " ".join(done.stdout.split())
        assert "--output" in text
        assert "--airflow-home" in text
        assert f"only folders it made itself: it marks them with a {demo.MARKER} file" in text
        assert f"not empty and has no {demo.MARKER} file is refused, and nothing in it is deleted" in text

    def test_a_non_empty_output_folder_stops_the_demo_before_anything_runs(self, tmp_path):
        output, home = tmp_path / "mine", tmp_path / "home"
        output.mkdir()
        (output / "report.csv").write_text("precious")
        done = run_demo("--output", str(output), "--airflow-home", str(home))
        assert done.returncode == 1
        assert f"Refusing to use {output} as the output folder" in done.stderr
        assert "nothing was deleted" in done.stderr
        assert (output / "report.csv").read_text() == "precious"
        assert not home.exists(), "refused before preparing Airflow"
        assert "OK" not in done.stdout

    def test_a_non_empty_airflow_home_without_the_marker_is_refused(self, tmp_path):
        home = tmp_path / "airflow"
        home.mkdir()
        (home / "airflow.cfg").write_text("[core]\n")
        done = run_demo("--output", str(tmp_path / "out"), "--airflow-home", str(home))
        assert done.returncode == 1
        assert f"Refusing to use {home} as the Airflow home" in done.stderr
        assert (home / "airflow.cfg").read_text() == "[core]\n"


def make_dry_run(target: str, *variables: str) -> list[str]:
    """The commands ``make <target>`` would run from nothing (``-B``: as if no environment existed yet)."""
    # Run from `make test` itself, a sub-make would print "Entering/Leaving directory" lines and inherit
    # the outer make's flags: a make of its own, as a user runs it.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", target, *variables],
        cwd=DEMO.parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


def test_make_demo_installs_only_what_the_demo_needs_in_its_own_environment():
    commands = make_dry_run("demo")
    installs = [line for line in commands if " -m pip install " in line]

    assert installs == ['.venv-demo/bin/python -m pip install --quiet -c constraints.txt -e ".[emulator]"']
    assert commands[-1] == ".venv-demo/bin/python scripts/demo.py"
    assert not any(".venv/" in line for line in commands), "the dev environment is not built for the demo"


@pytest.mark.parametrize("kind", ["leads", "activities", "custom_objects"])
def test_make_demo_with_a_kind_runs_that_kinds_example_dag(kind):
    assert make_dry_run("demo", f"KIND={kind}")[-1] == f".venv-demo/bin/python scripts/demo.py --kind {kind}"
    assert demo.KIND_DAGS[kind] in {path.stem for path in demo.DAGS_FOLDER.glob("*.py")}


def test_a_kinds_demo_covers_the_same_range_as_the_backfills(tmp_path):
    daily, daily_at = demo.kind_run_conf("leads", "2024-01-01", "2024-05-01", tmp_path)
    snapshot, snapshot_at = demo.kind_run_conf("custom_objects", "2024-01-01", "2024-05-01", tmp_path)

    assert daily_at == snapshot_at == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    assert daily == {"days": 121, "destination": tmp_path.as_uri()}  # the run at May 1 reaches back to Jan 1
    assert snapshot == {"api_name": "car_c", "since": "2024-01-01", "destination": tmp_path.as_uri()}


def test_make_test_still_builds_the_whole_dev_environment():
    installs = [line for line in make_dry_run("test") if " -m pip install " in line and "-e " in line]

    assert installs == [
        ".venv/bin/python -m pip install --quiet -c constraints.txt "
        '-e ".[emulator,s3,openlineage,parquet,postgres,celery]" --group dev'
    ]


#: What Airflow's own stack prints that a demo user can do nothing about (quiet_notices_nobody_can_act_on).
NOTICES_NOBODY_CAN_ACT_ON = (
    "starlette.testclient",
    "httpx2",
    "graphviz",
    "Skipping masking for a secret",
)


@pytest.mark.slow
def test_a_successful_run_prints_no_notice_the_user_cannot_act_on(tmp_path):
    # Two windows, one program: two jobs, with the demo's 0.5 s poll interval Variable (a short value that
    # makes Airflow's secrets masker speak) read by every waiting task.
    done = run_demo(
        *("--start", "2024-01-01", "--end", "2024-02-10", "--program-ids", "1044"),
        *("--output", str(tmp_path / "out"), "--airflow-home", str(tmp_path / "home")),
        timeout=240,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "checksums  2/2 verified" in done.stdout
    assert done.stdout.rstrip().endswith("OK")
    for notice in NOTICES_NOBODY_CAN_ACT_ON:
        assert notice not in output


@pytest.mark.slow
def test_a_kinds_demo_runs_its_example_dag_and_verifies_every_file(tmp_path):
    done = run_demo(
        *("--kind", "activities", "--start", "2026-10-01", "--end", "2026-10-08"),
        *("--output", str(tmp_path / "out"), "--airflow-home", str(tmp_path / "home")),
        timeout=240,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Marketo activities demo (marketo_activities_daily)" in done.stdout
    assert "jobs       2 export jobs created" in done.stdout  # one window x two activity types
    assert "checksums  2/2 verified" in done.stdout
    assert done.stdout.rstrip().endswith("OK")


@pytest.mark.slow
def test_a_failed_run_names_the_failed_window_batch_and_export_id(tmp_path):
    done = run_demo(
        *("--start", "2024-01-01", "--end", "2024-01-10", "--program-ids", "1044", "--fail-one-job"),
        *("--output", str(tmp_path / "out"), "--airflow-home", str(tmp_path / "home")),
        timeout=240,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    summary = done.stderr[done.stderr.rindex("FAILED:") :]
    line = next(line.strip() for line in summary.splitlines() if line.strip().startswith("window "))
    assert re.fullmatch(
        r"window 2024-01-01\.\.2024-01-10, batch 00 \(programs 1044\): exportId [0-9a-f-]{36} Failed "
        r"\(Injected by scripts/demo\.py --fail-one-job\); export_job\.start_export failed",
        line,
    ), line
    assert "OK" not in done.stdout
