"""Say what Marketo meant when it refuses a create request (1003), from the request's export kind.

For a refused field name ("Invalid fields: leadID") Marketo names the fields it does not know, not the ones
it does. The names it knows are in the kind's describes (:attr:`ExportKind.field_describes
<airflow_provider_marketo_pm.export_kind.ExportKind.field_describes>`), so the hook reads them once, after
the refusal, and the closest known name is suggested: case-insensitive first (``leadID`` -> ``leadId``),
then by similarity (difflib). Any other 1003 gets the kind's own hint (program members: ``statusNames``).
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_marketo_pm.exceptions import MarketoError

if TYPE_CHECKING:
    from airflow_provider_marketo_pm.export_kind import ExportRequest

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
    The REST names in describe answers of either shape: records with ``fields``, each a ``name`` (program
    members, custom objects, Describe Lead2), or one record per field, its REST name under ``rest.name``
    (Describe Lead).
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


def describe_hint(suggestions: Mapping[str, str], describes: Sequence[str]) -> str:
    """``Did you mean `leadId` (for `leadID`)?`` and where the names come from."""
    meant = " ".join(f"Did you mean `{known}` (for `{name}`)?" for name, known in suggestions.items())
    where = "Field names are case-sensitive REST API names" + (
        f", as the describes list them (GET {', '.join(describes)})." if describes else "."
    )
    return f"{meant} {where}" if meant else where


def refusal_hint(
    message: str,
    request: ExportRequest,
    read_describe: Callable[[str], Iterable[Mapping[str, Any]]],
    log: logging.Logger | Any,
) -> str | None:
    """
    What to check about a create ``request`` Marketo refused with 1003 ``message``: the fields meant, read
    from the kind's describes with ``read_describe(path)`` (only when Marketo names refused fields), else
    the kind's own hint; ``None`` when there is nothing to add.
    """
    kind = request.kind
    unknown = invalid_field_names(message)
    if not unknown:
        return kind.refusal_hint(request.body) if kind.refusal_hint is not None else None
    try:
        describes = [record for path in kind.field_describes for record in read_describe(path)]
    except MarketoError as describe_error:
        log.warning("Could not read the described fields to suggest one: %s", describe_error)
        describes = []
    return describe_hint(suggest_fields(unknown, described_field_names(describes)), kind.field_describes)


__all__: list[str] = []
