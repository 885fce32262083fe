"""Sensor that waits for a Marketo program member export to complete."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    BaseHook,
)
from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue, XComArg

from airflow_provider_marketo_pm.arguments import duration_seconds, poll_interval_seconds, rendered_later
from airflow_provider_marketo_pm.exceptions import MarketoError
from airflow_provider_marketo_pm.export_status import (
    MARKETO_STATUS_REFRESH_SECONDS,
    ExportState,
    completed_record_from_event,
    jittered_interval,
    read_export_status,
)
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger
from airflow_provider_marketo_pm.validation import is_loopback_host
from airflow_provider_marketo_pm.version_compat import TRIGGER_ON_KILL_SUPPORTED


class MarketoProgramMemberExportSensor(BaseSensorOperator):
    """
    Wait until a program member export is Completed and return its status record.

    Checks once on the worker and returns at once if the job is already Completed; otherwise it
    defers to :class:`MarketoProgramMemberExportTrigger` so that no worker slot is held while
    Marketo works. ``deferrable=False`` pokes from the worker with the same status rules.

    Failed fails the task with Marketo's ``errorMsg``; Cancelled fails saying so. Both are final
    (no retry would change them). The XCom return value is the Completed status record
    (``exportId``, ``numberOfRecords``, ``fileSize``, ``fileChecksum``, ...).

    :param export_id: exportId to wait for (templated), usually the start operator's XCom.
    :param marketo_conn_id: Airflow connection of the Marketo instance (templated).
    :param poll_interval: seconds between status checks (templated: a template may render it,
        e.g. from a Variable). Marketo refreshes status once a minute, so values below 60 only make
        sense against a local emulator (a warning says so otherwise).
    :param timeout: seconds (or timedelta) to wait before failing with AirflowSensorTimeout.
    :param deferrable: wait in the triggerer (default) instead of on a worker.
    :param cancel_on_timeout: cancel the Marketo job when the sensor times out, freeing its place
        in the shared export queue.
    :param cancel_on_kill: on Airflow 3.3+, cancel the job when a user marks the deferred task
        failed/success or clears it. It can also fire when a trigger is reassigned: off by default.
    """

    template_fields: Sequence[str] = ("export_id", "marketo_conn_id", "poll_interval")
    ui_color = "#5c4ee5"

    def __init__(
        self,
        *,
        export_id: str | XComArg,
        marketo_conn_id: str = "marketo_default",
        poll_interval: float | str = MARKETO_STATUS_REFRESH_SECONDS,
        timeout: timedelta | float = timedelta(hours=24),
        deferrable: bool = True,
        cancel_on_timeout: bool = False,
        cancel_on_kill: bool = False,
        **kwargs: Any,
    ) -> None:
        # A template (or an XComArg / mapped argument) is checked once rendered, in execute(); a plain
        # value is checked now, when the DAG is parsed.
        later = rendered_later(poll_interval)
        poke_interval = MARKETO_STATUS_REFRESH_SECONDS if later else poll_interval_seconds(poll_interval)
        super().__init__(poke_interval=poke_interval, timeout=duration_seconds("timeout", timeout), **kwargs)
        self.export_id: Any = export_id  # an XComArg or template until rendered: a str in execute()
        self.marketo_conn_id = marketo_conn_id
        self.poll_interval: Any = poll_interval if later else poke_interval
        self.deferrable = deferrable
        self.cancel_on_timeout = cancel_on_timeout
        self.cancel_on_kill = cancel_on_kill

    @property
    def hook(self) -> MarketoHook:
        return MarketoHook(marketo_conn_id=self.marketo_conn_id)

    def _warn_if_polling_too_fast(self) -> None:
        poll_interval = poll_interval_seconds(self.poll_interval)
        if poll_interval >= MARKETO_STATUS_REFRESH_SECONDS:
            return
        host = BaseHook.get_connection(self.marketo_conn_id).host
        if not host or not is_loopback_host(host):
            self.log.warning(
                "poll_interval=%g s is below Marketo's %d s status refresh: every extra poll spends "
                "API quota for no news. Use poll_interval>=60 against a real instance.",
                poll_interval,
                MARKETO_STATUS_REFRESH_SECONDS,
            )

    def _check(self) -> dict[str, Any] | None:
        """Return the record when Completed, None while pending; raise on a terminal failure."""
        record = self.hook.get_program_member_export_status(self.export_id)
        verdict = read_export_status(record)
        if verdict.state is ExportState.ERROR:
            raise AirflowFailException(verdict.message)
        self.log.info(verdict.message)
        return record if verdict.state is ExportState.DONE else None

    def poke(self, context: Context) -> PokeReturnValue:
        record = self._check()
        return PokeReturnValue(is_done=record is not None, xcom_value=record)

    def execute(self, context: Context) -> Any:
        poll_interval = poll_interval_seconds(self.poll_interval)  # rendered by now
        self.poll_interval = self.poke_interval = poll_interval
        self._warn_if_polling_too_fast()
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout:
                self._cancel_after_timeout()
                raise
        record = self._check()
        if record is not None:
            return record
        if self.cancel_on_kill and not TRIGGER_ON_KILL_SUPPORTED:
            self.log.warning(
                "cancel_on_kill needs Airflow 3.3+ (the trigger's on_kill): on this Airflow, marking the "
                "deferred task failed leaves export %s running in Marketo.",
                self.export_id,
            )
        self.defer(
            trigger=MarketoProgramMemberExportTrigger(
                export_id=str(self.export_id),
                marketo_conn_id=self.marketo_conn_id,
                poll_interval=poll_interval,
                end_time=time.time() + self.timeout,
                cancel_on_kill=self.cancel_on_kill,
                # It has just checked: the trigger's first call comes one (jittered) interval later.
                first_poll_at=time.time() + jittered_interval(poll_interval),
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return the Completed record of the trigger's event; anything else fails (see the event rules)."""
        try:
            record = completed_record_from_event(event)
        except AirflowSensorTimeout:
            self._cancel_after_timeout()
            raise
        self.log.info((event or {}).get("message") or "")
        return record

    def _cancel_after_timeout(self) -> None:
        if not self.cancel_on_timeout:
            return
        try:
            self.hook.cancel_program_member_export(self.export_id)
            self.log.info("Cancelled Marketo export %s after the sensor timed out.", self.export_id)
        except MarketoError as err:
            self.log.warning("Could not cancel Marketo export %s: %s", self.export_id, err)
