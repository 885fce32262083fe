"""`make airflow`: a real Airflow on this machine, without Docker, with the example DAGs and the emulator.

Starts the api-server, scheduler, dag-processor and triggerer (LocalExecutor) under one AIRFLOW_HOME
(``.airflow-local/`` by default: the metadata DB and the runs survive a restart), the bundled Marketo
emulator as connection ``marketo_default``, the pool ``marketo_bulk_export`` (4 slots, deferred tasks
counted), ``[operators] default_deferrable = True``, and unpauses the backfill example DAG. It prints the
UI's address and the sign-in, then runs until Ctrl-C (or SIGTERM) and stops every process it started.

``--postgres`` puts the metadata DB in a PostgreSQL database of its own (created when missing) instead of
SQLite. What it runs is :class:`~airflow_provider_marketo_pm.testing.airflow_cluster.AirflowCluster`, the
same cluster the system tests start; :func:`local_airflow` is the part the browser test reuses.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from airflow_provider_marketo_pm.testing.airflow_cluster import ADMIN_USER, AirflowCluster, ClusterError
from airflow_provider_marketo_pm.testing.emulator import MarketoEmulator

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = REPO_ROOT / "example_dags"
DEFAULT_HOME = REPO_ROOT / ".airflow-local"
BACKFILL_DAG = "marketo_program_members_backfill"
POOL, POOL_SLOTS = "marketo_bulk_export", 4
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
POSTGRES_DATABASE = "marketo_pm_airflow"
#: Seconds between status checks: the emulator completes jobs within seconds (Marketo's pace is 60 s).
POLL_INTERVAL = 2


@dataclass(frozen=True)
class LocalAirflow:
    """What is running: the cluster, the emulator behind ``marketo_default``, and where files land."""

    cluster: AirflowCluster
    emulator: MarketoEmulator
    exports: Path


def postgres_url(server: str = POSTGRES_SERVER, database: str = POSTGRES_DATABASE) -> str:
    """The metadata DB URL of ``database`` on ``server``, creating the database when it is missing."""
    import psycopg2  # the celery extra's driver, in the dev environment

    admin = psycopg2.connect(f"{server}/postgres", connect_timeout=5)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{database}"')
    finally:
        admin.close()
    return f"{server.replace('postgresql://', 'postgresql+psycopg2://', 1)}/{database}"


@contextlib.contextmanager
def local_airflow(
    home: Path, *, port: int = 0, sql_alchemy_conn: str | None = None, admin_password: str | None = None
) -> Iterator[LocalAirflow]:
    """Run the local Airflow of ``make airflow`` while the block runs; stop every process after it."""
    exports = home / "exports"
    with MarketoEmulator() as emulator:
        env = {
            "AIRFLOW_VAR_MARKETO_PM_POLL_INTERVAL": str(POLL_INTERVAL),
            "AIRFLOW_VAR_MARKETO_PM_DESTINATION": exports.as_uri(),
        }
        cluster = AirflowCluster(
            DAGS_FOLDER,
            env=env,
            home=home,
            port=port,
            sql_alchemy_conn=sql_alchemy_conn,
            admin_password=admin_password,
        )
        with cluster:
            cluster.set_connection(
                "marketo_default",
                "marketo",
                host=emulator.base_url,
                login=emulator.client_id,
                password=emulator.client_secret,
            )
            with contextlib.suppress(ClusterError):  # a home of an earlier run has it already
                cluster.create_pool(POOL, POOL_SLOTS, include_deferred=True)
            # Only the backfill DAG: the other examples are scheduled, or need a PostgreSQL connection.
            cluster.wait_for_dag(BACKFILL_DAG)
            cluster.unpause(BACKFILL_DAG)
            yield LocalAirflow(cluster, emulator, exports)


def admin_password_of(home: Path) -> str:
    """The sign-in password, kept in the home so that it stays the same from one start to the next."""
    path = home / "admin_password"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


class Stop(KeyboardInterrupt):
    """SIGTERM arrived: stop the way Ctrl-C does."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make airflow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME, help="AIRFLOW_HOME [.airflow-local]")
    parser.add_argument("--port", type=int, default=8080, help="the UI's port; 0 picks a free one [8080]")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=POSTGRES_SERVER,
        metavar="SERVER_URL",
        help=f"metadata DB in PostgreSQL database {POSTGRES_DATABASE!r} on this server [{POSTGRES_SERVER}]",
    )
    args = parser.parse_args(argv)
    home = args.home.resolve()
    sql = postgres_url(args.postgres) if args.postgres else None
    signal.signal(signal.SIGTERM, _raise_stop)
    # Ctrl-C even where SIGINT came ignored (a background job of a non-interactive shell inherits that).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    password = admin_password_of(home)
    began = time.monotonic()
    stopping = None
    try:
        with local_airflow(home, port=args.port, sql_alchemy_conn=sql, admin_password=password) as local:
            cluster = local.cluster
            print(
                f"Airflow is up after {time.monotonic() - began:.1f} s: {cluster.api_url}\n"
                f"  sign in as {ADMIN_USER!r}, password {password!r}\n"
                f"  metadata DB: {'PostgreSQL ' + POSTGRES_DATABASE if sql else 'SQLite'}; home {home}\n"
                f"  Marketo emulator {local.emulator.base_url} is connection 'marketo_default'\n"
                f"  pool {POOL!r} ({POOL_SLOTS} slots, deferred counted); default_deferrable = True\n"
                f"  DAG {BACKFILL_DAG!r} is unpaused: Trigger it in the UI; files land in {local.exports}\n"
                "Ctrl-C stops everything.",
                flush=True,
            )
            try:
                while True:
                    cluster.check_alive()
                    time.sleep(1)
            finally:
                stopping = time.monotonic()
    except KeyboardInterrupt:
        took = f" in {time.monotonic() - stopping:.1f} s" if stopping is not None else ""
        print(f"Stopped{took}.", flush=True)
        return 0
    except ClusterError as err:
        print(f"Airflow failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
