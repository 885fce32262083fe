"""Validate and normalise a program member export request before anything reaches the network.

Marketo answers a bad request with a terse error code after a round trip (and sometimes only after the job
has been queued); checking here gives an error that names the key, the value and the rule instead.
The hook and the operators both call :func:`build_export_request`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_marketo_pm.exceptions import MarketoRequestError

EXPORT_FORMATS = ("CSV", "TSV", "SSV")
FILTER_KEYS = ("programId", "programIds", "updatedAt", "statusNames", "isExhausted", "nurtureCadence")
MAX_PROGRAM_IDS = 10
MAX_UPDATED_AT_DAYS = 31
MAX_PROGRAM_ID = 2**31 - 1
"""Marketo's program ids are int32."""
EARLIEST_INSTANT = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST_INSTANT = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)
"""Time bounds are read within [1970, 3000): nothing in Marketo is older, and near year 1 or 9999 Python
cannot even shift a time to UTC."""
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""A REST API field name: ASCII letters, digits and underscores (no commas, spaces, quotes or emoji)."""
PROGRAM_ID_COLUMN = "programId"
"""The column Marketo adds first to a ``programIds`` export by itself."""
_CANONICAL_POSITIVE_INT = re.compile(r"[1-9][0-9]{0,9}")
_log = logging.getLogger(__name__)
ZERO_LENGTH_WINDOW = (
    "they are equal, which is what data_interval_start/end give in Airflow 3 with a plain cron schedule "
    '(schedule="@daily" runs have zero-length data intervals): schedule the DAG with '
    'CronDataIntervalTimetable("@daily", timezone="UTC") (from airflow.sdk; on Airflow 3.0 from '
    "airflow.timetables.interval) so that each run covers the period before it"
)


def format_marketo_datetime(value: dt.datetime) -> str:
    """Render an aware datetime the way Marketo wants it: UTC, ISO-8601, no fractional seconds."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_export_request(
    fields: Sequence[str],
    filter: Mapping[str, Any],
    format: str = "CSV",
    column_header_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """
    Return the exact JSON body of ``create.json``, or raise :class:`MarketoRequestError`.

    :param fields: REST API field names to export (unique; letters, digits and underscores). With a
        ``programIds`` filter Marketo adds a ``programId`` column first by itself: a ``programId`` in
        ``fields`` would be a second one, so it is dropped, with a warning.
    :param filter: exactly one of ``programId`` / ``programIds`` (positive ints, or canonical decimal
        strings such as ``"1044"`` as Jinja renders them; sent as ints), plus optional ``updatedAt``
        (``{"startAt", "endAt"}``, each read by :func:`parse_instant`, at most 31 days),
        ``statusNames``, ``isExhausted`` and ``nurtureCadence``.
    :param format: CSV, TSV or SSV in any case.
    :param column_header_names: optional map from a field in ``fields`` to the header written for it.
    """
    body: dict[str, Any] = {
        "fields": parse_fields(fields),
        "format": _format(format),
        "filter": _filter(filter),
    }
    if "programIds" in body["filter"] and PROGRAM_ID_COLUMN in body["fields"]:
        body["fields"] = _without_program_id_column(body["fields"], column_header_names)
    headers = _column_header_names(column_header_names, body["fields"])
    if headers:
        body["columnHeaderNames"] = headers
    return body


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


def _without_program_id_column(fields: list[str], column_header_names: Any) -> list[str]:
    """A ``programIds`` export gets Marketo's own ``programId`` column first: drop the requested twin."""
    if isinstance(column_header_names, Mapping) and PROGRAM_ID_COLUMN in column_header_names:
        raise MarketoRequestError(
            f"columnHeaderNames.{PROGRAM_ID_COLUMN}",
            column_header_names[PROGRAM_ID_COLUMN],
            "with a programIds filter Marketo adds the programId column by itself, and whether a header "
            "name applies to it is not documented: remove programId from fields and columnHeaderNames",
        )
    rest = [name for name in fields if name != PROGRAM_ID_COLUMN]
    if not rest:
        raise MarketoRequestError(
            "fields",
            fields,
            "with a programIds filter Marketo adds the programId column by itself: name other fields too",
        )
    _log.warning(
        "fields: dropped programId. With a programIds filter Marketo writes a programId column first by "
        "itself; asking for it too would give the file two programId columns."
    )
    return rest


