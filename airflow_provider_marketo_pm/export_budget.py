"""A daily export budget, so that one backfill does not use up the quota every integration shares.

Marketo allows 500 MB of bulk export files per instance per day, metered on each job's ``fileSize`` and
shared by every lead, activity, custom object and program member export of every integration. A budget
keeps this API user's exports under a smaller share of it.

What the sum can see: each kind's list endpoint (``GET /bulk/v1/program/members/export.json``,
``/bulk/v1/leads/export.json``, ``/bulk/v1/activities/export.json``,
``/bulk/v1/customobjects/{apiName}/export.json``) returns that kind's export jobs of the API user that asks,
created in the last 7 days. Summed over all of them (:func:`list_paths` names them, one per custom object
in use), they are every export this API user made: :func:`exported_bytes_today_across_kinds`.
:func:`exported_bytes_today` sums one list (the start operator sums them all, through
:mod:`~airflow_provider_marketo_pm.hooks.exports_across_kinds`). Exports of
other API users are never visible: the budget is a ceiling on our own use, not a reading of the
instance's quota.

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
from airflow_provider_marketo_pm.kinds import activities, custom_objects, leads
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS

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
    """Bytes of the jobs of one list in the current quota day (since 12:00 AM US Central)."""
    return exported_bytes_since(jobs, last_quota_reset(now))


def list_paths(custom_object_api_names: Iterable[str] = ()) -> tuple[str, ...]:
    """The list endpoints that together show every export of this API user: one per kind, and one per
    custom object (each ``apiName`` checked by :func:`kinds.custom_objects.parse_api_name`)."""
    names = [custom_object_api_names] if isinstance(custom_object_api_names, str) else custom_object_api_names
    objects = dict.fromkeys(custom_objects.parse_api_name(name) for name in names)
    return (
        PROGRAM_MEMBERS.list_path,
        f"{leads.PATH}.json",
        f"{activities.PATH}.json",
        *(f"{custom_objects.export_path(name)}.json" for name in objects),
    )


def exported_bytes_since_across_kinds(
    listed: Mapping[str, Iterable[Mapping[str, Any]]],
    since: dt.datetime,
    *,
    custom_object_api_names: Iterable[str] = (),
) -> int:
    """
    Sum the ``fileSize`` of the Completed jobs finished at or after ``since`` over every kind's list.

    :param listed: the job records each list endpoint answered (all pages), by its path: exactly the paths
        of :func:`list_paths` for ``custom_object_api_names``. A missing list would hide a kind's bytes, so
        it is refused, as is a path of no kind. A job listed twice in one list (pages that moved) counts once.
    """
    expected = list_paths(custom_object_api_names)
    if not isinstance(listed, Mapping):
        raise MarketoRequestError("listed", type(listed).__name__, "must map each list endpoint to its jobs")
    missing = [path for path in expected if path not in listed]
    if missing:
        rule = "every kind's list is needed, or that kind's exports would not count; missing " + ", ".join(
            missing
        )
        raise MarketoRequestError("listed", sorted(map(str, listed)), rule)
    unknown = sorted(str(path) for path in listed if path not in expected)
    if unknown:
        rule = (
            f"holds a list of no kind in use: {', '.join(unknown)} (a custom object's list needs its "
            "apiName in custom_object_api_names)"
        )
        raise MarketoRequestError("listed", sorted(map(str, listed)), rule)
    return sum(exported_bytes_since(_once_each(listed[path]), since) for path in expected)


def exported_bytes_today_across_kinds(
    listed: Mapping[str, Iterable[Mapping[str, Any]]],
    *,
    custom_object_api_names: Iterable[str] = (),
    now: dt.datetime | None = None,
) -> int:
    """Bytes of every export of this API user in the current quota day (since 12:00 AM US Central)."""
    return exported_bytes_since_across_kinds(
        listed, last_quota_reset(now), custom_object_api_names=custom_object_api_names
    )


def _once_each(jobs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The job records, each ``exportId`` once (records without one are all kept: they may all count)."""
    seen: set[str] = set()
    kept: list[Mapping[str, Any]] = []
    for job in jobs:
        if not isinstance(job, Mapping):
            continue
        export_id = job.get("exportId")
        if isinstance(export_id, str):
            if export_id in seen:
                continue
            seen.add(export_id)
        kept.append(job)
    return kept


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
    "exported_bytes_since_across_kinds",
    "exported_bytes_today",
    "exported_bytes_today_across_kinds",
    "list_paths",
    "validate_daily_budget_mb",
]
