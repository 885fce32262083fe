"""The rules every export kind's request shares, checked before anything reaches the network.

Marketo answers a bad request with a terse error code after a round trip (and sometimes only after the job
has been queued); checking here gives an error that names the key, the value and the rule instead. Each
kind's own filter rules live with the kind (:mod:`airflow_provider_marketo_pm.kinds`); these are the rules
they share: REST field names, the file format, column headers, time bounds and date windows, program ids.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_marketo_pm._compat import moved_names
from airflow_provider_marketo_pm.exceptions import MarketoRequestError

EXPORT_FORMATS = ("CSV", "TSV", "SSV")
MAX_UPDATED_AT_DAYS = 31
"""The longest date window of any bulk extract's filter (``updatedAt``, ``createdAt``), in days."""
MAX_PROGRAM_ID = 2**31 - 1
"""Marketo's program ids are int32."""
EARLIEST_INSTANT = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST_INSTANT = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)
"""Time bounds are read within [1970, 3000): nothing in Marketo is older, and near year 1 or 9999 Python
cannot even shift a time to UTC."""
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""A REST API field name: ASCII letters, digits and underscores (no commas, spaces, quotes or emoji)."""
_CANONICAL_POSITIVE_INT = re.compile(r"[1-9][0-9]{0,9}")
ZERO_LENGTH_WINDOW = (
    "they are equal, which is what data_interval_start/end give in Airflow 3 with a plain cron schedule "
    '(schedule="@daily" runs have zero-length data intervals): schedule the DAG with '
    'CronDataIntervalTimetable("@daily", timezone="UTC") (from airflow.sdk; on Airflow 3.0 from '
    "airflow.timetables.interval) so that each run covers the period before it"
)


def format_marketo_datetime(value: dt.datetime) -> str:
    """Render an aware datetime the way Marketo wants it: UTC, ISO-8601, no fractional seconds."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_fields(fields: Any) -> list[str]:
    """A list of unique REST API field names (see :data:`FIELD_NAME`), or MarketoRequestError."""
    if isinstance(fields, str | bytes) or not isinstance(fields, Sequence):
        raise MarketoRequestError("fields", fields, "must be a list of field names (strings)")
    if not fields:
        raise MarketoRequestError("fields", fields, "must name at least one field")
    seen: set[str] = set()
    for name in fields:
        if not isinstance(name, str) or not name.strip():
            raise MarketoRequestError("fields", name, "every field name must be a non-empty string")
        if not FIELD_NAME.fullmatch(name):
            raise MarketoRequestError(
                "fields",
                name,
                "a field name is a REST API name: ASCII letters, digits and underscores only (no commas, "
                "spaces or other characters; one list item per field)",
            )
        if name in seen:
            raise MarketoRequestError("fields", name, "field names must not repeat")
        seen.add(name)
    return list(fields)


def parse_format(value: Any) -> str:
    """CSV, TSV or SSV in any case, sent in upper case."""
    if not isinstance(value, str) or value.upper() not in EXPORT_FORMATS:
        raise MarketoRequestError("format", value, f"must be one of {', '.join(EXPORT_FORMATS)}")
    return value.upper()


def parse_program_id(key: str, value: Any) -> int:
    """
    Accept a positive int32, or its canonical decimal string: Jinja renders ``{{ params.program_id }}``
    to ``"1044"`` unless the DAG sets ``render_template_as_native_obj=True``. ``"01044"``, ``" 1044"``,
    ``"1e3"`` or ``"+5"`` are refused: a program id is sent exactly as it was written, or not at all.
    """
    rule = (
        f"must be a positive integer program id up to {MAX_PROGRAM_ID}: an int, or its decimal string "
        "such as '1044' (no sign, spaces or leading zeros)"
    )
    if isinstance(value, str) and _CANONICAL_POSITIVE_INT.fullmatch(value):
        value = int(value)  # at most 10 digits: never near Python's limit on converting long digit strings
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_PROGRAM_ID:
        raise MarketoRequestError(key, _shown(value), rule)
    return value


