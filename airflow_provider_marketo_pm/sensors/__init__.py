"""Sensors that wait for a bulk export of each kind to complete."""

from airflow_provider_marketo_pm.sensors.activities import MarketoActivityExportSensor
from airflow_provider_marketo_pm.sensors.custom_objects import MarketoCustomObjectExportSensor
from airflow_provider_marketo_pm.sensors.leads import MarketoLeadExportSensor
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor

__all__ = [
    "MarketoActivityExportSensor",
    "MarketoCustomObjectExportSensor",
    "MarketoLeadExportSensor",
    "MarketoProgramMemberExportSensor",
]
