"""The wait for a bulk export job to complete, as a sensor, written once for every export kind."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import AirflowSensorTimeout
from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue

from airflow_provider_marketo_pm import arguments
from airflow_provider_marketo_pm.exceptions import MarketoError, MarketoRequestError
from airflow_provider_marketo_pm.export_status import (
    COMPLETED,
    MARKETO_STATUS_REFRESH_SECONDS,
    REENQUEUE_AFTER_CREATED_POLLS,
    CreatedWatch,
)
from airflow_provider_marketo_pm.hooks.marketo_responses import read_export_record
from airflow_provider_marketo_pm.lifecycle import ExportWait, check_poll_pace, deferrable_argument
from airflow_provider_marketo_pm.version_compat import TRIGGER_ON_KILL_SUPPORTED

__all__ = ["MarketoExportSensor"]

_NOT_SET: Any = object()


class MarketoExportSensor(ExportWait, BaseSensorOperator):
    """
    Wait until a job of :attr:`export_kind` is Completed and return its status record.

    Checks once on the worker and returns at once if the job is already Completed; otherwise it defers to
    the kind's status trigger so that no worker slot is held while Marketo works. ``deferrable=False``
    pokes from the worker with the same status rules. Airflow's own ``poke_interval``, ``timeout`` and
    ``mode`` work as on any sensor; ``poll_interval`` is the same interval under Marketo's name
    (templated), and giving both is refused.

    Failed fails the task with Marketo's ``errorMsg``; Cancelled fails saying so. Both are final
    (no retry would change them). The XCom return value is the Completed status record
    (``exportId``, ``numberOfRecords``, ``fileSize``, ``fileChecksum``, ...).

    :param export_id: exportId to wait for (templated), usually the start operator's XCom.
    :param marketo_conn_id: Airflow connection of the Marketo instance (templated).
    :param poll_interval: seconds between status checks (templated: a template may render it,
        e.g. from a Variable). Marketo refreshes status once a minute, so values below 60 are refused
        against a real instance, before the first status call (an emulator on loopback or plain http
        may be polled faster). At most 7 days, like ``timeout``. Airflow's ``poke_interval`` is
        accepted instead (giving both is refused); ``mode`` works as on any sensor.
    :param timeout: seconds (or timedelta) to wait before failing with AirflowSensorTimeout.
    :param deferrable: wait in the triggerer instead of on a worker; defaults to
        ``[operators] default_deferrable``, True when unset. ``False`` never defers.
    :param cancel_on_timeout: cancel the Marketo job when the sensor times out, freeing its place
        in the shared export queue.
    :param cancel_on_kill: on Airflow 3.3+, cancel the job when a user marks the deferred task
        failed/success or clears it. It can also fire when a trigger is reassigned: off by default.
    :param record: the job's Completed status record if already read (templated, e.g. the waiting
        start's XCom ``record``): returned at once, with no status call.
    :param reenqueue_after_polls: when the job reads ``Created`` this many status reads in a row (default
        :data:`~airflow_provider_marketo_pm.export_status.REENQUEUE_AFTER_CREATED_POLLS`, 3), enqueue it
        again from the worker ("Job already queued" counts as success), at most
        :data:`~airflow_provider_marketo_pm.export_status.MAX_REENQUEUES` times, then fail with
        :class:`~airflow_provider_marketo_pm.exceptions.MarketoExportNotEnqueuedError`. Marketo has been
        seen answering Created again for an enqueued job, or losing the enqueue. ``None`` never enqueues.
    """

    resume_method = "execute_complete"

    template_fields: Sequence[str] = ("export_id", "marketo_conn_id", "poll_interval", "record")
    ui_color = "#5c4ee5"

    def __init__(
        self,
        *,
        export_id: Any,
        marketo_conn_id: str = "marketo_default",
        poll_interval: Any = _NOT_SET,
        timeout: timedelta | float = timedelta(hours=24),
        deferrable: bool | None = None,
        cancel_on_timeout: bool = False,
        cancel_on_kill: bool = False,
        record: Any = None,
        reenqueue_after_polls: int | None = REENQUEUE_AFTER_CREATED_POLLS,
        **kwargs: Any,
    ) -> None:
        name = "poll_interval"
        if "poke_interval" in kwargs:
            if poll_interval is not _NOT_SET:
                raise MarketoRequestError(
                    "poll_interval",
                    poll_interval,
                    f"give poll_interval or Airflow's poke_interval={kwargs['poke_interval']!r}, not both "
                    "(they are the same interval)",
                )
            poll_interval, name = kwargs.pop("poke_interval"), "poke_interval"
        elif poll_interval is _NOT_SET:
            poll_interval = MARKETO_STATUS_REFRESH_SECONDS
        # A template (or an XComArg / mapped argument) is checked once rendered, in execute(); a plain
        # value is checked now, when the DAG is parsed.
        later = arguments.rendered_later(poll_interval)
        poke_interval = (
            MARKETO_STATUS_REFRESH_SECONDS if later else arguments.poll_interval_seconds(poll_interval, name)
        )
        super().__init__(
            poke_interval=poke_interval, timeout=arguments.duration_seconds("timeout", timeout), **kwargs
        )
        self.export_id: Any = export_id  # an XComArg or template until rendered: a str in execute()
        self.marketo_conn_id = marketo_conn_id
        self.poll_interval: Any = poll_interval if later else poke_interval
        self.deferrable = deferrable_argument(deferrable)
        self.cancel_on_timeout = arguments.flag("cancel_on_timeout", cancel_on_timeout)
        self.cancel_on_kill = arguments.flag("cancel_on_kill", cancel_on_kill)
        self.record: Any = record
        self.reenqueue_after_polls = (
            None
            if reenqueue_after_polls is None
            else arguments.whole_number("reenqueue_after_polls", reenqueue_after_polls, minimum=1)
        )
        # Poke mode: the Created reads of this try (reschedule mode starts counting afresh each poke).
        self._created_watch: CreatedWatch | None = None

    def _record_handed_in(self) -> dict[str, Any] | None:
        """A Completed record of this job already read (e.g. the waiting start's XCom): no call needed."""
        given = self.record
        if (
            isinstance(given, Mapping)
            and given.get("status") == COMPLETED
            and str(given.get("exportId")) == str(self.export_id)
        ):
            self.log.info("Export %s is Completed (status read by an earlier task).", self.export_id)
            return read_export_record(given, export_id=str(self.export_id))
        return None

    def poke(self, context: Context) -> PokeReturnValue:
        export_id = arguments.export_id(self.export_id)
        if self._created_watch is None and self.reenqueue_after_polls is not None:
            self._created_watch = CreatedWatch(export_id, self.reenqueue_after_polls)
        record = self.hook.check_export(self.job_kind(), export_id, created_watch=self._created_watch)
        return PokeReturnValue(is_done=record is not None, xcom_value=record)

    def execute(self, context: Context) -> Any:
        poll_interval = arguments.poll_interval_seconds(self.poll_interval)  # rendered by now
        self.poll_interval = self.poke_interval = poll_interval
        handed_in = self._record_handed_in()
        if handed_in is not None:
            return handed_in
        check_poll_pace(poll_interval, self.hook)  # before the first status call
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout:
                self._cancel_after_timeout()
                raise
        record = self.hook.check_export(self.job_kind(), arguments.export_id(self.export_id))
        if record is not None:
            return record
        if self.cancel_on_kill and not TRIGGER_ON_KILL_SUPPORTED:
            self.log.warning(
                "cancel_on_kill needs Airflow 3.3+ (the trigger's on_kill): on this Airflow, marking the "
                "deferred task failed leaves export %s running in Marketo.",
                self.export_id,
            )
        self.defer_until_completed(str(self.export_id), end_time=time.time() + self.timeout)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """
        The one way back from the sensor's deferral: the Completed record of the trigger's event; anything
        else fails (see :meth:`ExportWait.completed_record <airflow_provider_marketo_pm.lifecycle.ExportWait.
        completed_record>`), cancelling the job after a timeout with ``cancel_on_timeout``.
        """
        try:
            return self.completed_record(event)
        except AirflowSensorTimeout:
            self._cancel_after_timeout()
            raise

    def _cancel_after_timeout(self) -> None:
        if not self.cancel_on_timeout:
            return
        try:
            self.hook.cancel_export(self.job_kind(), self.export_id)
            self.log.info("Cancelled Marketo export %s after the sensor timed out.", self.export_id)
        except MarketoError as err:
            self.log.warning("Could not cancel Marketo export %s: %s", self.export_id, err)
