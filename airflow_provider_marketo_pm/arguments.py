"""Operator and sensor arguments, each read by one parser: durations, poll intervals, counts, exportIds.

A value that is only known when the task runs (a Jinja template, an XComArg, a mapped argument) is
checked then; every other value is checked when the DAG is parsed. :func:`rendered_later` is the one
answer to "which is it".
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from airflow_provider_marketo_pm.exceptions import MarketoRequestError


def rendered_later(value: Any) -> bool:
    """A Jinja template, XComArg or mapped argument: its value is only known once the task runs."""
    return (isinstance(value, str) and "{{" in value) or callable(getattr(value, "resolve", None))


def whole_number(name: str, value: Any, *, minimum: int) -> int:
    """An int (not a bool) of at least ``minimum``, or MarketoRequestError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MarketoRequestError(name, value, f"must be an int >= {minimum}")
    if value < minimum:
        raise MarketoRequestError(name, value, f"must be >= {minimum}")
    return value


def duration_seconds(name: str, value: Any) -> float:
    """A non-negative duration, given as a timedelta or a number of seconds, in seconds."""
    if isinstance(value, bool) or not isinstance(value, timedelta | int | float):
        raise MarketoRequestError(name, value, "must be a timedelta or a number of seconds")
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not seconds >= 0:
        raise MarketoRequestError(name, value, "must not be negative")
    return seconds


def poll_interval_seconds(value: Any, name: str = "poll_interval") -> float:
    """Seconds between status checks: a number > 0, or its text as a template renders it."""
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
    return seconds


def export_id(value: Any) -> str:
    """A Marketo exportId: a non-empty string, stripped (``None`` must not become the string 'None')."""
    if not isinstance(value, str) or not value.strip():
        raise MarketoRequestError("export_id", value, "must be a non-empty string (the exportId)")
    return value.strip()


__all__ = ["duration_seconds", "export_id", "poll_interval_seconds", "rendered_later", "whole_number"]
