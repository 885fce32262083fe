"""This API user's export jobs of every kind, so that a daily budget sees what the shared quota meters.

Marketo meters one daily export quota over lead, activity, program member and custom object exports, but
each kind's list endpoint shows only that kind's jobs (and only the calling API user's). A budget that
summed one kind would let a lead backfill spend the quota a program member export counted on. So the
lists are read together: every kind's, and one per custom object type in use (List Custom Objects names
them), then summed by :func:`~airflow_provider_marketo_pm.export_budget.exported_bytes_since_across_kinds`.

A list Marketo refuses with 603 (access denied: the role lacks that kind's read permission) counts as
empty, with a warning: a user that may not read a kind cannot have exported it either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_marketo_pm.exceptions import MarketoApiError
from airflow_provider_marketo_pm.export_budget import exported_bytes_since_across_kinds, list_paths
from airflow_provider_marketo_pm.export_kind import ExportKind

if TYPE_CHECKING:
    import datetime as dt

    from airflow_provider_marketo_pm.hooks.marketo import MarketoHook

log = logging.getLogger(__name__)

ACCESS_DENIED = "603"
NEVER_APPROVED = "draft"
"""A custom object ``state`` of a type never approved: it has no exports (nor an export list)."""


@dataclass(frozen=True)
class ExportsAcrossKinds:
    """
    The jobs every list endpoint answered, by its path, and the custom object types they cover.

    :ivar listed: each path of :func:`~airflow_provider_marketo_pm.export_budget.list_paths` and its jobs.
    :ivar custom_object_api_names: the custom object types whose lists were read.
    :ivar denied: the lists Marketo refused with 603, counted as empty.
    """

    listed: dict[str, list[dict[str, Any]]]
    custom_object_api_names: tuple[str, ...]
    denied: tuple[str, ...] = ()

    def bytes_since(self, since: dt.datetime) -> int:
        """Bytes of the Completed jobs of every kind finished at or after ``since``."""
        return exported_bytes_since_across_kinds(
            self.listed, since, custom_object_api_names=self.custom_object_api_names
        )

    @property
    def job_count(self) -> int:
        return sum(len(jobs) for jobs in self.listed.values())


def custom_objects_in_use(hook: MarketoHook) -> tuple[str, ...]:
    """
    The ``apiName`` of every custom object type that can have exports (List Custom Objects, types never
    approved left out); none when Marketo denies the list (the role cannot export custom objects either).
    """
    try:
        types = hook.list_custom_objects()
    except MarketoApiError as err:
        if err.code != ACCESS_DENIED:
            raise
        log.warning(
            "Cannot list custom objects (%s): this API user cannot export them either; none are counted.", err
        )
        return ()
    names = (item.get("name") or item.get("apiName") for item in types if item.get("state") != NEVER_APPROVED)
    return tuple(dict.fromkeys(name for name in names if isinstance(name, str) and name))


def list_exports_across_kinds(
    hook: MarketoHook,
    status: str | None = "Completed",
    *,
    custom_object_api_names: Iterable[str] | None = None,
) -> ExportsAcrossKinds:
    """
    Every list endpoint's jobs of this API user (all pages, past 7 days): program members, leads,
    activities, and each custom object type (``custom_object_api_names``, by default every type in use).
    """
    names = custom_objects_in_use(hook) if custom_object_api_names is None else tuple(custom_object_api_names)
    listed: dict[str, list[dict[str, Any]]] = {}
    denied: list[str] = []
    for path in list_paths(names):
        try:
            listed[path] = hook.list_exports(ExportKind("export", path.removesuffix(".json")), status)
        except MarketoApiError as err:
            if err.code != ACCESS_DENIED:
                raise
            log.warning("Marketo denied the export list %s (%s): counted as no exports.", path, err)
            listed[path] = []
            denied.append(path)
    return ExportsAcrossKinds(listed, names, tuple(denied))


__all__ = ["ExportsAcrossKinds", "custom_objects_in_use", "list_exports_across_kinds"]
