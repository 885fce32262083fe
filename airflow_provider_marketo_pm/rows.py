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
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.parquet_export import read_schema_sidecar, stem
from airflow_provider_marketo_pm.typed_csv import (
    BLOCK_SIZE,
    arrow_schema,
    require_pyarrow,
    typed_export_batches,
)

__all__ = ["read_export_rows", "typed_source"]


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
    _, typed_batches = typed_source(file, schema=schema, marketo_conn_id=marketo_conn_id, columns=columns)
    for batch in typed_batches:
        if batches:
            yield batch
        else:
            yield from batch.to_pylist()


def typed_source(
    file: ObjectStoragePath,
    *,
    schema: ExportSchema | None = None,
    marketo_conn_id: str | None = None,
    columns: Sequence[str] | None = None,
) -> tuple[Any, Iterator[Any]]:
    """
    ``(arrow schema, record batches)`` of an export file, typed as :func:`read_export_rows` says; the
    schema is known before any batch is read (an empty file has one too).
    """
    require_pyarrow()
    wanted = None if columns is None else list(columns)
    if file.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        with file.fs.open(file.path, mode="rb") as raw:
            arrow = pq.read_schema(raw)
        _check_columns(file, arrow.names, wanted)
        return (arrow if wanted is None else pa_select(arrow, wanted)), _parquet_batches(file, wanted)
    typed = schema or read_schema_sidecar(file)
    if typed is None and marketo_conn_id is not None:
        typed = file_schema(file, MarketoHook(marketo_conn_id=marketo_conn_id), PROGRAM_MEMBERS)
    if typed is None:
        raise MarketoExportSchemaError(
            f"No schema for {file.name}: no {stem(file.name)}.schema.json beside it. Pass schema=, or "
            "marketo_conn_id= to type it by Marketo's describe, or read the Parquet file instead."
        )
    _check_columns(file, typed.names, wanted)
    arrow = arrow_schema(typed)
    batches = typed_export_batches(file, typed, block_size=BLOCK_SIZE)
    if wanted is None:
        return arrow, batches
    return pa_select(arrow, wanted), (batch.select(wanted) for batch in batches)


def pa_select(arrow: Any, names: Sequence[str]) -> Any:
    pa = require_pyarrow()
    return pa.schema([arrow.field(name) for name in names])


def _check_columns(file: ObjectStoragePath, present: Sequence[str], wanted: Sequence[str] | None) -> None:
    missing = sorted(set(wanted or ()) - set(present))
    if missing:
        raise MarketoExportSchemaError(f"{file.name} has no column(s) {missing}")


def _parquet_batches(file: ObjectStoragePath, columns: Sequence[str] | None) -> Iterator[Any]:
    import pyarrow.parquet as pq

    with file.fs.open(file.path, mode="rb") as raw:
        yield from pq.ParquetFile(raw).iter_batches(batch_size=64 * 1024, columns=columns)
