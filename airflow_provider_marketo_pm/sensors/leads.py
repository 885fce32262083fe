"""Sensor that waits for a Marketo lead export to complete.

The wait and every argument of it are written once for every export kind, in
:mod:`airflow_provider_marketo_pm.sensors.bulk_export`; the generic status trigger polls it.
"""

from __future__ import annotations

from airflow_provider_marketo_pm.kinds.leads import LEADS
from airflow_provider_marketo_pm.sensors.bulk_export import MarketoExportSensor

__all__ = ["MarketoLeadExportSensor"]


class MarketoLeadExportSensor(MarketoExportSensor):
    """
    Wait until a lead export is Completed and return its status record
    (:class:`~airflow_provider_marketo_pm.sensors.bulk_export.MarketoExportSensor`, whose arguments it takes).
    """

    export_kind = LEADS
