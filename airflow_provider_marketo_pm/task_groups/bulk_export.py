"""One export job as tasks, written once for every kind: start (and wait, deferred) -> confirm -> download.

A kind's task group (program members: :func:`~airflow_provider_marketo_pm.task_groups.program_members.
program_member_export_group`) is a ``@task_group`` function whose parameters are its jobs' own (what
``expand_kwargs`` maps over); its body hands them to the builder :func:`export_tasks` returns, which
makes the tasks, paced the same way for every kind against Marketo's shared bulk queue. Every group
setting is documented here, once; any other keyword reaches the start operator as it is.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from airflow.sdk import XComArg, task_group

from airflow_provider_marketo_pm.export_status import MARKETO_STATUS_REFRESH_SECONDS
from airflow_provider_marketo_pm.lifecycle import RECORD_XCOM_KEY
from airflow_provider_marketo_pm.operators.bulk_export import (
    MarketoDownloadExportOperator,
    MarketoStartExportOperator,
)
from airflow_provider_marketo_pm.operators.parquet import MarketoExportToParquetOperator
from airflow_provider_marketo_pm.sensors.bulk_export import MarketoExportSensor

# The pool and export_results are public where the README shows them: task_groups.program_members.
__all__ = ["export_tasks"]

#: Pool of the jobs in flight (the start, which waits for completion). Create it with
#: ``--include-deferred`` so that a deferred start keeps its slot:
#: ``airflow pools set marketo_bulk_export 4 "..." --include-deferred``.
MARKETO_BULK_EXPORT_POOL = "marketo_bulk_export"

# The scheduler gives a free worker slot to the highest weight: finishing a completed job (its
# confirming check, then the download) beats starting a new one. "absolute", because with the default
# "downstream" rule the start would add up the weights of the tasks after it and outrank them.
_START_PRIORITY_WEIGHT = 1
_WAIT_PRIORITY_WEIGHT = 100

# Names each mapped wait after its job: "export 5f4c...: 122 records" (the count once Completed). Empty
# while the export id is unresolved (Airflow 3.0's resume from deferral, where the arguments still are).
_WAIT_MAP_INDEX_TEMPLATE = (
    "{% if task.export_id is string %}export {{ task.export_id }}"
    "{% set record = task.record %}{% if record is mapping and record.get('numberOfRecords') is number %}"
    "{% set n = record.get('numberOfRecords') %}: {{ n }} record{{ '' if n == 1 else 's' }}"
    "{% endif %}{% endif %}"
)

FILTER_START_LABEL = (
    "{% set f = task.filter %}{% if f is mapping %}{% for key, value in f.items() %}"
    "{% if not loop.first %} {% endif %}{{ key }} {% if value is mapping %}"
    "{{ (value.get('startAt') or '')[:10] }}..{{ (value.get('endAt') or '')[:10] }}"
    "{% elif value is string or value is number %}{{ value }}{% else %}{{ value | join(',') }}{% endif %}"
    "{% endfor %}{% endif %}"
)
"""A start's name in the UI from its create filter: "createdAt 2024-01-01..2024-01-31", "staticListId 1081".
Empty while the filter is unresolved (Airflow 3.0's resume from deferral)."""

ExportTasks = Callable[..., Any]
"""Builds one job's tasks: ``(request=, destination=, dest_conn_id=, download_arguments=None,
export_filter=None, kind_arguments=None)``."""


def export_tasks(
    start: type[MarketoStartExportOperator],
    sensor: type[MarketoExportSensor],
    download: type[MarketoDownloadExportOperator],
    *,
    start_label: str | None = None,
    marketo_conn_id: str = "marketo_default",
    poll_interval: float | str = MARKETO_STATUS_REFRESH_SECONDS,
    pool: str | None = MARKETO_BULK_EXPORT_POOL,
    sensor_timeout: timedelta | float = timedelta(hours=24),
    overwrite: bool = True,
    deferrable: bool | None = None,
    parquet: bool = False,
    keep_csv: bool = True,
    **start_kwargs: Any,
) -> ExportTasks:
    """
    The builder of one export job's tasks, for a kind's ``@task_group`` function to call with the job:
    ``start_export`` -> ``wait_for_export`` -> ``download_export`` (-> ``to_parquet`` with ``parquet=True``).

    ``start_export`` creates and enqueues the job, then waits (deferred: no worker slot while Marketo
    works) until it is Completed, all in ``pool``: one task instance holds one pool slot from create
    to completion, so a pool created with ``--include-deferred`` counts exactly our jobs in Marketo's
    shared 10-job queue (README, "Pacing and pools", says why). The start leaves the Completed status
    record under XCom key ``record``; ``wait_for_export`` hands it on without a status call, so a
    finished job's status is read once. The sensor and the download run outside the pool. The group's
    output is the download's result (``uri``, ``bytes``, ``records``, ``sha256``, ``export_id``), or the
    Parquet operator's; downstream of a mapped group, read it with :func:`export_results`.

    :param start: the kind's start operator class; ``sensor`` and ``download`` its sensor and download.
    :param start_label: the start's ``map_index_template`` (a mapped start's name in the UI).
    :param marketo_conn_id: Marketo connection (templated, e.g. from a Variable).
    :param poll_interval: seconds between status checks (templated; keep 60 against Marketo).
    :param pool: pool of the start (its job from create to completion); None for the default pool.
    :param sensor_timeout: how long the start waits for the job to complete (and the sensor after it).
    :param overwrite: replace an existing file (True: re-running a window replaces its file).
    :param deferrable: wait in the triggerer (start and sensor); defaults to ``[operators]
        default_deferrable``, True when unset. ``False`` never defers (the waits hold a worker).
    :param parquet: add ``to_parquet`` (``MarketoExportToParquetOperator``, the ``parquet`` extra): a typed
        Parquet file and its schema sidecar beside each verified CSV; the group's output is then its result.
        Not yet for a kind whose path takes an argument (custom objects): refused when the DAG is parsed.
    :param keep_csv: with ``parquet``, keep the verified CSV (default) or remove it once the Parquet file is
        verified.
    :param start_kwargs: any other argument of the start (``on_quota_exceeded``, ``quota_waits``,
        ``daily_export_budget_mb``, ``queue_full_retries``, ...; see
        :class:`~airflow_provider_marketo_pm.operators.bulk_export.MarketoStartExportOperator`); one it does
        not take is refused here, when the DAG is parsed.
    """
    unknown = sorted(set(start_kwargs) - _arguments_of(start))
    if unknown:
        raise TypeError(f"{start.__name__} takes no argument {unknown[0]!r} (an export group passes it on)")
    if parquet and start.export_kind.path_parameters:
        raise TypeError(
            f"parquet=True is not available for {start.export_kind.name} exports yet: the Parquet step reads "
            "the kind's describe, whose path takes the task's path arguments"
        )

    def build(
        *,
        request: Mapping[str, Any],
        destination: Any,
        dest_conn_id: Any,
        download_arguments: Mapping[str, Any] | None = None,
        export_filter: Any = None,
        kind_arguments: Mapping[str, Any] | None = None,
    ) -> Any:
        """
        One job's tasks: ``request`` is the start's request arguments, ``download_arguments`` the kind's own
        arguments of its download, ``export_filter`` the create filter the Parquet file's window comes from,
        ``kind_arguments`` the values of the kind's path (a custom object's ``api_name``), which all three
        tasks take.
        """
        path_values = dict(kind_arguments or {})
        start_task = start(
            task_id="start_export",
            marketo_conn_id=marketo_conn_id,
            priority_weight=_START_PRIORITY_WEIGHT,
            weight_rule="absolute",
            map_index_template=start_label,
            pool=pool,
            wait_for_completion=True,
            poll_interval=poll_interval,
            timeout=sensor_timeout,
            deferrable=deferrable,
            destination=destination,
            dest_conn_id=dest_conn_id,
            overwrite=overwrite,
            **start_kwargs,
            **request,
            **path_values,
        )
        export_id = start_task.output  # an XComArg, resolved when the task runs
        # The start waited until Completed and left that status record: nobody reads it again.
        wait = sensor(
            task_id="wait_for_export",
            marketo_conn_id=marketo_conn_id,
            export_id=export_id,
            poll_interval=poll_interval,
            timeout=sensor_timeout,
            deferrable=deferrable,
            record=XComArg(start_task, key=RECORD_XCOM_KEY),
            priority_weight=_WAIT_PRIORITY_WEIGHT,
            weight_rule="absolute",
            map_index_template=_WAIT_MAP_INDEX_TEMPLATE,
            **path_values,
        )
        download_task = download(
            task_id="download_export",
            marketo_conn_id=marketo_conn_id,
            export_id=export_id,
            destination=destination,
            dest_conn_id=dest_conn_id,
            overwrite=overwrite,
            record=wait.output,
            map_index_template="{{ task.destination }}",
            **(download_arguments or {}),
            **path_values,
        )
        wait >> download_task
        if not parquet:
            return download_task.output
        to_parquet = MarketoExportToParquetOperator(
            task_id="to_parquet",
            source=download_task.output,
            export_filter=export_filter,
            source_conn_id=dest_conn_id,
            marketo_conn_id=marketo_conn_id,
            kind=start.export_kind,
            keep_csv=keep_csv,
            overwrite=overwrite,
        )
        return to_parquet.output

    return build


def fields_and_filter_group(
    start: type[MarketoStartExportOperator],
    sensor: type[MarketoExportSensor],
    download: type[MarketoDownloadExportOperator],
    *,
    group_id: str,
    start_label: str,
    filter_to_download: str | None = None,
    **settings: Any,
) -> Any:
    """
    The task group of a kind whose job is ``fields``, ``export_filter``, ``destination`` and ``dest_conn_id``
    (program members, leads): :func:`export_tasks` with ``settings``, called with one job or mapped with
    ``.expand_kwargs(jobs)``. ``filter_to_download`` names a download argument that receives the filter
    (program members: ``program_ids``, the lineage inputs).
    """
    tasks = export_tasks(start, sensor, download, start_label=start_label, **settings)

    @task_group(group_id=group_id)
    def export_job(
        fields: list[str], export_filter: dict[str, Any], destination: str, dest_conn_id: str | None
    ) -> Any:
        """Start one export, wait for it without holding a worker, then stream its file."""
        return tasks(
            request={"fields": fields, "filter": export_filter},
            destination=destination,
            dest_conn_id=dest_conn_id,
            download_arguments={filter_to_download: export_filter} if filter_to_download else None,
            export_filter=export_filter,
        )

    return export_job


def _arguments_of(operator: type) -> set[str]:
    """The keyword arguments an operator class takes: its own and every base class's."""
    return {
        name
        for cls in operator.__mro__
        if "__init__" in vars(cls)
        for name, parameter in inspect.signature(vars(cls)["__init__"]).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }


def export_results(value: Any) -> list[dict[str, Any]]:
    """
    The download results of a mapped export group, always as a list, one per job.

    A task downstream of the mapped group receives a lazy sequence of results, except when the group was
    mapped over exactly one job: Airflow then hands over that one result, a dict, instead of a list of
    one. Read the group's output through this function so that a run with one job works as one with many.
    """
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [dict(value)]
    return [dict(result) for result in value]
