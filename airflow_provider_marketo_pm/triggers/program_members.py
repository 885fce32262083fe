"""Trigger that waits for a Marketo program member export job in the triggerer, without a worker slot."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_marketo_pm.exceptions import MarketoError, MarketoTransientError
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook

__all__ = [
    "ExportState",
    "ExportStatusVerdict",
    "MarketoExportEnqueueRetryTrigger",
    "MarketoProgramMemberExportTrigger",
    "jittered_interval",
    "judge_export_status",
]


class ExportState(StrEnum):
    """What a waiting task should do about a job status record."""

    DONE = "done"
    PENDING = "pending"
    ERROR = "error"


@dataclass(frozen=True)
class ExportStatusVerdict:
    state: ExportState
    message: str


# on_kill must end within the triggerer's on_kill_timeout (30 s by default), retries and backoff included.
_ON_KILL_CALL_TIMEOUT = 10.0
_ON_KILL_RETRY_BUDGET = 10.0
_ON_KILL_MAX_BACKOFF = 4.0

_PENDING_STATUSES = frozenset({"Created", "Queued", "Processing"})
# Marketo's prose spells both; the API answers "Cancelled" but a client must accept either.
_CANCELLED_STATUSES = frozenset({"Cancelled", "Canceled"})


def judge_export_status(record: Mapping[str, Any]) -> ExportStatusVerdict:
    """
    Map one status record to done/pending/error.

    The single place where Marketo's status vocabulary is interpreted, shared by the sensor's first
    check, its poke mode and the trigger, so the three can never disagree.
    """
    export_id = record.get("exportId", "?")
    status = record.get("status")
    if status == "Completed":
        return ExportStatusVerdict(
            ExportState.DONE,
            f"Export {export_id} completed: {record.get('numberOfRecords')} records, "
            f"{record.get('fileSize')} bytes.",
        )
    if status in _PENDING_STATUSES:
        return ExportStatusVerdict(ExportState.PENDING, f"Export {export_id} is {status}.")
    if status == "Failed":
        error_msg = record.get("errorMsg") or "no errorMsg given"
        return ExportStatusVerdict(ExportState.ERROR, f"Marketo export {export_id} failed: {error_msg}")
    if status in _CANCELLED_STATUSES:
        return ExportStatusVerdict(
            ExportState.ERROR,
            f"Marketo export {export_id} was cancelled (status {status!r}), by a user or another tool; "
            "its file will never be produced.",
        )
    return ExportStatusVerdict(
        ExportState.ERROR, f"Marketo export {export_id} has an unknown status {status!r}: {dict(record)!r}"
    )


def jittered_interval(seconds: float) -> float:
    """
    ``seconds`` stretched by 0-20% at random: never a poll sooner than asked (Marketo's status refresh),
    and triggers started together drift apart instead of polling in step forever.
    """
    return seconds * random.uniform(1.0, 1.2)


#: Airflow 3.3 gave triggers an async ``on_kill`` for user actions; before it, ``cancel_on_kill`` cannot act.
TRIGGER_ON_KILL_SUPPORTED = hasattr(BaseTrigger, "on_kill")


class MarketoProgramMemberExportTrigger(BaseTrigger):
    """
    Poll the status of a program member export until it is terminal or ``end_time`` passes.

    Stateless by design: a restarted or reassigned triggerer runs it again from its kwargs and
    simply resumes polling (a status GET is idempotent). It yields exactly one event:
    ``{"status": "success" | "error" | "timeout", "export_id", "message", "record"}``.

    :param export_id: the Marketo exportId to watch.
    :param marketo_conn_id: Airflow connection of the Marketo instance.
    :param poll_interval: seconds between status calls (Marketo refreshes status once a minute).
    :param end_time: wall-clock deadline (``time.time()`` epoch seconds); ``None`` waits forever.
    :param cancel_on_kill: cancel the job when a user kills the deferred task (Airflow 3.3+).
    :param first_poll_at: no status call before this ``time.time()`` (the deferring task has just
        checked); ``None`` polls at once. A trigger run again later polls at once if it has passed.
    :param max_consecutive_errors: transient errors tolerated in a row (the hook already retried
        each one with backoff) before giving up.
    """

    def __init__(
        self,
        export_id: str,
        marketo_conn_id: str = "marketo_default",
        poll_interval: float = 60.0,
        end_time: float | None = None,
        cancel_on_kill: bool = False,
        max_consecutive_errors: int = 5,
        first_poll_at: float | None = None,
    ) -> None:
        super().__init__()
        self.first_poll_at = None if first_poll_at is None else float(first_poll_at)
        self.export_id = str(export_id)
        self.marketo_conn_id = marketo_conn_id
        self.poll_interval = float(poll_interval)
        self.end_time = None if end_time is None else float(end_time)
        self.cancel_on_kill = bool(cancel_on_kill)
        self.max_consecutive_errors = int(max_consecutive_errors)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "export_id": self.export_id,
                "marketo_conn_id": self.marketo_conn_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "cancel_on_kill": self.cancel_on_kill,
                "max_consecutive_errors": self.max_consecutive_errors,
                "first_poll_at": self.first_poll_at,
            },
        )

    def _hook(self) -> MarketoHook:
        return MarketoHook(marketo_conn_id=self.marketo_conn_id)

    def _event(self, status: str, message: str, record: Mapping[str, Any] | None = None) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "export_id": self.export_id,
                "message": message,
                "record": dict(record) if record is not None else None,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        try:
            if self.first_poll_at is not None:
                # Until the deadline at most: a trigger past its end_time still checks once, then times out.
                wake_at = min(self.first_poll_at, self.end_time if self.end_time is not None else math.inf)
                await asyncio.sleep(max(0.0, wake_at - time.time()))
            consecutive_errors = 0
            while True:
                try:
                    record = await hook.aget_program_member_export_status(self.export_id)
                except MarketoTransientError as err:
                    consecutive_errors += 1
                    if consecutive_errors > self.max_consecutive_errors:
                        yield self._event("error", f"Giving up on export {self.export_id} status: {err}")
                        return
                    self.log.warning(
                        "Status of export %s unavailable (%s); polling again (%d/%d).",
                        self.export_id,
                        err,
                        consecutive_errors,
                        self.max_consecutive_errors,
                    )
                except MarketoError as err:
                    yield self._event("error", f"Cannot read status of export {self.export_id}: {err}")
                    return
                else:
                    consecutive_errors = 0
                    verdict = judge_export_status(record)
                    if verdict.state is ExportState.DONE:
                        yield self._event("success", verdict.message, record)
                        return
                    if verdict.state is ExportState.ERROR:
                        yield self._event("error", verdict.message, record)
                        return
                    self.log.info("%s Next check in %.1f s.", verdict.message, self.poll_interval)

                delay = jittered_interval(self.poll_interval)
                if self.end_time is not None:
                    remaining = self.end_time - time.time()
                    if remaining <= 0:
                        yield self._event(
                            "timeout", f"Timed out waiting for Marketo export {self.export_id} to complete."
                        )
                        return
                    delay = min(delay, remaining)
                await asyncio.sleep(delay)
        finally:
            # One session per run, closed however the run ends (event, error, cancellation).
            await hook.aclose()

    async def on_kill(self) -> None:
        """
        Cancel the job when a user kills the task (3.3+ only; off unless ``cancel_on_kill``).

        Runs in the triggerer's event loop, so it uses the hook's async cancel (async connection lookup,
        aiohttp), never the sync Connection API, and retries within a budget shorter than the triggerer's
        default ``on_kill_timeout`` (30 s).
        """
        if not self.cancel_on_kill:
            return
        hook = MarketoHook(
            marketo_conn_id=self.marketo_conn_id,
            timeout=_ON_KILL_CALL_TIMEOUT,
            retry_max_time=_ON_KILL_RETRY_BUDGET,
            retry_max_wait=_ON_KILL_MAX_BACKOFF,
        )
        try:
            await hook.acancel_program_member_export(self.export_id)
        except MarketoError as err:
            self.log.warning("Could not cancel Marketo export %s: %s", self.export_id, err)
        else:
            self.log.info("Cancelled Marketo export %s on user kill.", self.export_id)
        finally:
            await hook.aclose()


class MarketoExportEnqueueRetryTrigger(BaseTrigger):
    """
    Wait until ``retry_at`` (``time.time()`` epoch seconds), then hand the export back for another enqueue.

    A timer like ``TimeDeltaTrigger``, except that its event carries ``export_id`` and ``attempt``: the
    operator resumes from the event alone, which also works where deferral kwargs are dropped
    (``dag.test()`` in Airflow 3.3.2 replaces them with the event).
    """

    def __init__(self, export_id: str, attempt: int, retry_at: float) -> None:
        super().__init__()
        self.export_id = str(export_id)
        self.attempt = int(attempt)
        self.retry_at = float(retry_at)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"export_id": self.export_id, "attempt": self.attempt, "retry_at": self.retry_at},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Deadline on the wall clock: a trigger restarted elsewhere waits only what is left.
        await asyncio.sleep(max(0.0, self.retry_at - time.time()))
        yield TriggerEvent({"status": "retry", "export_id": self.export_id, "attempt": self.attempt})
