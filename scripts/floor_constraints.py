"""The declared floors of pyproject.toml as pins (``>=X`` -> ``==X``): the dependencies and the user extras.

constraints-floors.txt is the floors environment of ``make test-floors``: these pins on Airflow 3.0.6, plus
the versions of everything else that they allow (resolved once, then frozen so the install is quick).
tests/test_floors.py checks it pins each floor exactly. After changing a floor, print the new pins with

    python scripts/floor_constraints.py

put them into constraints-floors.txt, and let pip settle the rest (``pip check`` in .venv-floors).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

# Extras whose dependencies are floored too (their suites run in the floors environment).
EXTRAS = ("s3", "openlineage", "parquet", "postgres")
# Pinned by the base constraints: Airflow's floor is proven by `make test-compat` on its oldest 3.0.x.
NOT_FLOORED = {"apache-airflow"}

REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def floors(pyproject: Path) -> dict[str, str]:
    """``{name: floor}`` for every dependency (and extra dependency) declared with ``>=``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in EXTRAS:
        requirements += project["optional-dependencies"][extra]
    found: dict[str, str] = {}
    for requirement in requirements:
        match = REQUIREMENT.match(requirement.split(";")[0])
        if match is None:
            raise SystemExit(f"cannot read requirement {requirement!r}")
        name, spec = canonical(match[1]), match[2]
        lower = re.search(r">=\s*([0-9][^,\s]*)", spec)
        if lower is None:
            raise SystemExit(f"{requirement!r} declares no floor (>=): every dependency needs one")
        if name not in NOT_FLOORED:
            found[name] = lower[1]
    return found


def main(pyproject: str = "pyproject.toml") -> None:
    print("\n".join(f"{name}=={version}" for name, version in sorted(floors(Path(pyproject)).items())))


if __name__ == "__main__":
    main(*sys.argv[1:])
