"""A real Airflow against the Marketo emulator: a scheduler, a dag-processor, a triggerer and an
api-server with LocalExecutor, started by the test.

What only a real deployment shows: the trigger survives its triggerer being SIGKILLed (a new one
picks it up, Marketo sees one export job), and a task process killed mid-download is retried into
an intact file without a second export job.
"""

from __future__ import annotations

import hashlib
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from marketo_exports import enqueued_export_ids

from airflow_provider_marketo_pm.testing import Fault, MarketoEmulator
from airflow_provider_marketo_pm.testing.airflow_cluster import AirflowCluster, poll

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

BACKFILL_DAG = "marketo_program_members_backfill"
RELIABILITY_DAG = "marketo_pm_reliability"
MiB = 1024 * 1024


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(MiB), b""):
            digest.update(block)
    return digest.hexdigest()


def emulator_sha256(emulator: MarketoEmulator, export_id: str) -> str:
    """The checksum the emulator advertises, checked against the bytes it serves."""
    advertised = str(emulator.job(export_id)["fileChecksum"]).removeprefix("sha256:")
    assert sha256_of(emulator.file_path(export_id)) == advertised
    return advertised


def wait_for_status_polls(cluster: AirflowCluster, emulator: MarketoEmulator, *, what: str) -> None:
    """Wait for two more status calls: with the sensor deferred, only a live trigger makes them."""
    seen = len(emulator.calls("status"))

    def polled() -> bool | None:
        cluster.check_alive()
        return True if len(emulator.calls("status")) >= seen + 2 else None

    poll(polled, timeout=120, what=f"the trigger to poll Marketo from {what}")


def test_backfill_example_dag_succeeds(
    airflow_cluster: AirflowCluster, marketo_for_airflow: Callable[..., MarketoEmulator], tmp_path: Path
) -> None:
    """The example backfill DAG, as a user would trigger it: every window's file lands intact."""
    emulator = marketo_for_airflow()
    airflow_cluster.create_pool("marketo_bulk_export", 4, include_deferred=True)
    run_id = airflow_cluster.trigger(
        BACKFILL_DAG,
        conf={
            "start": "2024-01-01",
            "end": "2024-03-01",
            "program_ids": [1044, 1045],
            "destination": f"file://{tmp_path}",
        },
    )

    assert airflow_cluster.wait(BACKFILL_DAG, run_id, timeout=240) == "success"
    assert [run["dag_run_id"] for run in airflow_cluster.dag_runs(BACKFILL_DAG)] == [run_id]

    export_ids = enqueued_export_ids(emulator)
    assert len(emulator.calls("create")) == len(export_ids) == 2  # two 31-day windows, one batch
    written = sorted(tmp_path.rglob("*.csv"))
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "backfill/updated_from=2024-01-01/updated_to=2024-02-01/batch=00.csv",
        "backfill/updated_from=2024-02-01/updated_to=2024-03-01/batch=00.csv",
    ]
    assert sorted(sha256_of(p) for p in written) == sorted(emulator_sha256(emulator, e) for e in export_ids)


def test_sensor_survives_a_sigkilled_triggerer(
    airflow_cluster: AirflowCluster, marketo_for_airflow: Callable[..., MarketoEmulator], tmp_path: Path
) -> None:
    """The deferred sensor's trigger moves to a new triggerer; Marketo sees one export job, not two."""
    emulator = marketo_for_airflow()
    # Other integrations hold both processing slots: our job stays Queued until the test releases them.
    emulator.occupy_queue(2, seconds=3600)
    destination = tmp_path / "members.csv"
    run_id = airflow_cluster.trigger(RELIABILITY_DAG, conf={"destination": f"file://{destination}"})

    airflow_cluster.wait_for_task(RELIABILITY_DAG, run_id, "wait_for_export", {"deferred"}, timeout=120)
    wait_for_status_polls(airflow_cluster, emulator, what="the first triggerer")
    airflow_cluster.kill_component("triggerer", signal.SIGKILL)
    (export_id,) = enqueued_export_ids(emulator)
    assert emulator.job(export_id)["status"] == "Queued"

    airflow_cluster.start_component("triggerer")
    wait_for_status_polls(airflow_cluster, emulator, what="a new triggerer")
    emulator.release_queue()

    assert airflow_cluster.wait(RELIABILITY_DAG, run_id, timeout=120) == "success"
    tries = {
        task: ti["try_number"] for task, ti in airflow_cluster.task_instances(RELIABILITY_DAG, run_id).items()
    }
    assert tries == {"start_export": 1, "wait_for_export": 1, "download_export": 1}
    assert len(emulator.calls("create")) == 1
    assert enqueued_export_ids(emulator) == [export_id]
    assert sha256_of(destination) == emulator_sha256(emulator, export_id)


def test_task_killed_mid_download_is_retried_into_an_intact_file(
    airflow_cluster: AirflowCluster, marketo_for_airflow: Callable[..., MarketoEmulator], tmp_path: Path
) -> None:
    """SIGKILL the download's task process mid-file: try 2 publishes the whole file, no new export job."""
    emulator = marketo_for_airflow(large_file_mb=24)
    # Try 1 loses its connection after 4 MiB, and its Range resume is held for 30 s: a window in which
    # the task process is certainly mid-download. Try 2 gets the whole file.
    emulator.drop_download_after(4 * MiB, times=1)
    emulator.inject("file", Fault(delay=0.001), Fault(delay=30))
    destination = tmp_path / "members.csv"
    run_id = airflow_cluster.trigger(RELIABILITY_DAG, conf={"destination": f"file://{destination}"})

    ti = airflow_cluster.wait_for_task(RELIABILITY_DAG, run_id, "download_export", {"running"}, timeout=180)
    poll(
        lambda: True if len(emulator.calls("file")) >= 2 else None,
        timeout=60,
        what="the download to break and ask to resume",
    )
    assert not destination.exists()
    partial = next(tmp_path.glob("members.csv.*.partial"))
    assert 0 < partial.stat().st_size < emulator.job(enqueued_export_ids(emulator)[0])["fileSize"]
    task_process = poll(  # the resume is held for 30 s: the runner is there, give /proc a moment
        lambda: airflow_cluster.task_process(ti["id"]),
        timeout=15,
        what=f"a process titled 'airflow worker -- {ti['id']}'",
    )
    task_process.kill()

    assert airflow_cluster.wait(RELIABILITY_DAG, run_id, timeout=180) == "success"

    download = airflow_cluster.task_instances(RELIABILITY_DAG, run_id)["download_export"]
    assert download["try_number"] == 2
    assert len(emulator.calls("create")) == 1
    (export_id,) = enqueued_export_ids(emulator)
    assert destination.stat().st_size == emulator.job(export_id)["fileSize"]
    assert sha256_of(destination) == emulator_sha256(emulator, export_id)
