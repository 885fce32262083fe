"""A program member backfill cut into DAG runs that Airflow can map, checked whole before anything starts.

Airflow expands a mapped task to at most ``[core] max_map_length`` instances (1,024 by default) per DAG
run, and every mapped instance reads the XCom it is mapped over in full. One run mapped over a whole
plan therefore caps a backfill at 1,024 jobs and costs each job a read of every other job's item:
quadratic. :func:`plan_backfill_runs` keeps a small plan in one run and splits a larger one into one DAG
run per 31-day window, each mapped over that window's batches only, so that a job's share of XCom and
scheduling stays the same however long the range. The whole plan is counted, and refused with its
numbers, the option and the remedy, before any job or run exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.providers.common.compat.sdk import conf

from airflow_provider_marketo_pm.exceptions import MarketoPlanTooLargeError, MarketoRequestError
from airflow_provider_marketo_pm.export_status import counted
from airflow_provider_marketo_pm.validation import MAX_UPDATED_AT_DAYS
from airflow_provider_marketo_pm.windows import (
    DEFAULT_EXPORT_PATH,
    DateLike,
    checked_batches,
    checked_path,
    split_updated_at,
    to_utc,
    whole_second_bounds,
    window_exports,
)

__all__ = ["BackfillRuns", "max_map_length", "plan_backfill_runs"]

#: Airflow's default ``[core] max_map_length``.
DEFAULT_MAX_MAP_LENGTH = 1024


def max_map_length() -> int:
    """The most instances one mapped task may expand to in a DAG run: Airflow's ``[core] max_map_length``.

    Read where the plan is made (a worker); Airflow enforces the API server's value when the planning task
    pushes its list: keep the two configured alike."""
    return conf.getint("core", "max_map_length", fallback=DEFAULT_MAX_MAP_LENGTH)


@dataclass(frozen=True)
class BackfillRuns:
    """
    A backfill's jobs (every window x batch) and the DAG runs they run in.

    ``split`` False: one run maps over all the jobs. ``split`` True: one DAG run per window (``windows[n]``
    is run ``n``), each mapped over the window's ``len(batches)`` jobs. :meth:`as_dict` is the JSON form
    the planning task hands to the window runs, :meth:`from_dict` reads it back; :meth:`window_exports` are
    the jobs of one window, numbered and named as in the whole plan. ``str(plan)`` is the summary a log
    shows instead of the plan itself.
    """

    windows: list[dict[str, str]]
    batches: list[list[int]]
    path: str
    split: bool
    max_jobs_per_run: int

    @property
    def jobs(self) -> int:
        return len(self.windows) * len(self.batches)

    @property
    def runs(self) -> int:
        return len(self.windows) if self.split else 1

    @property
    def last_day(self) -> str:
        return str(to_utc(self.windows[-1]["endAt"]).subtract(seconds=1).to_date_string())

    def window_exports(self, number: int) -> list[dict[str, Any]]:
        """The jobs of window ``number``: ``{"export_filter", "path"}`` per batch, as ``plan_updated_at``."""
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < len(self.windows):
            raise MarketoRequestError(
                "window", number, f"must be a window number from 0 to {len(self.windows) - 1}"
            )
        return window_exports(
            self.windows[number],
            self.batches,
            self.path,
            last_day=self.last_day,
            first_job=number * len(self.batches),
        )

    def exports(self) -> list[dict[str, Any]]:
        """Every job of the plan, window by window (what one run maps over when not ``split``)."""
        paths: set[str] = set()
        jobs: list[dict[str, Any]] = []
        for window in self.windows:
            jobs += window_exports(
                window, self.batches, self.path, last_day=self.last_day, first_job=len(jobs), paths=paths
            )
        return jobs

    def as_dict(self) -> dict[str, Any]:
        return {
            "windows": [dict(window) for window in self.windows],
            "batches": [list(batch) for batch in self.batches],
            "path": self.path,
            "split": self.split,
            "max_jobs_per_run": self.max_jobs_per_run,
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> BackfillRuns:
        try:
            return cls(
                windows=[{"startAt": w["startAt"], "endAt": w["endAt"]} for w in value["windows"]],
                batches=checked_batches(value["batches"]),
                path=checked_path(value["path"]),
                split=bool(value["split"]),
                max_jobs_per_run=int(value["max_jobs_per_run"]),
            )
        except (KeyError, TypeError) as error:
            raise MarketoRequestError(
                "plan", type(value).__name__, f"is no BackfillRuns.as_dict(): {error}"
            ) from None

    def __str__(self) -> str:
        shape = (
            f"{_many(len(self.windows), 'window')} x {_many(len(self.batches), 'batch', 'batches')} "
            f"= {_many(self.jobs, 'export job')}"
        )
        if self.split:
            return (
                f"{shape}, in {_many(self.runs, 'DAG run')} of {_many(len(self.batches), 'job')} "
                f"(one per window; at most {self.max_jobs_per_run} jobs per run)"
            )
        return f"{shape}, in one DAG run (at most {self.max_jobs_per_run} jobs per run)"


def plan_backfill_runs(
    start: DateLike,
    end: DateLike,
    program_batches: Sequence[Sequence[int | str]],
    *,
    path: str = DEFAULT_EXPORT_PATH,
    max_jobs_per_run: int | None = None,
    max_runs: int | None = None,
) -> BackfillRuns:
    """
    Plan a program member backfill of [start, end) as DAG runs, or refuse it, before any call.

    The jobs are the 31-day windows x the batches of 10 programs (:func:`windows.plan_updated_at`). If they
    are at most ``max_jobs_per_run``, one run maps over them all; otherwise there is one DAG run per window,
    each mapped over that window's batches.

    :param max_jobs_per_run: the most jobs one run maps over; default and ceiling ``[core] max_map_length``
        (:func:`max_map_length`). Each mapped job reads its run's whole list of jobs: a lower value keeps a
        big backfill's runs, and each job's reads, small.
    :param max_runs: the most DAG runs the backfill may start; default and ceiling ``[core] max_map_length``
        (the runs are started by one mapped task).
    :raises MarketoPlanTooLargeError: a window with more batches than one run maps, or more windows than
        ``max_runs``: the message names the numbers, the option and the remedy. Final: no retry.
    :raises MarketoRequestError: bad dates, batches or path.
    """
    airflow_limit = max_map_length()
    per_run = _limit("max_jobs_per_run", max_jobs_per_run, airflow_limit)
    run_limit = _limit("max_runs", max_runs, airflow_limit)
    batches = checked_batches(program_batches)
    template = checked_path(path)
    lower, upper = whole_second_bounds(start, end)
    seconds = upper.int_timestamp - lower.int_timestamp
    window_count = -(-seconds // (MAX_UPDATED_AT_DAYS * 86400))  # counted before any window is made
    jobs = window_count * len(batches)
    shape = (
        f"{_many(window_count, 'window')} of {MAX_UPDATED_AT_DAYS} days x "
        f"{_many(len(batches), 'batch', 'batches')} of 10 programs = {_many(jobs, 'export job')}"
    )
    split = jobs > per_run
    if split and len(batches) > per_run:
        raise MarketoPlanTooLargeError(
            "max_jobs_per_run",
            per_run,
            f"the plan has {shape}; one window alone has {len(batches):,} jobs, more than one DAG run maps "
            f"({_named_limit(per_run, airflow_limit, 'max_jobs_per_run')}). Back fill at most "
            f"{per_run * 10:,} programs at a time (split program_ids into several backfills), or raise "
            "[core] max_map_length (the API server's and the workers')",
        )
    if split and window_count > run_limit:
        raise MarketoPlanTooLargeError(
            "max_runs",
            run_limit,
            f"the plan has {shape} in {window_count} DAG runs of {len(batches)} jobs (one per window), more "
            f"than {_named_limit(run_limit, airflow_limit, 'max_runs')}. Shorten the range to at most "
            f"{run_limit * MAX_UPDATED_AT_DAYS:,} days per backfill, or raise max_runs (at most "
            "[core] max_map_length)",
        )
    return BackfillRuns(
        windows=split_updated_at(lower, upper),
        batches=batches,
        path=template,
        split=split,
        max_jobs_per_run=per_run,
    )


def _limit(name: str, value: int | None, airflow_limit: int) -> int:
    if value is None:
        return airflow_limit
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MarketoRequestError(
            name, value, "must be a whole number >= 1, or None for [core] max_map_length"
        )
    if value > airflow_limit:
        raise MarketoPlanTooLargeError(
            name,
            value,
            f"is more than Airflow maps in one task: [core] max_map_length={airflow_limit}; lower it, or "
            "raise [core] max_map_length",
        )
    return value


def _many(number: int, noun: str, plural: str | None = None) -> str:
    """``1 window``, ``1,030 batches``: a count with thousands separators and its noun."""
    return counted(f"{number:,}", noun, plural)


def _named_limit(value: int, airflow_limit: int, name: str) -> str:
    if value == airflow_limit:
        return f"[core] max_map_length={airflow_limit}"
    return f"{name}={value}; [core] max_map_length={airflow_limit}"
