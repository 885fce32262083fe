"""
The temporary ``.partial`` files a download writes before it publishes: each is owned by one try, and
only an owner that is gone leaves one to be removed.

A partial is named ``<dest>.<host>-<pid>-<token>.partial``: the machine and the process that write it,
and a random token of this try. Two downloads to one destination (two DAGs, a manual re-run beside a
scheduled one) each write their own partial; the last to finish publishes its whole file. A try removes
what others left of its destination only when their owner is gone: the same host and a process that no
longer runs (a SIGKILLed try runs no cleanup), or, for another host's partial (whose process cannot be
asked) and for the unowned names of earlier versions (``<dest>.<32 hex>.partial``), once it has not been
touched for :data:`STALE_AFTER`. On S3 the same rule aborts unfinished multipart uploads of such keys.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_marketo_pm.destination import public_uri

STALE_AFTER = dt.timedelta(hours=24)
"""How long a partial whose owner cannot be asked must lie untouched before another try removes it."""

THIS_HOST = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())[:63] or "host"
"""This machine, as partial names carry it (letters, digits, dots and dashes; at most 63 characters)."""


def partial_path(destination: ObjectStoragePath) -> ObjectStoragePath:
    """A new partial of ``destination``, owned by this process on this host."""
    owner = f"{THIS_HOST}-{os.getpid()}-{uuid.uuid4().hex[:16]}"
    return destination.parent / f"{destination.name}.{owner}.partial"


def publish(partial: ObjectStoragePath, destination: ObjectStoragePath) -> None:
    """
    Move a finished ``partial`` onto its ``destination`` by a rename (a copy on stores without one) on
    their common store. Not ``ObjectStoragePath.move``: that reports the move to Airflow's hook lineage
    collector, whose first use imports every provider's asset factories and the metadata DB models
    (SQLAlchemy; about 0.3 s of a task's start), to record a temporary file as an input. The operators
    report their own lineage (the programs read, the file written).
    """
    partial.fs.mv(partial.path, destination.path)


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        re.escape(name)
        + r"\.(?:(?P<host>[A-Za-z0-9._-]{1,63})-(?P<pid>[0-9]{1,10})-[0-9a-f]{16}|[0-9a-f]{32})\.partial"
    )


def _process_runs(pid: int) -> bool:
    """Whether process ``pid`` of this host still runs (a zombie, killed but not reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        pass
    try:  # Linux: a container whose PID 1 reaps nothing keeps a SIGKILLed try as a zombie
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def owner_gone(match: re.Match[str], modified: float | None, now: float) -> bool:
    """Whether the try that wrote this partial is gone (see the module docstring)."""
    host, pid = match["host"], match["pid"]
    if host == THIS_HOST and pid is not None:
        return not _process_runs(int(pid))
    return modified is not None and now - modified > STALE_AFTER.total_seconds()


def _epoch(value: Any) -> float | None:
    """A modification time as a store reports it (epoch seconds, or a datetime), in epoch seconds."""
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def remove_stale_partials(destination: ObjectStoragePath, log: Any) -> None:
    """
    Remove the partials of ``destination`` (and, on S3, unfinished multipart uploads of such keys) whose
    owner is gone. Only names of our own pattern for this very destination are touched, and cleaning up
    is a courtesy: a failure is logged, never raised.
    """
    pattern = _pattern(destination.name)
    fs, parent = destination.fs, destination.parent.path
    now = time.time()
    try:
        fs.invalidate_cache(parent)
        entries = fs.ls(parent, detail=True)
    except FileNotFoundError:  # nothing written there yet
        entries = []
    except OSError as err:
        log.warning("Could not list %s for stale partials: %s", public_uri(destination.parent), err)
        entries = []
    for entry in entries:
        name = str(entry.get("name", "")).rstrip("/").rsplit("/", 1)[-1]
        match = pattern.fullmatch(name)
        modified = _epoch(entry.get("mtime", entry.get("LastModified")))
        if match and owner_gone(match, modified, now):
            leftover = destination.parent / name
            log.info("Removing %s, left by a try that is gone.", public_uri(leftover))
            try:
                leftover.unlink()
            except Exception as err:  # a courtesy, whatever the store raises
                log.warning("Could not remove %s: %s", public_uri(leftover), err)
    _abort_stale_uploads(destination, pattern, now, log)


def _abort_stale_uploads(
    destination: ObjectStoragePath, pattern: re.Pattern[str], now: float, log: Any
) -> None:
    fs = destination.fs
    call_s3 = getattr(fs, "call_s3", None)  # s3fs: the store keeps unfinished multipart uploads
    if call_s3 is None:
        return
    bucket, key, _ = fs.split_path(destination.path)
    prefix = f"{key}."
    try:
        uploads = call_s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix).get("Uploads", [])
        for upload in uploads:
            upload_key = str(upload.get("Key", ""))
            match = pattern.fullmatch(upload_key.rsplit("/", 1)[-1])
            if (
                upload_key.startswith(prefix)
                and match
                and owner_gone(match, _epoch(upload.get("Initiated")), now)
            ):
                log.info(
                    "Aborting an unfinished upload of s3://%s/%s left by a try that is gone.",
                    bucket,
                    upload_key,
                )
                call_s3("abort_multipart_upload", Bucket=bucket, Key=upload_key, UploadId=upload["UploadId"])
    except Exception as err:  # cleaning up is a courtesy: never fail a download over it
        log.warning("Could not clean up unfinished uploads of s3://%s/%s: %s", bucket, key, err)


__all__ = ["STALE_AFTER", "THIS_HOST", "owner_gone", "partial_path", "publish", "remove_stale_partials"]
