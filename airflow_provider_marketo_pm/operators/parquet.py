"""An operator that turns a downloaded, verified export into a typed Parquet file beside it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator, Context, ObjectStoragePath

from airflow_provider_marketo_pm import arguments
from airflow_provider_marketo_pm.exceptions import MarketoExportSchemaError, MarketoRequestError
from airflow_provider_marketo_pm.export_kind import ExportKind
from airflow_provider_marketo_pm.export_schema import DELIMITERS, export_window
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kind_tables import file_schema, kind_table
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.parquet_export import (
    ParquetConversion,
    parquet_path_for,
    schema_path_for,
    uri_of,
)
from airflow_provider_marketo_pm.typed_csv import require_pyarrow

__all__ = ["MarketoExportToParquetOperator"]

PARQUET_CODECS = ("snappy", "zstd", "gzip", "lz4", "brotli", "none")


def storage_path(key: str, value: Any, conn_id: str | None) -> ObjectStoragePath:
    """``value`` as a path of a registered filesystem; a bad URL is an error naming ``key``."""
    if not isinstance(value, str) or "://" not in value.strip() or value.strip().startswith("://"):
        raise MarketoRequestError(
            key, value, "must be an object storage URL, e.g. file:///data/x.csv or s3://b/k"
        )
    try:
        path = ObjectStoragePath(value.strip(), conn_id=conn_id)
        path.fs  # noqa: B018  # Airflow < 3.3 only refuses an unknown scheme here
    except (ValueError, ImportError) as err:
        raise MarketoRequestError(key, value, f"is not a usable object storage URL: {err}") from err
    return path


def export_file_source(source: Any, key: str = "source") -> tuple[str, int | None, str | None]:
    """
    ``(uri, numberOfRecords, exportId)`` of a download's result (``{"uri", "records", "export_id", ...}``),
    or of a bare URI (then neither count nor id is known).
    """
    if isinstance(source, str):
        return source, None, None
    if isinstance(source, Mapping) and isinstance(source.get("uri"), str):
        records = source.get("records")
        export_id = source.get("export_id")
        return (
            source["uri"],
            None if records is None else int(records),
            None if export_id is None else str(export_id),
        )
    raise MarketoRequestError(
        key, source, "must be a download's result (with 'uri') or an object storage URL"
    )


class MarketoExportToParquetOperator(BaseOperator):
    """
    Write a verified export file as a typed Parquet file, with its schema as a JSON sidecar, beside it.

    The column types come from Marketo's describe of the kind (program members: program member fields and
    Describe Lead2's lead fields), read through ``marketo_conn_id`` when the task runs; the file's header
    must name described fields (or their renames in ``column_header_names``). Columns
    ``_marketo_export_id``, ``_marketo_window_start`` and ``_marketo_window_end`` say where each row came
    from; a one-program export gets its ``programId`` column from ``export_filter``. Returns ``{"uri",
    "schema_uri", "records", "bytes", "export_id", "csv_uri", "window"}``.

    :param source: the download's result (``MarketoDownloadProgramMemberExportOperator``'s output: its
        ``uri``, ``records`` and ``export_id``), or an object storage URL (templated).
    :param export_filter: the export's create filter (its window, and a one-program export's programId).
    :param column_header_names: the create request's renames (field -> header), if it had any.
    :param format: the export's format, ``CSV``, ``TSV`` or ``SSV``.
    :param destination: the Parquet file's URL (default: beside the source, ``.parquet``).
    :param source_conn_id: connection of the source's store; ``dest_conn_id`` of the destination's
        (default: the source's).
    :param keep_csv: keep the verified CSV (default); ``False`` removes it once the Parquet file is
        published and verified against the CSV's row count.
    :param overwrite: replace an existing Parquet file (default: refused, as the download refuses).
    :param compression: Parquet codec (default ``snappy``).
    """

    template_fields: Sequence[str] = (
        "source",
        "export_filter",
        "column_header_names",
        "destination",
        "source_conn_id",
        "dest_conn_id",
        "marketo_conn_id",
    )
    ui_color = "#50a0d8"

    def __init__(
        self,
        *,
        source: Any,
        export_filter: Any = None,
        column_header_names: Any = None,
        format: str = "CSV",
        destination: str | None = None,
        source_conn_id: str | None = None,
        dest_conn_id: str | None = None,
        marketo_conn_id: str = "marketo_default",
        kind: ExportKind = PROGRAM_MEMBERS,
        keep_csv: bool = True,
        overwrite: bool = False,
        compression: str = "snappy",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if str(format).upper() not in DELIMITERS:
            raise MarketoRequestError("format", format, f"use one of {', '.join(DELIMITERS)}")
        if compression not in PARQUET_CODECS:
            raise MarketoRequestError("compression", compression, f"use one of {', '.join(PARQUET_CODECS)}")
        if not isinstance(keep_csv, bool):
            raise MarketoRequestError("keep_csv", keep_csv, "must be True or False")
        kind_table(kind)  # a kind without a table shape fails at parse time
        self.source = source
        self.export_filter = export_filter
        self.column_header_names = column_header_names
        self.format = str(format).upper()
        self.destination = destination
        self.source_conn_id = source_conn_id
        self.dest_conn_id = dest_conn_id
        self.marketo_conn_id = marketo_conn_id
        self.kind = kind
        self.keep_csv = keep_csv
        self.overwrite = overwrite
        self.compression = compression

    @cached_property
    def hook(self) -> MarketoHook:
        return MarketoHook(marketo_conn_id=self.marketo_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        require_pyarrow()
        uri, records, export_id = export_file_source(self.source)
        export_filter = self.export_filter or {}
        if not isinstance(export_filter, Mapping):
            raise MarketoRequestError(
                "export_filter", export_filter, "must be the export's create filter (a dict)"
            )
        if self.column_header_names is not None and not isinstance(self.column_header_names, Mapping):
            raise MarketoRequestError(
                "column_header_names", self.column_header_names, "must map fields to headers"
            )
        source = storage_path("source", uri, self.source_conn_id)
        destination = (
            None
            if self.destination is None
            else storage_path("destination", self.destination, self.dest_conn_id or self.source_conn_id)
        )
        if export_id is not None:
            arguments.export_id(export_id)
        target = destination or parquet_path_for(source)
        for existing in (target, schema_path_for(target)):
            if not self.overwrite and existing.exists():  # refused before the describe calls
                raise MarketoExportSchemaError(
                    f"{uri_of(existing)} already exists; set overwrite=True to replace it"
                )
        schema = file_schema(
            source,
            self.hook,
            self.kind,
            export_filter=export_filter,
            column_header_names=self.column_header_names,
            export_id=export_id,
            format=self.format,
        )
        conversion = ParquetConversion(
            log=self.log, overwrite=self.overwrite, keep_csv=self.keep_csv, compression=self.compression
        )
        result = conversion.convert(source, schema, destination=destination, expected_records=records)
        window = export_window(export_filter)
        result["window"] = None if window is None else {"startAt": window[0], "endAt": window[1]}
        return result
