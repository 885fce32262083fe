"""MkDocs hook: one API reference page per module of the package, generated at build time.

Each page is ``::: <module>`` (mkdocstrings renders its docstrings), listed under Reference > API in the
navigation, one section per subpackage. The pages follow the package's modules as they are, so a module
added, renamed or removed needs no edit here; a private module (``_name``) gets no page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

PACKAGE = "airflow_provider_marketo_pm"
ROOT = Path(__file__).resolve().parents[2]
PAGES = "reference/api"


def public_modules() -> list[tuple[str, bool]]:
    """(dotted name, is a package) of every module whose path has no ``_private`` part."""
    modules = []
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts.pop()
        if not any(part.startswith("_") for part in parts):
            modules.append((".".join(parts), package))
    return modules


def page_uri(module: str) -> str:
    relative = module.removeprefix(PACKAGE).removeprefix(".") or "index"
    return f"{PAGES}/{relative}.md"


def api_nav() -> list[Any]:
    """The package and its top-level modules first, then one section per subpackage (nested ones flat)."""
    top: list[Any] = []
    sections: dict[str, list[Any]] = {}
    for module, package in public_modules():
        parts = module.split(".")
        entry = {module.removeprefix(PACKAGE + "."): page_uri(module)}
        if len(parts) == 1 or (len(parts) == 2 and not package):
            top.append(entry)
        else:
            sections.setdefault(parts[1], []).append(entry)
    return top + [{name: pages} for name, pages in sections.items()]


def on_config(config: Any, **kwargs: Any) -> Any:
    reference = next(entry for entry in config["nav"] if isinstance(entry, dict) and "Reference" in entry)
    reference["Reference"].append({"API": api_nav()})
    return config


def on_files(files: Files, config: Any, **kwargs: Any) -> Files:
    for module, _package in public_modules():
        content = f"# `{module}`\n\n::: {module}\n"
        files.append(File.generated(config, page_uri(module), content=content))
    return files
