"""Benchmark the download operator: throughput and memory against the emulator's large files.

Usage: ``python bench/bench_download.py [--mb 200] [--chunk-kb 1024] [--gzip]``. Prints one line per size:
MB, seconds, MB/s, peak Python heap (tracemalloc) and RSS growth, to show that memory does not grow
with the file size (the first run also pays imports and warm-up). Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.operators.program_members import MarketoDownloadProgramMemberExportOperator
from airflow_provider_marketo_pm.testing import MarketoEmulator


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(mb: float, chunk_kb: int, compression: str | None) -> str:
    with (
        MarketoEmulator(large_file_mb=mb, daily_quota_bytes=10 * 1024**3) as emu,
        tempfile.TemporaryDirectory() as tmp,
    ):
        os.environ.update(emu.connection_env())
        hook = MarketoHook()
        export_id = hook.create_export(
            PROGRAM_MEMBERS.request(fields=["leadId", "email"], filter={"programId": 1044})
        )["exportId"]
        hook.enqueue_export(PROGRAM_MEMBERS, export_id)
        while hook.get_export_status(PROGRAM_MEMBERS, export_id)["status"] != "Completed":
            time.sleep(0.2)
        dest = Path(tmp) / "members.csv"
        op = MarketoDownloadProgramMemberExportOperator(
            task_id="bench",
            export_id=export_id,
            destination=dest.as_uri(),
            chunk_size=chunk_kb * 1024,
            compression=compression,  # type: ignore[arg-type]
            progress_interval=3600,
        )
        rss_before = _rss_mb()
        tracemalloc.start()
        started = time.perf_counter()
        result = op.execute(context={})
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        size_mb = result["bytes"] / 1e6
        return (
            f"{size_mb:8.1f} MB  {elapsed:6.2f} s  {size_mb / elapsed:7.1f} MB/s  "
            f"heap peak {peak / 1e6:6.1f} MB  RSS growth {_rss_mb() - rss_before:6.1f} MB  "
            f"chunk {chunk_kb} KiB  compression={compression}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, nargs="+", default=[20, 200])
    parser.add_argument("--chunk-kb", type=int, default=1024)
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args()
    for mb in args.mb:
        print(bench(mb, args.chunk_kb, "gzip" if args.gzip else None), flush=True)


if __name__ == "__main__":
    main()
