"""A daily export budget, so that one backfill does not use up the quota every integration shares.

Marketo allows 500 MB of bulk export files per instance per day, metered on each job's ``fileSize`` and
shared by every lead, activity, custom object and program member export of every integration. A budget
keeps this API user's program member exports under a smaller share of it.

What the sum can see: Marketo's list endpoint (``GET /bulk/v1/program/members/export.json``) returns only
the program member export jobs of the API user that asks, created in the last 7 days. Exports of other API
users, and lead, activity or custom object exports (even this user's), are invisible to it: the budget is
a ceiling on our own use, not a reading of the instance's quota.

Sizes are in MB of 1,048,576 bytes (the bundled emulator meters Marketo's "500 MB" the same way).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pendulum

from airflow_provider_marketo_pm.daily_quota import aware_instant, last_quota_reset
from airflow_provider_marketo_pm.exceptions import MarketoRequestError

BYTES_PER_MB = 1024 * 1024
BUDGET_FIELD = "daily_export_budget_mb"


def validate_daily_budget_mb(value: Any, *, field: str = BUDGET_FIELD) -> float | None:
    """The budget in MB as a float, or ``None`` for no budget; anything else is refused, naming ``field``.

    Numeric strings are accepted, because rendered templates and connection extras typed in the UI are
    text.
    """
    if value is None:
        return None
    rule = "must be a positive number of MB (or None for no budget)"
    if isinstance(value, bool):
        raise MarketoRequestError(field, value, rule)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise MarketoRequestError(field, value, rule) from None
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise MarketoRequestError(field, value, f"{rule}, not {type(value).__name__}")
    if not math.isfinite(number) or number <= 0:
        raise MarketoRequestError(field, value, rule)
    return number


def _instant(value: Any) -> pendulum.DateTime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = pendulum.parse(value, tz="UTC")
    except (ValueError, TypeError):
        return None
    return parsed if isinstance(parsed, pendulum.DateTime) else None


def _counts_since(job: Mapping[str, Any], since: pendulum.DateTime) -> bool:
    """Whether a Completed job's file counts against the quota day that started at ``since``.

    ``finishedAt`` is when Marketo meters the file. Without it, ``createdAt`` is a lower bound (a job
    created after the reset finished after it too). A job with neither readable counts: a budget errs on
    the side of using less.
    """
    finished = _instant(job.get("finishedAt"))
    if finished is not None:
        return finished >= since
    created = _instant(job.get("createdAt"))
    return created is None or created >= since


def exported_bytes_since(jobs: Iterable[Mapping[str, Any]], since: dt.datetime) -> int:
    """Sum the ``fileSize`` of the Completed jobs (list endpoint records) finished at or after ``since``."""
    start = aware_instant(since, name="since")
    total = 0
    for job in jobs:
        size = job.get("fileSize")
        if job.get("status") != "Completed" or not isinstance(size, int) or isinstance(size, bool):
            continue
        if _counts_since(job, start):
            total += size
    return total


def exported_bytes_today(jobs: Iterable[Mapping[str, Any]], now: dt.datetime | None = None) -> int:
    """Bytes of this user's program member exports in the current quota day (since 12:00 AM US Central)."""
    return exported_bytes_since(jobs, last_quota_reset(now))


def budget_spent(exported_bytes: int, budget_mb: float | None) -> bool:
    """Whether ``exported_bytes`` reached the budget; never with no budget (``None``)."""
    if budget_mb is None:
        return False
    return exported_bytes >= budget_mb * BYTES_PER_MB


__all__ = [
    "BUDGET_FIELD",
    "BYTES_PER_MB",
    "budget_spent",
    "exported_bytes_since",
    "exported_bytes_today",
    "validate_daily_budget_mb",
]
