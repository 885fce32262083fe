"""Old names that keep working, in one place: each use warns (``DeprecationWarning``) and gives the new one.

A module with renamed names ends with ``__getattr__ = moved_names(__name__)`` (PEP 562); :data:`MOVED` says
where each old name went. Nothing here imports Airflow or the rest of the package until an old name is used.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from collections.abc import Callable
from typing import Any

_PACKAGE = "airflow_provider_marketo_pm"
_TIMER = "triggers.bulk_export"
_RENAMED = {
    "build_export_request": "build_request",
    "MarketoExportEnqueueRetryTrigger": "MarketoExportTimerTrigger.enqueue_retry",
    "MarketoQuotaResetTrigger": "MarketoExportTimerTrigger.quota_reset",
    "ExportStatusVerdict": "ExportStatus",
    "judge_export_status": "read_export_status",
}
"""New names of the names below that were renamed, not only moved (the same name in every module)."""

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
    # Kinds and the lifecycle: a kind's knowledge lives in its module of kinds/; the start's two timers are
    # one (an old classpath stored by a deferred task builds it); status words once read from the sensor and
    # trigger modules; shared deferral pieces in lifecycle.py, below the operators and the sensors.
    **{
        (f"{_PACKAGE}.{old_module}", old): (f"{_PACKAGE}.{new_module}", new)
        for old_module, new_module, names in (
            ("export_kind", "kinds.program_members", ("PROGRAM_MEMBERS", "program_member_export_request")),
            ("validation", "kinds.program_members", ("FILTER_KEYS", "MAX_PROGRAM_IDS")),
            ("validation", "kinds.program_members", ("build_export_request",)),
            ("validation", "hooks.connection_settings", ("is_loopback_host",)),
            ("kind_tables", "kinds.program_members", ("PROGRAM_MEMBER_TABLE",)),
            ("triggers.bulk_export", _TIMER, ("MarketoExportEnqueueRetryTrigger",)),
            ("triggers.bulk_export", _TIMER, ("MarketoQuotaResetTrigger",)),
            ("triggers.program_members", _TIMER, ("MarketoExportEnqueueRetryTrigger",)),
            ("export_status", "export_status", ("ExportStatusVerdict", "judge_export_status")),
            ("triggers.program_members", "export_status", ("ExportState", "ExportStatusVerdict")),
            ("triggers.program_members", "export_status", ("jittered_interval", "judge_export_status")),
            ("triggers.program_members", "version_compat", ("TRIGGER_ON_KILL_SUPPORTED",)),
            ("sensors.program_members", "export_status", ("MARKETO_STATUS_REFRESH_SECONDS",)),
            ("sensors.program_members", "export_status", ("completed_record_from_event",)),
            ("sensors.program_members", "arguments", ("poll_interval_seconds", "rendered_later")),
            ("operators.bulk_export", "lifecycle", ("default_deferrable", "deferrable_argument")),
            ("operators.bulk_export", "lifecycle", ("check_poll_pace", "RECORD_XCOM_KEY")),
        )
        for old in names
        for new in (_RENAMED.get(old, old),)
    },
}
"""(module, old name) -> (module, new name); a new name may be a class's attribute (``Class.method``)."""


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
        return resolve(new_module, new_name)

    return __getattr__


def resolve(module: str, name: str) -> Any:
    """The object ``name`` (``Class.attribute`` too) of ``module``."""
    return functools.reduce(getattr, name.split("."), importlib.import_module(module))


__all__: list[str] = []
