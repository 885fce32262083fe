"""The documentation site builds in strict mode, and every link of the README and the docs leads somewhere.

``mkdocs build --strict`` fails on a warning: a link to a page or an anchor that does not exist, a page
left out of the navigation, an API reference that mkdocstrings cannot collect. The README is read on
GitHub and on the package index, so its links are absolute: those into this repository must name a file
that exists and, for a docs page, an anchor the site has (the site's heading ids are GitHub's).
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

#: Two builds of the whole site, API reference included (about 15 s); the docs group is a `make test` tool.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "airflow_provider_marketo_pm"
REPOSITORY = "https://github.com/airflow-provider-marketo-pm/airflow-provider-marketo-pm"
RAW = "https://raw.githubusercontent.com/airflow-provider-marketo-pm/airflow-provider-marketo-pm"
#: A link into this repository on GitHub: its path in the repository and its anchor, if any.
REPOSITORY_LINK = re.compile(
    rf"(?:{re.escape(REPOSITORY)}/(?:blob|tree)/main|{re.escape(RAW)}/main)/(?P<path>[^)#\s]+)(?:#(?P<anchor>[^)\s]+))?"
)


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(config),
            "--site-dir",
            str(site),
        ],
        cwd=config.parent,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    run = build(ROOT / "mkdocs.yml", site)
    assert run.returncode == 0, run.stderr[-6000:]
    return site


def page_html(site: Path, page: str) -> str:
    """The built HTML of a docs page (``docs/connect.md`` -> ``connect/index.html``)."""
    stem = Path(page).relative_to("docs").with_suffix("")
    built = site / ("index.html" if stem.name == "index" else f"{stem}/index.html")
    return built.read_text(encoding="utf-8")


def test_the_site_builds_strictly_with_every_page(site):
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert page_html(site, page.relative_to(ROOT).as_posix())


def test_the_api_reference_is_generated_from_the_docstrings(site):
    hook = (site / "reference/api/hooks.marketo/index.html").read_text(encoding="utf-8")
    assert "MarketoHook" in hook
    assert "marketo_conn_id" in hook  # a :param: of its docstring, rendered
    assert ":class:" not in hook  # Sphinx roles become code
    private = [path for path in (site / "reference/api").iterdir() if path.name.startswith("_")]
    assert private == []


def test_the_documented_public_api_has_its_reference_pages(site):
    """Every name test_public_api pins has an entry on the API page of the module that defines it."""
    from test_public_api import DOCUMENTED

    for module, names in DOCUMENTED.items():
        if module != module.strip():  # an old import path, kept working: its names have pages where they live
            continue
        for name in names:
            defined = getattr(importlib.import_module(module), name)
            # A class or function lives where it is defined; a constant (even an instance, whose __module__
            # is its class's) where it is named.
            home = defined.__module__ if inspect.isclass(defined) or inspect.isroutine(defined) else module
            page = site / "reference/api" / home.removeprefix(PACKAGE + ".") / "index.html"
            assert f'id="{home}.{name}"' in page.read_text(encoding="utf-8"), f"{home}.{name} has no entry"


@pytest.mark.parametrize("page", ["README.md", *sorted(p.name for p in (ROOT / "docs").glob("*.md"))])
def test_links_into_the_repository_name_what_exists(site, page):
    text = (ROOT / page if page == "README.md" else ROOT / "docs" / page).read_text(encoding="utf-8")
    links = list(REPOSITORY_LINK.finditer(text))
    if page == "README.md":
        assert links, "the README links to the docs"
    for link in links:
        path, anchor = link["path"].rstrip("/"), link["anchor"]
        assert (ROOT / path).exists(), f"{page} links to {link[0]}: no {path} in the repository"
        if anchor and path.startswith("docs/") and path.endswith(".md"):
            assert f'id="{anchor}"' in page_html(site, path), f"{page} links to {link[0]}: no such anchor"


def test_a_broken_link_or_anchor_fails_the_build(tmp_path):
    """The strictness is the config's: a copy of the docs with one bad link and one bad anchor fails."""
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (tmp_path / "airflow_provider_marketo_pm").symlink_to(ROOT / "airflow_provider_marketo_pm")
    with (tmp_path / "docs" / "start.md").open("a", encoding="utf-8") as start:
        start.write("\n[gone](no-such-page.md) and [nowhere](connect.md#no-such-heading)\n")

    run = build(tmp_path / "mkdocs.yml", tmp_path / "site")

    assert run.returncode != 0
    assert "no-such-page.md" in run.stderr
    assert "#no-such-heading" in run.stderr
