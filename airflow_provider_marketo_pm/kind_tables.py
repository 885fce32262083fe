"""
How an export kind lands in a table: its key, the column that says which copy of a row is newest, and
where its column types come from.

Each kind links its :class:`KindTable` (``ExportKind.table``): a program member is one
``(leadId, programId)`` (Marketo's ``dedupeFields``), the newest by ``updatedAt``; a lead is one ``id``;
an activity is one ``marketoGUID`` and never changes. The Parquet conversion, the typed rows and the
database load are written once against a :class:`KindTable`. Its column types are data too: the describe
paths that list them, or fixed columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_marketo_pm._compat import moved_names
from airflow_provider_marketo_pm.exceptions import MarketoExportSchemaError, MarketoRequestError
from airflow_provider_marketo_pm.export_schema import DELIMITERS, ExportSchema, export_schema
from airflow_provider_marketo_pm.typed_csv import file_header

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath


class TabledKind(Protocol):
    """An export kind as this module reads it (``ExportKind`` by duck type: kinds sit above their tables)."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def table(self) -> KindTable | None: ...


class RestCaller(Protocol):
    """What reads a describe: ``MarketoHook.run`` (a hook, by duck type, so this module sits below hooks)."""

    def run(self, endpoint: str | None = None, *args: Any, **kwargs: Any) -> Any: ...


def described_types(records: Any, *, source: str) -> dict[str, str]:
    """
    ``{name: dataType}`` of describe records that list ``fields`` (program members, Describe Lead2,
    custom objects). The answer is Marketo's, so it is checked: a field without a name or a ``dataType``
    is an error naming the describe.
    """
    if not isinstance(records, list):
        raise MarketoExportSchemaError(f"{source} answered {type(records).__name__}, not a list of records")
    types: dict[str, str] = {}
    for record in records:
        fields = record.get("fields") if isinstance(record, Mapping) else None
        if not isinstance(fields, list):
            raise MarketoExportSchemaError(f"{source} answered a record without a list of fields")
        for entry in fields:
            name = entry.get("name") if isinstance(entry, Mapping) else None
            data_type = entry.get("dataType") if isinstance(entry, Mapping) else None
            if not isinstance(name, str) or not name or not isinstance(data_type, str) or not data_type:
                raise MarketoExportSchemaError(
                    f"{source} answered a field without a name and dataType: {entry!r}"
                )
            types.setdefault(name, data_type)
    if not types:
        raise MarketoExportSchemaError(f"{source} answered no fields")
    return types


def _nothing_implied(export_filter: Mapping[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class KindTable:
    """
    One kind's table shape.

    :param name: what the rows are called ("program member").
    :param key: the columns that identify a row (the table's primary key).
    :param newest_by: the column whose greatest value is the row's newest copy; ``None`` for rows that
        never change (activities).
    :param describes: REST paths of Marketo's describes that list the columns' ``dataType`` (records with
        ``fields``); where two name a column, the later one wins.
    :param columns: column types that need no describe (a kind with fixed columns).
    :param implied: constant columns the filter implies and the file may not carry.
    """

    name: str
    key: tuple[str, ...]
    newest_by: str | None
    describes: tuple[str, ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict, compare=False)
    implied: Callable[[Mapping[str, Any]], dict[str, Any]] = field(default=_nothing_implied, compare=False)

    def describe(self, hook: RestCaller) -> dict[str, str]:
        """The types of every column this kind's file can have (field name -> Marketo ``dataType``)."""
        types = dict(self.columns)
        for path in self.describes:
            try:
                payload = hook.run(path).json()
            except ValueError as err:  # not JSON
                raise MarketoExportSchemaError(f"The describe {path} answered no JSON: {err}") from None
            result = payload.get("result") if isinstance(payload, Mapping) else None
            types.update(described_types(result, source=f"The describe {path}"))
        if not types:
            raise MarketoExportSchemaError(f"No column types are declared for {self.name} exports")
        return types


def file_schema(
    path: ObjectStoragePath,
    hook: RestCaller,
    kind: TabledKind | KindTable,
    *,
    export_filter: Mapping[str, Any] | None = None,
    column_header_names: Mapping[str, str] | None = None,
    export_id: str | None = None,
    format: str = "CSV",
) -> ExportSchema:
    """
    The schema of an export file: its header (read from the file) typed by the kind's describe (read from
    Marketo through ``hook``), its window and implied columns from the create ``export_filter``.
    """
    table = kind_table(kind)
    delimiter = DELIMITERS.get(str(format).upper())
    if delimiter is None:
        raise MarketoRequestError("format", format, f"use one of {', '.join(DELIMITERS)}")
    header = file_header(path, delimiter)
    return export_schema(
        table.name,
        header,
        table.describe(hook),
        column_header_names=column_header_names,
        implied=table.implied(export_filter or {}),
        export_id=export_id,
        export_filter=export_filter,
        delimiter=delimiter,
    )


def kind_table(kind: TabledKind | KindTable) -> KindTable:
    """The table shape of an export kind (a :class:`KindTable` is returned as is)."""
    if isinstance(kind, KindTable):
        return kind
    if kind.table is None:
        raise MarketoExportSchemaError(
            f"No table shape is declared for {kind.name} exports ({kind.path}): give the kind a KindTable"
        )
    return kind.table


__all__ = ["KindTable", "kind_table"]

# The kinds' tables (PROGRAM_MEMBER_TABLE, LEAD_TABLE, ACTIVITY_TABLE, ACTIVITY_COLUMNS) and the Describe
# Lead2 path, now their kinds' (kinds.program_members, kinds.leads, kinds.activities), warn and keep working.
__getattr__ = moved_names(__name__)
