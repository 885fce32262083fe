"""What a user downloads: the sdist and wheel carry the licence, the typing marker and the emulator, and
nothing of the repository's tests, benchmarks or tooling; the metadata says what the package index shows."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "airflow_provider_marketo_pm"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built from this checkout with the project's own build backend."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(out)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


@pytest.fixture(scope="module")
def wheel_files(built: dict[str, Path]) -> list[str]:
    with zipfile.ZipFile(built["wheel"]) as wheel:
        return wheel.namelist()


@pytest.fixture(scope="module")
def metadata(built: dict[str, Path], wheel_files: list[str]) -> Message:
    (name,) = [f for f in wheel_files if f.endswith(".dist-info/METADATA")]
    with zipfile.ZipFile(built["wheel"]) as wheel:
        return HeaderParser().parsestr(wheel.read(name).decode())


def test_the_wheel_carries_licence_typing_marker_and_emulator(wheel_files):
    assert any(f.endswith(".dist-info/licenses/LICENSE") for f in wheel_files)
    assert any(f.endswith(".dist-info/licenses/NOTICE") for f in wheel_files)
    assert f"{PACKAGE}/py.typed" in wheel_files
    assert f"{PACKAGE}/testing/emulator/server.py" in wheel_files
    assert f"{PACKAGE}/testing/pytest_plugin.py" in wheel_files


def test_the_wheel_holds_only_the_package_and_its_metadata(wheel_files):
    package_files = [f for f in wheel_files if not re.match(r"[^/]+\.dist-info/", f)]
    shipped = (".py", "py.typed")
    stray = [f for f in package_files if not (f.startswith(f"{PACKAGE}/") and f.endswith(shipped))]
    assert stray == []
    assert not [f for f in wheel_files if "__pycache__" in f or f.endswith(".pyc")]


def test_the_sdist_holds_the_sources_licence_and_docs_but_no_tests_or_bench(built):
    with tarfile.open(built["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    documents = {"LICENSE", "NOTICE", "README.md", "CHANGELOG.md", "pyproject.toml"}
    assert {*documents, f"{PACKAGE}/py.typed"} <= names
    assert f"{PACKAGE}/testing/emulator/server.py" in names
    top_level = {name.split("/", 1)[0] for name in names} - {".gitignore"}  # hatchling always adds it
    assert top_level == {*documents, "PKG-INFO", PACKAGE}
    assert not [n for n in names if n.startswith(PACKAGE) and not n.endswith((".py", "py.typed", PACKAGE))]


def test_the_metadata_names_licence_documentation_and_user_extras_only(metadata):
    assert metadata["License-Expression"] == "Apache-2.0"
    assert set(metadata.get_all("License-File")) == {"LICENSE", "NOTICE"}
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
    assert urls["Documentation"].startswith("https://")  # Airflow shows it on the Providers page
    # Tooling lives in dependency groups: a user's `pip install pkg[...]` offers only features.
    assert set(metadata.get_all("Provides-Extra")) == {
        "s3",
        "openlineage",
        "emulator",
        "celery",
        "parquet",
        "postgres",
    }


def test_the_classifiers_name_the_python_we_test_on(metadata):
    versions = {c.rsplit(" :: ", 1)[1] for c in metadata.get_all("Classifier") if re.search(r"3\.\d+$", c)}
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in versions


def test_every_dependency_declares_a_floor(metadata):
    requirements = [r.split(";")[0] for r in metadata.get_all("Requires-Dist")]
    assert [r for r in requirements if ">=" not in r] == []


def test_the_readme_links_work_on_the_package_index_too(metadata):
    """The index renders the README without the repository: a relative link there leads nowhere."""
    readme = (REPO_ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme) + re.findall(r"<img [^>]*src=\"([^\"]+)\"", readme)
    relative = [t for t in targets if not t.startswith(("https://", "http://", "#", "mailto:"))]
    assert relative == []
