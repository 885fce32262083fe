"""Sensor that waits for a program member export to complete."""

from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor

__all__ = ["MarketoProgramMemberExportSensor"]
