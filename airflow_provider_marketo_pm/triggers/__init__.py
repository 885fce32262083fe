"""Trigger that polls a program member export from the triggerer."""

from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger

__all__ = ["MarketoProgramMemberExportTrigger"]
