"""Old names that keep working, in one place: each use warns (``DeprecationWarning``) and gives the new one.

A module with renamed names ends with ``__getattr__ = moved_names(__name__)`` (PEP 562); :data:`MOVED` says
where each old name went. Nothing here imports Airflow or the rest of the package until an old name is used.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

_PACKAGE = "airflow_provider_marketo_pm"

MOVED: dict[tuple[str, str], tuple[str, str]] = {
    # The hook's retries of one call are not Airflow's task-level RetryPolicy (nor MarketoRetryPolicy).
    ("airflow_provider_marketo_pm.hooks.call_retries", "RetryPolicy"): (
        "airflow_provider_marketo_pm.hooks.call_retries",
        "CallRetries",
    ),
    ("airflow_provider_marketo_pm.hooks.call_retries", "retry_policy"): (
        "airflow_provider_marketo_pm.hooks.call_retries",
        "tenacity_kwargs",
    ),
    # Kinds and the lifecycle: a kind's knowledge lives in its module of kinds/; shared deferral pieces in
    # lifecycle.py, below the operators and the sensors.
    **{
        (f"{_PACKAGE}.{old_module}", old): (f"{_PACKAGE}.{new_module}", new)
        for old_module, old, new_module, new in (
            ("export_kind", "PROGRAM_MEMBERS", "kinds.program_members", "PROGRAM_MEMBERS"),
            (
                "export_kind",
                "program_member_export_request",
                "kinds.program_members",
                "program_member_export_request",
            ),
            ("validation", "build_export_request", "kinds.program_members", "build_request"),
            ("validation", "FILTER_KEYS", "kinds.program_members", "FILTER_KEYS"),
            ("validation", "MAX_PROGRAM_IDS", "kinds.program_members", "MAX_PROGRAM_IDS"),
            ("validation", "is_loopback_host", "hooks.connection_settings", "is_loopback_host"),
            ("kind_tables", "PROGRAM_MEMBER_TABLE", "kinds.program_members", "PROGRAM_MEMBER_TABLE"),
        )
    },
}
"""(module, old name) -> (module, new name)."""


def moved_names(module: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``module``: an old name warns and resolves to its new object."""

    def __getattr__(name: str) -> Any:
        target = MOVED.get((module, name))
        if target is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        new_module, new_name = target
        warnings.warn(
            f"{module}.{name} is deprecated; use {new_module}.{new_name}", DeprecationWarning, stacklevel=2
        )
        return getattr(importlib.import_module(new_module), new_name)

    return __getattr__


__all__: list[str] = []
