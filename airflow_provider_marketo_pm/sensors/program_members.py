"""Sensor that waits for a Marketo program member export to complete.

The wait is written once for every export kind in :mod:`airflow_provider_marketo_pm.sensors.bulk_export`.
"""

from __future__ import annotations

from airflow_provider_marketo_pm._compat import moved_names
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.sensors.bulk_export import MarketoExportSensor
from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger

__all__ = ["MarketoProgramMemberExportSensor"]


class MarketoProgramMemberExportSensor(MarketoExportSensor):
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

    export_kind = PROGRAM_MEMBERS
    status_trigger = MarketoProgramMemberExportTrigger


# Older imports from this module (the status words and argument parsers) warn and keep working.
__getattr__ = moved_names(__name__)
