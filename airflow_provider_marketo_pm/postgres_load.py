"""
Load typed exports into PostgreSQL: ``COPY`` into a staging table, then one merge into the target.

The target is keyed by the kind's key (program members: ``(leadId, programId)``) and keeps each key's
newest copy (``updatedAt``): a row replaces the stored one only when it is newer, or as new with other
values. So a re-run, or windows that overlap (a row updated on a shared edge comes in both), change
nothing, and an old window loaded after a newer one cannot bring old values back. Everything happens in
one transaction, under a lock that serialises loads of the same table: a failed load leaves the table as
it was.

The staging rows are the typed rows of :mod:`typed_csv` (or a Parquet file's), written to ``COPY ... FROM
STDIN (FORMAT csv)`` by Arrow's CSV writer: a null is an unquoted empty field, an empty text a quoted one,
exactly PostgreSQL's CSV rules. PostgreSQL text cannot hold NUL bytes (``COPY`` refuses them): they are
removed from text values on the way, and counted.

Two more columns live only in the table: ``_marketo_loaded_at`` (when the row last changed) and
``_marketo_removed_at``, the soft delete: set for the keys of a removal file (memberships gone from a
snapshot, see :mod:`removed_memberships`), cleared when a newer copy or a later snapshot shows the row.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_marketo_pm.exceptions import MarketoLoadError
from airflow_provider_marketo_pm.export_schema import WINDOW_END_COLUMN
from airflow_provider_marketo_pm.kind_tables import KindTable
from airflow_provider_marketo_pm.typed_csv import require_pyarrow

LOADED_AT_COLUMN = "_marketo_loaded_at"
REMOVED_AT_COLUMN = "_marketo_removed_at"
STAGE_TABLE = "marketo_pm_stage"
REMOVED_STAGE_TABLE = "marketo_pm_removed"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")


def quote_identifier(name: str) -> str:
    """A PostgreSQL identifier, quoted (Marketo's names are camelCase: ``"leadId"``)."""
    return '"' + name.replace('"', '""') + '"'


def table_name(value: Any) -> str:
    """``table`` or ``schema.table`` of plain identifiers, quoted; anything else is refused."""
    parts = value.split(".") if isinstance(value, str) else []
    if not 1 <= len(parts) <= 2 or not all(_IDENTIFIER.fullmatch(part) for part in parts):
        raise MarketoLoadError(
            f"table={value!r} is invalid: use 'table' or 'schema.table' of letters, digits and _"
        )
    return ".".join(quote_identifier(part) for part in parts)


def postgres_type(arrow_type: Any) -> str:
    """The PostgreSQL type of a typed column's Arrow type."""
    pa = require_pyarrow()
    types = {
        pa.int64(): "bigint",
        pa.float64(): "double precision",
        pa.bool_(): "boolean",
        pa.date32(): "date",
        pa.timestamp("us", tz="UTC"): "timestamptz",
        pa.string(): "text",
    }
    try:
        return types[arrow_type]
    except KeyError:
        raise MarketoLoadError(f"No PostgreSQL type for a column of Arrow type {arrow_type}") from None


class _CsvStream(io.RawIOBase):
    """Arrow batches as CSV bytes for psycopg2's ``copy_expert`` (which reads a file), made as it reads."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self.error: BaseException | None = None  # psycopg2 wraps it in QueryCanceled: kept to raise as is

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                chunk = next(self._chunks, None)
            except BaseException as err:
                self.error = err
                raise
            if chunk is None:
                return 0
            self._buffer = chunk
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def copy_rows(cursor: Any, sql: str, chunks: Iterator[bytes]) -> None:
    """``COPY ... FROM STDIN`` of CSV chunks: psycopg 3 (``cursor.copy``) or psycopg2 (``copy_expert``)."""
    if hasattr(cursor, "copy"):
        with cursor.copy(sql) as copy:
            for chunk in chunks:
                copy.write(chunk)
    else:
        stream = _CsvStream(chunks)
        try:
            cursor.copy_expert(sql, stream, size=1 << 20)
        except Exception:
            if stream.error is not None:
                raise stream.error from None
            raise


@dataclass
class LoadCounts:
    """What one load did: rows staged, distinct keys, rows inserted, updated, unchanged and soft-deleted."""

    files: int = 0
    rows: int = 0
    keys: int = 0
    inserted: int = 0
    updated: int = 0
    removed: int = 0
    nul_values_cleaned: int = 0
    seconds: float = 0.0

    @property
    def unchanged(self) -> int:
        return self.keys - self.inserted - self.updated

    def as_dict(self) -> dict[str, Any]:
        return {**vars(self), "unchanged": self.unchanged, "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class PostgresLoad:
    """
    Merge typed exports of one kind into one table.

    :param table: ``table`` or ``schema.table``; created (with its primary key) when missing, new columns
        added when an export brings them.
    :param kind: the kind's table shape (its key and ``newest_by`` column).
    :param snapshot: the rows are a snapshot (current members): a soft-deleted key they show is restored.
    """

    table: str
    kind: KindTable
    log: Any
    snapshot: bool = False

    def run(
        self,
        connection: Any,
        sources: Sequence[tuple[Any, Iterable[Any]]],
        removed: Iterable[Any] = (),
    ) -> LoadCounts:
        """
        Load ``sources`` (``(arrow schema, record batches)`` per file, one schema for all) and soft-delete the
        keys in ``removed`` (record batches of key columns), in one transaction on ``connection``.
        """
        started = time.monotonic()
        target = table_name(self.table)
        if not sources:
            raise MarketoLoadError("Nothing to load: no export files were given")
        schema = sources[0][0]
        for other, _ in sources[1:]:
            if other != schema:
                raise MarketoLoadError(
                    f"The files of one load must have the same columns: {schema.names} and {other.names}"
                )
        missing = [
            name for name in (*self.kind.key, self.kind.newest_by) if name and name not in schema.names
        ]
        if missing:
            raise MarketoLoadError(
                f"Loading {self.kind.name}s into {self.table} needs the column(s) {missing} (the key "
                f"{list(self.kind.key)} and the newest-by column {self.kind.newest_by!r}); the exports have "
                f"{schema.names}. Add them to the export's fields."
            )
        columns = [(field.name, postgres_type(field.type)) for field in schema]
        counts = LoadCounts(files=len(sources))
        cursor = connection.cursor()
        try:
            self._prepare(cursor, target, columns)
            for _, batches in sources:
                copy_rows(
                    cursor, self._copy_sql(STAGE_TABLE, [n for n, _ in columns]), self._csv(batches, counts)
                )
            cursor.execute(
                f"SELECT count(*) FROM (SELECT DISTINCT {self._key_list()} FROM {STAGE_TABLE}) AS keys"
            )
            counts.keys = int(cursor.fetchone()[0])
            cursor.execute(self._merge_sql(target, [n for n, _ in columns]))
            inserted, updated = cursor.fetchone()
            counts.inserted, counts.updated = int(inserted or 0), int(updated or 0)
            counts.removed = self._soft_delete(cursor, target, schema, removed)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            cursor.close()
        counts.seconds = time.monotonic() - started
        if counts.nul_values_cleaned:
            self.log.warning(
                "Removed NUL bytes from %d text values (PostgreSQL text cannot hold them).",
                counts.nul_values_cleaned,
            )
        self.log.info("Loaded %s into %s: %s", self.kind.name, self.table, counts.as_dict())
        return counts

    def _key_list(self, alias: str = "") -> str:
        return ", ".join(f"{alias}{quote_identifier(name)}" for name in self.kind.key)

    @staticmethod
    def _copy_sql(table: str, names: Sequence[str]) -> str:
        return f"COPY {table} ({', '.join(map(quote_identifier, names))}) FROM STDIN WITH (FORMAT csv)"

    def _prepare(self, cursor: Any, target: str, columns: Sequence[tuple[str, str]]) -> None:
        """The target (created if missing, new columns added), locked; an empty staging table."""
        definitions = ", ".join(f"{quote_identifier(name)} {type_}" for name, type_ in columns)
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {target} ({definitions}, "
            f"{quote_identifier(LOADED_AT_COLUMN)} timestamptz NOT NULL DEFAULT now(), "
            f"{quote_identifier(REMOVED_AT_COLUMN)} timestamptz, PRIMARY KEY ({self._key_list()}))"
        )
        for name, type_ in columns:
            cursor.execute(f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {quote_identifier(name)} {type_}")
        cursor.execute(f"LOCK TABLE {target} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"CREATE TEMP TABLE {STAGE_TABLE} ({definitions}) ON COMMIT DROP")

    def _csv(self, batches: Iterable[Any], counts: LoadCounts) -> Iterator[bytes]:
        pa = require_pyarrow()
        import pyarrow.compute as pc
        from pyarrow import csv as pa_csv

        options = pa_csv.WriteOptions(include_header=False)
        for batch in batches:
            arrays = []
            for array in batch.columns:
                if pa.types.is_string(array.type):
                    has_nul = pc.match_substring(array, "\x00")
                    cleaned = int(pc.sum(has_nul).as_py() or 0)
                    if cleaned:
                        counts.nul_values_cleaned += cleaned
                        array = pc.replace_substring(array, "\x00", "")
                arrays.append(array)
            sink = pa.BufferOutputStream()
            pa_csv.write_csv(pa.RecordBatch.from_arrays(arrays, schema=batch.schema), sink, options)
            counts.rows += batch.num_rows
            yield sink.getvalue().to_pybytes()

    def _merge_sql(self, target: str, names: Sequence[str]) -> str:
        """Each key's newest staged copy, inserted, or updated where it is newer or different."""
        data = [name for name in names if not name.startswith("_marketo_")]
        order = [f"{quote_identifier(self.kind.newest_by)} DESC NULLS LAST"] if self.kind.newest_by else []
        order.append(f"{quote_identifier(WINDOW_END_COLUMN)} DESC NULLS FIRST")
        listed = ", ".join(map(quote_identifier, names))
        updates = ", ".join(f"{quote_identifier(n)} = EXCLUDED.{quote_identifier(n)}" for n in names)
        differs = (
            f"(ROW({', '.join('t.' + quote_identifier(n) for n in data)}) IS DISTINCT FROM "
            f"ROW({', '.join('EXCLUDED.' + quote_identifier(n) for n in data)}))"
        )
        if self.kind.newest_by:
            newest = quote_identifier(self.kind.newest_by)
            condition = (
                f"EXCLUDED.{newest} > t.{newest} OR (t.{newest} IS NULL AND EXCLUDED.{newest} IS NOT NULL) "
                f"OR (EXCLUDED.{newest} IS NOT DISTINCT FROM t.{newest} AND {differs})"
            )
        else:
            condition = differs
        if self.snapshot:
            condition += f" OR t.{quote_identifier(REMOVED_AT_COLUMN)} IS NOT NULL"
        loaded, removed = quote_identifier(LOADED_AT_COLUMN), quote_identifier(REMOVED_AT_COLUMN)
        return (
            f"WITH newest AS (SELECT DISTINCT ON ({self._key_list()}) {listed} FROM {STAGE_TABLE} "
            f"ORDER BY {self._key_list()}, {', '.join(order)}), "
            f"merged AS (INSERT INTO {target} AS t ({listed}, {loaded}, {removed}) "
            f"SELECT {listed}, now(), NULL FROM newest "
            f"ON CONFLICT ({self._key_list()}) DO UPDATE SET {updates}, {loaded} = now(), {removed} = NULL "
            f"WHERE {condition} RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged"
        )

    def _soft_delete(self, cursor: Any, target: str, schema: Any, removed: Iterable[Any]) -> int:
        """Mark the keys of ``removed`` as removed now (those already marked keep their time)."""
        key_columns = [(name, postgres_type(schema.field(name).type)) for name in self.kind.key]
        definitions = ", ".join(f"{quote_identifier(n)} {t}" for n, t in key_columns)
        cursor.execute(f"CREATE TEMP TABLE {REMOVED_STAGE_TABLE} ({definitions}) ON COMMIT DROP")
        ignored = LoadCounts()
        keys = (batch.select(list(self.kind.key)) for batch in removed)
        copy_rows(cursor, self._copy_sql(REMOVED_STAGE_TABLE, list(self.kind.key)), self._csv(keys, ignored))
        if not ignored.rows:
            return 0
        match = " AND ".join(f"t.{quote_identifier(n)} = r.{quote_identifier(n)}" for n in self.kind.key)
        removed_at = quote_identifier(REMOVED_AT_COLUMN)
        cursor.execute(
            f"UPDATE {target} AS t SET {removed_at} = now() FROM {REMOVED_STAGE_TABLE} AS r "
            f"WHERE {match} AND t.{removed_at} IS NULL"
        )
        return int(cursor.rowcount)


__all__ = [
    "LOADED_AT_COLUMN",
    "REMOVED_AT_COLUMN",
    "LoadCounts",
    "PostgresLoad",
    "postgres_type",
    "quote_identifier",
    "table_name",
]
