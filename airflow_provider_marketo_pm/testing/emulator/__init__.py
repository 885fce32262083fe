"""A Marketo emulator for the Bulk Extract APIs: program members, leads, activities and custom objects on
one queue and one daily quota (see ``MarketoEmulator``)."""

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
