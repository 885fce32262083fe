"""Plain helpers for the typed export tests: an export made through the hook and downloaded, as a DAG does."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from marketo_exports import wait_for_export_status

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.operators.program_members import MarketoDownloadProgramMemberExportOperator


def downloaded_export(
    emulator: Any,
    destination: Path,
    fields: list[str],
    export_filter: dict[str, Any],
    *,
    column_header_names: dict[str, str] | None = None,
    compression: str | None = None,
) -> dict[str, Any]:
    """Create, enqueue and download one export (verified) to ``destination``; the download's result."""
    MarketoHook.clear_token_cache()
    hook = MarketoHook()
    created = hook.create_export(
        PROGRAM_MEMBERS.request(fields=fields, filter=export_filter, column_header_names=column_header_names)
    )
    hook.enqueue_export(PROGRAM_MEMBERS, created["exportId"])
    wait_for_export_status(emulator, created["exportId"])
    return MarketoDownloadProgramMemberExportOperator(
        task_id="download_export",
        export_id=created["exportId"],
        destination=destination.as_uri(),
        compression=compression,  # type: ignore[arg-type]
        overwrite=True,
    ).execute(context={})


def csv_rows(content: bytes) -> list[dict[str, str]]:
    """The rows of an export file as the standard library reads it (BOM dropped, quoting honoured)."""
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