def _shown(value: Any) -> Any:
    """A value as an error shows it: a 5,000-digit id is cut (an int that long cannot even be printed)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"<an int of {value.bit_length()} bits>"
    if isinstance(value, str) and len(value) > 40:
        return f"{value[:20]}...({len(value)} characters)"
    return value


def parse_date_window(key: str, value: Any) -> dict[str, str]:
    """
    A ``{"startAt", "endAt"}`` window (``filter.updatedAt``, ``filter.createdAt``): each bound read by
    :func:`parse_instant` and floored to the second, start before end, at most 31 days; sent as UTC.
    """
    if not isinstance(value, Mapping) or set(value) != {"startAt", "endAt"}:
        raise MarketoRequestError(key, value, "must be a mapping with exactly the keys startAt and endAt")
    # Marketo takes no fractions of a second: both bounds are floored.
    start = parse_instant(f"{key}.startAt", value["startAt"]).replace(microsecond=0)
    end = parse_instant(f"{key}.endAt", value["endAt"]).replace(microsecond=0)
    if start == end:
        raise MarketoRequestError(key, dict(value), f"startAt must be before endAt; {ZERO_LENGTH_WINDOW}")
    if start > end:
        raise MarketoRequestError(key, dict(value), "startAt must be before endAt")
    if end - start > dt.timedelta(days=MAX_UPDATED_AT_DAYS):
        raise MarketoRequestError(
            key,
            dict(value),
            f"the window may span at most {MAX_UPDATED_AT_DAYS} days (split it: windows.split_updated_at)",
        )
    return {"startAt": format_marketo_datetime(start), "endAt": format_marketo_datetime(end)}


def parse_instant(key: str, value: Any) -> dt.datetime:
    """
    Read a time bound as an aware UTC instant (fractions of a second kept: callers round them).

    The one rule for dates and times everywhere (filters and windows): an aware datetime (pendulum
    included) or an ISO-8601 string with an offset is converted to UTC; a date (``dt.date`` or
    ``"2024-01-01"``) is midnight UTC, the zone Marketo reports ``updatedAt`` in. A date-time without an
    offset (a naive datetime, ``"2024-01-01T00:00:00"``) is refused: Python would read it as the
    machine's local time and silently shift the window.
    """
    rule = (
        "must be a timezone-aware datetime, a date, or an ISO-8601 string (a date, or a date-time with an "
        "offset), e.g. 2024-01-01 or 2024-01-01T00:00:00Z"
    )
    parsed: Any = value
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
        except ValueError as err:
            raise MarketoRequestError(key, value, rule) from err
    if isinstance(parsed, dt.datetime):
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise MarketoRequestError(key, value, f"{rule} (naive datetimes are ambiguous)")
        instant = _within_range(key, value, parsed)
    elif isinstance(parsed, dt.date):
        instant = _within_range(key, value, dt.datetime(parsed.year, parsed.month, parsed.day, tzinfo=dt.UTC))
    else:
        raise MarketoRequestError(key, _shown(value), f"{rule}, not {type(value).__name__}")
    return instant


def _within_range(key: str, value: Any, aware: dt.datetime) -> dt.datetime:
    rule = f"must be from {EARLIEST_INSTANT:%Y-%m-%d} to before {LATEST_INSTANT:%Y-%m-%d} (UTC)"
    try:
        instant = aware.astimezone(dt.UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise MarketoRequestError(key, value, rule) from None
    if not EARLIEST_INSTANT <= instant < LATEST_INSTANT:
        raise MarketoRequestError(key, value, rule)
    return instant


def parse_column_header_names(value: Any, fields: list[str]) -> dict[str, str]:
    """``columnHeaderNames``: a map from an exported field to a non-empty header; ``None`` is none."""
    key = "columnHeaderNames"
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MarketoRequestError(key, value, "must be a mapping from a field name to its column header")
    for field, header in value.items():
        if field not in fields:
            raise MarketoRequestError(f"{key}.{field}", header, "the key must be one of the exported fields")
        if not isinstance(header, str) or not header.strip():
            raise MarketoRequestError(f"{key}.{field}", header, "the header must be a non-empty string")
    return dict(value)


__all__ = [
    "parse_column_header_names",
    "parse_date_window",
    "parse_fields",
    "parse_format",
    "parse_instant",
]

# build_export_request, FILTER_KEYS and MAX_PROGRAM_IDS (program members' rules, now in kinds.program_members)
# and is_loopback_host (now in hooks.connection_settings) warn and keep working.
__getattr__ = moved_names(__name__)
