"""
How each export kind lands in a table: its key, the column that says which copy of a row is newest, and
where its column types come from.

A program member is one ``(leadId, programId)`` (Marketo's ``dedupeFields``), the newest by ``updatedAt``;
a lead is one ``id``; an activity is one ``marketoGUID`` and never changes. The Parquet conversion, the
typed rows and the database load are written once against a :class:`KindTable`; a new export kind
(``export_kind.ExportKind``) plugs in by declaring one here, keyed by its jobs' REST path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_marketo_pm.exceptions import MarketoExportSchemaError, MarketoRequestError
from airflow_provider_marketo_pm.export_kind import PROGRAM_MEMBERS, ExportKind
from airflow_provider_marketo_pm.export_schema import DELIMITERS, ExportSchema, export_schema
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.typed_csv import file_header

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

LEAD_DESCRIBE2_PATH = "/rest/v1/leads/describe2.json"
LEADS_EXPORT_PATH = "/bulk/v1/leads/export"
ACTIVITIES_EXPORT_PATH = "/bulk/v1/activities/export"

Describer = Callable[[MarketoHook], dict[str, str]]
"""Reads a kind's describe: field name -> Marketo ``dataType``."""


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


def describe_leads(hook: MarketoHook) -> dict[str, str]:
    """Describe Lead2 (``GET /rest/v1/leads/describe2.json``): every lead field's ``dataType``."""
    try:
        payload = hook.run(LEAD_DESCRIBE2_PATH).json()
    except ValueError as err:  # not JSON
        raise MarketoExportSchemaError(f"Describe Lead2 answered something that is not JSON: {err}") from None
    result = payload.get("result") if isinstance(payload, Mapping) else None
    return described_types(result, source="Describe Lead2")


def describe_program_member_columns(hook: MarketoHook) -> dict[str, str]:
    """
    The types of every column a program member export can have: program member fields (their describe)
    and lead fields (Describe Lead2: a member export carries them too). ``createdAt`` and ``updatedAt``
    are in both; the file holds the membership's, so the program member describe wins.
    """
    members = described_types(hook.describe_program_members(), source="Describe program members")
    return {**describe_leads(hook), **members}


def program_id_of_filter(export_filter: Mapping[str, Any]) -> dict[str, Any]:
    """A one-program export (``programId``) has no programId column: the filter says which it is."""
    program_id = export_filter.get("programId")
    return {} if program_id is None else {"programId": int(program_id)}


def _nothing_implied(export_filter: Mapping[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class KindTable:
    """
    One kind's table shape.

    :param name: what the rows are called ("program member").
    :param export_path: the kind's jobs' REST path (:attr:`ExportKind.path`), which finds its table shape.
    :param key: the columns that identify a row (the table's primary key).
    :param newest_by: the column whose greatest value is the row's newest copy; ``None`` for rows that
        never change (activities).
    :param describe: reads the kind's column types from Marketo.
    :param implied: constant columns the filter implies and the file may not carry.
    """

    name: str
    export_path: str
    key: tuple[str, ...]
    newest_by: str | None
    describe: Describer = field(compare=False)
    implied: Callable[[Mapping[str, Any]], dict[str, Any]] = field(default=_nothing_implied, compare=False)


# Activities have fixed columns (Marketo's docs, Bulk Activity Extract): attributes is a JSON text.
ACTIVITY_COLUMNS: Mapping[str, str] = {
    "marketoGUID": "string",
    "leadId": "integer",
    "activityDate": "datetime",
    "activityTypeId": "integer",
    "campaignId": "integer",
    "primaryAttributeValueId": "integer",
    "primaryAttributeValue": "string",
    "attributes": "text",
    "actionResult": "string",
}

PROGRAM_MEMBER_TABLE = KindTable(
    "program member",
    PROGRAM_MEMBERS.path,
    key=("leadId", "programId"),
    newest_by="updatedAt",
    describe=describe_program_member_columns,
    implied=program_id_of_filter,
)
LEAD_TABLE = KindTable("lead", LEADS_EXPORT_PATH, key=("id",), newest_by="updatedAt", describe=describe_leads)
ACTIVITY_TABLE = KindTable(
    "activity",
    ACTIVITIES_EXPORT_PATH,
    key=("marketoGUID",),
    newest_by=None,
    describe=lambda hook: dict(ACTIVITY_COLUMNS),
)

KIND_TABLES: Mapping[str, KindTable] = {
    table.export_path: table for table in (PROGRAM_MEMBER_TABLE, LEAD_TABLE, ACTIVITY_TABLE)
}


def file_schema(
    path: ObjectStoragePath,
    hook: MarketoHook,
    kind: ExportKind | KindTable = PROGRAM_MEMBERS,
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


def kind_table(kind: ExportKind | KindTable) -> KindTable:
    """The table shape of an export kind (a :class:`KindTable` is returned as is)."""
    if isinstance(kind, KindTable):
        return kind
    try:
        return KIND_TABLES[kind.path]
    except KeyError:
        raise MarketoExportSchemaError(
            f"No table shape is declared for {kind.name} exports ({kind.path}): declare a KindTable"
        ) from None


__all__ = [
    "ACTIVITY_TABLE",
    "KIND_TABLES",
    "LEAD_TABLE",
    "PROGRAM_MEMBER_TABLE",
    "KindTable",
    "describe_leads",
    "describe_program_member_columns",
    "described_types",
    "file_schema",
    "kind_table",
]
