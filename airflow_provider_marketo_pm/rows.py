"""
Typed rows of an export, for your own ``@task``: one function, any store, CSV or Parquet.

    from airflow_provider_marketo_pm.rows import read_export_rows

    @task
    def active_members(result):
        return sum(row["reachedSuccess"] for row in read_export_rows(result["uri"], conn_id="aws_default"))

Values are typed as Marketo's describe says (``leadId`` an int, ``reachedSuccess`` a bool, ``updatedAt`` an
aware UTC datetime, the literal ``null`` None), read by the same streaming reader as the Parquet files
(:mod:`~airflow_provider_marketo_pm.typed_csv`), so memory stays flat whatever the file's size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal, overload

from airflow.sdk import ObjectStoragePath

from airflow_provider_marketo_pm.exceptions import MarketoExportSchemaError
from airflow_provider_marketo_pm.export_schema import ExportSchema
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kind_tables import file_schema
from airflow_provider_marketo_pm.parquet_export import read_schema_sidecar, stem
from airflow_provider_marketo_pm.typed_csv import BLOCK_SIZE, require_pyarrow, typed_export_batches

__all__ = ["read_export_rows"]


@overload
def read_export_rows(
    path: str | ObjectStoragePath,
    *,
    conn_id: str | None = None,
    batches: Literal[False] = False,
    columns: Sequence[str] | None = None,
    schema: ExportSchema | None = None,
    marketo_conn_id: str | None = None,
) -> Iterator[dict[str, Any]]: ...


@overload
def read_export_rows(
    path: str | ObjectStoragePath,
    *,
    conn_id: str | None = None,
    batches: Literal[True],
    columns: Sequence[str] | None = None,
    schema: ExportSchema | None = None,
    marketo_conn_id: str | None = None,
) -> Iterator[Any]: ...


def read_export_rows(
    path: str | ObjectStoragePath,
    *,
    conn_id: str | None = None,
    batches: bool = False,
    columns: Sequence[str] | None = None,
    schema: ExportSchema | None = None,
    marketo_conn_id: str | None = None,
) -> Iterator[Any]:
    """
    Yield the typed rows of the export file at ``path`` (a URL or ``ObjectStoragePath``; ``conn_id`` is
    its store's connection): dicts, or ``pyarrow.RecordBatch`` es with ``batches=True``.

    A Parquet file (``.parquet``, from :class:`~airflow_provider_marketo_pm.operators.parquet.
    MarketoExportToParquetOperator`) is read as written. A verified CSV (``.csv``, ``.csv.gz``) is typed
    by ``schema``, else by the schema sidecar beside it (``<name>.schema.json``), else by Marketo's
    describe through ``marketo_conn_id`` (its header must then be REST field names). ``columns`` keeps
    only those columns, in that order. Needs the ``parquet`` extra (pyarrow).
    """
    require_pyarrow()
    file = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(str(path), conn_id=conn_id)
    for batch in _batches(file, schema, marketo_conn_id, columns):
        if batches:
            yield batch
        else:
            yield from batch.to_pylist()


def _batches(
    file: ObjectStoragePath,
    schema: ExportSchema | None,
    marketo_conn_id: str | None,
    columns: Sequence[str] | None,
) -> Iterator[Any]:
    wanted = None if columns is None else list(columns)
    if file.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        with file.fs.open(file.path, mode="rb") as raw:
            parquet = pq.ParquetFile(raw)
            missing = sorted(set(wanted or ()) - set(parquet.schema_arrow.names))
            if missing:
                raise MarketoExportSchemaError(f"{file.name} has no column(s) {missing}")
            yield from parquet.iter_batches(batch_size=64 * 1024, columns=wanted)
        return
    typed = schema or read_schema_sidecar(file)
    if typed is None and marketo_conn_id is not None:
        typed = file_schema(file, MarketoHook(marketo_conn_id=marketo_conn_id))
    if typed is None:
        raise MarketoExportSchemaError(
            f"No schema for {file.name}: no {stem(file.name)}.schema.json beside it. Pass schema=, or "
            "marketo_conn_id= to type it by Marketo's describe, or read the Parquet file instead."
        )
    missing = sorted(set(wanted or ()) - set(typed.names))
    if missing:
        raise MarketoExportSchemaError(f"{file.name} has no column(s) {missing}")
    for batch in typed_export_batches(file, typed, block_size=BLOCK_SIZE):
        yield batch if wanted is None else batch.select(wanted)
