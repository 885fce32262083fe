"""Sensor that waits for a Marketo activity export to complete.

The wait and every argument of it are written once for every export kind, in
:mod:`airflow_provider_marketo_pm.sensors.bulk_export`; the generic status trigger polls it.
"""

from __future__ import annotations

from airflow_provider_marketo_pm.kinds.activities import ACTIVITIES
from airflow_provider_marketo_pm.sensors.bulk_export import MarketoExportSensor

__all__ = ["MarketoActivityExportSensor"]


class MarketoActivityExportSensor(MarketoExportSensor):
    """
    Wait until a activity export is Completed and return its status record
    (:class:`~airflow_provider_marketo_pm.sensors.bulk_export.MarketoExportSensor`, whose arguments it takes).
    """

    export_kind = ACTIVITIES
