"""What a bulk export job's status means: Marketo's status words, and the one reading of a status record.

Kind-neutral: lead, activity, program member and custom object bulk extracts share this job lifecycle
(Created -> Queued -> Processing -> Completed | Failed | Cancelled). The hook's wait, the sensor, the
start operator and the trigger all read a status record through :func:`read_export_status`, and a
trigger's event through :func:`completed_record_from_event`, so they can never disagree.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, TypeGuard

from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout

from airflow_provider_marketo_pm._compat import moved_names
from airflow_provider_marketo_pm.exceptions import MarketoExportEventError, MarketoExportNotEnqueuedError

MARKETO_STATUS_REFRESH_SECONDS = 60.0
"""Marketo refreshes a job's status at most once a minute: polling faster only spends API quota."""

CREATED, QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED = (
    "Created",
    "Queued",
    "Processing",
    "Completed",
    "Failed",
    "Cancelled",
)
PENDING_STATUSES = frozenset({CREATED, QUEUED, PROCESSING})
"""Not finished yet: still waiting to be enqueued, in the queue, or being built."""
CANCELLED_STATUSES = frozenset({CANCELLED, "Canceled"})
"""Marketo's prose spells both; the API answers "Cancelled" but a client must accept either."""
REATTACHABLE_STATUSES = PENDING_STATUSES | {COMPLETED}
"""A job of an earlier try in one of these can still serve the same request."""


class ExportState(StrEnum):
    """What a waiting task should do about a status record."""

    DONE = "done"
    PENDING = "pending"
    ERROR = "error"


@dataclass(frozen=True)
class ExportStatus:
    """A status record read: its state (done / pending / error) and a sentence for the task log."""

    state: ExportState
    message: str


def counted(number: Any, noun: str, plural: str | None = None) -> str:
    """``1 record``, ``2 records``: a count and its noun, singular for one (``plural`` if not noun + s)."""
    return f"{number} {noun}" if str(number) == "1" else f"{number} {plural or noun + 's'}"


def read_export_status(record: Mapping[str, Any]) -> ExportStatus:
    """Read one status record as done (Completed), pending (Created/Queued/Processing) or error."""
    export_id = record.get("exportId", "?")
    status = record.get("status")
    if status == COMPLETED:
        return ExportStatus(
            ExportState.DONE,
            f"Export {export_id} completed: {counted(record.get('numberOfRecords'), 'record')}, "
            f"{counted(record.get('fileSize'), 'byte')}.",
        )
    if status in PENDING_STATUSES:
        return ExportStatus(ExportState.PENDING, f"Export {export_id} is {status}.")
    if status == FAILED:
        error_msg = record.get("errorMsg") or "no errorMsg given"
        return ExportStatus(ExportState.ERROR, f"Marketo export {export_id} failed: {error_msg}")
    if status in CANCELLED_STATUSES:
        return ExportStatus(
            ExportState.ERROR,
            f"Marketo export {export_id} was cancelled (status {status!r}), by a user or another tool; "
            "its file will never be produced.",
        )
    return ExportStatus(
        ExportState.ERROR, f"Marketo export {export_id} has an unknown status {status!r}: {dict(record)!r}"
    )


def jittered_interval(seconds: float) -> float:
    """
    ``seconds`` stretched by 0-20% at random: never a poll sooner than asked (Marketo's status refresh),
    and waits started together drift apart instead of polling in step forever.
    """
    return seconds * random.uniform(1.0, 1.2)


def resumed_poll_offset(export_id: str, seconds: float) -> float:
    """
    The wait, in ``[0, seconds)``, before the first poll of a trigger run again after its first poll was due
    (a triggerer restart re-creates every trigger at once): a fixed fraction of ``seconds`` per job, from
    a CRC-32 of its id (the same in every process and run, unlike ``hash()``), so thousands of triggers
    resumed together poll spread over one interval instead of all in the loop's first second.

    It delays no result by more than the poll's own cadence does: had the triggerer not restarted, the
    trigger's next poll would have come at a moment just as spread within that interval, and Marketo
    refreshes a job's status once a minute anyway.
    """
    return seconds * (zlib.crc32(export_id.encode()) / 2**32)


