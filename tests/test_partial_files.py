"""Each try owns its ``.partial``: another try removes it only once its owner is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from marketo_exports import start_export_via_hook, wait_for_export_status

from airflow_provider_marketo_pm.operators.program_members import MarketoDownloadProgramMemberExportOperator
from airflow_provider_marketo_pm.partial_files import STALE_AFTER, THIS_HOST


def completed_export(emulator) -> str:
    export_id = start_export_via_hook()
    wait_for_export_status(emulator, export_id, "Completed")
    return export_id


def download(export_id: str, dest: Path, **kwargs) -> MarketoDownloadProgramMemberExportOperator:
    return MarketoDownloadProgramMemberExportOperator(
        task_id="download", export_id=export_id, destination=dest.as_uri(), **kwargs
    )


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped): what a SIGKILLed try leaves behind."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def zombie_pid():
    """A process SIGKILLed but not reaped yet (a container whose PID 1 reaps nothing keeps such a try)."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("zombies are read from /proc (Linux)")
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    process.kill()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{process.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline, "the killed process never became a zombie"
        time.sleep(0.01)
    yield process.pid
    process.wait()


def owned(name: str, host: str, pid: int) -> str:
    return f"{name}.{host}-{pid}-{uuid.uuid4().hex[:16]}.partial"


def test_a_partial_is_named_after_this_host_and_process(emulator, tmp_path, monkeypatch):
    export_id = completed_export(emulator)
    dest = tmp_path / "members.csv"
    emulator.stall_download_after(100, seconds=1.0)
    seen: list[str] = []
    worker = threading.Thread(target=lambda: download(export_id, dest).execute(context={}))
    worker.start()
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        seen = [p.name for p in tmp_path.glob("members.csv.*.partial")]
        time.sleep(0.01)
    worker.join()

    assert len(seen) == 1
    assert seen[0].startswith(f"members.csv.{THIS_HOST}-{os.getpid()}-")
    assert dest.read_bytes() == emulator.file_bytes(export_id)


def test_partials_whose_owner_is_gone_are_removed_others_left_alone(emulator, tmp_path, zombie_pid):
    export_id = completed_export(emulator)
    dest = tmp_path / "out" / "members.csv"
    dest.parent.mkdir()
    long_ago = time.time() - STALE_AFTER.total_seconds() - 60
    gone = {
        owned("members.csv", THIS_HOST, dead_pid()): None,  # this host, its process ended (SIGKILL)
        owned("members.csv", THIS_HOST, zombie_pid): None,  # killed, not reaped: it runs no more
        owned("members.csv", "worker-2.example", 4242): long_ago,  # another host's, untouched for a day
        f"members.csv.{'ab' * 16}.partial": long_ago,  # an earlier version's unowned name, as old
    }
    alive = {
        owned("members.csv", THIS_HOST, os.getpid()): None,  # a download running in this very process
        owned("members.csv", "worker-2.example", 4242): None,  # another host's, written just now
        f"members.csv.{'cd' * 16}.partial": None,  # unowned, but fresh
        owned("other.csv", THIS_HOST, dead_pid()): None,  # another destination's
        "members.csv.backup.partial": None,  # not our pattern
        f"xmembers.csv.{'0' * 32}.partial": None,
    }
    for name, modified in {**gone, **alive}.items():
        path = dest.parent / name
        path.write_bytes(b"left behind")
        if modified is not None:
            os.utime(path, (modified, modified))

    download(export_id, dest).execute(context={})

    assert dest.read_bytes() == emulator.file_bytes(export_id)
    assert sorted(p.name for p in dest.parent.iterdir()) == sorted(["members.csv", *alive])


def test_two_downloads_to_one_destination_each_keep_their_partial_and_the_last_publishes_whole(
    emulator, tmp_path
):
    """The second download used to delete the first one's live partial (FileNotFoundError at its end)."""
    export_id = completed_export(emulator)
    dest = tmp_path / "members.csv"
    emulator.stall_download_after(1000, seconds=1.5)  # the first download's body only
    first: dict[str, object] = {}

    def first_download() -> None:
        try:
            first["result"] = download(export_id, dest, overwrite=True, chunk_size=256).execute(context={})
        except Exception as err:  # reported by the assertion below
            first["error"] = err

    worker = threading.Thread(target=first_download)
    worker.start()
    deadline = time.monotonic() + 10
    while not list(tmp_path.glob("members.csv.*.partial")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(tmp_path.glob("members.csv.*.partial")), "the first download is under way"

    second = download(export_id, dest, overwrite=True).execute(context={})  # while the first is stalled
    assert dest.read_bytes() == emulator.file_bytes(export_id)
    worker.join(timeout=30)

    assert "error" not in first, first.get("error")
    assert first["result"]["sha256"] == second["sha256"]  # type: ignore[index]
    assert dest.read_bytes() == emulator.file_bytes(export_id)
    assert [p.name for p in tmp_path.iterdir()] == ["members.csv"]
    assert len(emulator.calls("file")) == 2
