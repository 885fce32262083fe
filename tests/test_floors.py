"""The floors in pyproject.toml are what `make test-floors` runs on: constraints-floors.txt pins each."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _floors() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location(
        "floor_constraints", REPO_ROOT / "scripts" / "floor_constraints.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.floors(REPO_ROOT / "pyproject.toml")


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_the_floors_environment_pins_every_declared_dependency_at_its_floor():
    floors = _floors()
    pins = _pins(REPO_ROOT / "constraints-floors.txt")

    assert {name: pins.get(name) for name in floors} == floors


def test_the_floors_environment_runs_the_oldest_airflow_of_the_compat_run():
    compat = _pins(REPO_ROOT / "constraints-compat.txt")
    floors_env = _pins(REPO_ROOT / "constraints-floors.txt")

    assert floors_env["apache-airflow"] == compat["apache-airflow"]