def _format(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in EXPORT_FORMATS:
        raise MarketoRequestError("format", value, f"must be one of {', '.join(EXPORT_FORMATS)}")
    return value.upper()


def _filter(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise MarketoRequestError("filter", value, "must be a mapping such as {'programId': 1044}")
    unknown = sorted(str(key) for key in value if key not in FILTER_KEYS)
    if unknown:
        raise MarketoRequestError(
            f"filter.{unknown[0]}",
            value[unknown[0]],
            f"unknown filter key; allowed keys are {', '.join(FILTER_KEYS)}",
        )
    has_one, has_many = "programId" in value, "programIds" in value
    if has_one == has_many:
        raise MarketoRequestError(
            "filter", dict(value), "needs exactly one of programId (an integer) or programIds (1 to 10 ints)"
        )
    result: dict[str, Any] = {}
    if has_one:
        result["programId"] = parse_program_id("filter.programId", value["programId"])
    else:
        result["programIds"] = _program_ids(value["programIds"])
    if "updatedAt" in value:
        result["updatedAt"] = _updated_at(value["updatedAt"])
    if "statusNames" in value:
        result["statusNames"] = _status_names(value["statusNames"])
    if "isExhausted" in value:
        if not isinstance(value["isExhausted"], bool):
            raise MarketoRequestError("filter.isExhausted", value["isExhausted"], "must be true or false")
        result["isExhausted"] = value["isExhausted"]
    if "nurtureCadence" in value:
        cadence = value["nurtureCadence"]
        if not isinstance(cadence, str) or not cadence.strip():
            raise MarketoRequestError("filter.nurtureCadence", cadence, "must be a non-empty string")
        result["nurtureCadence"] = cadence
    return result


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


def _program_ids(value: Any) -> list[int]:
    key = "filter.programIds"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise MarketoRequestError(
            key,
            value,
            "must be a list of 1 to 10 integer program ids (a templated list renders as a string "
            "unless the DAG sets render_template_as_native_obj=True)",
        )
    if not 1 <= len(value) <= MAX_PROGRAM_IDS:
        rule = f"must hold 1 to {MAX_PROGRAM_IDS} program ids, not {len(value)}"
        raise MarketoRequestError(key, value, rule)
    ids = [parse_program_id(key, item) for item in value]
    if len(set(ids)) != len(ids):
        raise MarketoRequestError(key, value, "program ids must not repeat")
    return ids


def _updated_at(value: Any) -> dict[str, str]:
    key = "filter.updatedAt"
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


def _status_names(value: Any) -> list[str]:
    key = "filter.statusNames"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
        raise MarketoRequestError(key, value, "must be a non-empty list of program status names")
    for name in value:
        if not isinstance(name, str) or not name.strip():
            raise MarketoRequestError(key, name, "every status name must be a non-empty string")
    return list(value)


def _column_header_names(value: Any, fields: list[str]) -> dict[str, str]:
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


def __getattr__(name: str) -> Any:
    """``is_loopback_host`` moved to :mod:`~airflow_provider_marketo_pm.hooks.connection_settings`."""
    if name == "is_loopback_host":
        from airflow_provider_marketo_pm.hooks.connection_settings import is_loopback_host

        return is_loopback_host
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EARLIEST_INSTANT",
    "EXPORT_FORMATS",
    "FIELD_NAME",
    "FILTER_KEYS",
    "LATEST_INSTANT",
    "MAX_PROGRAM_ID",
    "build_export_request",
    "format_marketo_datetime",
    "parse_fields",
    "parse_instant",
    "parse_program_id",
]
