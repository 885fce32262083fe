"""The Dockerfile's build steps, run without Docker: the same files, the same wheel, the same pip command.

The image build is the one step of the compose stack that takes long and fails late. Here the build
context is the Dockerfile's COPY sources only, the wheel is built from it, and the Dockerfile's own
``pip install`` line (Airflow pinned to the base image's version, the provider with its extras) is
resolved against this environment, which runs the Airflow of the base image.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from zipfile import ZipFile

import pytest
from compose_settings import DOCKERFILE, ROOT, dockerfile_base_image

pytestmark = pytest.mark.slow

DIST = "airflow-provider-marketo-pm"


def dockerfile_instructions(keyword: str) -> list[str]:
    """The arguments of every ``keyword`` instruction, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in text.splitlines() if line.startswith(f"{keyword} ")]


def copy_build_context(into: Path) -> None:
    """Lay out what the Dockerfile's COPY instructions put into the image, under ``into``."""
    for instruction in dockerfile_instructions("COPY"):
        *sources, destination = [arg for arg in shlex.split(instruction) if not arg.startswith("--")]
        target = into / destination.lstrip("/")
        for source in sources:
            path = ROOT / source
            if path.is_dir():
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target / path.name)


def pip_install_arguments(root: Path) -> list[str]:
    """The Dockerfile's ``pip install`` arguments, its paths under ``root``, its ARGs resolved."""
    (run,) = [line for line in dockerfile_instructions("RUN") if line.startswith("pip install ")]
    airflow_version, _ = dockerfile_base_image()
    arguments = shlex.split(run.removeprefix("pip install ").replace("${AIRFLOW_VERSION}", airflow_version))
    return [str(root) + arg if arg.startswith("/opt/") else arg for arg in arguments]


def pip(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pip", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"pip {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def image_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("image")
    copy_build_context(root)
    return root


def test_the_build_context_holds_only_what_the_wheel_needs(image_root):
    (source,) = [arg for arg in pip_install_arguments(image_root) if "[" in arg]
    project = Path(source.split("[", 1)[0])
    assert sorted(p.name for p in project.iterdir()) == [
        "LICENSE",  # hatchling puts the licence files in the wheel: without them it refuses to build
        "NOTICE",
        "README.md",
        "airflow_provider_marketo_pm",
        "pyproject.toml",
    ]


def test_the_copied_sources_build_the_wheel_and_it_installs_and_registers(image_root, tmp_path):
    (source,) = [arg for arg in pip_install_arguments(image_root) if "[" in arg]
    pip("wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"), source.split("[", 1)[0], cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert wheel.name == f"{DIST.replace('-', '_')}-{version}-py3-none-any.whl"
    with ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "airflow_provider_marketo_pm/testing/emulator/server.py" in names  # compose's emulator service

    site = tmp_path / "site"
    pip("install", "--no-deps", "--quiet", "--target", str(site), str(wheel), cwd=tmp_path)
    probe = textwrap.dedent(
        f"""
        import importlib.metadata, json
        import airflow_provider_marketo_pm
        import airflow_provider_marketo_pm.testing.emulator
        import airflow_provider_marketo_pm.triggers.program_members

        (entry_point,) = importlib.metadata.distribution({DIST!r}).entry_points.select(
            group="apache_airflow_provider"
        )
        info = entry_point.load()()
        print(json.dumps({{"file": airflow_provider_marketo_pm.__file__, "package": info["package-name"]}}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["file"].startswith(str(site))
    assert found["package"] == DIST


def test_the_dockerfile_pip_command_keeps_airflow_and_adds_only_the_provider(image_root, tmp_path):
    """Resolved against this environment (the base image's Airflow): nothing but the provider changes."""
    report = tmp_path / "report.json"
    pip(
        "install",
        "--dry-run",
        "--quiet",
        "--report",
        str(report),
        *pip_install_arguments(image_root),
        cwd=tmp_path,
    )
    installs = json.loads(report.read_text())["install"]
    assert [item["metadata"]["name"] for item in installs] == [DIST]
    assert sorted(installs[0]["requested_extras"]) == ["emulator", "s3"]
    assert re.fullmatch(r"[\d.]+", dockerfile_base_image()[0])
