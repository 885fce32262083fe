"""Old names that keep working, in one place: each use warns (``DeprecationWarning``) and gives the new one.

A module with renamed names ends with ``__getattr__ = moved_names(__name__)`` (PEP 562); :data:`MOVED` says
where each old name went. Nothing here imports Airflow or the rest of the package until an old name is used.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

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
    # Hooks, program selection, the daily quota and the exceptions (issue 19: one request path, no cycles).
    ("airflow_provider_marketo_pm.exceptions", "next_quota_reset"): (
        "airflow_provider_marketo_pm.daily_quota",
        "next_quota_reset",
    ),
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
