"""Run every benchmark one after the other, then print the figures against their targets.

    .venv/bin/python bench/run_all.py            # make bench: every benchmark (bench/RESULTS.md, Reproduce)
    .venv/bin/python bench/run_all.py --quick    # smaller files, shorter passes, 4 windows: ~5 minutes

Each benchmark writes its JSON to bench/out/ (git-ignored); this script adds the machine (nproc, CPU
model, load average) and a chart (bench/out/summary.png, when matplotlib is installed). Benchmarks
are not tests: a missed target is reported, never raised.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

FULL = {
    "download": [
        *("--sizes", "100", "1024", "--chunks-kib", "64", "256", "1024", "4096"),
        *("--big-chunks-kib", "1024", "4096", "--rounds", "3"),
    ],
    "fanout": ["--triggers", "500", "--poll", "5", "--seconds", "15", "--rounds", "2"],
    "sockets": ["--triggers", "1100", "--nofile", "1024", "--poll", "5", "--seconds", "30"],
    "call_rate": ["--jobs", "30", "--slot-jobs", "8"],
    "loop_lag": [
        *("--triggers", "1000", "5000", "--poll", "60", "--seconds", "90"),
        *("--label", "make bench", "--json", str(OUT / "loop_lag.json")),
    ],
    "backfill": ["--windows", "24"],
    "backfill_pool6": ["--windows", "24", "--pool", "6", "--json", str(OUT / "backfill_pool6.json")],
    "quota_backfill": ["--json", str(OUT / "quota_backfill.json")],
    "mixed_backfill": ["--json", str(OUT / "mixed_backfill.json")],
    "backfill_scale": ["--json", str(OUT / "backfill_scale.json")],
    "parquet": [
        "--sizes",
        "64",
        "256",
        "1024",
        "--rounds",
        "2",
        "--postgres",
        "--json",
        str(OUT / "parquet.json"),
    ],
}
QUICK = {
    "download": ["--sizes", "50", "300", "--chunks-kib", "256", "1024", "--rounds", "1"],
    "fanout": ["--triggers", "500", "--poll", "5", "--seconds", "8"],
    "sockets": ["--triggers", "1100", "--nofile", "1024", "--poll", "5", "--seconds", "10"],
    "call_rate": ["--jobs", "15", "--slot-jobs", "4"],
    "loop_lag": [
        *("--triggers", "1000", "--poll", "60", "--seconds", "70"),
        *("--label", "make bench", "--json", str(OUT / "loop_lag.json")),
    ],
    "backfill": ["--windows", "4"],
    "backfill_pool6": ["--windows", "4", "--pool", "6", "--json", str(OUT / "backfill_pool6.json")],
    "quota_backfill": [
        *("--start", "2024-01-01", "--end", "2025-01-01", "--day-seconds", "6"),
        *("--no-check", "--json", str(OUT / "quota_backfill.json")),
    ],
    "mixed_backfill": [
        *("--start", "2026-01-01", "--programs", "20", "--data-multiple", "2.5", "--day-seconds", "6"),
        *("--json", str(OUT / "mixed_backfill.json")),
    ],
    "parquet": ["--sizes", "64", "256", "--rounds", "1", "--json", str(OUT / "parquet.json")],
    "backfill_scale": [
        *("--old", "20", "40", "--new", "100", "400", "--batches", "20", "--sample-runs", "1"),
        *("--json", str(OUT / "backfill_scale.json")),
    ],
}
SCRIPTS = {
    "download": "bench_download_vs_curl.py",
    "fanout": "bench_trigger_fanout.py",
    "sockets": "bench_trigger_sockets.py",
    "call_rate": "bench_call_rate.py",
    "loop_lag": "bench_trigger_loop_lag.py",
    "backfill": "bench_backfill_pacing.py",
    "backfill_pool6": "bench_backfill_pacing.py",
    "quota_backfill": "bench_quota_backfill.py",
    "mixed_backfill": "bench_mixed_backfill.py",
    "backfill_scale": "bench_backfill_scale.py",
    "parquet": "bench_parquet.py",
}


LOOP_LAG_TARGET_MS = {1000: 50.0, 5000: 100.0}
"""Issue 21's targets for the p99 loop lag of N triggers at Marketo's 60 s cadence."""


def machine() -> dict[str, Any]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version()}


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def summary_lines() -> list[str]:
    """One line per figure with its target, read back from the JSON files."""
    lines = []
    download = json.loads((OUT / "download.json").read_text()) if (OUT / "download.json").exists() else None
    if download:
        for size, measured in download["sizes"].items():
            summary = measured["summary"]
            for name, fig in summary["operator"].items():
                lines.append(
                    f"download {float(size):5.0f} MiB {name:9s} {fig['mb_s']:6.0f} MB/s = "
                    f"{fig['ratio_to_curl']:.2f} x curl ({summary['curl_mb_s']:.0f} MB/s) "
                    f"[>= 0.9: {verdict(fig['ratio_to_curl'] >= 0.9)}], RSS growth "
                    f"{fig['rss_growth_mib_max']:.1f} MiB [< 32: {verdict(fig['rss_growth_mib_max'] < 32)}]"
                )
    fanout = json.loads((OUT / "fanout.json").read_text()) if (OUT / "fanout.json").exists() else None
    if fanout:
        for p in fanout["passes"]:
            lines.append(
                f"fan-out {p['name']:31s} lag p50 {p['lag_p50_ms']:5.1f} ms p99 {p['lag_p99_ms']:6.1f} ms"
                f" [< 50: {verdict(p['lag_p99_ms'] < 50)}], slow callbacks {len(p['slow_callbacks'])},"
                f" CPU {p['cpu_ms_per_poll']:.2f} ms/poll, GC pause max {p.get('gc_pause_max_ms', 0):.0f} ms"
            )
        lines.append(f"fan-out memory: {fanout.get('rss_per_trigger_kib_cold', 0):.0f} KiB RSS per trigger")
    sockets = OUT / "trigger_sockets.json"
    if sockets.exists():
        for tree, r in json.loads(sockets.read_text())["runs"].items():
            lines.append(
                f"sockets ({tree}) {r['triggers']} triggers under nofile {r['nofile']}:"
                f" fds peak {r['fd_peak']},"
                f" lost polls {r['failed_polls']}/{r['polls']} [0: {verdict(r['failed_polls'] == 0)}],"
                f" load {r['load']:.1f}"
            )
    call_rate = OUT / "call_rate.json"
    if call_rate.exists():
        for tree, passes in json.loads(call_rate.read_text())["runs"].items():
            for r in passes:
                lines.append(
                    f"call rate ({tree}) {r['name']}: most calls in 20 s {r['max_calls_any_20s']}"
                    f" [<= 50: {verdict(r['max_calls_any_20s'] <= 50)}], 606 {r['answers_606']},"
                    f" {r['jobs_per_min']:.1f} jobs/min (2 slots allow {r['slot_bound_jobs_per_min']:.0f}),"
                    f" load {r['load']:.1f}"
                )
    loop_lag = OUT / "loop_lag.json"
    if loop_lag.exists():
        latest = {
            (r["label"], r["triggers"], r["poll"], r["scenario"]): r for r in json.loads(loop_lag.read_text())
        }
        for r in latest.values():
            target = LOOP_LAG_TARGET_MS.get(r["triggers"]) if r["poll"] == 60 else None
            aim = f" [< {target:g}: {verdict(r['lag_p99_ms'] < target)}]" if target else ""
            lines.append(
                f"loop lag ({r['label'] or '-'}) {r['triggers']} triggers x {r['poll']:g} s {r['scenario']}:"
                f" p99 {r['lag_p99_ms']:.1f} ms{aim}, max {r['lag_max_ms']:.0f} ms,"
                f" CPU {r['cpu_ms_per_poll']:.2f} ms/poll, load {r['load']:.1f}"
            )
    for name in ("backfill", "backfill_pool6"):
        path = OUT / f"{name}.json"
        if not path.exists():
            continue
        b = json.loads(path.read_text())
        lines += [
            f"{name} {b['windows']} windows, pool {b['settings']['pool']}: span {b['span_s']:.0f} s = "
            f"{b['span_over_ideal']:.2f} x ideal ({b['ideal_s']:.0f} s) "
            f"[<= 1.15: {verdict(b['span_over_ideal'] <= 1.15)}]; whole run "
            f"{b['run_wall_s']:.0f} s = {b['run_wall_over_ideal']:.2f} x ideal; one job at a time "
            f"{b['one_at_a_time_s']:.0f} s",
            f"  safety: 1029 answers {b['answers_1029']} [0: {verdict(b['answers_1029'] == 0)}], "
            f"most jobs queued {b['max_jobs_in_queue']} [<= 10: {verdict(b['max_jobs_in_queue'] <= 10)}]",
            f"  economy: calls/window {b['calls_per_window']}; token calls {b['token_calls']} for "
            f"{b['marketo_processes']} processes [<= 1 each: {verdict(b['token_calls_per_process'] <= 1)}]; "
            f"status gaps below poll {b['status_gaps_below_poll']}/{b['status_gaps_total']} "
            f"(while waiting {b.get('poll_gaps_below_poll')}/{b.get('poll_gaps_total')}: "
            f"{verdict(b.get('poll_gaps_below_poll') == 0)}); "
            f"most calls in 20 s {b['max_calls_any_20s']} [<= 50: {verdict(b['max_calls_any_20s'] <= 50)}]",
        ]
    quota = OUT / "quota_backfill.json"
    if quota.exists():
        q = json.loads(quota.read_text())
        plan, run = q["plan"], q.get("run") or {}
        if run:
            one_each = run["cells_with_one_job"] == plan["jobs"] and not run["jobs_outside_the_plan"]
            in_queue_ok = run["max_our_jobs_in_queue"] <= run["pool_slots"]
            lines.append(
                f"quota backfill {plan['range']}, {plan['jobs']} jobs, data {plan['lower_bound_days']} x "
                f"quota: {run['quota_days_used']} quota days = {run['days_vs_lower_bound']} x the lower "
                f"bound; 1 job per window x batch [{verdict(one_each)}], failed tasks "
                f"{run['failed_tasks']} [0: {verdict(run['failed_tasks'] == 0)}], our jobs in queue "
                f"{run['max_our_jobs_in_queue']} [<= pool {run['pool_slots']}: {verdict(in_queue_ok)}], "
                f"files verified {run['files_verified']}/{plan['jobs']}"
            )
    mixed = OUT / "mixed_backfill.json"
    if mixed.exists():
        m = json.loads(mixed.read_text())
        plan, run = m["plan"], m.get("run") or {}
        if run:
            one_each = run["cells_with_one_job"] == plan["jobs"] and not run["jobs_outside_the_plan"]
            in_queue_ok = run["max_our_jobs_in_queue"] <= run["pool_slots"]
            lines.append(
                f"mixed backfill {plan['range']}, {plan['described']}: "
                f"{run['quota_days_used']} quota days vs "
                f"lower bound {plan['lower_bound_days']}; 1 job per window x batch x kind "
                f"[{verdict(one_each)}], failed tasks {run['failed_tasks']} "
                f"[0: {verdict(run['failed_tasks'] == 0)}], our jobs of every kind in queue "
                f"{run['max_our_jobs_in_queue']} [<= pool {run['pool_slots']}: {verdict(in_queue_ok)}], "
                f"load {m.get('load_start', 0):.2f} -> {m.get('load_end', 0):.2f}"
            )
    scale = OUT / "backfill_scale.json"
    if scale.exists():
        b = json.loads(scale.read_text())
        for name in ("old_one_run", "new_window_runs"):
            for row in b[name]:
                lines.append(
                    f"backfill scale {name} {row.get('plan_jobs', row['jobs'])} jobs: XCom read "
                    f"{row['xcom_kib_per_job']:.1f} KiB/job, {row['ms_per_job_cpu']:.0f} ms CPU/job "
                    f"(load {row['load_1m']})"
                )
        growth = b.get("new_window_runs_growth")
        if growth:
            flat = growth["xcom_per_job_x"] <= 1.1
            lines.append(
                f"backfill scale new shape, {growth['jobs_x']} x the jobs: XCom/job "
                f"x{growth['xcom_per_job_x']} [flat <= 1.1: {verdict(flat)}], "
                f"CPU/job x{growth['cpu_per_job_x']}"
            )
        big = b["planning"][-1]
        lines.append(f"backfill plan of {big['jobs']:,} jobs: {big['plan_ms']:.0f} ms ({big['summary']})")
    parquet = OUT / "parquet.json"
    if parquet.exists():
        p = json.loads(parquet.read_text())
        for size, measured in p["sizes"].items():
            summary = measured["summary"]
            lines.append(
                f"parquet {float(size):5.0f} MiB: {summary['speed_ratio_median']:.2f} x pyarrow's read_csv + "
                f"write_table [>= 0.8: {verdict(summary['speed_ratio_median'] >= 0.8)}], peak RSS "
                f"{summary['ours_peak_mib_max']:.0f} MiB (pyarrow {summary['pyarrow_peak_mib_max']:.0f} MiB)"
            )
        for run in (p.get("postgres") or {}).get("runs", []):
            lines.append(
                f"postgres {run['run']}: {run['rows']} rows, {run['inserted']} inserted, {run['updated']} "
                f"updated, {run['unchanged']} unchanged in {run['seconds']:.0f} s"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller and shorter: a smoke run")
    parser.add_argument("--only", choices=sorted(SCRIPTS), nargs="+", help="run only these benchmarks")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    OUT.mkdir(exist_ok=True)
    info = machine() | {"quick": args.quick, "load_start": os.getloadavg(), "started": time.time()}
    failed = []
    for name in args.only or SCRIPTS:
        print(f"\n=== {name}: {SCRIPTS[name]} {' '.join(plan[name])}  (load {os.getloadavg()})", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / SCRIPTS[name]), *plan[name]])
        info[f"{name}_seconds"] = time.monotonic() - started
        info[f"{name}_load_end"] = os.getloadavg()
        if code != 0:
            failed.append(name)
    info["load_end"] = os.getloadavg()
    (OUT / "machine.json").write_text(json.dumps(info, indent=1))
    try:
        subprocess.call([sys.executable, str(HERE / "plot_results.py"), str(OUT), str(OUT / "summary.png")])
    except OSError as err:
        print(f"no chart: {err}")
    print(
        f"\n=== summary on {info['nproc']} x {info['cpu']}, load {info['load_start']} -> {info['load_end']}"
    )
    for line in summary_lines():
        print(line)
    if failed:
        raise SystemExit(f"benchmarks that did not finish: {', '.join(failed)}")


if __name__ == "__main__":
    main()
