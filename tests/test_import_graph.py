"""The package's import graph: no cycles, and no module importing from a layer above its own.

Every ``import`` statement of every module counts: at the top, inside a function, under ``TYPE_CHECKING``
(a type-only import of a module above is still a module knowing the one above it). ``_compat`` looks the
new names up by name when an old one is used, so that every module may use it: those are no imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import airflow_provider_marketo_pm

PACKAGE = airflow_provider_marketo_pm.__name__
ROOT = Path(airflow_provider_marketo_pm.__file__).parent

LAYERS: list[set[str]] = [
    # The package itself (its version), its exceptions and the helpers every module may use.
    {"", "_compat", "version_compat", "redaction", "exceptions", "arguments"},
    # Requests, rules and files, known without talking to Marketo.
    {
        "export_kind",
        "validation",
        "kinds",
        "backfill_plan",
        "backfill_runs",
        "kind_tables",
        "field_suggestions",
        "program_selection",
        "daily_quota",
        "export_budget",
        "plan_summary",
        "export_status",
        "windows",
        "destination",
        "partial_files",
        "export_schema",
        "typed_csv",
        "parquet_export",
        "retry_policy",
        "get_provider_info",
    },
    {"hooks"},
    # What reads Marketo through a hook: describes, verified downloads, rows and tables.
    {"verified_download", "rows", "removed_memberships", "postgres_load"},
    {"triggers"},
    # The worker side of the lifecycle the start and the sensor share (deferral, the completion wait).
    {"lifecycle", "task_arguments"},
    {"sensors"},  # below the operators: a sensor never imports an operator
    {"operators"},
    {"task_groups"},
    {"testing"},
]
"""From the bottom up: a module may import its own layer and the layers below (a package, such as
``hooks``, is one entry for all its modules)."""

TESTING_NEVER_IMPORTS = ("triggers", "sensors", "operators", "task_groups")
"""The test kit (emulator, quota day, pytest plugin) stands beside the provider's tasks, not on them."""

KNOWN_UPWARD_IMPORTS: set[tuple[str, str]] = set()
"""Imports from a layer above that are allowed for now: none."""


def module_name(path: Path) -> str:
    """``hooks.marketo`` for ``hooks/marketo.py``; ``""`` for the package's ``__init__.py``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def own_module(dotted: str) -> str | None:
    """The package module an absolute import names (the longest known prefix), or ``None`` if outside."""
    if dotted != PACKAGE and not dotted.startswith(PACKAGE + "."):
        return None
    name = dotted.removeprefix(PACKAGE).removeprefix(".")
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports_of(name: str) -> set[str]:
    """The package modules ``name`` imports, anywhere in it."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package) - {name}


def imports_in(source: str, package: str) -> set[str]:
    """The package modules a module's ``source`` imports; ``package`` anchors its relative imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, up level - 1
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([PACKAGE, *anchor, *([base] if base else [])])
            # ``from pkg import submodule`` imports the submodule; ``from module import name``, the module.
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(target for target in map(own_module, targets) if target is not None)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def layer_of(name: str) -> int:
    for index, layer in enumerate(LAYERS):
        if name in layer or name.split(".")[0] in layer:
            return index
    raise AssertionError(f"{name or PACKAGE!r} is in no layer of LAYERS: place it there")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: each strongly connected group of modules larger than one (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = [stack.pop()]
            while group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def upward_imports(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if layer_of(target) > layer_of(source)
        or (source.split(".")[0] == "testing" and target.split(".")[0] in TESTING_NEVER_IMPORTS)
    }


def test_every_module_has_a_layer():
    for name in MODULES:
        layer_of(name)


def test_the_package_has_no_import_cycle():
    assert cycles(GRAPH) == []


def test_no_module_imports_from_a_layer_above_its_own():
    assert upward_imports(GRAPH) - KNOWN_UPWARD_IMPORTS == set()


def test_the_known_upward_imports_are_still_there_so_the_list_only_shrinks():
    assert upward_imports(GRAPH) >= KNOWN_UPWARD_IMPORTS


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ],
)
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert cycles(graph) == expected


def test_the_walk_sees_every_kind_of_import():
    source = """
from typing import TYPE_CHECKING
import airflow_provider_marketo_pm.exceptions
from airflow_provider_marketo_pm import daily_quota
from . import export_file
from ..triggers.bulk_export import MarketoExportStatusTrigger
if TYPE_CHECKING:
    from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
def later():
    from airflow_provider_marketo_pm.operators import bulk_export
"""
    assert imports_in(source, "hooks") == {
        "exceptions",
        "daily_quota",
        "hooks.export_file",
        "triggers.bulk_export",
        "hooks.marketo",
        "operators.bulk_export",
    }


def test_an_import_from_above_or_from_testing_into_the_tasks_is_found():
    assert upward_imports({"exceptions": {"hooks.marketo"}, "hooks.marketo": set()}) == {
        ("exceptions", "hooks.marketo")
    }
    assert upward_imports({"sensors.x": {"operators.y"}, "operators.y": {"sensors.x"}}) == {
        ("sensors.x", "operators.y")
    }
    assert upward_imports({"testing.quota_day": {"operators.bulk_export"}, "operators.bulk_export": set()})
