"""start -> sensor -> download as a real DAG run (``dag.test()``) against the emulator, writing to file://.

Each test reads like the incident it guards against; the DAG is ``tests/dags/export_dag.py``.
"""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
from export_dag import dag
from marketo_exports import start_export_via_hook, wait_for_export_status

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ALL_TASKS = ("start_export", "wait_for_export", "download_export")


def run_dag(destination) -> dict[str, str]:
    dag_run = dag.test(run_conf={"destination": destination.as_uri()})
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def the_export_id(emulator) -> str:
    """The one export the run started (enqueue paths are .../export/{exportId}/enqueue.json)."""
    (export_id,) = {r.path.split("/")[-2] for r in emulator.calls("enqueue")}
    return export_id


def printed(capsys, caplog) -> str:
    """Everything the run logged: task logs go to stdout (structlog), dag.test()'s own to logging."""
    return capsys.readouterr().out + caplog.text


def when_the_sensor_first_checks(emulator, *actions) -> threading.Thread:
    """Run ``actions`` once the sensor's first status check was answered (so it has deferred)."""

    def watch() -> None:
        deadline = time.monotonic() + 120
        while not emulator.calls("status") and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        for action in actions:
            action()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def assert_served_file(emulator, dest) -> None:
    export_id = the_export_id(emulator)
    served = emulator.file_bytes(export_id)
    assert dest.read_bytes() == served
    assert emulator.job(export_id)["fileChecksum"] == "sha256:" + hashlib.sha256(served).hexdigest()


def test_happy_path_writes_the_served_bytes(emulator, tmp_path):
    dest = tmp_path / "members.csv"

    states = run_dag(dest)

    assert states == dict.fromkeys(ALL_TASKS, "success")
    assert_served_file(emulator, dest)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["members.csv"]


def test_sensor_defers_while_the_job_waits_in_the_queue(emulator, tmp_path, capsys, caplog):
    emulator.occupy_queue(2)  # other integrations hold both processing slots
    when_the_sensor_first_checks(emulator, emulator.release_queue)
    dest = tmp_path / "members.csv"

    states = run_dag(dest)

    assert states == dict.fromkeys(ALL_TASKS, "success")
    assert "running trigger in line" in printed(capsys, caplog)  # dag.test() ran the trigger
    assert_served_file(emulator, dest)


def test_dropped_connection_is_resumed_with_range(emulator, tmp_path):
    emulator.drop_download_after(1000)
    dest = tmp_path / "members.csv"

    states = run_dag(dest)

    assert states == dict.fromkeys(ALL_TASKS, "success")
    ranges = [r.headers.get("range") for r in emulator.calls("file")]
    assert len(ranges) == 2
    assert ranges[0] is None
    assert ranges[1].startswith("bytes=")
    assert_served_file(emulator, dest)


def test_wrong_checksum_fails_and_leaves_nothing_at_the_destination(emulator, tmp_path, capsys, caplog):
    emulator.corrupt_next_checksum()
    dest = tmp_path / "members.csv"

    states = run_dag(dest)

    assert states["download_export"] == "failed"
    assert "failed verification" in printed(capsys, caplog)
    assert list(tmp_path.iterdir()) == []


def test_failed_job_fails_with_marketo_error_msg(emulator, tmp_path, capsys, caplog):
    emulator.fail_next_job(error_msg="Export failed: internal error 7781")

    states = run_dag(tmp_path / "members.csv")

    assert states["start_export"] == "success"
    assert states["wait_for_export"] == "failed"
    assert states["download_export"] == "upstream_failed"
    assert "internal error 7781" in printed(capsys, caplog)
    assert list(tmp_path.iterdir()) == []


def test_full_queue_is_waited_out_without_failing(emulator, tmp_path):
    emulator.occupy_queue(10)

    def release_after_a_refused_enqueue() -> None:  # not on a timer: the first dag.test() warms up slowly
        for _ in range(6000):
            if any(call.marketo_code == "1029" for call in emulator.calls("enqueue")):
                emulator.release_queue()
                return
            time.sleep(0.01)

    threading.Thread(target=release_after_a_refused_enqueue, daemon=True).start()
    dest = tmp_path / "members.csv"

    states = run_dag(dest)

    assert states == dict.fromkeys(ALL_TASKS, "success")
    enqueues = emulator.calls("enqueue")
    assert enqueues[0].marketo_code == "1029"
    assert enqueues[-1].marketo_code is None
    assert len(emulator.calls("create")) == 1
    assert_served_file(emulator, dest)


def test_token_expiring_mid_run_is_renewed(emulator, tmp_path):
    MarketoHook().get_access_token()  # a token the hook believes valid for an hour...
    emulator.expire_token()  # ...that Marketo now answers with 602
    emulator.occupy_queue(2)
    # ...and again while the sensor's trigger waits for the job
    when_the_sensor_first_checks(emulator, emulator.expire_token, emulator.release_queue)
    dest = tmp_path / "members.csv"

    states = run_dag(dest)

    assert states == dict.fromkeys(ALL_TASKS, "success")
    answered_602 = [r.endpoint for r in emulator.requests if r.marketo_code == "602"]
    assert answered_602[0] == "create"  # the worker's first call
    assert "status" in answered_602[1:]  # the sensor's (or its trigger's) poll, mid-run
    assert_served_file(emulator, dest)


@pytest.mark.parametrize("marketo_emulator_options", [{"daily_quota_bytes": 1000}])
def test_daily_quota_fails_fast_with_a_clear_message(emulator, tmp_path, capsys, caplog):
    wait_for_export_status(emulator, start_export_via_hook())  # today's 1000 bytes are used up
    emulator.clear_requests()

    states = run_dag(tmp_path / "members.csv")

    assert states["start_export"] == "failed"
    out = printed(capsys, caplog)
    assert "daily quota" in out
    assert "12:00 AM US Central" in out
    assert len(emulator.calls("create")) == 1
    assert emulator.calls("enqueue") == []
