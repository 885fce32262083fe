"""A throw-away PostgreSQL database on this machine's server (127.0.0.1:5432, user postgres, trust auth)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator

import pytest

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"


@contextlib.contextmanager
def throwaway_database(monkeypatch: pytest.MonkeyPatch, conn_id: str = "marketo_pg") -> Iterator[str]:
    """Create a database of its own, register it as Airflow connection ``conn_id``, drop it after."""
    psycopg = pytest.importorskip("psycopg")
    name = f"marketo_pm_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(
            host=HOST, port=PORT, user=USER, dbname="postgres", autocommit=True, connect_timeout=5
        )
    except psycopg.OperationalError as err:
        pytest.fail(f"PostgreSQL on {HOST}:{PORT} is needed for the load tests: {err}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        connection = {"conn_type": "postgres", "host": HOST, "port": PORT, "login": USER, "schema": name}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
        try:
            yield name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(database: str, sql: str) -> list[tuple]:
    """Rows of one query, on a connection of its own."""
    import psycopg

    with psycopg.connect(host=HOST, port=PORT, user=USER, dbname=database) as connection:
        return connection.execute(sql).fetchall()


def execute(database: str, sql: str) -> None:
    """Run one statement that returns no rows, committed."""
    import psycopg

    with psycopg.connect(host=HOST, port=PORT, user=USER, dbname=database, autocommit=True) as connection:
        connection.execute(sql)
