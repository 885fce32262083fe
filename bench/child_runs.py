"""Run a benchmark's child process on one tree of the package: this one (after) or an older one (before).

The venv's editable install may point at any checkout, so the tree measured goes first on
``PYTHONPATH``; the child reports the package path it imported, which the JSON keeps.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def run_child(script: str, argv: list[str], env: dict[str, str], root: Path | None) -> dict[str, Any]:
    """``script --child argv`` with ``root`` (None: this tree) first on ``PYTHONPATH``; its last JSON line."""
    child_env = {**os.environ, **env}
    child_env["PYTHONPATH"] = os.pathsep.join([str(root or REPO), child_env.get("PYTHONPATH", "")])
    command = [sys.executable, script, "--child", *argv]
    out = subprocess.run(command, env=child_env, cwd=root or REPO, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def add_tree_arguments(parser: argparse.ArgumentParser, json_path: Path) -> None:
    """``--before DIR`` (also measure an older tree), ``--json`` and the hidden ``--child``."""
    parser.add_argument("--before", type=Path, help="a tree with the package before the change")
    parser.add_argument("--json", type=Path, default=json_path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
