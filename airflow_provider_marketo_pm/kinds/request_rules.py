"""The create-request rules the lead, activity and custom object kinds share, besides the program member ones.

Fields, format, ``columnHeaderNames`` and time bounds are checked by
:mod:`~airflow_provider_marketo_pm.validation` exactly as for program members; this module adds what only
the other kinds have: a date range under any filter name (``createdAt`` too), "exactly one filter type",
the static and smart list filters, id and name lists, and the 1035 hint ("this subscription lacks that
filter: use this one instead").
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.field_suggestions import suggest_fields
from airflow_provider_marketo_pm.validation import (
    MAX_PROGRAM_ID,
    _shown,
    parse_column_header_names,
    parse_date_window,
    parse_fields,
    parse_format,
    parse_program_id,
)

LIST_FILTERS = ("staticListId", "staticListName", "smartListId", "smartListName")
"""Filters naming a static or smart list, by id or name: a job exports the list's leads (or their records)."""
MAX_ID = MAX_PROGRAM_ID
"""Marketo's list, activity type and primary attribute ids are int32, as program ids are."""


def create_body(
    fields: Any,
    format: Any,
    filter: dict[str, Any],
    column_header_names: Any,
    *,
    default_fields: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A create body of fields, format, an already checked filter and optional ``columnHeaderNames``.

    ``fields`` is read by :func:`validation.parse_fields` (REST names: letters, digits, underscores). A kind
    whose ``fields`` is optional passes its ``default_fields``: ``fields=None`` is then left out of the body,
    and ``columnHeaderNames`` may rename the default columns.
    """
    body: dict[str, Any] = {}
    if fields is None and default_fields is not None:
        columns = list(default_fields)
    else:
        columns = body["fields"] = parse_fields(fields)
    body["format"] = parse_format(format)
    body["filter"] = filter
    headers = parse_column_header_names(column_header_names, columns)
    if headers:
        body["columnHeaderNames"] = headers
    return body


def filter_mapping(value: Any, allowed: Sequence[str], example: str) -> Mapping[str, Any]:
    """The request's filter: a mapping whose keys are all ``allowed``, or MarketoRequestError."""
    if not isinstance(value, Mapping):
        raise MarketoRequestError("filter", _shown(value), f"must be a mapping such as {example}")
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        raise MarketoRequestError(
            f"filter.{unknown[0]}",
            _shown(value[unknown[0]]),
            f"unknown filter key; allowed keys are {', '.join(allowed)}",
        )
    return value


def one_filter_type(value: Mapping[str, Any], choices: Sequence[str]) -> str:
    """The one filter type of a lead or custom object job (Marketo takes exactly one)."""
    given = [name for name in choices if name in value]
    if len(given) != 1:
        found = f"; got {' and '.join(given)}" if given else ""
        raise MarketoRequestError(
            "filter",
            {key: _shown(value[key]) for key in value},
            f"needs exactly one of {', '.join(choices)}{found}",
        )
    return given[0]


def date_range(key: str, value: Any) -> dict[str, str]:
    """A ``{startAt, endAt}`` range under any filter name (:func:`validation.parse_date_window`).

    Both bounds are read by :func:`validation.parse_instant` and floored to whole seconds; the range is
    non-empty and at most 31 days (every bulk extract's limit). Errors name ``key`` (``filter.createdAt``).
    """
    return parse_date_window(key, value)


def positive_id(key: str, value: Any, what: str) -> int:
    """A positive int32 id (or its canonical decimal string, as Jinja renders it), read as a program id is."""
    try:
        return parse_program_id(key, value)
    except MarketoRequestError:
        rule = (
            f"must be a positive integer {what} up to {MAX_ID}: an int, or its decimal string such as "
            "'1044' (no sign, spaces or leading zeros)"
        )
        raise MarketoRequestError(key, _shown(value), rule) from None


def list_filter(filter_type: str, value: Any) -> int | str:
    """The value of a ``staticList*``/``smartList*`` filter: a list id, or a list's name."""
    key = f"filter.{filter_type}"
    if filter_type.endswith("Id"):
        return positive_id(key, value, "list id")
    if not isinstance(value, str) or not value.strip():
        raise MarketoRequestError(key, _shown(value), "must be the list's name, a non-empty string")
    return value


def one_date_or_list_filter(
    value: Any, filter_types: Sequence[str], date_filters: Sequence[str], example: str
) -> dict[str, Any]:
    """A filter of exactly one type among ``filter_types``: a date range (``date_filters``) or a list."""
    checked = filter_mapping(value, filter_types, example)
    filter_type = one_filter_type(checked, filter_types)
    raw = checked[filter_type]
    if filter_type in date_filters:
        return {filter_type: date_range(f"filter.{filter_type}", raw)}
    return {filter_type: list_filter(filter_type, raw)}


def id_list(key: str, value: Any, what: str, *, most: int | None = None) -> list[int]:
    """A non-empty list of distinct positive int32 ids (``most`` at most), e.g. ``activityTypeIds``."""
    _check_list(key, value, what, most)
    ids = [positive_id(key, item, what) for item in value]
    if len(set(ids)) != len(ids):
        raise MarketoRequestError(key, shown(value), f"{what}s must not repeat")
    return ids


def name_list(key: str, value: Any, what: str, *, most: int | None = None) -> list[str]:
    """A non-empty list of distinct non-empty strings (``most`` at most), e.g. ``primaryAttributeValues``."""
    _check_list(key, value, what, most)
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise MarketoRequestError(key, _shown(item), f"every {what} must be a non-empty string")
    if len(set(value)) != len(value):
        raise MarketoRequestError(key, shown(value), f"{what}s must not repeat")
    return list(value)


def _check_list(key: str, value: Any, what: str, most: int | None) -> None:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        rule = (
            f"must be a list of {what}s (a templated list renders as a string unless the DAG sets "
            "render_template_as_native_obj=True)"
        )
        raise MarketoRequestError(key, _shown(value), rule)
    if not value or (most is not None and len(value) > most):
        bound = f"1 to {most} {what}s" if most is not None else f"at least one {what}"
        raise MarketoRequestError(key, shown(value), f"must hold {bound}, not {len(value)}")


def shown(value: Any) -> Any:
    """A value as an error shows it: a list in full up to 10 items, else its length; long texts, ints cut."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_shown(item) for item in value] if len(value) <= 10 else f"<a list of {len(value)} items>"
    return _shown(value)


def did_you_mean(unknown: str, known: Collection[str]) -> str:
    """`` Did you mean `Visit Webpage`?`` for a close known name (case-insensitive, then difflib); or ''."""
    meant = suggest_fields([unknown], list(known)).get(unknown)
    return f" Did you mean `{meant}`?" if meant else ""


def unsupported_filter_hint(
    message: str, kind: str, instead: Mapping[str, str], usual: Sequence[str] | None = None
) -> str:
    """What to do about Marketo's 1035 "Unsupported filter type for target subscription" on one kind.

    ``instead`` maps each filter a subscription may lack to what to use in its place. The filters named in
    Marketo's ``message`` are explained; when it names none (Marketo's text often does not), the ``usual``
    ones (by default all of ``instead``): those Marketo documents as not on every subscription.
    """
    text = message if isinstance(message, str) else ""
    named = [name for name in instead if re.search(rf"\b{re.escape(name)}\b", text)]
    shown = named or [name for name in (instead if usual is None else usual) if name in instead]
    advice = " ".join(f"Instead of {name}: {instead[name]}" for name in shown)
    lacks = " and ".join(named) if named else "a filter of this request"
    return (
        f"This Marketo subscription does not support {lacks} for {kind} exports (Marketo has not enabled "
        f"every filter on every subscription; Marketo support can enable it). {advice}"
    ).rstrip()


__all__ = [
    "LIST_FILTERS",
    "MAX_ID",
    "create_body",
    "date_range",
    "did_you_mean",
    "filter_mapping",
    "id_list",
    "list_filter",
    "name_list",
    "one_filter_type",
    "positive_id",
    "shown",
    "unsupported_filter_hint",
]
