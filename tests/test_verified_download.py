"""A full disk: refused before the download when fileSize says so, and nothing left when it fills up anyway.

On a small tmpfs the test mounts (as root; skipped with the reason otherwise, required under CI=true).
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest
from marketo_exports import start_export_via_hook, wait_for_export_status

from airflow_provider_marketo_pm import verified_download
from airflow_provider_marketo_pm.exceptions import MarketoDestinationError
from airflow_provider_marketo_pm.operators.program_members import MarketoDownloadProgramMemberExportOperator

MiB = 1024 * 1024
PAGE = 4096  # tmpfs counts free space in pages


@pytest.fixture
def marketo_emulator_options():
    return {"large_file_mb": 5}  # a little over 5 MiB: the last rows make it 5 MiB + a few KB


@pytest.fixture
def export(emulator) -> tuple[str, int]:
    """A Completed export of just over 5 MiB: its exportId and fileSize."""
    export_id = start_export_via_hook()
    record = wait_for_export_status(emulator, export_id, "Completed", attempts=600)
    return export_id, int(record["fileSize"])


def disk_with_free_space(small_tmpfs, free: int) -> Path:
    """An 8 MiB tmpfs with exactly ``free`` bytes free (a multiple of the page size) and one filler file."""
    disk = small_tmpfs("8m")
    (disk / "filler").write_bytes(b"\0" * (shutil.disk_usage(disk).free - free))
    assert shutil.disk_usage(disk).free == free
    return disk


def download(export_id: str, destination: Path, **kwargs) -> MarketoDownloadProgramMemberExportOperator:
    return MarketoDownloadProgramMemberExportOperator(
        task_id="download", export_id=export_id, destination=destination.as_uri(), **kwargs
    )


def test_a_file_larger_than_the_free_space_fails_before_the_download_naming_both(
    emulator, export, small_tmpfs
):
    export_id, size = export
    free = (size - 1) // PAGE * PAGE  # the file is less than one page larger than the free space
    disk = disk_with_free_space(small_tmpfs, free)

    with pytest.raises(MarketoDestinationError) as caught:
        download(export_id, disk / "members.csv").execute(context={})

    assert caught.value.key == "destination"
    assert f"has {free} bytes free, but the file is {size} bytes (its fileSize)" in caught.value.rule
    assert emulator.calls("file") == [], "nothing was downloaded"
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]


def test_a_disk_that_fills_up_during_the_download_keeps_nothing(emulator, export, small_tmpfs, monkeypatch):
    """
    As if another writer took the space after the check: the big chunk fills the disk exactly, the last
    few bytes wait in the file's buffer and fail in its final flush, which used to sit outside the
    cleanup (a 5 MiB partial stayed behind).
    """
    export_id, size = export
    free = (size - 1) // PAGE * PAGE
    disk = disk_with_free_space(small_tmpfs, free)
    monkeypatch.setattr(verified_download, "free_bytes", lambda path: None)

    with pytest.raises(OSError, match="No space left on device") as caught:
        download(export_id, disk / "members.csv", chunk_size=free).execute(context={})

    assert caught.value.errno == errno.ENOSPC
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]
    assert shutil.disk_usage(disk).free == free, "the partial's space is given back"


def test_a_file_that_fits_is_published_whole(emulator, export, small_tmpfs):
    export_id, size = export
    disk = disk_with_free_space(small_tmpfs, (size + PAGE) // PAGE * PAGE)

    download(export_id, disk / "members.csv").execute(context={})

    assert (disk / "members.csv").read_bytes() == emulator.file_bytes(export_id)
    assert sorted(p.name for p in disk.iterdir()) == ["filler", "members.csv"]
