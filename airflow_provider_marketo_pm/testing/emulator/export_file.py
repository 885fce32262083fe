"""Writes an export file once, to disk, hashing as it goes, so files of any size never sit in memory.

Like the file on Marketo's documentation page, rows are separated by the line ending and no line ending
follows the last row (unless ``final_newline``); the checksum is that of the exact bytes served.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_marketo_pm.testing.emulator.dataset import cell
from airflow_provider_marketo_pm.testing.emulator.export_request import FORMATS, ExportSelection

_BLOCK_BYTES = 1024 * 1024
BOM = "\ufeff".encode()
# Values that get a NUL byte when ``nul_bytes`` is on: free-text custom fields, every fifth lead.
NUL_FIELDS = frozenset({"leadCustomField01", "leadCustomField02", "myCustomField", "pMCustomField01"})


@dataclass(frozen=True)
class FileStyle:
    """How the bytes of every export file are laid out (see ``EmulatorOptions``)."""

    line_ending: str = "\n"
    final_newline: bool = False
    utf8_bom: bool = False
    nul_bytes: bool = False


@dataclass(frozen=True)
class WrittenFile:
    records: int
    size: int
    sha256: str


def render_lines(
    spec: ExportSelection, rows: Iterable[dict[str, object]], *, header: bool, style: FileStyle = FileStyle()
) -> list[str]:
    """Each row as one text line without its ending: UTF-8 text, minimal quoting, ``null`` for empties."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=FORMATS[spec.format], lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL
    )
    lines: list[str] = []

    def take() -> None:
        lines.append(buffer.getvalue()[:-2])
        buffer.seek(0)
        buffer.truncate()

    if header:
        writer.writerow(spec.header)
        take()
    columns = spec.columns
    for row in rows:
        writer.writerow([_value(column, row, style) for column in columns])
        take()
    return lines


def _value(column: str, row: dict[str, object], style: FileStyle) -> str:
    text = cell(column, row.get(column))
    if (
        style.nul_bytes
        and column in NUL_FIELDS
        and text != "null"
        and int(str(row.get("leadId", 1))) % 5 == 0
    ):
        middle = len(text) // 2
        return text[:middle] + "\x00" + text[middle:]
    return text


def write_export_file(
    path: Path,
    spec: ExportSelection,
    rows: list[dict[str, object]],
    *,
    pad_to_bytes: int | None = None,
    style: FileStyle = FileStyle(),
) -> WrittenFile:
    """Write header and rows; with ``pad_to_bytes``, repeat the rows until the file is at least that big.

    Written under a temporary name and renamed, so the file exists only once complete (like Marketo's).
    """
    digest = hashlib.sha256()
    size = 0
    records = 0
    partial = path.with_name(path.name + ".part")
    ending = style.line_ending
    with partial.open("wb") as out:

        def emit(chunk: bytes) -> None:
            nonlocal size
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)

        if style.utf8_bom:
            emit(BOM)
        (header,) = render_lines(spec, [], header=True, style=style)
        emit(header.encode("utf-8"))
        # Each row brings the ending before it, so blocks of rows can be repeated to pad a file.
        block = "".join(ending + line for line in render_lines(spec, rows, header=False, style=style))
        block_bytes = block.encode("utf-8")
        emit(block_bytes)
        records += len(rows)
        if pad_to_bytes is not None and rows:
            repeats = max(1, _BLOCK_BYTES // len(block_bytes))
            big_block = block_bytes * repeats
            while size + len(big_block) <= pad_to_bytes:
                emit(big_block)
                records += repeats * len(rows)
            while size < pad_to_bytes:
                emit(block_bytes)
                records += len(rows)
        if style.final_newline:
            emit(ending.encode())
    os.replace(partial, path)
    return WrittenFile(records=records, size=size, sha256=digest.hexdigest())
