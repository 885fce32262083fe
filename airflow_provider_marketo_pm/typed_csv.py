"""
Read a verified export file as typed Arrow record batches, streaming: memory does not grow with the file.

One reader for every typed output (the Parquet file, the rows for Python, the database load), so they
agree on every value. Marketo's files, as the fidelity table documents them (docs/fidelity.md):

- the literal, unquoted ``null`` is a null (a quoted ``"null"`` stays the text it is);
- a UTF-8 byte order mark before the header is dropped;
- ``\\n`` and ``\\r\\n`` row ends both work, and quoted values keep their embedded newlines exactly;
- NUL bytes inside values are kept (Arrow and Parquet hold them; the PostgreSQL load removes them);
- ``true``/``false`` are booleans, datetimes are ISO-8601 (UTC), integers and floats are numbers; a value
  that is not of its column's type fails the read, naming the column and the value.

Needs pyarrow: ``pip install "airflow-provider-marketo-pm[parquet]"``.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from airflow_provider_marketo_pm.exceptions import MarketoExportSchemaError
from airflow_provider_marketo_pm.export_schema import (
    BOOL,
    DATE,
    EXPORT_ID_COLUMN,
    FLOAT64,
    INT64,
    STRING,
    TIMESTAMP,
    WINDOW_END_COLUMN,
    WINDOW_START_COLUMN,
    ExportSchema,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from airflow.sdk import ObjectStoragePath

#: Bytes parsed per batch: enough for a fast parse, small enough that memory stays flat.
BLOCK_SIZE = 1 << 20
#: How far into a file its header line must end.
MAX_HEADER_BYTES = 1 << 20

_ARROW_COLUMN = re.compile(r"In CSV column #(\d+)")


def require_pyarrow() -> Any:
    """Import pyarrow, or say which extra installs it."""
    try:
        import pyarrow
    except ImportError:
        raise ImportError(
            "Typed exports (Parquet, typed rows, database loads) need pyarrow: "
            'pip install "airflow-provider-marketo-pm[parquet]"'
        ) from None
    return pyarrow


def arrow_type(type_name: str) -> pa.DataType:
    """The Arrow type of a column type name of :mod:`export_schema`."""
    pa = require_pyarrow()
    types = {
        INT64: pa.int64(),
        FLOAT64: pa.float64(),
        BOOL: pa.bool_(),
        DATE: pa.date32(),
        TIMESTAMP: pa.timestamp("us", tz="UTC"),
        STRING: pa.string(),
    }
    return types[type_name]


def arrow_schema(schema: ExportSchema) -> pa.Schema:
    """The Arrow schema of the typed batches (file columns, implied, metadata)."""
    pa = require_pyarrow()
    return pa.schema([pa.field(name, arrow_type(type_)) for name, type_ in schema.typed_columns])


def read_header(head: bytes, delimiter: str = ",") -> list[str]:
    """The header of a file whose first bytes are ``head``: its BOM dropped, quoting read the CSV way."""
    end = head.find(b"\n")
    if end < 0 and len(head) >= MAX_HEADER_BYTES:
        raise MarketoExportSchemaError(f"No header line ends within the first {MAX_HEADER_BYTES} bytes")
    line = head if end < 0 else head[:end]
    text = line.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="strict").rstrip("\r")
    return next(csv.reader([text], delimiter=delimiter), [])


def _window_value(text: str | None) -> Any:
    if text is None:
        return None
    import pendulum

    return pendulum.parse(text).in_timezone("UTC")  # type: ignore[union-attr]


def typed_batches(
    source: str | BinaryIO, schema: ExportSchema, *, block_size: int = BLOCK_SIZE
) -> Iterator[pa.RecordBatch]:
    """
    Stream ``source`` (a local path or a binary file, positioned at the start) as record batches typed by
    ``schema``, with its implied and metadata columns added.

    The header is the schema's (check it with :func:`read_header` first): columns are read by position
    and named by their REST names.
    """
    pa = require_pyarrow()
    from pyarrow import csv as pa_csv

    names = [column.name for column in schema.columns]
    reader_options = pa_csv.ReadOptions(column_names=names, skip_rows=1, block_size=block_size)
    parse_options = pa_csv.ParseOptions(delimiter=schema.delimiter, newlines_in_values=True)
    convert_options = pa_csv.ConvertOptions(
        column_types={column.name: arrow_type(column.type) for column in schema.columns},
        null_values=["null"],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["true"],
        false_values=["false"],
        timestamp_parsers=[pa_csv.ISO8601],
    )
    target = arrow_schema(schema)
    constants = [
        *((column.name, column.value) for column in schema.implied),
        (EXPORT_ID_COLUMN, schema.export_id),
        (WINDOW_START_COLUMN, _window_value(schema.window[0] if schema.window else None)),
        (WINDOW_END_COLUMN, _window_value(schema.window[1] if schema.window else None)),
    ]
    with _readable_errors(schema):
        reader = pa_csv.open_csv(
            source, read_options=reader_options, parse_options=parse_options, convert_options=convert_options
        )
        for batch in reader:
            arrays = list(batch.columns)
            for name, value in constants:
                arrays.append(pa.repeat(pa.scalar(value, target.field(name).type), batch.num_rows))
            yield pa.RecordBatch.from_arrays(arrays, schema=target)


@contextlib.contextmanager
def _readable_errors(schema: ExportSchema) -> Iterator[None]:
    """Arrow's parse and conversion errors as ours, with the column's name instead of its number."""
    pa = require_pyarrow()
    try:
        yield
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        message = str(err)
        found = _ARROW_COLUMN.search(message)
        if found and int(found[1]) < len(schema.columns):
            column = schema.columns[int(found[1])]
            message = (
                f"column {column.name!r} (header {column.header!r}, Marketo dataType {column.data_type!r}, "
                f"typed {column.type}): {message}"
            )
        raise MarketoExportSchemaError(
            f"The {schema.kind} export {schema.export_id or ''} cannot be typed: {message}"
        ) from None


def is_gzipped(path: ObjectStoragePath) -> bool:
    return path.name.endswith(".gz")


@contextlib.contextmanager
def open_export_file(path: ObjectStoragePath) -> Iterator[Any]:
    """
    An export file on any store, ready for :func:`typed_batches`: a local path as is (Arrow reads it
    natively), anything else as a streamed binary file; a ``.gz`` file decompressed on the way.
    """
    pa = require_pyarrow()
    local = path.protocol in ("file", "local")
    if local and not is_gzipped(path):
        yield path.path
        return
    with contextlib.ExitStack() as stack:
        if local:
            yield stack.enter_context(pa.input_stream(path.path, compression="gzip"))
            return
        raw: Any = stack.enter_context(path.fs.open(path.path, mode="rb"))
        yield stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")) if is_gzipped(path) else raw


def _head(path: ObjectStoragePath) -> bytes:
    with path.fs.open(path.path, mode="rb") as raw:
        stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if is_gzipped(path) else raw  # type: ignore[assignment]
        return bytes(stream.read(MAX_HEADER_BYTES))


def file_header(path: ObjectStoragePath, delimiter: str = ",") -> list[str]:
    """The header of an export file on any store (a ``.gz`` one decompressed)."""
    return read_header(_head(path), delimiter)


def typed_export_batches(
    path: ObjectStoragePath, schema: ExportSchema, *, block_size: int = BLOCK_SIZE
) -> Iterator[pa.RecordBatch]:
    """The typed batches of an export file on any store, after checking its header is the schema's."""
    head = _head(path)
    header = read_header(head, schema.delimiter)
    if header != schema.headers:
        raise MarketoExportSchemaError(
            f"The header of {path.protocol}://{path.path} is {header}, not the export's columns "
            f"{schema.headers}"
        )
    end = head.find(b"\n")
    if end < 0 or not head[end + 1 :].strip(b"\r\n"):
        return  # a header and no row (Marketo writes no line ending after its last line)
    with open_export_file(path) as source:
        yield from typed_batches(source, schema, block_size=block_size)


__all__ = [
    "BLOCK_SIZE",
    "arrow_schema",
    "arrow_type",
    "file_header",
    "open_export_file",
    "read_header",
    "require_pyarrow",
    "typed_batches",
    "typed_export_batches",
]
