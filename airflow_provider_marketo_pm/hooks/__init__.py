"""Hooks of the Marketo provider."""

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook

__all__ = ["MarketoHook"]
