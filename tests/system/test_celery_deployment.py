"""The provider on the Airflow that data platforms run: CeleryExecutor on PostgreSQL and Redis, S3.

Two ``airflow celery worker`` processes (concurrency 2 each) take tasks from Redis; the metadata DB
and Celery's result backend are a PostgreSQL database of the test's own; files go to S3 (moto's
server: the workers share no disk). Every Airflow setting comes from docker-compose.yaml
(``compose_settings``): only the addresses of the services differ, so this is what the compose stack
runs, minus Docker.

What it shows: the backfill example DAG spreads over both workers and keeps Marketo's queue within the
pool; a worker SIGKILLed mid-download is replaced by the other one without a second export job or a
leftover multipart upload; a scheduler SIGKILLed mid-run is replaced and the run completes once.
"""

from __future__ import annotations

import collections
import hashlib
import json
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from compose_settings import (
    celery_test_environment,
    dockerfile_base_image,
    pool_command,
    service_environment,
)
from local_services import POSTGRES, REDIS, require
from marketo_exports import enqueued_export_ids
from moto_s3 import CREDENTIALS, moto_server

from airflow_provider_marketo_pm.testing import Fault, MarketoEmulator
from airflow_provider_marketo_pm.testing.airflow_cluster import AirflowCluster, poll

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

POSTGRES_USER = "postgres"
WORKERS = ("worker-a", "worker-b")
BACKFILL_DAG = "marketo_program_members_backfill"
RELIABILITY_DAG = "marketo_pm_reliability"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def services_up() -> None:
    """Skip (fail under CI=true) when PostgreSQL or Redis does not answer, saying how to start it."""
    require(POSTGRES, REDIS)


@pytest.fixture(scope="module")
def postgres_database(services_up: None) -> Iterator[str]:
    """A database of the test's own on the machine's PostgreSQL, dropped at the end."""
    import psycopg2

    name = f"marketo_pm_celery_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host=POSTGRES.host, port=POSTGRES.port, user=POSTGRES_USER, dbname="postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="module")
def redis_db(services_up: None) -> Iterator[int]:
    """A Redis database index nobody uses (empty), flushed at start and end."""
    import redis

    claim = "marketo-pm-celery-test"
    for index in range(15, 0, -1):
        client = redis.Redis(host=REDIS.host, port=REDIS.port, db=index)
        if client.dbsize() == 0:
            client.flushdb()
            client.set(claim, "1")
            break
        client.close()
    else:
        pytest.fail("no empty Redis database index among 1..15")
    try:
        yield index
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def s3(s3_endpoint: str) -> tuple[Any, str]:
    """The S3 client and the bucket of the compose destination (created, as minio-init does)."""
    import boto3

    destination = service_environment("airflow-worker")["AIRFLOW_VAR_MARKETO_PM_DESTINATION"]
    bucket = destination.removeprefix("s3://").split("/", 1)[0]
    client = boto3.client("s3", endpoint_url=s3_endpoint, **CREDENTIALS)
    client.create_bucket(Bucket=bucket)
    return client, bucket


@pytest.fixture(scope="module")
def airflow_cluster(
    dags_folder: Path,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_database: str,
    redis_db: int,
    s3_endpoint: str,
) -> Iterator[AirflowCluster]:
    """The compose stack's settings on loopback: CeleryExecutor, two workers, PostgreSQL, Redis, S3.

    Marketo's connection goes into the metadata DB (``marketo_for_airflow``), so that each test brings
    its own emulator; its type and extras are still the compose file's (``marketo_connection_fields``).
    """
    env = celery_test_environment(
        database=postgres_database,
        postgres=f"{POSTGRES_USER}@{POSTGRES.address}",
        redis=REDIS.address,
        redis_db=redis_db,
        marketo={"host": "http://marketo.invalid", "login": "-", "password": "-"},
        s3_endpoint=s3_endpoint,
    )
    env.pop("AIRFLOW_CONN_MARKETO_DEFAULT")
    # A worker SIGKILLed with its task: declare the task dead after 30 s instead of 5 min.
    env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"] = "30"
    cluster = AirflowCluster(
        dags_folder,
        env=env,
        home=tmp_path_factory.mktemp("airflow-home"),
        celery_workers=WORKERS,
        worker_concurrency=2,
    )
    with cluster:
        cluster.cli(*pool_command())
        yield cluster
    assert not cluster.processes(), "processes outlived the cluster"


