"""Writes an export file once, to disk, hashing as it goes, so files of any size never sit in memory."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_marketo_pm.testing.emulator.dataset import cell
from airflow_provider_marketo_pm.testing.emulator.export_request import FORMATS, ExportSpec

_BLOCK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class WrittenFile:
    records: int
    size: int
    sha256: str


def render_rows(spec: ExportSpec, rows: Iterable[dict[str, object]], *, header: bool) -> bytes:
    """Rows as Marketo writes them: UTF-8, minimal quoting (the csv module), ``null`` for empties."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=FORMATS[spec.format], lineterminator="\n", quoting=csv.QUOTE_MINIMAL
    )
    if header:
        writer.writerow(spec.header)
    columns = spec.columns
    for row in rows:
        writer.writerow([cell(column, row.get(column)) for column in columns])
    return buffer.getvalue().encode("utf-8")


def write_export_file(
    path: Path, spec: ExportSpec, rows: list[dict[str, object]], *, pad_to_bytes: int | None = None
) -> WrittenFile:
    """Write header and rows; with ``pad_to_bytes``, repeat the rows until the file is at least that big.

    Written under a temporary name and renamed, so the file exists only once complete (like Marketo's).
    """
    digest = hashlib.sha256()
    size = 0
    records = 0
    partial = path.with_name(path.name + ".part")
    with partial.open("wb") as out:

        def emit(chunk: bytes) -> None:
            nonlocal size
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)

        emit(render_rows(spec, [], header=True))
        block = render_rows(spec, rows, header=False)
        emit(block)
        records += len(rows)
        if pad_to_bytes is not None and rows:
            repeats = max(1, _BLOCK_BYTES // len(block))
            big_block = block * repeats
            while size + len(big_block) <= pad_to_bytes:
                emit(big_block)
                records += repeats * len(rows)
            while size < pad_to_bytes:
                emit(block)
                records += len(rows)
    os.replace(partial, path)
    return WrittenFile(records=records, size=size, sha256=digest.hexdigest())
