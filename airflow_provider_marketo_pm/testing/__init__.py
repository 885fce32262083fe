"""Offline testing support: an emulated Marketo instance and its pytest fixtures.

The names below load on first use (PEP 562): pytest imports this package in every session of an
environment where the provider is installed (for the ``pytest11`` plugin), and such a session must not
import the emulator's server stack (Starlette, uvicorn) unless a test asks for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("airflow_provider_marketo_pm.testing.emulator"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
