"""docs/fidelity.md is generated from its rows, and every row names tests that exist."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest
from fidelity_rows import PENDING, ROWS
from render_fidelity import TARGET, render

REPO = Path(__file__).resolve().parents[2]
# Emulator tests that use only plain HTTP clients; the hook-level test beside them exercises the provider.
EMULATOR_ONLY = "tests/testing/test_emulator_"


@cache
def defined_tests(path: str) -> frozenset[str]:
    """``name`` and ``Class::name`` of every test function the file defines."""
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            names.add(node.name)
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names |= {
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test")
            }
    return frozenset(names)


@pytest.mark.parametrize("row", ROWS, ids=[row.behaviour[:50] for row in ROWS])
def test_every_row_names_tests_that_exist(row):
    assert row.tests, f"{row.behaviour!r} names no test"
    for node in row.tests:
        path, _, name = node.partition("::")
        assert path.startswith("tests/"), f"{node}: not under tests/"
        assert (REPO / path).is_file(), f"{node}: no such test file"
        assert name in defined_tests(path), f"{node}: no such test in {path}"


@pytest.mark.parametrize("row", ROWS, ids=[row.behaviour[:50] for row in ROWS])
def test_a_provider_claim_is_shown_by_a_provider_test(row):
    """Unless the provider side is wholly pending, one named test must exercise the provider itself."""
    for column in (row.behaviour, row.source, row.emulator, row.provider):
        assert column.strip()
    if row.provider != PENDING:
        provider_tests = [node for node in row.tests if not node.startswith(EMULATOR_ONLY)]
        assert provider_tests, f"{row.behaviour!r}: the provider column is backed by no provider test"


def test_each_production_oddity_has_an_injectable_fault_named_in_its_row():
    controls = (
        "Fault(",
        "created_after_enqueue",
        "delay_next_file",
        "omit_from_next_completion",
        "nul_bytes",
    )
    for row in (row for row in ROWS if row.production):
        assert any(control in row.emulator for control in controls), row.behaviour


def test_the_page_is_the_rendered_rows():
    assert TARGET.read_text(encoding="utf-8") == render(), (
        "docs/fidelity.md is out of date: run `python tests/fidelity/render_fidelity.py`"
    )