DEFERRAL_GRACE_SECONDS = 300.0
"""How much longer than its own wait a deferral may last before the scheduler times the task out."""


def deferral_timeout(wait_seconds: float) -> timedelta:
    """
    The ``timeout=`` of a ``defer()`` that waits ``wait_seconds``: the trigger ends the wait itself (with its
    own timeout event); the scheduler's timeout only acts when no triggerer runs, so the task never hangs.
    """
    return timedelta(seconds=wait_seconds + DEFERRAL_GRACE_SECONDS)


def completed_record_from_event(event: Any) -> dict[str, Any]:
    """
    The Completed status record of a status trigger's event, or the failure it reports.

    Failed/Cancelled are final (AirflowFailException), an unreadable status may come right on retry
    (:class:`MarketoExportEventError`), and the deadline raises AirflowSensorTimeout. Anything but a
    well-formed success fails loudly.
    """
    if not isinstance(event, dict) or "status" not in event:
        raise MarketoExportEventError(f"Marketo export trigger returned no usable event: {event!r}")
    status = event["status"]
    message = event.get("message") or ""
    if status == "success" and isinstance(event.get("record"), dict):
        return event["record"]
    if status == "timeout":
        raise AirflowSensorTimeout(message)
    if status == "error":
        if event.get("record") is not None:
            raise AirflowFailException(message)  # Failed/Cancelled: a retry cannot change it
        raise MarketoExportEventError(message)  # the status could not be read: a retry may help
    raise MarketoExportEventError(f"Marketo export trigger returned an unknown event: {event!r}")


REENQUEUE_AFTER_CREATED_POLLS = 3
"""
Status reads in a row answering ``Created`` after a job was enqueued before it is enqueued again.

Marketo has been seen answering ``Created`` again for a job it had accepted into its queue, or losing the
enqueue altogether (tap-marketo and Airbyte's source-marketo enqueue such a job again). A few reads allow
for a status that lags the enqueue (Marketo refreshes it once a minute); enqueueing again is harmless,
since Marketo answers "Job already queued" (1029) for a job it does hold, which counts as success.
"""
MAX_REENQUEUES = 3
"""How many times one wait enqueues a job again before failing with MarketoExportNotEnqueuedError."""
STILL_CREATED_EVENT = "created"
"""The status of a trigger event saying the job still reads Created: the task enqueues it on the worker."""


@dataclass
class CreatedWatch:
    """
    Counts the status reads of an enqueued job that answer ``Created``, to know when to enqueue it again.

    :param after_polls: Created reads in a row before enqueueing again; ``None`` never enqueues again.
    :param reenqueues: enqueues done so far by this wait (a trigger event carries it across deferrals).
    """

    export_id: str
    after_polls: int | None = REENQUEUE_AFTER_CREATED_POLLS
    reenqueues: int = 0
    created_polls: int = 0

    def should_reenqueue(self, record: Mapping[str, Any]) -> bool:
        """Count one status record; True when the job has read Created ``after_polls`` times in a row."""
        if record.get("status") != CREATED:
            self.created_polls = 0
            return False
        self.created_polls += 1
        return self.after_polls is not None and self.created_polls >= self.after_polls

    def count_reenqueue(self) -> None:
        """Count an enqueue about to be made again, or fail when :data:`MAX_REENQUEUES` are spent."""
        if self.reenqueues >= MAX_REENQUEUES:
            raise MarketoExportNotEnqueuedError(
                f"Marketo export {self.export_id} still reads Created after it was enqueued "
                f"{self.reenqueues + 1} times, each followed by {self.after_polls} status reads answering "
                "Created: Marketo is not taking the job into its queue. The job stays Created; a retry of "
                "the task enqueues it again. If it persists, ask Marketo support about the job."
            )
        self.reenqueues += 1
        self.created_polls = 0


def still_created_event(event: Any) -> TypeGuard[dict[str, Any]]:
    """Whether a status trigger's event says the job still reads Created (see :class:`CreatedWatch`)."""
    return isinstance(event, dict) and event.get("status") == STILL_CREATED_EVENT and "export_id" in event


# ExportStatusVerdict and judge_export_status, the older names, warn and keep working.
__getattr__ = moved_names(__name__)

__all__: list[str] = []
