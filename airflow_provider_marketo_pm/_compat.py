"""Old names that keep working, in one place: each use warns (``DeprecationWarning``) and gives the new one.

A module with renamed names ends with ``__getattr__ = moved_names(__name__)`` (PEP 562); :data:`MOVED` says
where each old name went. A class's old methods are a mixin here that the class inherits
(:class:`ProgramMemberExportMethods`). Nothing here imports Airflow or the rest of the package: a new name
is looked up (:func:`resolve`) when an old one is used, so every module may use this one.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_PACKAGE = "airflow_provider_marketo_pm"
_TIMER = "triggers.bulk_export"
_RENAMED = {
    "build_export_request": "build_request",
    "MarketoExportEnqueueRetryTrigger": "MarketoExportTimerTrigger.enqueue_retry",
    "MarketoQuotaResetTrigger": "MarketoExportTimerTrigger.quota_reset",
    "ExportStatusVerdict": "ExportStatus",
    "judge_export_status": "read_export_status",
    "LEAD_DESCRIBE2_PATH": "DESCRIBE_PATH",
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
    # Hooks, program selection, the daily quota and the exceptions (issue 19: one request path, no cycles).
    ("airflow_provider_marketo_pm.exceptions", "next_quota_reset"): (
        "airflow_provider_marketo_pm.daily_quota",
        "next_quota_reset",
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
            ("kind_tables", "kinds.leads", ("LEAD_TABLE", "LEAD_DESCRIBE2_PATH")),
            ("kind_tables", "kinds.activities", ("ACTIVITY_TABLE", "ACTIVITY_COLUMNS")),
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


_EXPORT_KIND = "airflow_provider_marketo_pm.export_kind"
_PROGRAM_MEMBERS_KIND = "airflow_provider_marketo_pm.kinds.program_members"


def _deprecated_method(old: str, new: str) -> None:
    warnings.warn(
        f"MarketoHook.{old} is deprecated; use MarketoHook.{new} with kinds.program_members.PROGRAM_MEMBERS",
        DeprecationWarning,
        stacklevel=3,
    )


class ProgramMemberExportMethods:
    """
    ``MarketoHook``'s program member methods of 0.1.0: each warns and calls the method taking a kind with
    ``PROGRAM_MEMBERS`` (``hook.enqueue_program_member_export(i)`` is ``hook.enqueue_export(PROGRAM_MEMBERS,
    i)``).
    """

    def create_program_member_export(
        self,
        fields: Any,
        filter: Mapping[str, Any] | None = None,
        format: str = "CSV",
        column_header_names: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        _deprecated_method("create_program_member_export", "create_export(PROGRAM_MEMBERS.request(...))")
        hook: Any = self
        if isinstance(fields, resolve(_EXPORT_KIND, "ExportRequest")):
            return hook.create_export(fields)
        request = resolve(_PROGRAM_MEMBERS_KIND, "PROGRAM_MEMBERS").request(
            fields=fields, filter=filter, format=format, column_header_names=column_header_names
        )
        return hook.create_export(request)

    def enqueue_program_member_export(self, export_id: str) -> dict[str, Any]:
        _deprecated_method("enqueue_program_member_export", "enqueue_export")
        return self._with_program_members("enqueue_export", export_id)

    def get_program_member_export_status(self, export_id: str) -> dict[str, Any]:
        _deprecated_method("get_program_member_export_status", "get_export_status")
        return self._with_program_members("get_export_status", export_id)

    async def aget_program_member_export_status(self, export_id: str) -> dict[str, Any]:
        _deprecated_method("aget_program_member_export_status", "aget_export_status")
        return await self._with_program_members("aget_export_status", export_id)

    def cancel_program_member_export(self, export_id: str) -> dict[str, Any]:
        _deprecated_method("cancel_program_member_export", "cancel_export")
        return self._with_program_members("cancel_export", export_id)

    async def acancel_program_member_export(self, export_id: str) -> dict[str, Any]:
        _deprecated_method("acancel_program_member_export", "acancel_export")
        return await self._with_program_members("acancel_export", export_id)

    def list_program_member_exports(
        self, status: str | Sequence[str] | None = None, *, batch_size: int | None = None
    ) -> list[dict[str, Any]]:
        _deprecated_method("list_program_member_exports", "list_exports")
        return self._with_program_members("list_exports", status, batch_size=batch_size)

    def open_program_member_export_file(self, export_id: str, start: int = 0) -> Any:
        _deprecated_method("open_program_member_export_file", "open_export_file")
        return self._with_program_members("open_export_file", export_id, start)

    def _with_program_members(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, method)(resolve(_PROGRAM_MEMBERS_KIND, "PROGRAM_MEMBERS"), *args, **kwargs)


__all__: list[str] = []
