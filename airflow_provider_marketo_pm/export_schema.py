"""
The typed columns of one export file, from Marketo's describe: what the Parquet file, the rows and the
database load agree on.

Marketo's describe gives each field a ``dataType`` (``integer``, ``boolean``, ``datetime``, ``email``, ...);
the file gives its header (REST names, or the renames of ``columnHeaderNames``). :func:`export_schema`
matches the two, column by column, and refuses a header no describe names: a column typed by guess is a
column typed wrong in a warehouse. The schema travels as a small JSON sidecar beside the typed file, so
that a reader needs no describe call. Nothing here imports pyarrow (``typed_csv`` does).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from airflow_provider_marketo_pm.exceptions import MarketoExportSchemaError

# The column types, by their Arrow names.
INT64 = "int64"
FLOAT64 = "float64"
BOOL = "bool"
DATE = "date32"
TIMESTAMP = "timestamp[us, tz=UTC]"
STRING = "string"
COLUMN_TYPES = (INT64, FLOAT64, BOOL, DATE, TIMESTAMP, STRING)

#: Marketo's ``dataType`` -> column type. Any other dataType (``email``, ``phone``, ``url``, ``text``,
#: ``reference``, ``formula``, a type Marketo adds later) is text: a string holds any value the file has.
MARKETO_DATA_TYPES: Mapping[str, str] = {
    "integer": INT64,
    "score": INT64,
    "float": FLOAT64,
    "currency": FLOAT64,
    "percent": FLOAT64,
    "boolean": BOOL,
    "date": DATE,
    "datetime": TIMESTAMP,
}

#: Columns added to every typed file: which export the row came from, and the export's window.
EXPORT_ID_COLUMN = "_marketo_export_id"
WINDOW_START_COLUMN = "_marketo_window_start"
WINDOW_END_COLUMN = "_marketo_window_end"
METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    (EXPORT_ID_COLUMN, STRING),
    (WINDOW_START_COLUMN, TIMESTAMP),
    (WINDOW_END_COLUMN, TIMESTAMP),
)

#: The create filters whose ``{startAt, endAt}`` is an export's window, in the order they are looked for.
WINDOW_FILTERS = ("updatedAt", "createdAt")

SIDECAR_FORMAT = "airflow-provider-marketo-pm/export-schema/1"

#: The delimiter of each export ``format``.
DELIMITERS: Mapping[str, str] = {"CSV": ",", "TSV": "\t", "SSV": " "}


def column_type(data_type: str) -> str:
    """The column type of a Marketo ``dataType`` (text when Marketo names a type without a typed form)."""
    return MARKETO_DATA_TYPES.get(str(data_type).strip().lower(), STRING)


@dataclass(frozen=True)
class Column:
    """
    One typed column: ``name`` is the REST field name (the column's name in Parquet and in a table).

    :param header: the column's header in the file; ``None`` for a column the file does not carry
        (an implied constant, such as the ``programId`` of a one-program export).
    :param value: the constant of an implied column.
    """

    name: str
    data_type: str
    type: str
    header: str | None = None
    value: Any = None

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name, "dataType": self.data_type, "type": self.type}
        if self.header is not None:
            entry["header"] = self.header
        else:
            entry["value"] = self.value
        return entry


@dataclass(frozen=True)
class ExportSchema:
    """
    How one export file is typed: its columns in file order, the implied ones, and where it came from.

    The typed rows are ``columns``, then ``implied``, then :data:`METADATA_COLUMNS` (the ``exportId`` and
    the window's ``startAt`` and ``endAt``, null for an export without a window).
    """

    kind: str
    columns: tuple[Column, ...]
    implied: tuple[Column, ...] = ()
    export_id: str | None = None
    window: tuple[str, str] | None = None
    delimiter: str = ","
    records: int | None = field(default=None, compare=False)

    @property
    def names(self) -> list[str]:
        """Every typed column's name, in order (file columns, implied, metadata)."""
        return [name for name, _ in self.typed_columns]

    @property
    def typed_columns(self) -> list[tuple[str, str]]:
        """``(name, type)`` of every typed column, in order."""
        return [
            *((column.name, column.type) for column in (*self.columns, *self.implied)),
            *METADATA_COLUMNS,
        ]

    @property
    def headers(self) -> list[str]:
        """The file's header, as the schema expects it."""
        return [str(column.header) for column in self.columns]

    def with_records(self, records: int) -> ExportSchema:
        return replace(self, records=records)

    def to_json(self) -> str:
        """The JSON sidecar's text."""
        return json.dumps(
            {
                "format": SIDECAR_FORMAT,
                "kind": self.kind,
                "exportId": self.export_id,
                "window": None
                if self.window is None
                else {"startAt": self.window[0], "endAt": self.window[1]},
                "records": self.records,
                "delimiter": self.delimiter,
                "columns": [column.to_json() for column in self.columns],
                "implied": [column.to_json() for column in self.implied],
                "metadata": [{"name": name, "type": type_} for name, type_ in METADATA_COLUMNS],
            },
            indent=1,
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "the schema sidecar") -> ExportSchema:
        """Read a sidecar back; anything but what :meth:`to_json` writes is refused, naming ``source``."""
        try:
            data = json.loads(text)
            if data.get("format") != SIDECAR_FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, not {SIDECAR_FORMAT!r}")
            window = data.get("window")
            return cls(
                kind=str(data["kind"]),
                columns=tuple(_column_from_json(entry, implied=False) for entry in data["columns"]),
                implied=tuple(_column_from_json(entry, implied=True) for entry in data.get("implied", ())),
                export_id=None if data.get("exportId") is None else str(data["exportId"]),
                window=None if window is None else (str(window["startAt"]), str(window["endAt"])),
                delimiter=str(data.get("delimiter", ",")),
                records=None if data.get("records") is None else int(data["records"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise MarketoExportSchemaError(f"{source} is not an export schema: {err}") from None


def _column_from_json(entry: Mapping[str, Any], *, implied: bool) -> Column:
    type_ = str(entry["type"])
    if type_ not in COLUMN_TYPES:
        raise ValueError(f"column {entry.get('name')!r} has type {type_!r}, not one of {COLUMN_TYPES}")
    if implied:
        return Column(str(entry["name"]), str(entry["dataType"]), type_, None, entry.get("value"))
    return Column(str(entry["name"]), str(entry["dataType"]), type_, str(entry["header"]))


def export_window(export_filter: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """The ``(startAt, endAt)`` of the filter's window (``updatedAt``, else ``createdAt``), if it has one."""
    for name in WINDOW_FILTERS:
        window = (export_filter or {}).get(name)
        if isinstance(window, Mapping) and window.get("startAt") and window.get("endAt"):
            return str(window["startAt"]), str(window["endAt"])
    return None


def export_schema(
    kind: str,
    header: Sequence[str],
    described: Mapping[str, str],
    *,
    column_header_names: Mapping[str, str] | None = None,
    implied: Mapping[str, Any] | None = None,
    export_id: str | None = None,
    export_filter: Mapping[str, Any] | None = None,
    delimiter: str = ",",
) -> ExportSchema:
    """
    Type the columns of a file whose header is ``header``, from ``described`` (field name -> ``dataType``).

    A header is the field's REST name, or its rename in ``column_header_names`` (field -> header, as in
    the create request). A header no describe names, or two headers of one field, is refused: nothing is
    typed by guess. ``implied`` adds constant columns the file does not carry (field -> value; a field
    the file has already is left out).
    """
    by_header = {str(rename): str(name) for name, rename in (column_header_names or {}).items()}
    columns: list[Column] = []
    seen: set[str] = set()
    unknown: list[str] = []
    for text in header:
        name = by_header.get(text, text)
        if name not in described:
            unknown.append(text)
            continue
        if name in seen:
            raise MarketoExportSchemaError(f"The file's header names field {name!r} twice: {list(header)}")
        seen.add(name)
        columns.append(Column(name, described[name], column_type(described[name]), text))
    if unknown:
        raise MarketoExportSchemaError(
            f"The file's header has column(s) {unknown} that no describe of {kind}s names. A renamed column "
            "needs the export's column_header_names (field -> header); a field missing from the describe "
            "cannot be typed."
        )
    reserved = {name for name, _ in METADATA_COLUMNS} & seen
    if reserved:
        raise MarketoExportSchemaError(
            f"The file's header uses the reserved column name(s) {sorted(reserved)}"
        )
    implied_columns = tuple(
        Column(name, described[name], column_type(described[name]), None, value)
        for name, value in (implied or {}).items()
        if name not in seen and name in described
    )
    return ExportSchema(
        kind=kind,
        columns=tuple(columns),
        implied=implied_columns,
        export_id=export_id,
        window=export_window(export_filter),
        delimiter=delimiter,
    )


__all__ = [
    "COLUMN_TYPES",
    "DELIMITERS",
    "EXPORT_ID_COLUMN",
    "MARKETO_DATA_TYPES",
    "METADATA_COLUMNS",
    "WINDOW_END_COLUMN",
    "WINDOW_START_COLUMN",
    "Column",
    "ExportSchema",
    "column_type",
    "export_schema",
    "export_window",
]
