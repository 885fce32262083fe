"""What the start and the sensor share on the worker: deferral defaults, the poll pace, the completion wait.

Both wait for an enqueued job to complete (the start with ``wait_for_completion``), so the wait is written
once, in :class:`ExportWait`: deferred to the kind's status trigger, and its event read once. This module
sits below the operators and the sensors, so that neither imports the other.
"""

from __future__ import annotations

import importlib
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow.providers.common.compat.sdk import conf
from airflow.sdk import BaseOperator

from airflow_provider_marketo_pm import arguments
from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.export_status import (
    COMPLETED,
    MARKETO_STATUS_REFRESH_SECONDS,
    CreatedWatch,
    completed_record_from_event,
    deferral_timeout,
    jittered_interval,
    still_created_event,
)
from airflow_provider_marketo_pm.hooks.connection_settings import is_loopback_host
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook

if TYPE_CHECKING:
    from airflow_provider_marketo_pm.export_kind import ExportKind
    from airflow_provider_marketo_pm.triggers.bulk_export import MarketoExportStatusTrigger

RECORD_XCOM_KEY = "record"
"""XCom key under which a start that waited for completion leaves the Completed status record."""


def default_deferrable() -> bool:
    """
    ``deferrable``'s default, read as Airflow's own providers read it: ``[operators] default_deferrable``.

    Our fallback is True (an export wait can last hours), but Airflow ships the option as False and
    ``airflow db migrate`` writes it into airflow.cfg: a deployment that wants waits in the triggerer sets
    it to True (our docker-compose.yaml does), or passes ``deferrable=True``.
    """
    return conf.getboolean("operators", "default_deferrable", fallback=True)


def deferrable_argument(value: Any) -> bool:
    """``deferrable``: True or False, or None for :func:`default_deferrable`."""
    return default_deferrable() if value is None else arguments.flag("deferrable", value)


def check_poll_pace(poll_interval: float, hook: MarketoHook, name: str = "poll_interval") -> None:
    """
    Refuse a poll faster than Marketo's status refresh (60 s) against a real instance: every extra poll
    spends API quota for no news. An emulator (a loopback host, or plain http, which the connection allows
    only for a loopback emulator or with ``allow_insecure_http``) may be polled at any pace.
    """
    base_url = hook.settings.base_url
    if poll_interval >= MARKETO_STATUS_REFRESH_SECONDS:
        return
    if base_url.startswith("http://") or is_loopback_host(base_url):
        return
    raise MarketoRequestError(
        name,
        poll_interval,
        f"must be >= {MARKETO_STATUS_REFRESH_SECONDS:g} s against a real Marketo instance ({base_url}): "
        "Marketo refreshes a job's status once a minute, so faster polls only spend API quota (an emulator "
        "on loopback or plain http may be polled faster)",
    )


def status_trigger(kind: ExportKind) -> type[MarketoExportStatusTrigger]:
    """The trigger class a wait for a job of ``kind`` defers to (the kind names it by classpath)."""
    module, _, name = kind.status_trigger.rpartition(".")
    trigger: type[MarketoExportStatusTrigger] = getattr(importlib.import_module(module), name)
    return trigger


class ExportWait(BaseOperator):
    """
    A task that waits for an enqueued job of its kind to complete: the start (``wait_for_completion``) and
    the sensor.

    The wait defers to the kind's status trigger, which polls in the triggerer; its one event is read by
    :meth:`completed_record`: Completed gives the status record, Failed or Cancelled fail for good, the
    deadline raises AirflowSensorTimeout, and a job that still reads Created after it was enqueued is
    enqueued again here, on the worker (a POST never runs in the triggerer), before the wait defers again
    until the same deadline. The task sets ``marketo_conn_id``, ``poll_interval``, ``timeout`` (seconds) and
    ``reenqueue_after_polls``.
    """

    #: The export kind of the task's jobs; a kind's class sets it.
    export_kind: ClassVar[ExportKind]
    #: The method a deferral of this task resumes (its one way back).
    resume_method: ClassVar[str]
    #: Cancel the job when a user kills the deferred task (the sensor's option).
    cancel_on_kill: bool = False

    marketo_conn_id: str
    poll_interval: Any
    timeout: float
    reenqueue_after_polls: int | None

    @cached_property
    def hook(self) -> MarketoHook:
        """One hook (one session, one token) per task."""
        return MarketoHook(marketo_conn_id=self.marketo_conn_id)

    def job_kind(self) -> ExportKind:
        """
        The kind of this task's job, its path bound: :attr:`export_kind`, unless the kind's path takes a
        parameter (a custom object's ``apiName``): then it is bound from this task's arguments
        (:meth:`ExportKind.bound_for <airflow_provider_marketo_pm.export_kind.ExportKind.bound_for>`).
        """
        return self.export_kind.bound_for(self)

    def defer_until_completed(self, export_id: str, *, end_time: float, reenqueues: int = 0) -> NoReturn:
        """Defer to the kind's status trigger until the job is terminal or ``end_time`` passes."""
        poll_interval = arguments.poll_interval_seconds(self.poll_interval)
        self.defer(
            trigger=status_trigger(self.job_kind())(
                export_id=export_id,
                marketo_conn_id=self.marketo_conn_id,
                poll_interval=poll_interval,
                end_time=end_time,
                cancel_on_kill=self.cancel_on_kill,
                # The task has just checked or enqueued: the first poll comes one (jittered) interval later.
                first_poll_at=time.time() + jittered_interval(poll_interval),
                export_path=self.job_kind().path,
                reenqueue_after_polls=self.reenqueue_after_polls,
                reenqueues=reenqueues,
            ),
            method_name=self.resume_method,
            timeout=deferral_timeout(max(0.0, end_time - time.time())),
        )

    def completed_record(self, event: Any) -> dict[str, Any]:
        """
        The Completed status record of the status trigger's ``event``, or the failure it reports (see
        :func:`~airflow_provider_marketo_pm.export_status.completed_record_from_event`). A job still reading
        Created is enqueued again and the wait defers again (raising TaskDeferred), unless it completed.
        """
        if still_created_event(event):
            export_id = str(event["export_id"])
            self.log.info(event.get("message") or "")
            watch = CreatedWatch(export_id, self.reenqueue_after_polls, int(event.get("reenqueues") or 0))
            record = self.hook.reenqueue_export(self.job_kind(), export_id, watch)
            if record.get("status") != COMPLETED:
                end_time = event.get("end_time")
                self.defer_until_completed(
                    export_id,
                    end_time=float(end_time) if end_time is not None else time.time() + self.timeout,
                    reenqueues=watch.reenqueues,
                )
            return record
        record = completed_record_from_event(event)
        self.log.info(event.get("message") or "")
        return record


__all__: list[str] = []
