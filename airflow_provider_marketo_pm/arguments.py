"""Operator and sensor arguments, each read by one parser: flags, durations, poll intervals, counts, ids.

A value that is only known when the task runs (a Jinja template, an XComArg, a mapped argument) is
checked then; every other value is checked when the DAG is parsed. :func:`rendered_later` is the one
answer to "which is it".

Every number is finite and bounded: an infinite timeout would be accepted, the job created and enqueued,
and only the deferral would overflow, leaving an orphaned job behind.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from airflow_provider_marketo_pm.exceptions import MarketoRequestError

MAX_DURATION = timedelta(days=7)
"""The longest wait, timeout or interval of any argument: no wait outlives an export's file (kept 7 days)."""

MAX_COUNT = 1000
"""The largest retry, resume or wait count of any argument."""

MAX_CHUNK_SIZE = 64 * 1024 * 1024
"""The largest download chunk: a copy holds a handful of chunks in memory at once."""

_MAX_SECONDS = MAX_DURATION.total_seconds()


def rendered_later(value: Any) -> bool:
    """A Jinja template, XComArg or mapped argument: its value is only known once the task runs."""
    return (isinstance(value, str) and "{{" in value) or callable(getattr(value, "resolve", None))


def flag(name: str, value: Any) -> bool:
    """
    A yes/no argument: ``True`` or ``False`` only, because ``"False"`` is a true value in Python. (None of
    them is templated: a template string there would never be rendered, so it is refused too.)
    """
    if isinstance(value, bool):
        return value
    rule = "must be True or False"
    if isinstance(value, str):
        rule += " (a bool, not the text: any non-empty string, 'False' too, would read as true)"
    raise MarketoRequestError(name, value, rule)


def whole_number(name: str, value: Any, *, minimum: int, maximum: int = MAX_COUNT) -> int:
    """An int (not a bool) from ``minimum`` to ``maximum``, or MarketoRequestError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MarketoRequestError(name, value, f"must be an int from {minimum} to {maximum}")
    if not minimum <= value <= maximum:
        raise MarketoRequestError(name, value, f"must be from {minimum} to {maximum}")
    return value


def duration_seconds(name: str, value: Any) -> float:
    """A finite duration from 0 to :data:`MAX_DURATION`, given as a timedelta or seconds, in seconds."""
    if isinstance(value, bool) or not isinstance(value, timedelta | int | float):
        raise MarketoRequestError(name, value, "must be a timedelta or a number of seconds")
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not math.isfinite(seconds):
        raise MarketoRequestError(name, value, "must be a finite number of seconds")
    if seconds < 0:
        raise MarketoRequestError(name, value, "must not be negative")
    if seconds > _MAX_SECONDS:
        raise MarketoRequestError(name, value, f"must be at most {MAX_DURATION} ({_MAX_SECONDS:g} s)")
    return seconds


def poll_interval_seconds(value: Any, name: str = "poll_interval") -> float:
    """Seconds between status checks: a number > 0 (at most :data:`MAX_DURATION`), or its rendered text."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            seconds = None
    elif isinstance(value, timedelta):
        seconds = value.total_seconds()
    if seconds is None or not math.isfinite(seconds):
        raise MarketoRequestError(name, value, "must be a number of seconds")
    if seconds <= 0:
        raise MarketoRequestError(name, value, "must be > 0 (0 would poll in a tight loop)")
    if seconds > _MAX_SECONDS:
        raise MarketoRequestError(name, value, f"must be at most {MAX_DURATION} ({_MAX_SECONDS:g} s)")
    return seconds


def chunk_size(value: Any) -> int:
    """Bytes per download chunk: 1 byte to :data:`MAX_CHUNK_SIZE`."""
    return whole_number("chunk_size", value, minimum=1, maximum=MAX_CHUNK_SIZE)


def export_id(value: Any) -> str:
    """A Marketo exportId: a non-empty string, stripped (``None`` must not become the string 'None')."""
    if not isinstance(value, str) or not value.strip():
        raise MarketoRequestError("export_id", value, "must be a non-empty string (the exportId)")
    return value.strip()


__all__ = [
    "MAX_CHUNK_SIZE",
    "MAX_COUNT",
    "MAX_DURATION",
    "chunk_size",
    "duration_seconds",
    "export_id",
    "flag",
    "poll_interval_seconds",
    "rendered_later",
    "whole_number",
]
