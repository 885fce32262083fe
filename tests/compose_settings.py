"""What docker-compose.yaml runs, read from the file, for the tests that must run the same thing.

The compose stack cannot be started here (no Docker engine), so the Celery deployment test runs its
settings instead: ``celery_test_environment`` is the compose file's Airflow environment with only the
*addresses* swapped for loopback ones (the database, the broker, Marketo, S3) and the few settings
that tie a component to its container handed to the test cluster. tests/test_docker_compose.py checks
that nothing else differs, so what the Celery test proves is what the compose file runs.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
WORKER_SERVICE = "airflow-worker"

_COMPOSE_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::-(?P<default>[^}]*))?\}")

#: Settings whose value names a place: replaced by the loopback service the test starts.
ADDRESS_SETTINGS = (
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW_CONN_MARKETO_DEFAULT",
    "AIRFLOW_CONN_MINIO_S3",
)
#: Settings the test cluster sets itself: the api-server's address and the token secret, and the
#: auth manager (the image's FAB login; the test cluster uses Airflow's simple auth manager).
CLUSTER_SETTINGS = (
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__AUTH_MANAGER",
)


def with_compose_defaults(text: str) -> str:
    """Substitute ``${VAR:-default}`` the way compose does when no .env sets VAR."""
    return _COMPOSE_VARIABLE.sub(lambda m: m.group("default") or "", text).replace("$$", "$")


def load_compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return compose


def service_environment(service: str, compose: Mapping[str, Any] | None = None) -> dict[str, str]:
    """A service's environment as its container sees it without a .env file."""
    services = (compose or load_compose())["services"]
    return {key: with_compose_defaults(str(value)) for key, value in services[service]["environment"].items()}


def pool_command(compose: Mapping[str, Any] | None = None) -> list[str]:
    """The ``airflow pools set ...`` arguments of airflow-init (without the leading ``airflow``)."""
    script = "\n".join((compose or load_compose())["services"]["airflow-init"]["command"])
    line = next(line for line in script.splitlines() if line.strip().startswith("airflow pools set "))
    return shlex.split(line)[1:]


def dockerfile_base_image() -> tuple[str, str]:
    """(Airflow version, Python version) of the Dockerfile's ``FROM apache/airflow:<v>-python<v>``."""
    match = re.search(
        r"^FROM apache/airflow:(?P<airflow>[\d.]+)-python(?P<python>[\d.]+)\s*$", DOCKERFILE.read_text(), re.M
    )
    assert match, "the Dockerfile must build FROM apache/airflow:<version>-python<version>"
    return match["airflow"], match["python"]


def relocate_url(url: str, netloc: str, path: str) -> str:
    """``url`` with another host (and credentials) and path: same scheme, so the same driver."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


def celery_test_environment(
    *,
    database: str,
    postgres: str,
    redis: str,
    redis_db: int,
    marketo: Mapping[str, str],
    s3_endpoint: str,
) -> dict[str, str]:
    """The compose workers' environment, relocated to loopback services.

    :param database: name of the test's own PostgreSQL database.
    :param postgres: ``user@host:port`` of the PostgreSQL server.
    :param redis: ``host:port`` of the Redis server; ``redis_db`` the database index of the test.
    :param marketo: ``host`` (base URL), ``login`` and ``password`` of the Marketo emulator.
    :param s3_endpoint: URL of the S3 server standing in for MinIO.
    """
    env = service_environment(WORKER_SERVICE)
    for key in CLUSTER_SETTINGS:
        env.pop(key, None)
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = relocate_url(
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], postgres, f"/{database}"
    )
    env["AIRFLOW__CELERY__RESULT_BACKEND"] = relocate_url(
        env["AIRFLOW__CELERY__RESULT_BACKEND"], postgres, f"/{database}"
    )
    env["AIRFLOW__CELERY__BROKER_URL"] = relocate_url(
        env["AIRFLOW__CELERY__BROKER_URL"], redis, f"/{redis_db}"
    )
    marketo_conn = json.loads(env["AIRFLOW_CONN_MARKETO_DEFAULT"])
    marketo_conn.update({key: marketo[key] for key in ("host", "login", "password")})
    env["AIRFLOW_CONN_MARKETO_DEFAULT"] = json.dumps(marketo_conn)
    s3_conn = json.loads(env["AIRFLOW_CONN_MINIO_S3"])
    s3_conn.update({"login": "testing", "password": "testing"})
    s3_conn["extra"] = {**s3_conn["extra"], "endpoint_url": s3_endpoint}
    env["AIRFLOW_CONN_MINIO_S3"] = json.dumps(s3_conn)
    return env
