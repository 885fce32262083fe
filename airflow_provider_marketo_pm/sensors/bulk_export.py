"""The wait for a bulk export job to complete, as a sensor, written once for every export kind."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any, ClassVar, NoReturn

from airflow.providers.common.compat.sdk import AirflowSensorTimeout
from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue

from airflow_provider_marketo_pm import arguments
from airflow_provider_marketo_pm.exceptions import MarketoError, MarketoRequestError
from airflow_provider_marketo_pm.export_kind import ExportKind
from airflow_provider_marketo_pm.export_status import (
    COMPLETED,
    MARKETO_STATUS_REFRESH_SECONDS,
    REENQUEUE_AFTER_CREATED_POLLS,
    CreatedWatch,
    completed_record_from_event,
    deferral_timeout,
    jittered_interval,
    still_created_event,
)
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.hooks.marketo_responses import read_export_record
from airflow_provider_marketo_pm.operators.bulk_export import check_poll_pace, deferrable_argument
from airflow_provider_marketo_pm.triggers.bulk_export import MarketoExportStatusTrigger
from airflow_provider_marketo_pm.version_compat import TRIGGER_ON_KILL_SUPPORTED

__all__ = ["MarketoExportSensor"]

_NOT_SET: Any = object()


class MarketoExportSensor(BaseSensorOperator):
    """
    Wait until a job of :attr:`export_kind` is Completed and return its status record.

    The program member sensor documents the arguments for users. Airflow's own ``poke_interval``,
    ``timeout`` and ``mode`` work as on any sensor; ``poll_interval`` is the same interval under
    Marketo's name (templated), and giving both is refused.
    """

    export_kind: ClassVar[ExportKind]
    status_trigger: ClassVar[type[MarketoExportStatusTrigger]] = MarketoExportStatusTrigger

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

    @cached_property
    def hook(self) -> MarketoHook:
        """One hook (one session, one token) per task."""
        return MarketoHook(marketo_conn_id=self.marketo_conn_id)

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
        record = self.hook.check_export(self.export_kind, export_id, created_watch=self._created_watch)
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
        record = self.hook.check_export(self.export_kind, arguments.export_id(self.export_id))
        if record is not None:
            return record
        if self.cancel_on_kill and not TRIGGER_ON_KILL_SUPPORTED:
            self.log.warning(
                "cancel_on_kill needs Airflow 3.3+ (the trigger's on_kill): on this Airflow, marking the "
                "deferred task failed leaves export %s running in Marketo.",
                self.export_id,
            )
        self._defer(str(self.export_id), end_time=time.time() + self.timeout, reenqueues=0)

    def _defer(self, export_id: str, *, end_time: float, reenqueues: int) -> NoReturn:
        poll_interval = arguments.poll_interval_seconds(self.poll_interval)
        self.defer(
            trigger=self.status_trigger(
                export_id=export_id,
                marketo_conn_id=self.marketo_conn_id,
                poll_interval=poll_interval,
                end_time=end_time,
                cancel_on_kill=self.cancel_on_kill,
                # It has just checked: the trigger's first call comes one (jittered) interval later.
                first_poll_at=time.time() + jittered_interval(poll_interval),
                export_path=self.export_kind.path,
                reenqueue_after_polls=self.reenqueue_after_polls,
                reenqueues=reenqueues,
            ),
            method_name="execute_complete",
            timeout=deferral_timeout(max(0.0, end_time - time.time())),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """
        Return the Completed record of the trigger's event; anything else fails (see the event rules).

        A job that still reads Created after it was enqueued is enqueued again here, on the worker, and the
        wait defers again until the same deadline.
        """
        if still_created_event(event):
            return self._reenqueue_and_wait(event)
        try:
            record = completed_record_from_event(event)
        except AirflowSensorTimeout:
            self._cancel_after_timeout()
            raise
        self.log.info((event or {}).get("message") or "")
        return record

    def _reenqueue_and_wait(self, event: dict[str, Any]) -> dict[str, Any]:
        export_id = str(event["export_id"])
        self.log.info(event.get("message") or "")
        watch = CreatedWatch(export_id, self.reenqueue_after_polls, int(event.get("reenqueues") or 0))
        record = self.hook.reenqueue_export(self.export_kind, export_id, watch)
        if record.get("status") == COMPLETED:
            return record
        end_time = event.get("end_time")
        self._defer(
            export_id,
            end_time=float(end_time) if end_time is not None else time.time() + self.timeout,
            reenqueues=watch.reenqueues,
        )

    def _cancel_after_timeout(self) -> None:
        if not self.cancel_on_timeout:
            return
        try:
            self.hook.cancel_export(self.export_kind, self.export_id)
            self.log.info("Cancelled Marketo export %s after the sensor timed out.", self.export_id)
        except MarketoError as err:
            self.log.warning("Could not cancel Marketo export %s: %s", self.export_id, err)
