"""Offline testing support: an emulated Marketo instance and its pytest fixture."""

from airflow_provider_marketo_pm.testing.emulator import (
    ENDPOINTS,
    EmulatorOptionError,
    EmulatorOptions,
    Fault,
    MarketoEmulator,
    RecordedRequest,
)

__all__ = [
    "ENDPOINTS",
    "EmulatorOptionError",
    "EmulatorOptions",
    "Fault",
    "MarketoEmulator",
    "RecordedRequest",
]
