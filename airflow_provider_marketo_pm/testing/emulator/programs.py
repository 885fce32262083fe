"""The Asset API's program browse (``GET /rest/asset/v1/programs.json``) over the emulator's dataset.

``maxReturn`` (default 20, at most 200) and ``offset`` page through programs in id order; ``filterType``
(``id``, ``programId``, ``folderId`` or ``workspace``) with comma-separated ``filterValues`` narrows them;
``earliestUpdatedAt``/``latestUpdatedAt`` bound the program's own updatedAt (which membership changes do not
move).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from airflow_provider_marketo_pm.testing.emulator.dataset import Dataset, Program
from airflow_provider_marketo_pm.testing.emulator.errors import invalid

DEFAULT_MAX_RETURN = 20
MAX_RETURN = 200
FILTER_TYPES = ("id", "programId", "folderId", "workspace")


def browse_programs(dataset: Dataset, query: Mapping[str, str]) -> list[dict[str, Any]]:
    """One page of programs as the Asset API answers them; raises 1003 for a bad parameter."""
    max_return = _integer(query, "maxReturn", DEFAULT_MAX_RETURN, minimum=1, maximum=MAX_RETURN)
    offset = _integer(query, "offset", 0, minimum=0, maximum=None)
    programs = [p for p in sorted(dataset.programs.values(), key=lambda p: p.id) if _wanted(p, query)]
    return [program.asset() for program in programs[offset : offset + max_return]]


def _wanted(program: Program, query: Mapping[str, str]) -> bool:
    filter_type, values = query.get("filterType"), query.get("filterValues")
    if filter_type is not None or values is not None:
        if filter_type not in FILTER_TYPES:
            raise invalid(f"Invalid filterType {filter_type!r}: use one of {', '.join(FILTER_TYPES)}")
        wanted = {v.strip() for v in (values or "").split(",") if v.strip()}
        if not wanted:
            raise invalid(f"filterType {filter_type} requires filterValues")
        actual = {
            "id": str(program.id),
            "programId": str(program.id),
            "folderId": str(program.folder_id),
            "workspace": program.workspace,
        }[filter_type]
        if actual not in wanted:
            return False
    earliest, latest = _instant(query, "earliestUpdatedAt"), _instant(query, "latestUpdatedAt")
    if earliest is not None and program.updated_at < earliest:
        return False
    return latest is None or program.updated_at <= latest


def _integer(query: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < minimum or (maximum is not None and int(text) > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        raise invalid(f"{name} must be an integer {bound}, got {text!r}")
    return int(text)


def _instant(query: Mapping[str, str], name: str) -> float | None:
    text = query.get(name)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise invalid(f"{name} is not an ISO-8601 datetime: {text!r}") from None
    if parsed.tzinfo is None:
        raise invalid(f"{name} needs a time zone (Z or an offset): {text!r}")
    return parsed.timestamp()
