"""Sensor that waits for a Marketo program member export to complete.

The wait and every argument of it are written once for every export kind, in
:mod:`airflow_provider_marketo_pm.sensors.bulk_export`.
"""

from __future__ import annotations

from airflow_provider_marketo_pm._compat import moved_names
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.sensors.bulk_export import MarketoExportSensor

__all__ = ["MarketoProgramMemberExportSensor"]


class MarketoProgramMemberExportSensor(MarketoExportSensor):
    """
    Wait until a program member export is Completed and return its status record, deferred to
    :class:`~airflow_provider_marketo_pm.triggers.program_members.MarketoProgramMemberExportTrigger`
    (:class:`~airflow_provider_marketo_pm.sensors.bulk_export.MarketoExportSensor`, whose arguments it
    takes).
    """

    export_kind = PROGRAM_MEMBERS


# Older imports from this module (the status words and argument parsers) warn and keep working.
__getattr__ = moved_names(__name__)
