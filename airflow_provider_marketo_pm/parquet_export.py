"""
Turn a verified export file into a typed Parquet file beside it, streamed and published atomically.

The verified CSV stays the source of truth: the Parquet file is derived from it batch by batch
(:mod:`typed_csv`; memory stays flat whatever the file's size), written to a temporary sibling, read back
(its footer's row count must be the number of rows the CSV gave, and Marketo's ``numberOfRecords``), and
only then moved into place, after its schema sidecar (``<name>.schema.json``). A failure leaves neither
behind. With ``keep_csv=False`` the CSV is removed, but only once the Parquet file is published and verified.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_marketo_pm.exceptions import MarketoExportSchemaError
from airflow_provider_marketo_pm.export_schema import ExportSchema
from airflow_provider_marketo_pm.partial_files import publish
from airflow_provider_marketo_pm.typed_csv import (
    BLOCK_SIZE,
    arrow_schema,
    require_pyarrow,
    typed_export_batches,
)

#: Rows per Parquet row group: large enough for readers, small enough that memory stays flat.
ROW_GROUP_ROWS = 1 << 17
#: Key of the schema sidecar's JSON inside the Parquet file's metadata.
SCHEMA_METADATA_KEY = b"marketo_export_schema"
_SUFFIXES = (".gz", ".csv", ".tsv", ".ssv", ".txt", ".parquet")


def stem(name: str) -> str:
    """A file name without its export suffixes: ``batch=00.csv.gz`` -> ``batch=00``."""
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                name, changed = name[: -len(suffix)], True
    return name


def parquet_path_for(source: ObjectStoragePath) -> ObjectStoragePath:
    """``.../batch=00.csv`` -> ``.../batch=00.parquet``."""
    return source.parent / f"{stem(source.name)}.parquet"


def schema_path_for(path: ObjectStoragePath) -> ObjectStoragePath:
    """The schema sidecar of an export file or its Parquet file: ``.../batch=00.schema.json``."""
    return path.parent / f"{stem(path.name)}.schema.json"


def uri_of(path: ObjectStoragePath) -> str:
    return f"{path.protocol}://{path.path}"


def records_match(rows: int, expected: int | None) -> bool:
    """
    Whether ``rows`` data rows are what Marketo's ``numberOfRecords`` announced. Marketo's own page shows 13
    for a file of a header and 12 rows (docs/fidelity.md): a count that includes the header is accepted.
    """
    return expected is None or rows in (expected, expected - 1)


@dataclass(frozen=True)
class ParquetConversion:
    """
    How export files become Parquet files.

    :param log: where the publication is logged.
    :param overwrite: replace an existing Parquet file and sidecar; by default they are refused.
    :param keep_csv: keep the verified CSV (default); ``False`` removes it once the Parquet file is verified.
    :param compression: Parquet's codec (``snappy``, ``zstd``, ``gzip``, ``none``).
    """

    log: Any
    overwrite: bool = False
    keep_csv: bool = True
    compression: str = "snappy"
    row_group_rows: int = ROW_GROUP_ROWS
    block_size: int = BLOCK_SIZE

    def convert(
        self,
        source: ObjectStoragePath,
        schema: ExportSchema,
        *,
        destination: ObjectStoragePath | None = None,
        expected_records: int | None = None,
    ) -> dict[str, Any]:
        """
        Write ``source`` as Parquet (default: beside it, ``.parquet``) and return ``{"uri", "schema_uri",
        "records", "bytes", "export_id", "csv_uri"}`` (``csv_uri`` None when the CSV was removed).
        """
        destination = destination or parquet_path_for(source)
        sidecar = schema_path_for(destination)
        for target in (destination, sidecar):
            if not self.overwrite and target.exists():
                raise MarketoExportSchemaError(
                    f"{uri_of(target)} already exists; set overwrite=True to replace it"
                )
        if destination.protocol in ("file", "local"):
            destination.parent.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        partial = destination.parent / f"{destination.name}.{token}.partial"
        partial_sidecar = sidecar.parent / f"{sidecar.name}.{token}.partial"
        try:
            rows = self._write(source, schema, partial)
            size = self._verify(partial, schema, rows, expected_records, uri_of(source))
            typed = schema.with_records(rows)
            with partial_sidecar.fs.open(partial_sidecar.path, mode="wb") as out:
                out.write(typed.to_json().encode())
            publish(partial_sidecar, sidecar)
            publish(partial, destination)
        except BaseException:
            for leftover in (partial, partial_sidecar):
                _remove_quietly(leftover, self.log.warning)
            raise
        self.log.info(
            "Published %s (%d rows, %d bytes) and %s.", uri_of(destination), rows, size, uri_of(sidecar)
        )
        csv_uri: str | None = uri_of(source)
        if not self.keep_csv:
            source.unlink()
            self.log.info("Removed %s: the Parquet file holds its %d rows, verified.", csv_uri, rows)
            csv_uri = None
        return {
            "uri": uri_of(destination),
            "schema_uri": uri_of(sidecar),
            "records": rows,
            "bytes": size,
            "export_id": schema.export_id,
            "csv_uri": csv_uri,
        }

    def _write(self, source: ObjectStoragePath, schema: ExportSchema, partial: ObjectStoragePath) -> int:
        """Stream typed batches into ``partial`` in row groups; the rows written."""
        pa = require_pyarrow()
        target = arrow_schema(schema).with_metadata({SCHEMA_METADATA_KEY: schema.to_json().encode()})
        rows = 0
        pending: list[Any] = []
        with contextlib.ExitStack() as stack:
            # A local file is written by Arrow itself; any other store through its fsspec file.
            local = partial.protocol in ("file", "local")
            out = partial.path if local else stack.enter_context(partial.fs.open(partial.path, mode="wb"))
            writer = stack.enter_context(_RowGroupWriter(out, target, self.compression))
            for batch in typed_export_batches(source, schema, block_size=self.block_size):
                pending.append(batch)
                if sum(item.num_rows for item in pending) >= self.row_group_rows:
                    rows += writer.put(pa.Table.from_batches(pending, target))
                    pending = []
            if pending or rows == 0:
                rows += writer.put(pa.Table.from_batches(pending, target))
        return rows

    def _verify(
        self,
        partial: ObjectStoragePath,
        schema: ExportSchema,
        rows: int,
        expected_records: int | None,
        source_uri: str,
    ) -> int:
        """The written file read back: its rows and schema; returns its size in bytes."""
        import pyarrow.parquet as pq

        with partial.fs.open(partial.path, mode="rb") as written:
            metadata = pq.ParquetFile(written).metadata
        if metadata.num_rows != rows:
            raise MarketoExportSchemaError(
                f"The Parquet file of {source_uri} holds {metadata.num_rows} rows, not the CSV's {rows}"
            )
        if not records_match(rows, expected_records):
            raise MarketoExportSchemaError(
                f"{source_uri} has {rows} rows, but its export's numberOfRecords is {expected_records}: "
                "nothing was published"
            )
        if expected_records is not None and rows != expected_records:
            self.log.info(
                "numberOfRecords %d of %s counts its header line (%d rows).",
                expected_records,
                source_uri,
                rows,
            )
        return int(partial.stat().st_size)


class _RowGroupWriter:
    """
    A ParquetWriter in a thread of its own, behind a queue of two row groups: parsing the next rows and
    encoding the last ones overlap (Arrow releases the GIL in both), and memory stays at a few row groups.
    """

    def __init__(self, out: Any, schema: Any, compression: str) -> None:
        import pyarrow.parquet as pq

        self._writer = pq.ParquetWriter(out, schema, compression=compression)
        self._tables: queue.Queue[Any] = queue.Queue(maxsize=2)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._consume, daemon=True, name="marketo-pm-parquet")
        self._thread.start()

    def _consume(self) -> None:
        while (table := self._tables.get()) is not None:
            if self._failure is None:
                try:
                    self._writer.write_table(table)
                except BaseException as err:
                    self._failure = err

    def put(self, table: Any) -> int:
        if self._failure is not None:
            raise self._failure
        self._tables.put(table)
        return int(table.num_rows)

    def __enter__(self) -> _RowGroupWriter:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._tables.put(None)
        self._thread.join()
        self._writer.close()
        if self._failure is not None and exc_info[0] is None:
            raise self._failure


def _remove_quietly(path: ObjectStoragePath, warn: Callable[..., Any]) -> None:
    try:
        if path.exists():
            path.unlink()
    except Exception as err:  # cleaning up is a courtesy: never hide the error that brought us here
        warn("Could not remove temporary %s: %s", uri_of(path), err)


def read_schema_sidecar(path: ObjectStoragePath) -> ExportSchema | None:
    """The schema sidecar beside an export or Parquet file, or None if there is none."""
    sidecar = schema_path_for(path)
    if not sidecar.exists():
        return None
    with sidecar.fs.open(sidecar.path, mode="rb") as file:
        return ExportSchema.from_json(file.read(), source=uri_of(sidecar))


__all__ = [
    "ROW_GROUP_ROWS",
    "SCHEMA_METADATA_KEY",
    "ParquetConversion",
    "parquet_path_for",
    "read_schema_sidecar",
    "schema_path_for",
]
