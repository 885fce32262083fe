"""
Memberships that disappeared between two snapshots: the removals no ``updatedAt`` window shows.

When a lead leaves a program (removed from it, or the lead deleted), its membership row is gone: no later
export has it, whatever its window, so incremental loads never learn of it. Two snapshots of the same
programs do: a key in the previous one and not in the current one was removed in between. Each snapshot
folder gets a manifest (``_manifest.json``: its files, programs and status filter), written last, so only
a complete snapshot is ever compared with; the removed keys go to a small Parquet file beside it.

What Marketo does not say: *when* the membership ended (between the two snapshots), nor why. Deleted leads
come from the REST API's Get Deleted Leads (``GET /rest/v1/activities/deletedleads.json``), not from any
bulk export.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_marketo_pm.exceptions import MarketoExportSchemaError
from airflow_provider_marketo_pm.kind_tables import KindTable
from airflow_provider_marketo_pm.parquet_export import uri_of
from airflow_provider_marketo_pm.rows import typed_source
from airflow_provider_marketo_pm.typed_csv import require_pyarrow

MANIFEST_NAME = "_manifest.json"
REMOVED_NAME = "removed_memberships.parquet"
MANIFEST_FORMAT = "airflow-provider-marketo-pm/snapshot/1"
PREVIOUS_SNAPSHOT_COLUMN = "_marketo_previous_snapshot"
SNAPSHOT_COLUMN = "_marketo_snapshot"


@dataclass(frozen=True)
class Snapshot:
    """One complete snapshot: its folder, file names (in the folder), programs and status filter."""

    folder: ObjectStoragePath
    files: tuple[str, ...]
    program_ids: tuple[int, ...]
    status_names: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        return self.folder.name

    def manifest(self, kind: str) -> str:
        return json.dumps(
            {
                "format": MANIFEST_FORMAT,
                "kind": kind,
                "snapshot": self.name,
                "files": list(self.files),
                "programIds": list(self.program_ids),
                "statusNames": None if self.status_names is None else list(self.status_names),
            },
            indent=1,
        )


def read_snapshot(folder: ObjectStoragePath, kind: str) -> Snapshot | None:
    """The snapshot of ``folder`` if its manifest is there (and of ``kind``), else None."""
    manifest = folder / MANIFEST_NAME
    if not manifest.exists():
        return None
    try:
        data = json.loads(manifest.read_text())
        if data.get("format") != MANIFEST_FORMAT or data.get("kind") != kind:
            return None
        names = data.get("statusNames")
        return Snapshot(
            folder,
            tuple(str(name) for name in data["files"]),
            tuple(int(pid) for pid in data["programIds"]),
            None if names is None else tuple(str(name) for name in names),
        )
    except (ValueError, KeyError, TypeError) as err:
        raise MarketoExportSchemaError(f"{uri_of(manifest)} is not a snapshot manifest: {err}") from None


def previous_snapshot(current: ObjectStoragePath, kind: str) -> Snapshot | None:
    """
    The latest complete snapshot before ``current`` among its sibling folders, by name
    (``snapshot_date=2024-01-08`` sorts before ``snapshot_date=2024-01-15``).
    """
    parent = current.parent
    try:
        siblings = sorted(
            (path for path in parent.iterdir() if path.is_dir() and path.name < current.name),
            key=lambda path: path.name,
            reverse=True,
        )
    except FileNotFoundError:
        return None
    for folder in siblings:
        snapshot = read_snapshot(folder, kind)
        if snapshot is not None:
            return snapshot
    return None


def snapshot_keys(snapshot: Snapshot, key: Sequence[str]) -> Any:
    """The key columns of every file of a snapshot, as one Arrow table."""
    pa = require_pyarrow()
    tables = []
    for name in snapshot.files:
        schema, batches = typed_source(snapshot.folder / name, columns=list(key))
        tables.append(pa.Table.from_batches(list(batches), schema))
    if not tables:
        return pa.table({name: pa.array([], pa.int64()) for name in key})
    return pa.concat_tables(tables)


def removed_between(
    previous: Snapshot, current: Snapshot, table: KindTable, conn_id: str | None = None
) -> Any:
    """
    The keys of ``previous`` that ``current`` lacks, among the programs both snapshots exported (a program
    no longer exported is out of scope, not emptied).
    """
    pa = require_pyarrow()
    import pyarrow.compute as pc

    key = list(table.key)
    before = snapshot_keys(previous, key)
    after = snapshot_keys(current, key)
    both = sorted(set(previous.program_ids) & set(current.program_ids))
    if "programId" in key:
        before = before.filter(pc.is_in(before["programId"], value_set=pa.array(both, pa.int64())))
    gone = before.join(after, keys=key, join_type="left anti")
    gone = gone.sort_by([(name, "ascending") for name in key])
    return gone.append_column(
        PREVIOUS_SNAPSHOT_COLUMN, pa.array([previous.name] * gone.num_rows, pa.string())
    ).append_column(SNAPSHOT_COLUMN, pa.array([current.name] * gone.num_rows, pa.string()))


def write_removed(removed: Any, destination: ObjectStoragePath) -> None:
    """Write the removed keys as Parquet, atomically (a temporary sibling, then a move)."""
    import pyarrow.parquet as pq

    partial = destination.parent / f"{destination.name}.{uuid.uuid4().hex}.partial"
    try:
        with partial.fs.open(partial.path, mode="wb") as out:
            pq.write_table(removed, out)
        partial.fs.mv(partial.path, destination.path)
    except BaseException:
        if partial.exists():
            partial.unlink()
        raise


def record_snapshot(current: Snapshot, table: KindTable, *, log: Any) -> dict[str, Any]:
    """
    Compare ``current`` with the previous complete snapshot, write the removed keys beside it, then its
    manifest. Returns ``{"uri", "removed", "previous", "snapshot", "manifest_uri"}``; ``uri`` is None when
    there was nothing to compare with (the first snapshot, or a status filter).
    """
    result: dict[str, Any] = {"uri": None, "removed": 0, "previous": None, "snapshot": current.name}
    previous = previous_snapshot(current.folder, table.name)
    if current.status_names:
        log.info(
            "Snapshot %s is filtered by statusNames %s: a member gone from it may only have changed status, "
            "so no removals are computed.",
            current.name,
            list(current.status_names),
        )
    elif previous is None:
        log.info(
            "Snapshot %s is the first complete one under %s: no removals to compute.",
            current.name,
            uri_of(current.folder.parent),
        )
    elif previous.status_names:
        log.info(
            "The previous snapshot %s was filtered by statusNames: no removals are computed.", previous.name
        )
    else:
        removed = removed_between(previous, current, table)
        destination = current.folder / REMOVED_NAME
        write_removed(removed, destination)
        result.update(uri=uri_of(destination), removed=removed.num_rows, previous=previous.name)
        log.info(
            "%d %ss were in snapshot %s and are not in %s: %s",
            removed.num_rows,
            table.name,
            previous.name,
            current.name,
            uri_of(destination),
        )
    manifest = current.folder / MANIFEST_NAME
    with manifest.fs.open(manifest.path, mode="wb") as out:
        out.write(current.manifest(table.name).encode())
    result["manifest_uri"] = uri_of(manifest)
    return result


def snapshot_filters(
    jobs: Sequence[Mapping[str, Any]],
) -> tuple[tuple[int, ...], tuple[str, ...] | None, bool]:
    """
    ``(program ids, status names, windowed)`` of a run's jobs (each an ``expand_kwargs`` item with
    ``export_filter``, or a create filter itself); ``windowed`` is True when they export ``updatedAt``
    windows: increments, not a snapshot.
    """
    program_ids: set[int] = set()
    status_names: set[str] = set()
    windowed = False
    for job in jobs:
        export_filter = job.get("export_filter", job)
        windowed = windowed or bool(export_filter.get("updatedAt"))
        ids = export_filter.get("programIds") or [export_filter.get("programId")]
        program_ids.update(int(pid) for pid in ids if pid is not None)
        status_names.update(export_filter.get("statusNames") or ())
    return tuple(sorted(program_ids)), (tuple(sorted(status_names)) or None), windowed


__all__ = [
    "MANIFEST_NAME",
    "REMOVED_NAME",
    "Snapshot",
    "previous_snapshot",
    "read_snapshot",
    "record_snapshot",
    "removed_between",
    "snapshot_filters",
]
