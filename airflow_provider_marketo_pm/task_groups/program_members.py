"""
The program member export as one reusable task group: start (and wait, deferred) -> confirm -> download.

Every DAG that exports program members needs the same three tasks, paced the same way against
Marketo's shared bulk queue; :func:`program_member_export_group` builds them once, and
:class:`ProgramMemberExportSettings` turns DAG params (or ``marketo_pm_*`` Variables) into the
jobs it is mapped over. Use them in your own DAGs the way the example DAGs do::

    export_job = program_member_export_group(poll_interval="{{ var.value.marketo_pm_poll_interval }}")

    @task
    def plan_exports(params=None):
        settings = ProgramMemberExportSettings.from_params(params)
        return [
            settings.job({"programIds": batch}, f"members/batch={n:02d}.csv")
            for n, batch in enumerate(settings.program_batches)
        ]

    export_job.expand_kwargs(plan_exports())
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow.sdk import Param, Variable

from airflow_provider_marketo_pm.destination import checked_destination, climbs_out, destination_url
from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)
from airflow_provider_marketo_pm.program_selection import parse_program_selection, resolve_program_ids
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor
from airflow_provider_marketo_pm.task_groups.bulk_export import (
    MARKETO_BULK_EXPORT_POOL,
    export_results,
    fields_and_filter_group,
)
from airflow_provider_marketo_pm.validation import parse_fields
from airflow_provider_marketo_pm.windows import batch_program_ids

__all__ = [
    "DEFAULT_PROGRAM_MEMBER_FIELDS",
    "MARKETO_BULK_EXPORT_POOL",
    "ProgramMemberExportSettings",
    "export_results",
    "program_member_export_group",
]

#: A few lead and membership columns: what a membership table usually needs.
DEFAULT_PROGRAM_MEMBER_FIELDS: tuple[str, ...] = (
    "leadId",
    "firstName",
    "lastName",
    "email",
    "statusName",
    "statusReason",
    "membershipDate",
    "reachedSuccess",
    "updatedAt",
)

# Names each mapped start in the UI: "2024-01-01..2024-02-01 programs 1001,1002" or "programs 1044".
# Rendered with StrictUndefined: an absent key must be read with .get(). Airflow 3.0 renders it on the
# resume from deferral with the filter still unresolved (a MappedArgument): then the label stays empty
# rather than failing the task.
_START_MAP_INDEX_TEMPLATE = (
    "{% set f = task.filter %}{% if f is mapping %}{% set window = f.get('updatedAt') %}"
    "{% if window %}{{ window.startAt[:10] }}..{{ window.endAt[:10] }} {% endif %}"
    "programs {{ f.get('programIds') | join(',') if f.get('programIds') else f.get('programId') }}"
    "{% endif %}"
)


def program_member_export_group(*, group_id: str = "export_job", **settings: Any) -> Any:
    """
    Return a task group of one program member export job: ``start_export`` -> ``wait_for_export`` ->
    ``download_export`` (-> ``to_parquet`` with ``parquet=True``).

    Call it with one job's arguments, or map it with ``.expand_kwargs(jobs)`` where each job is a dict
    with exactly the keys ``fields``, ``export_filter`` (Marketo's create filter), ``destination``
    (ObjectStoragePath URL) and ``dest_conn_id`` (or None), as :meth:`ProgramMemberExportSettings.job`
    builds them. The download reports the filter's programs as lineage inputs.

    :param group_id: id of the task group; task ids are ``<group_id>.start_export`` etc.
    :param settings: the group's settings (``marketo_conn_id``, ``poll_interval``, ``pool``,
        ``sensor_timeout``, ``overwrite``, ``deferrable``, ``parquet``, ``keep_csv``) and any argument of
        the start (``on_quota_exceeded``, ``quota_waits``, ``daily_export_budget_mb``, ...), documented once
        in :func:`~airflow_provider_marketo_pm.task_groups.bulk_export.export_tasks`.
    """
    return fields_and_filter_group(
        MarketoStartProgramMemberExportOperator,
        MarketoProgramMemberExportSensor,
        MarketoDownloadProgramMemberExportOperator,
        group_id=group_id,
        start_label=_START_MAP_INDEX_TEMPLATE,
        filter_to_download="program_ids",  # its programId(s): the lineage inputs
        **settings,
    )


@dataclass(frozen=True)
class ProgramMemberExportSettings:
    """
    What to export and where, shared by every job of a run.

    :meth:`from_params` reads each setting from the DAG param of that name if given, else the Airflow
    Variable ``marketo_pm_<name>``, else the default. Call it inside a task (Variables are read when
    the task runs, never when the DAG file is parsed).
    """

    program_batches: list[list[int]]
    destination: str
    dest_conn_id: str | None
    fields: list[str]

    @staticmethod
    def dag_params() -> dict[str, Param]:
        """The DAG params :meth:`from_params` reads; each left empty falls back to its Variable."""
        return {
            "program_ids": Param(
                None,
                type=["null", "array", "string", "object"],
                description='program ids, "all", or a filter such as {"workspace": "Default"}',
            ),
            "destination": Param(None, type=["null", "string"], description="object storage URL"),
            "dest_conn_id": Param(None, type=["null", "string"]),
            "fields": Param(None, type=["null", "array"], items={"type": "string"}),
        }

    @classmethod
    def from_params(
        cls,
        params: Mapping[str, Any] | None,
        *,
        defaults: Mapping[str, Any] | None = None,
        marketo_conn_id: str | None = None,
        check_destination: bool = True,
    ) -> ProgramMemberExportSettings:
        """
        The settings of a run. ``defaults`` gives the last fallback of any setting (a DAG's own demo
        values, say); ``fields`` falls back to :data:`DEFAULT_PROGRAM_MEMBER_FIELDS`. A ``program_ids`` or
        ``destination`` found nowhere is an error naming the param and the Variable.

        With ``check_destination`` (the default) the destination, the prefix every job writes under, is
        proven writable here, once for all the jobs of the run: the connection ``dest_conn_id`` exists and
        a probe written under the prefix is deleted again
        (:func:`~airflow_provider_marketo_pm.destination.checked_destination`). A missing bucket then
        fails this task, before any job is created, instead of every job's upload after its export.

        ``program_ids`` is a list of ids, ``"all"``, or one filter of Marketo's program browse
        (``{"workspace": "Default"}``, ``{"folderId": 1023}``, ``{"filterType": ..., "filterValues": ...}``;
        :mod:`~airflow_provider_marketo_pm.program_selection`). ``"all"`` and filters are looked up here,
        with Marketo's Asset API through ``marketo_conn_id`` (default: the Variable ``marketo_pm_conn_id``,
        else ``marketo_default``): call this in a task, never at parse time. Every setting is checked
        before that call.
        """
        params = params or {}
        fallbacks = {"fields": list(DEFAULT_PROGRAM_MEMBER_FIELDS), "dest_conn_id": None, **(defaults or {})}

        def setting(name: str, *, json: bool = False) -> Any:
            value = params.get(name)
            if value in (None, "", []):
                value = Variable.get(f"marketo_pm_{name}", default=fallbacks.get(name), deserialize_json=json)
            if value is None and name not in ("dest_conn_id",):
                raise MarketoRequestError(
                    name, value, f"set the DAG param {name!r} or the Variable marketo_pm_{name}"
                )
            return value

        selection = parse_program_selection(setting("program_ids"))
        destination = destination_url(setting("destination")).rstrip("/")
        dest_conn_id = setting("dest_conn_id")
        fields = parse_fields(setting("fields", json=True))
        if check_destination:
            checked_destination(destination, dest_conn_id, directory=True)
        if not isinstance(selection, list):
            conn_id = marketo_conn_id or Variable.get("marketo_pm_conn_id", default="marketo_default")
            selection = resolve_program_ids(selection, MarketoHook(marketo_conn_id=conn_id))
        return cls(
            program_batches=batch_program_ids(selection),
            destination=destination,
            dest_conn_id=dest_conn_id,
            fields=fields,
        )

    def job(self, export_filter: Mapping[str, Any], path: str) -> dict[str, Any]:
        """
        One ``expand_kwargs`` item of the export group: ``path`` is relative to the destination, and its
        ``..`` segments may not climb out of it.
        """
        return {
            **self.compact_job(export_filter, path),
            "fields": self.fields,
            "dest_conn_id": self.dest_conn_id,
        }

    def compact_job(self, export_filter: Mapping[str, Any], path: str) -> dict[str, Any]:
        """
        One job's own arguments, ``export_filter`` and ``destination``, for a group given the run's constants
        once: ``group.partial(**settings.constants()).expand_kwargs(compact_jobs)``. Every mapped task reads
        the whole list it is mapped over: without the constants, each item is about a third shorter.
        """
        if not isinstance(path, str) or not path.strip("/") or climbs_out(path.split("/")):
            raise MarketoRequestError(
                "path", path, f"must be a file path inside the destination {self.destination!r}"
            )
        return {
            "export_filter": dict(export_filter),
            "destination": destination_url(f"{self.destination}/{path.lstrip('/')}"),
        }

    def constants(self) -> dict[str, Any]:
        """What every job of a run shares, ``fields`` and ``dest_conn_id``: see :meth:`compact_job`."""
        return {"fields": self.fields, "dest_conn_id": self.dest_conn_id}
