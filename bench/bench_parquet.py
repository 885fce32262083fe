"""Typed Parquet conversion vs pyarrow's own read_csv + write_table; the PostgreSQL load of a large export.

Section 6 of bench/RESULTS.md. For each size (64, 256, 1024 MiB by default) one export file is written to
/dev/shm in the emulator's format (its generated dataset, the example DAGs' fields plus ``programId``;
each repetition of the dataset gets new leadIds, so every row is a distinct membership). Then, in a fresh
child process per run, alternating:

- **ours**: ``ParquetConversion.convert`` (streaming typed reader, row groups of 262,144 rows, the
  read-back verification and the atomic publish, sidecar included);
- **pyarrow**: ``pyarrow.csv.read_csv`` of the whole file with the same parse and convert options (the
  same column types), then ``pyarrow.parquet.write_table``: the anchor, which holds the file in memory.

Each child reports its seconds, its CPU seconds (user and kernel), peak RSS (``ru_maxrss``) and its RSS
after imports; the 1-minute load average is printed beside each figure. The speed ratio is pyarrow's
seconds / ours (>= 0.8 is the target), the median of the rounds' ratios. ``--postgres`` then loads the
largest Parquet file into a throw-away database on 127.0.0.1:5432 twice (the second load is the re-run)
and reports rows and seconds.

    .venv/bin/python bench/bench_parquet.py [--sizes 64 256 1024] [--rounds 2] [--postgres]
        [--json bench/out/parquet.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHM = Path("/dev/shm/marketo-pm-bench-parquet")
FIELDS = ("leadId", "firstName", "lastName", "email", "statusName", "statusReason", "membershipDate",
          "reachedSuccess", "updatedAt")  # fmt: skip
PROGRAMS = tuple(range(1001, 1011))
LEAD_ID_STEP = 1_000_000


def export_file(size_mib: int) -> Path:
    """An export of about ``size_mib`` MiB in /dev/shm (made once): header, then distinct memberships."""
    from airflow_provider_marketo_pm.testing.emulator.dataset import build_dataset
    from airflow_provider_marketo_pm.testing.emulator.export_file import render_lines
    from airflow_provider_marketo_pm.testing.emulator.export_request import ExportSpec

    path = SHM / f"members-{size_mib}mib.csv"
    if path.exists():
        return path
    SHM.mkdir(parents=True, exist_ok=True)
    spec = ExportSpec(
        fields=FIELDS, program_ids=PROGRAMS, multi_program=True, format="CSV", column_header_names={}
    )
    # The fixed dataset the figures in RESULTS.md were measured on (the emulator's dates follow the clock).
    rows = spec.select(build_dataset(42, 60, 4000, until=dt.date(2026, 11, 1)))
    target = size_mib * 1024 * 1024
    partial = path.with_suffix(".part")
    with partial.open("wb") as out:
        (header,) = render_lines(spec, [], header=True)
        size = out.write(header.encode())
        repetition = 0
        while size < target:
            shifted = [{**row, "leadId": int(row["leadId"]) + repetition * LEAD_ID_STEP} for row in rows]
            block = "".join("\n" + line for line in render_lines(spec, shifted, header=False)).encode()
            size += out.write(block)
            repetition += 1
    partial.rename(path)
    return path


def schema_for(path: Path) -> Any:
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_marketo_pm.export_schema import export_schema
    from airflow_provider_marketo_pm.testing.emulator.dataset import LEAD_FIELDS, PROGRAM_MEMBER_FIELDS
    from airflow_provider_marketo_pm.typed_csv import file_header

    described = {name: kind for _, name, _, kind, *_ in LEAD_FIELDS}
    described |= {name: kind for name, kind, *_ in PROGRAM_MEMBER_FIELDS}
    header = file_header(ObjectStoragePath(f"file://{path}"))
    return export_schema("program member", header, described, export_id="bench-export")


def child(mode: str, source: str, target: str) -> None:
    """In the child: import, note RSS, convert one way, print seconds and memory as JSON."""
    import logging

    import pyarrow.parquet as pq
    from airflow.sdk import ObjectStoragePath
    from pyarrow import csv as pa_csv

    from airflow_provider_marketo_pm.parquet_export import ParquetConversion
    from airflow_provider_marketo_pm.typed_csv import arrow_type

    schema = schema_for(Path(source))
    before = resource.getrusage(resource.RUSAGE_SELF)
    baseline = before.ru_maxrss
    started = time.perf_counter()
    if mode == "ours":
        result = ParquetConversion(log=logging.getLogger("bench"), overwrite=True).convert(
            ObjectStoragePath(f"file://{source}"), schema, destination=ObjectStoragePath(f"file://{target}")
        )
        rows = result["records"]
    else:
        table = pa_csv.read_csv(
            source,
            read_options=pa_csv.ReadOptions(column_names=[c.name for c in schema.columns], skip_rows=1),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={c.name: arrow_type(c.type) for c in schema.columns},
                null_values=["null"],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["true"],
                false_values=["false"],
                timestamp_parsers=[pa_csv.ISO8601],
            ),
        )
        pq.write_table(table, target)
        rows = table.num_rows
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        "seconds": seconds,
        "rows": rows,
        "baseline_mib": baseline / 1024,
        "peak_mib": after.ru_maxrss / 1024,
    }
    # CPU seconds of the conversion, user and kernel (the kernel's share is mostly faulting in fresh memory).
    figures |= {"user_s": after.ru_utime - before.ru_utime, "sys_s": after.ru_stime - before.ru_stime}
    print(json.dumps(figures))


def run_child(mode: str, source: Path) -> dict[str, Any]:
    target = SHM / f"out-{mode}.parquet"
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(source), str(target)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(HERE.parent)},
    )
    if out.returncode != 0:
        raise SystemExit(f"{mode} child failed:\n{out.stderr[-3000:]}")
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["load_1min"] = os.getloadavg()[0]
    target.unlink(missing_ok=True)
    for leftover in SHM.glob("*.schema.json"):
        leftover.unlink()
    return figures


def load_postgres(parquet: Path) -> dict[str, Any]:
    """Load one Parquet file into a throw-away database twice (the second is a re-run); rows and seconds."""
    import logging

    import psycopg2
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBER_TABLE
    from airflow_provider_marketo_pm.postgres_load import PostgresLoad
    from airflow_provider_marketo_pm.rows import typed_source

    name = f"marketo_pm_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    runs = []
    try:
        for attempt in ("first load", "re-run"):
            connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=name)
            load = PostgresLoad("program_members", PROGRAM_MEMBER_TABLE, logging.getLogger("bench"))
            counts = load.run(connection, [typed_source(ObjectStoragePath(f"file://{parquet}"))])
            connection.close()
            runs.append({"run": attempt, **counts.as_dict(), "load_1min": os.getloadavg()[0]})
            print(f"  postgres {attempt}: {runs[-1]}", flush=True)
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return {"file_mib": parquet.stat().st_size / 2**20, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("MODE", "SOURCE", "TARGET"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 1024], help="MiB")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--postgres", action="store_true", help="also load the largest file into PostgreSQL")
    parser.add_argument("--json", type=Path, default=HERE / "out" / "parquet.json")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sys.path.insert(0, str(HERE.parent))
    results: dict[str, Any] = {"sizes": {}, "load_start": os.getloadavg()}
    for size in args.sizes:
        source = export_file(size)
        runs: dict[str, list[dict[str, Any]]] = {"ours": [], "pyarrow": []}
        for round_ in range(args.rounds):
            for mode in ("pyarrow", "ours") if round_ % 2 else ("ours", "pyarrow"):
                runs[mode].append(run_child(mode, source))
                fig = runs[mode][-1]
                print(
                    f"{size:5d} MiB {mode:8s} {fig['seconds']:6.2f} s "
                    f"{source.stat().st_size / fig['seconds'] / 1e6:6.0f} MB/s  "
                    f"peak RSS {fig['peak_mib']:6.0f} MiB "
                    f"(after imports {fig['baseline_mib']:4.0f})  cpu {fig['user_s']:.2f} user "
                    f"+ {fig['sys_s']:.2f} sys  load {fig['load_1min']:.2f}",
                    flush=True,
                )
        ratios = [p["seconds"] / o["seconds"] for o, p in zip(runs["ours"], runs["pyarrow"], strict=True)]
        summary = {
            "bytes": source.stat().st_size,
            "rows": runs["ours"][0]["rows"],
            "speed_ratio_median": statistics.median(ratios),
            "ours_cpu_s_median": statistics.median(r["user_s"] + r["sys_s"] for r in runs["ours"]),
            "pyarrow_cpu_s_median": statistics.median(r["user_s"] + r["sys_s"] for r in runs["pyarrow"]),
            "ours_peak_mib_max": max(r["peak_mib"] for r in runs["ours"]),
            "pyarrow_peak_mib_max": max(r["peak_mib"] for r in runs["pyarrow"]),
            "ours_growth_mib_max": max(r["peak_mib"] - r["baseline_mib"] for r in runs["ours"]),
            "pyarrow_growth_mib_max": max(r["peak_mib"] - r["baseline_mib"] for r in runs["pyarrow"]),
        }
        results["sizes"][size] = {"runs": runs, "summary": summary}
        print(
            f"{size:5d} MiB: ours = {summary['speed_ratio_median']:.2f} x pyarrow's speed [>= 0.8: "
            f"{'met' if summary['speed_ratio_median'] >= 0.8 else 'MISSED'}]; peak RSS ours "
            f"{summary['ours_peak_mib_max']:.0f} MiB, pyarrow {summary['pyarrow_peak_mib_max']:.0f} MiB",
            flush=True,
        )
    if args.postgres:
        largest = export_file(max(args.sizes))
        parquet = SHM / "load.parquet"
        subprocess.run([sys.executable, __file__, "--child", "ours", str(largest), str(parquet)], check=True,
                       capture_output=True, env={**os.environ, "PYTHONPATH": str(HERE.parent)})  # fmt: skip
        results["postgres"] = load_postgres(parquet)
        parquet.unlink(missing_ok=True)
    results["load_end"] = os.getloadavg()
    args.json.parent.mkdir(exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
