"""An operator that finds the memberships gone since the previous snapshot (docs: "Removed memberships")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.export_kind import ExportKind
from airflow_provider_marketo_pm.kind_tables import kind_table
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.operators.parquet import storage_path
from airflow_provider_marketo_pm.operators.postgres import export_uris
from airflow_provider_marketo_pm.removed_memberships import Snapshot, record_snapshot, snapshot_filters

__all__ = ["MarketoRemovedMembershipsOperator"]


class MarketoRemovedMembershipsOperator(BaseOperator):
    """
    Record a complete snapshot and write the keys it lost since the previous one.

    ``snapshot`` is the snapshot's typed files (the Parquet results of ``program_member_export_group(
    parquet=True)``), all in one folder such as ``.../snapshot/snapshot_date=2024-01-15/``. The previous
    snapshot is the latest sibling folder before it with a manifest; the keys it had, among the programs
    both exported, that this one lacks go to ``removed_memberships.parquet`` (key columns, then
    ``_marketo_previous_snapshot`` and ``_marketo_snapshot``), and this snapshot's manifest is written last.
    Returns ``{"uri", "removed", "previous", "snapshot", "manifest_uri"}``; ``uri`` is None for a first
    snapshot, one filtered by ``statusNames`` (a member gone from it may only have changed status), or jobs
    of ``updatedAt`` windows (increments: a DAG with both modes, as ``marketo_program_members_to_postgres``).
    Hand the result to ``MarketoExportToPostgresOperator(removed=...)`` for soft deletes.

    :param snapshot: the snapshot's file results or URLs (templated; a mapped group's output).
    :param jobs: the snapshot's planned jobs (``expand_kwargs`` items with ``export_filter``) or their
        create filters: which programs it covers, and with which ``statusNames``.
    :param dest_conn_id: connection of the files' store (default: the jobs' ``dest_conn_id``).
    """

    template_fields: Sequence[str] = ("snapshot", "jobs", "dest_conn_id")
    ui_color = "#d8a050"

    def __init__(
        self,
        *,
        snapshot: Any,
        jobs: Any,
        dest_conn_id: str | None = None,
        kind: ExportKind = PROGRAM_MEMBERS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        kind_table(kind)
        self.snapshot = snapshot
        self.jobs = jobs
        self.dest_conn_id = dest_conn_id
        self.kind = kind

    def execute(self, context: Context) -> dict[str, Any]:
        jobs = [self.jobs] if isinstance(self.jobs, Mapping) else list(self.jobs or ())
        if not jobs or not all(isinstance(job, Mapping) for job in jobs):
            raise MarketoRequestError(
                "jobs", self.jobs, "must be the snapshot's jobs or their create filters"
            )
        program_ids, status_names, windowed = snapshot_filters(jobs)
        if windowed:
            self.log.info(
                "These jobs export updatedAt windows (increments), not a snapshot: nothing to compare."
            )
            return {"uri": None, "removed": 0, "previous": None, "snapshot": None, "manifest_uri": None}
        conn_id = self.dest_conn_id or jobs[0].get("dest_conn_id")
        paths = [storage_path("snapshot", uri, conn_id) for uri in export_uris(self.snapshot, "snapshot")]
        if not paths:
            raise MarketoRequestError("snapshot", self.snapshot, "names no file")
        folders = sorted({path.parent.path for path in paths})
        if len(folders) != 1:
            raise MarketoRequestError("snapshot", folders, "the files of one snapshot must share one folder")
        current = Snapshot(paths[0].parent, tuple(path.name for path in paths), program_ids, status_names)
        return record_snapshot(current, kind_table(self.kind), log=self.log)