@pytest.fixture(scope="module")
def marketo_connection_fields() -> dict[str, Any]:
    """``marketo_default`` as compose defines it (type and extras); the emulator fills in the rest."""
    compose_connection = json.loads(service_environment("airflow-worker")["AIRFLOW_CONN_MARKETO_DEFAULT"])
    return {"conn_type": compose_connection["conn_type"], "extra": json.dumps(compose_connection["extra"])}


# ------------------------------------------------------------------------------------------- helpers
def object_sha256(client: Any, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    for chunk in client.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(MiB):
        digest.update(chunk)
    return digest.hexdigest()


def objects(client: Any, bucket: str, prefix: str) -> list[str]:
    listing = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(item["Key"] for item in listing)


def multipart_uploads(client: Any, bucket: str) -> list[str]:
    return [u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def advertised_sha256(emulator: MarketoEmulator, export_id: str) -> str:
    return str(emulator.job(export_id)["fileChecksum"]).removeprefix("sha256:")


def peak_of_our_jobs_in_queue(emulator: MarketoEmulator) -> int:
    """The most of our jobs queued or processing at one instant (each from enqueue to its end)."""
    events = []
    for job in emulator.instance.jobs.recent(None):
        if job.queued_at is not None:
            events.append((job.queued_at, 1))
            events.append((job.finished_at if job.finished_at is not None else float("inf"), -1))
    peak = current = 0
    for _, step in sorted(events):  # at a tie, -1 sorts first: a job ending as another starts
        current += step
        peak = max(peak, current)
    return peak


def task_instances(cluster: AirflowCluster, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """All task instances of a run, mapped ones included."""
    answer = cluster.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
    return list(answer["task_instances"])


def destination_prefix() -> str:
    return service_environment("airflow-worker")["AIRFLOW_VAR_MARKETO_PM_DESTINATION"].split("/", 3)[3]


# --------------------------------------------------------------------------------------------- tests
def test_the_stack_runs_what_the_compose_image_runs(airflow_cluster: AirflowCluster) -> None:
    """Same Airflow as the Dockerfile's base image, the compose executor, and both workers answering."""
    import airflow

    assert airflow.__version__ == dockerfile_base_image()[0]
    config = airflow_cluster.cli("config", "get-value", "core", "executor").stdout.strip()
    assert config == service_environment("airflow-worker")["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    pool = airflow_cluster.api("GET", "/pools/marketo_bulk_export")
    assert (pool["slots"], pool["include_deferred"]) == (int(pool_command()[3]), True)


def test_backfill_spreads_over_both_workers_within_the_pool(
    airflow_cluster: AirflowCluster, marketo_for_airflow: Callable[..., MarketoEmulator], s3: tuple[Any, str]
) -> None:
    """6 windows x 2 batches: 12 files verified in S3, 12 export jobs, at most the pool in Marketo's queue."""
    client, bucket = s3
    # Jobs take a second to process: without the pool, a dozen would wait in Marketo's queue at once.
    emulator = marketo_for_airflow(processing_seconds=1.0)
    run_id = airflow_cluster.trigger(BACKFILL_DAG, conf={"start": "2024-01-01", "end": "2024-07-01"})

    assert airflow_cluster.wait(BACKFILL_DAG, run_id, timeout=420) == "success"

    export_ids = enqueued_export_ids(emulator)
    assert len(emulator.calls("create")) == len(export_ids) == 6 * 2
    keys = objects(client, bucket, f"{destination_prefix()}/backfill/")
    assert len(keys) == 12
    assert {key.rsplit("/", 1)[-1] for key in keys} == {"batch=00.csv", "batch=01.csv"}
    assert sorted(object_sha256(client, bucket, key) for key in keys) == sorted(
        advertised_sha256(emulator, export_id) for export_id in export_ids
    )
    assert multipart_uploads(client, bucket) == []

    slots = int(pool_command()[3])
    peak = peak_of_our_jobs_in_queue(emulator)
    assert 1 <= peak <= slots, f"{peak} of our jobs in Marketo's queue at once, pool has {slots} slots"

    per_worker = collections.Counter(  # tasks that ran: a skipped one (start_window_runs) has no host
        ti["hostname"]
        for ti in task_instances(airflow_cluster, BACKFILL_DAG, run_id)
        if ti["state"] != "skipped"
    )
    print(f"\ntasks per worker: {dict(per_worker)}; peak of our jobs in Marketo's queue: {peak}/{slots}")
    assert set(per_worker) == set(WORKERS)


def test_worker_killed_mid_download_is_replaced_by_the_other_worker(
    airflow_cluster: AirflowCluster, marketo_for_airflow: Callable[..., MarketoEmulator], s3: tuple[Any, str]
) -> None:
    """SIGKILL the worker's process group mid-stream: try 2 on the other worker, one job, object whole."""
    client, bucket = s3
    # Larger than one 50 MiB S3 part, so a multipart upload is open when the worker dies. Try 1's
    # connection drops after 52 MiB and its resume is held for 30 s: the worker is surely mid-download.
    emulator = marketo_for_airflow(large_file_mb=60)
    emulator.drop_download_after(52 * MiB, times=1)
    emulator.inject("file", Fault(delay=0.001), Fault(delay=30))
    key = f"{destination_prefix()}/worker-kill/members.csv"
    conn_id = service_environment("airflow-worker")["AIRFLOW_VAR_MARKETO_PM_DEST_CONN_ID"]
    run_id = airflow_cluster.trigger(RELIABILITY_DAG, conf={"destination": f"s3://{conn_id}@{bucket}/{key}"})

    ti = airflow_cluster.wait_for_task(RELIABILITY_DAG, run_id, "download_export", {"running"}, timeout=180)
    poll(lambda: True if len(emulator.calls("file")) >= 2 else None, timeout=120, what="the resume")
    assert multipart_uploads(client, bucket), "try 1 has a multipart upload open"
    victim = ti["hostname"]
    (survivor,) = set(WORKERS) - {victim}
    airflow_cluster.kill_component(victim, signal.SIGKILL)

    assert airflow_cluster.wait(RELIABILITY_DAG, run_id, timeout=300) == "success"

    download = airflow_cluster.task_instances(RELIABILITY_DAG, run_id)["download_export"]
    assert (download["try_number"], download["hostname"]) == (2, survivor)
    assert len(emulator.calls("create")) == 1
    (export_id,) = enqueued_export_ids(emulator)
    assert objects(client, bucket, key) == [key]
    assert object_sha256(client, bucket, key) == advertised_sha256(emulator, export_id)
    assert multipart_uploads(client, bucket) == []
    airflow_cluster.start_component(victim)
    airflow_cluster.wait_for_worker(victim)


def test_scheduler_killed_mid_run_is_replaced_and_the_run_completes_once(
    airflow_cluster: AirflowCluster, marketo_for_airflow: Callable[..., MarketoEmulator], s3: tuple[Any, str]
) -> None:
    """SIGKILL the scheduler while export jobs are in flight; a new one finishes the run, nothing twice."""
    client, bucket = s3
    emulator = marketo_for_airflow(processing_seconds=1.0)
    run_id = airflow_cluster.trigger(BACKFILL_DAG, conf={"start": "2024-07-01", "end": "2024-09-01"})
    poll(lambda: True if len(emulator.calls("enqueue")) >= 2 else None, timeout=180, what="jobs in flight")
    assert airflow_cluster.dag_run(BACKFILL_DAG, run_id)["state"] == "running"
    airflow_cluster.kill_component("scheduler", signal.SIGKILL)
    airflow_cluster.start_component("scheduler")

    assert airflow_cluster.wait(BACKFILL_DAG, run_id, timeout=300) == "success"

    export_ids = enqueued_export_ids(emulator)
    assert len(emulator.calls("create")) == len(export_ids) == 2 * 2
    keys = [
        key
        for key in objects(client, bucket, f"{destination_prefix()}/backfill/")
        if "updated_from=2024-07" in key or "updated_from=2024-08" in key
    ]
    assert len(keys) == 4
    assert sorted(object_sha256(client, bucket, key) for key in keys) == sorted(
        advertised_sha256(emulator, export_id) for export_id in export_ids
    )
    tries = collections.Counter(
        ti["try_number"] for ti in task_instances(airflow_cluster, BACKFILL_DAG, run_id)
    )
    print(f"\ntry numbers after the scheduler kill: {dict(tries)}")
