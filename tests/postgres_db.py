"""A throw-away PostgreSQL database on this machine's server (127.0.0.1:5432, user postgres, trust auth).

psycopg2 here, whichever driver the postgres provider uses (psycopg 3 on SQLAlchemy 2, psycopg2 before):
both environments have it, so the load tests run in each.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator

import psycopg2
import pytest

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"


@contextlib.contextmanager
def throwaway_database(monkeypatch: pytest.MonkeyPatch, conn_id: str = "marketo_pg") -> Iterator[str]:
    """Create a database of its own, register it as Airflow connection ``conn_id``, drop it after."""
    name = f"marketo_pm_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname="postgres", connect_timeout=5)
    except psycopg2.OperationalError as err:
        pytest.fail(f"PostgreSQL on {HOST}:{PORT} is needed for the load tests: {err}")
    admin.autocommit = True
    try:
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
        connection = {"conn_type": "postgres", "host": HOST, "port": PORT, "login": USER, "schema": name}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
        try:
            yield name
        finally:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def query(database: str, sql: str) -> list[tuple]:
    """Rows of one query, on a connection of its own."""
    connection = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname=database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


def execute(database: str, sql: str) -> None:
    """Run one statement that returns no rows, committed."""
    connection = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname=database)
    connection.autocommit = True
    try:
        connection.cursor().execute(sql)
    finally:
        connection.close()
