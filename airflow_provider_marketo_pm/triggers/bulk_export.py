"""Triggers of the bulk export lifecycle, for every export kind: the status wait and the start's timer.

Both wait in the triggerer, holding no worker slot; each serializes to JSON primitives and yields one event.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_marketo_pm._compat import moved_names
from airflow_provider_marketo_pm.exceptions import MarketoError, MarketoTransientError
from airflow_provider_marketo_pm.export_kind import ExportKind
from airflow_provider_marketo_pm.export_status import (
    STILL_CREATED_EVENT,
    CreatedWatch,
    ExportState,
    jittered_interval,
    read_export_status,
    resumed_poll_offset,
)
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.hooks.marketo_responses import bounded
from airflow_provider_marketo_pm.redaction import redact_credentials

__all__ = ["MarketoExportStatusTrigger", "MarketoExportTimerTrigger"]

ENQUEUE_RETRY_EVENT = "retry"
"""The status of the timer's event after a full queue: enqueue the job again."""
QUOTA_RESET_EVENT = "quota_reset"
"""The status of the timer's event after the daily quota reset: enqueue (or create) the job again."""


EVENT_MESSAGE_CHARS = 2000
"""A trigger event's message is cut to this: an event is stored in the metadata DB, never megabytes."""


def event_message(message: str) -> str:
    """A message for a trigger event: credentials redacted, at most :data:`EVENT_MESSAGE_CHARS`."""
    return bounded(redact_credentials(str(message)), EVENT_MESSAGE_CHARS)


# on_kill must end within the triggerer's on_kill_timeout (30 s by default), retries and backoff included.
_ON_KILL_CALL_TIMEOUT = 10.0
_ON_KILL_RETRY_BUDGET = 10.0
_ON_KILL_MAX_BACKOFF = 4.0
_ON_KILL_DEADLINE = 25.0
"""The whole cancel, its turn in the process's share of the call rate (``hooks.call_pacing``) included."""


