"""Griffe extension: our Sphinx-style docstrings as the Markdown mkdocstrings renders, ``#:`` comments too.

The docstrings are written for Airflow's tooling (``:param x:``, ``:class:`Name```, ``::`` blocks);
mkdocstrings reads the ``:param:`` fields itself (``docstring_style: sphinx``), but would show a role as
the literal text ``:class:`` before its name. Here a role becomes inline code, and an indented block after
``::`` a fenced Python block. A module constant documented the Sphinx way, by ``#:`` comment lines just
above it, gets that text as its docstring.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe

COMMENT_DOC = "#:"

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|exc|obj|const):`~?([^`]+)`")


def markdown(text: str) -> str:
    text = ROLE.sub(r"``\1``", text)
    lines, out, index = text.splitlines(), [], 0
    while index < len(lines):
        line = lines[index]
        if line.rstrip().endswith("::") and not line.lstrip().startswith(":"):
            out += [line.rstrip()[:-1], ""]
            index += 1
            while index < len(lines) and not lines[index].strip():
                index += 1
            block = []
            while index < len(lines) and (not lines[index].strip() or lines[index].startswith(" ")):
                block.append(lines[index])
                index += 1
            indent = min(len(b) - len(b.lstrip()) for b in block if b.strip())
            out += ["```python", *(b[indent:] for b in block), "```", ""]
            continue
        out.append(line)
        index += 1
    return "\n".join(out)


def comment_docstring(obj: griffe.Object) -> str | None:
    """The ``#:`` lines right above an attribute's first line, without their markers, or None."""
    if not obj.is_attribute or obj.lineno is None or not isinstance(obj.filepath, Path):
        return None
    lines = obj.filepath.read_text(encoding="utf-8").splitlines()[: obj.lineno - 1]
    comment: list[str] = []
    while lines and lines[-1].strip().startswith(COMMENT_DOC):
        comment.insert(0, lines.pop().strip().removeprefix(COMMENT_DOC).strip())
    return " ".join(comment) or None


class SphinxDocstrings(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is None and (text := comment_docstring(obj)):
            obj.docstring = griffe.Docstring(text, parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
