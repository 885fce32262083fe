"""An operator that loads typed exports into a PostgreSQL table, through Airflow's postgres provider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.export_kind import ExportKind
from airflow_provider_marketo_pm.kind_tables import kind_table
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.operators.parquet import export_file_source, storage_path
from airflow_provider_marketo_pm.postgres_load import PostgresLoad, table_name
from airflow_provider_marketo_pm.rows import typed_source

__all__ = ["MarketoExportToPostgresOperator"]


def export_uris(value: Any, key: str = "exports") -> list[str]:
    """
    The URIs of export files: one result or URI, or a list of them (a mapped group's output, whose single
    result Airflow hands over as a dict); ``None`` or ``[]`` is none.
    """
    if value is None:
        return []
    items = [value] if isinstance(value, str | Mapping) else list(value)
    uris = []
    for item in items:
        if isinstance(item, Mapping) and item.get("uri", "") is None:
            continue  # a step that wrote no file (a removal check without an earlier snapshot)
        uris.append(export_file_source(item, key)[0])
    return uris


class MarketoExportToPostgresOperator(BaseOperator):
    """
    Load typed exports into a PostgreSQL table keyed by the kind's key, keeping each key's newest copy.

    Through Airflow's own SQL providers: a ``PostgresHook`` (``postgres_conn_id``) gives the connection,
    and the rows go in with ``COPY ... FROM STDIN`` into a staging table, then one ``INSERT ... ON CONFLICT``
    merge (see :mod:`~airflow_provider_marketo_pm.postgres_load`), all in one transaction. Program members
    are keyed by ``(leadId, programId)`` and kept newest by ``updatedAt``; a re-run, or overlapping windows,
    change nothing. Returns the counts: ``rows``, ``keys``, ``inserted``, ``updated``, ``unchanged``,
    ``removed``, ``nul_values_cleaned``, ``seconds``.

    :param exports: the files to load: Parquet results (``MarketoExportToParquetOperator``), download results
        of CSVs with a schema sidecar, URLs, or a list of these (a mapped group's output).
    :param table: ``table`` or ``schema.table``; created with its primary key when missing.
    :param postgres_conn_id: the PostgreSQL connection.
    :param removed: removal file(s) (``MarketoRemovedMembershipsOperator``'s result): their keys are
        soft-deleted (``_marketo_removed_at`` set).
    :param snapshot: the exports are a snapshot of current members: soft-deleted keys they show are restored
        (templated: ``"True"``/``"False"`` are read as booleans).
    :param source_conn_id: connection of the files' store.
    :param marketo_conn_id: types a CSV without a sidecar by Marketo's describe.
    """

    template_fields: Sequence[str] = (
        "exports",
        "removed",
        "snapshot",
        "table",
        "postgres_conn_id",
        "source_conn_id",
        "marketo_conn_id",
    )
    ui_color = "#336791"

    def __init__(
        self,
        *,
        exports: Any,
        table: str,
        postgres_conn_id: str = "postgres_default",
        removed: Any = None,
        snapshot: bool | str = False,
        source_conn_id: str | None = None,
        marketo_conn_id: str | None = None,
        kind: ExportKind = PROGRAM_MEMBERS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if "{{" not in str(table):
            table_name(table)
        kind_table(kind)
        self.exports = exports
        self.table = table
        self.postgres_conn_id = postgres_conn_id
        self.removed = removed
        self.snapshot = snapshot
        self.source_conn_id = source_conn_id
        self.marketo_conn_id = marketo_conn_id
        self.kind = kind

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        table_name(self.table)
        snapshot = {True: True, False: False, "True": True, "False": False}.get(self.snapshot)
        if snapshot is None:
            raise MarketoRequestError("snapshot", self.snapshot, "must be True or False")
        load = PostgresLoad(self.table, kind_table(self.kind), self.log, snapshot=snapshot)
        conn_id = self.source_conn_id or None  # a template of an unset connection renders ""
        sources = [
            typed_source(storage_path("exports", uri, conn_id), marketo_conn_id=self.marketo_conn_id)
            for uri in export_uris(self.exports)
        ]
        removed = [
            batch
            for uri in export_uris(self.removed, "removed")
            for batch in typed_source(
                storage_path("removed", uri, conn_id), marketo_conn_id=self.marketo_conn_id
            )[1]
        ]
        connection = PostgresHook(postgres_conn_id=self.postgres_conn_id).get_conn()
        try:
            counts = load.run(connection, sources, removed)
        finally:
            connection.close()
        return {"table": self.table, **counts.as_dict()}