class MarketoExportStatusTrigger(BaseTrigger):
    """
    Poll the status of an export job until it is terminal or ``end_time`` passes.

    Stateless by design: a restarted or reassigned triggerer runs it again from its kwargs and
    simply resumes polling (a status GET is idempotent). It yields exactly one event:
    ``{"status": "success" | "error" | "timeout", "export_id", "message", "record"}``, or with
    ``reenqueue_after_polls`` a ``"created"`` event (see :meth:`_still_created_event`).

    :param export_id: the Marketo exportId to watch.
    :param marketo_conn_id: Airflow connection of the Marketo instance.
    :param poll_interval: seconds between status calls (Marketo refreshes status once a minute).
    :param end_time: wall-clock deadline (``time.time()`` epoch seconds); ``None`` waits forever.
    :param cancel_on_kill: cancel the job when a user kills the deferred task (Airflow 3.3+).
    :param first_poll_at: no status call before this ``time.time()`` (the deferring task has just
        checked); ``None`` polls at once. A trigger run again after it has passed (a triggerer restart)
        polls within one ``poll_interval``, at an offset of its own (see :meth:`_first_poll_wait`).
    :param max_consecutive_errors: failed polls (transient errors) tolerated in a row before giving up;
        ``None`` (default) takes the connection's ``max_retries``. Each poll is a single call: the polls
        are the retries, so the budget is the retry policy's, not multiplied by it.
    :param export_path: the REST path of the job's export kind (its path parameters bound); a kind's own
        trigger (:attr:`export_kind`) defaults to its kind's.
    :param reenqueue_after_polls: after this many status reads in a row answering Created, yield a
        ``"created"`` event instead of polling on: the task enqueues the job again on the worker (an enqueue
        is a POST, never made from the triggerer) and defers again. ``None`` (default) just polls on.
    :param reenqueues: how many times the task has enqueued the job again; carried into the event.
    """

    export_kind: ClassVar[ExportKind | None] = None
    """A kind's own trigger names its kind: the path of tasks deferred before ``export_path`` existed."""

    def __init__(
        self,
        export_id: str,
        marketo_conn_id: str = "marketo_default",
        poll_interval: float = 60.0,
        end_time: float | None = None,
        cancel_on_kill: bool = False,
        max_consecutive_errors: int | None = None,
        first_poll_at: float | None = None,
        export_path: str | None = None,
        reenqueue_after_polls: int | None = None,
        reenqueues: int = 0,
    ) -> None:
        super().__init__()
        if export_path is None:
            if self.export_kind is None:
                raise TypeError(f"{type(self).__name__} needs export_path: the path of the job's export kind")
            export_path = self.export_kind.path
        self.export_path = str(export_path)
        self.reenqueue_after_polls = None if reenqueue_after_polls is None else int(reenqueue_after_polls)
        self.reenqueues = int(reenqueues)
        self.first_poll_at = None if first_poll_at is None else float(first_poll_at)
        self.export_id = str(export_id)
        self.marketo_conn_id = marketo_conn_id
        self.poll_interval = float(poll_interval)
        self.end_time = None if end_time is None else float(end_time)
        self.cancel_on_kill = bool(cancel_on_kill)
        self.max_consecutive_errors = None if max_consecutive_errors is None else int(max_consecutive_errors)

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
                "export_path": self.export_path,
                "reenqueue_after_polls": self.reenqueue_after_polls,
                "reenqueues": self.reenqueues,
            },
        )

    @property
    def _kind(self) -> ExportKind:
        """Where the job lives: only its path is needed to watch it (a trigger never builds a request)."""
        if self.export_kind is not None and self.export_kind.path == self.export_path:
            return self.export_kind
        return ExportKind("bulk export", self.export_path)

    def _hook(self) -> MarketoHook:
        # Single attempts: the poll loop is the retry loop (see hooks.call_retries).
        return MarketoHook(marketo_conn_id=self.marketo_conn_id, max_retries=0)

    async def _tolerated_errors(self, hook: MarketoHook) -> int:
        if self.max_consecutive_errors is not None:
            return self.max_consecutive_errors
        # The connection's own max_retries (the poll hook's is 0), from the lookup its polls reuse.
        return (await hook._aconnection_settings()).max_retries

    def _event(self, status: str, message: str, record: Mapping[str, Any] | None = None) -> TriggerEvent:
        """
        An event of bounded size: the record is the hook's (Marketo's documented fields, texts cut), the
        message is redacted and cut to :data:`EVENT_MESSAGE_CHARS`.
        """
        return TriggerEvent(
            {
                "status": status,
                "export_id": self.export_id,
                "message": event_message(message),
                "record": dict(record) if record is not None else None,
            }
        )

    def _still_created_event(self, record: Mapping[str, Any], polls: int) -> TriggerEvent:
        """The job reads Created after it was enqueued: the task enqueues it again (see CreatedWatch)."""
        return TriggerEvent(
            {
                "status": STILL_CREATED_EVENT,
                "export_id": self.export_id,
                "message": event_message(
                    f"Export {self.export_id} still reads Created after {polls} status reads."
                ),
                "record": dict(record),
                "reenqueues": self.reenqueues,
                "end_time": self.end_time,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """
        Yield the one event of the wait. Nothing raises out of here: an error nobody foresaw (a bug, an
        answer no rule covers) becomes an ``error`` event without a record, its message redacted and
        bounded, so the task fails with it (and may retry) instead of the trigger dying in the triggerer.
        """
        hook = self._hook()
        try:
            event = await self._wait(hook)
        except Exception as err:
            event = self._event(
                "error", f"Cannot read status of export {self.export_id}: {type(err).__name__}: {err}"
            )
        finally:
            # The run's lease on the loop's shared session, given back however the run ends.
            try:
                await hook.aclose()
            except Exception as err:
                self.log.warning("Could not close the Marketo session: %s", err)
        yield event

    def _first_poll_wait(self, now: float) -> float:
        """
        Seconds until the first poll: until ``first_poll_at``; once it has passed (the trigger runs again
        after a triggerer restart, all its fellows with it), the job's own offset within one poll interval
        (:func:`resumed_poll_offset`), so they do not all poll in the same second. Never past ``end_time``: a
        trigger past its deadline still checks once, then times out. No ``first_poll_at``: at once.
        """
        if self.first_poll_at is None:
            return 0.0
        wake_at = self.first_poll_at
        if wake_at <= now:
            wake_at = now + resumed_poll_offset(self.export_id, self.poll_interval)
        return max(0.0, min(wake_at, self.end_time if self.end_time is not None else math.inf) - now)

    async def _wait(self, hook: MarketoHook) -> TriggerEvent:
        # The wait comes first: after a restart the connection lookup is spread with the polls.
        await asyncio.sleep(self._first_poll_wait(time.time()))
        tolerated = await self._tolerated_errors(hook)
        consecutive_errors = 0
        watch = CreatedWatch(self.export_id, self.reenqueue_after_polls, self.reenqueues)
        while True:
            try:
                record = await hook.aget_export_status(self._kind, self.export_id)
            except MarketoTransientError as err:
                consecutive_errors += 1
                # A network error may deserve fewer tries (a host that does not resolve, TLS failing).
                limit = getattr(err.__cause__ or err, "max_retries", getattr(err, "max_retries", None))
                if consecutive_errors > (tolerated if limit is None else min(tolerated, limit)):
                    return self._event("error", f"Giving up on export {self.export_id} status: {err}")
                self.log.warning(
                    "Status of export %s unavailable (%s); polling again (%d/%d).",
                    self.export_id,
                    err,
                    consecutive_errors,
                    tolerated,
                )
            except MarketoError as err:
                return self._event("error", f"Cannot read status of export {self.export_id}: {err}")
            else:
                consecutive_errors = 0
                verdict = read_export_status(record)
                if verdict.state is ExportState.DONE:
                    return self._event("success", verdict.message, record)
                if verdict.state is ExportState.ERROR:
                    return self._event("error", verdict.message, record)
                if watch.should_reenqueue(record):
                    return self._still_created_event(record, watch.created_polls)
                self.log.info("%s Next check in %.1f s.", verdict.message, self.poll_interval)

            delay = jittered_interval(self.poll_interval)
            if self.end_time is not None:
                remaining = self.end_time - time.time()
                if remaining <= 0:
                    return self._event(
                        "timeout", f"Timed out waiting for Marketo export {self.export_id} to complete."
                    )
                delay = min(delay, remaining)
            await asyncio.sleep(delay)

    async def on_kill(self) -> None:
        """
        Cancel the job when a user kills the task (3.3+ only; off unless ``cancel_on_kill``).

        Runs in the triggerer's event loop, so it uses the hook's async cancel (async connection lookup,
        aiohttp), never the sync Connection API, and ends within :data:`_ON_KILL_DEADLINE`, shorter than the
        triggerer's default ``on_kill_timeout`` (30 s): its retries have a budget, and a call that would wait
        longer for a place in the call rate's window (thousands of polls ahead of it) gives up with a warning.
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
            async with asyncio.timeout(_ON_KILL_DEADLINE):
                await hook.acancel_export(self._kind, self.export_id)
        except TimeoutError:
            self.log.warning(
                "Could not cancel Marketo export %s within %g s (this process's share of Marketo's call "
                "rate is taken); the job runs on in Marketo.",
                self.export_id,
                _ON_KILL_DEADLINE,
            )
        except MarketoError as err:
            self.log.warning("Could not cancel Marketo export %s: %s", self.export_id, err)
        else:
            self.log.info("Cancelled Marketo export %s on user kill.", self.export_id)
        finally:
            await hook.aclose()


class MarketoExportTimerTrigger(BaseTrigger):
    """
    Wait until ``wake_at`` (``time.time()`` epoch seconds), then yield ``event``: the one timer of the start.

    A full queue and a spent daily quota are both waits on the clock; the event says which wait ended and
    carries what the start resumes from (the job, the count of waits so far), so the start resumes from the
    event alone, which also works where deferral kwargs are dropped (``dag.test()`` in Airflow 3.3.2
    replaces them with the event). Build one with :meth:`enqueue_retry` or :meth:`quota_reset`.
    """

    def __init__(self, wake_at: float, event: dict[str, Any]) -> None:
        super().__init__()
        self.wake_at = float(wake_at)
        self.event = dict(event)

    @classmethod
    def enqueue_retry(cls, export_id: str, attempt: int, retry_at: float) -> MarketoExportTimerTrigger:
        """The queue was full: at ``retry_at``, enqueue ``export_id`` again (enqueue attempt ``attempt``)."""
        return cls(
            retry_at, {"status": ENQUEUE_RETRY_EVENT, "export_id": str(export_id), "attempt": int(attempt)}
        )

    @classmethod
    def quota_reset(
        cls, export_id: str | None, quota_waits: int, resume_at: float
    ) -> MarketoExportTimerTrigger:
        """
        The daily quota is used up: just after its reset (``resume_at``), enqueue the Created job
        ``export_id``, or create one when Marketo refused to (``None``); ``quota_waits`` resets waited so far.
        """
        return cls(
            resume_at,
            {
                "status": QUOTA_RESET_EVENT,
                "export_id": None if export_id is None else str(export_id),
                "quota_waits": int(quota_waits),
            },
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"wake_at": self.wake_at, "event": self.event},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Deadline on the wall clock: a trigger restarted elsewhere waits only what is left.
        await asyncio.sleep(max(0.0, self.wake_at - time.time()))
        yield TriggerEvent(self.event)


# MarketoExportEnqueueRetryTrigger and MarketoQuotaResetTrigger, the timers of tasks deferred by an earlier
# version, keep working (with a DeprecationWarning): they build the timer above.
__getattr__ = moved_names(__name__)
