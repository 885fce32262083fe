"""A Marketo emulator for the Bulk Program Member Extract API (see ``MarketoEmulator``)."""

from airflow_provider_marketo_pm.testing.emulator.faults import ENDPOINTS, Fault
from airflow_provider_marketo_pm.testing.emulator.options import EmulatorOptionError, EmulatorOptions
from airflow_provider_marketo_pm.testing.emulator.request_log import RecordedRequest
from airflow_provider_marketo_pm.testing.emulator.server import MarketoEmulator

__all__ = [
    "ENDPOINTS",
    "EmulatorOptionError",
    "EmulatorOptions",
    "Fault",
    "MarketoEmulator",
    "RecordedRequest",
]
