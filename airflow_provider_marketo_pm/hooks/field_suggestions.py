"""Say which field was meant when Marketo refuses a field name (1003 "Invalid fields: leadID").

Marketo names the fields it does not know, not the ones it does. The names it knows are in the describe
calls (program member fields, lead fields), so the hook asks them once, after the refusal, and the closest
known name is suggested: case-insensitive first (``leadID`` -> ``leadId``), then by similarity (difflib).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_INVALID_FIELDS = re.compile(r"invalid fields?\s*:?\s*(?P<names>.+)", re.IGNORECASE)
_SIMILARITY_CUTOFF = 0.75


def invalid_field_names(message: str) -> list[str]:
    """The field names of Marketo's ``Invalid fields: a, b`` message; [] for any other 1003."""
    found = _INVALID_FIELDS.search(message or "")
    if not found:
        return []
    return [name.strip(" .'\"`") for name in found.group("names").split(",") if name.strip(" .'\"`")]


def described_field_names(describes: Iterable[Mapping[str, Any]]) -> list[str]:
    """
    The REST names in describe answers: program members (one record with ``fields``, each a ``name``) and
    leads (one record per field, its REST name under ``rest.name``).
    """
    names: list[str] = []
    for record in describes:
        rest = record.get("rest")
        if isinstance(rest, Mapping) and rest.get("name"):
            names.append(str(rest["name"]))
        for field in record.get("fields") or ():
            if isinstance(field, Mapping) and field.get("name"):
                names.append(str(field["name"]))
    return list(dict.fromkeys(names))


def suggest_fields(unknown: Sequence[str], known: Sequence[str]) -> dict[str, str]:
    """For each unknown name with a close known one, that known name."""
    by_lower = {name.lower(): name for name in known}
    suggestions: dict[str, str] = {}
    for name in unknown:
        exact = by_lower.get(name.lower())
        close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=_SIMILARITY_CUTOFF)
        match = exact or (by_lower[close[0]] if close else None)
        if match and match != name:
            suggestions[name] = match
    return suggestions


def describe_hint(suggestions: Mapping[str, str]) -> str:
    """``Did you mean `leadId` (for `leadID`)?`` and where the names come from."""
    meant = " ".join(f"Did you mean `{known}` (for `{name}`)?" for name, known in suggestions.items())
    where = (
        "Field names are case-sensitive REST API names from describe program members and describe lead "
        "(GET /rest/v1/programs/members/describe.json, /rest/v1/leads/describe.json)."
    )
    return f"{meant} {where}" if meant else where


__all__ = ["describe_hint", "described_field_names", "invalid_field_names", "suggest_fields"]
