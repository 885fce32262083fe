"""Download operator vs curl: throughput ratio, chunk sizes, and peak memory for 100 MB vs 1 GB.

Section 1 of bench/RESULTS.md. The emulator serves one padded export per size from its own process
(the CLI). Each
operator download runs ``MarketoDownloadProgramMemberExportOperator.execute`` in a fresh child process
(file:// destination, sha256 and size verified, atomic move), so that the child's peak RSS
(``ru_maxrss``) minus its RSS after imports is the memory the download itself needed. curl
(``curl -s -o FILE`` with the bearer header) writes to the same disk; ``sha256sum`` of curl's file
then gives a second reference, "curl + verify", that does the same work as the operator. Runs
alternate curl and operator within each round so load spikes from other processes hit both; ratios
are medians of per-round ratios.

    .venv/bin/python bench/bench_download_vs_curl.py [--sizes 100 1024] [--chunks-kib 64 256 1024 4096]
        [--rounds 3] [--json bench/out/download.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_emulator_file import EXPORT, download_with_curl, emulator_process, start_export

HERE = Path(__file__).resolve().parent


def child_download(export_id: str, destination: str, chunk_size: int, warm: bool) -> None:
    """
    In the child: import the operator (as a DAG file does), note RSS, run it, print seconds and memory as
    JSON. This first ``execute`` is the cold one: what a task pays, the imports its download reaches
    included. With ``warm``, a second ``execute`` in the same process (the file removed first): every
    import done, the connection and token cached, so its time is the streaming and the per-run calls.
    """
    from airflow_provider_marketo_pm.operators.program_members import (
        MarketoDownloadProgramMemberExportOperator,
    )

    def operator() -> MarketoDownloadProgramMemberExportOperator:
        return MarketoDownloadProgramMemberExportOperator(
            task_id="bench_download",
            export_id=export_id,
            destination=destination,
            chunk_size=chunk_size,
            progress_interval=3600,
        )

    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = operator().execute(context={})  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures = {
        "seconds": seconds,
        "bytes": result["bytes"],
        "baseline_mib": baseline_kib / 1024,
        "peak_mib": peak_kib / 1024,
        "growth_mib": (peak_kib - baseline_kib) / 1024,
    }
    if warm:
        Path(result["uri"].removeprefix("file://")).unlink()
        started = time.perf_counter()
        operator().execute(context={})  # type: ignore[arg-type]
        figures["warm_seconds"] = time.perf_counter() - started
    print(json.dumps(figures))


def run_operator(
    conn_env: dict[str, str], export_id: str, target: Path, chunk_size: int, home: Path, warm: bool
) -> dict[str, Any]:
    env = {**os.environ, **conn_env, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run(
        [sys.executable, __file__, "--child", export_id, target.as_uri(), str(chunk_size), str(int(warm))],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"operator child failed:\n{out.stderr[-3000:]}")
    answer: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return answer


def bench_size(
    size_mb: float, chunks: list[int], rounds: int, workdir: Path, warm: bool = False
) -> dict[str, Any]:
    """All rounds for one file size: curl and every chunk size, alternating."""
    with emulator_process(size_mb, workdir / "served") as emu:
        export_id, headers, status = start_export(emu)
        size = int(status["fileSize"])
        url = f"{emu.base_url}{EXPORT}/{export_id}/file.json"
        connection = {"conn_type": "marketo", "host": emu.base_url, "login": emu.client_id}
        connection["password"] = emu.client_secret
        conn_env = {"AIRFLOW_CONN_MARKETO_DEFAULT": json.dumps(connection)}
        target = workdir / "download.csv"
        runs: dict[str, list[dict[str, Any]]] = {"curl": [], **{f"op_{c // 1024}k": [] for c in chunks}}
        for round_no in range(rounds):
            # Rotate the order every round so no client always runs right after the same one.
            order: list[int | None] = [None, *chunks]
            order = order[round_no % len(order) :] + order[: round_no % len(order)]
            for chunk in order:
                target.unlink(missing_ok=True)
                if chunk is None:
                    seconds = download_with_curl(url, headers, target)
                    if target.stat().st_size != size:
                        raise SystemExit("curl got a short file")
                    # What a shell user does to verify: sha256sum the file curl wrote.
                    hashed = time.perf_counter()
                    subprocess.run(["sha256sum", str(target)], capture_output=True, check=True)
                    verify = time.perf_counter() - hashed
                    runs["curl"].append({"seconds": seconds, "verify_seconds": verify, "round": round_no})
                    label = "curl"
                else:
                    home = workdir / "airflow-home"
                    result = run_operator(conn_env, export_id, target, chunk, home, warm)
                    result["round"] = round_no
                    runs[f"op_{chunk // 1024}k"].append(result)
                    label = f"operator {chunk // 1024:>4} KiB"
                    seconds = result["seconds"]
                last = runs["curl" if chunk is None else f"op_{chunk // 1024}k"][-1]
                extra = f"  RSS growth {last['growth_mib']:5.1f} MiB" if chunk is not None else ""
                rate = size / 1e6 / seconds
                if "warm_seconds" in last:
                    extra += f"  warm {size / 1e6 / last['warm_seconds']:7.0f} MB/s"
                print(
                    f"  {size / 1e6:6.0f} MB round {round_no + 1} {label:20s} {rate:7.0f} MB/s"
                    f"{extra}  load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
        target.unlink(missing_ok=True)
    return {"size_bytes": size, "runs": runs}


def summarise(size: dict[str, Any]) -> dict[str, Any]:
    """Median MB/s per client and the median of per-round operator/curl ratios."""
    mb = size["size_bytes"] / 1e6
    curl_by_round = {r["round"]: mb / r["seconds"] for r in size["runs"]["curl"]}
    verified_by_round = {r["round"]: mb / (r["seconds"] + r["verify_seconds"]) for r in size["runs"]["curl"]}
    summary: dict[str, Any] = {
        "curl_mb_s": statistics.median(curl_by_round.values()),
        "curl_then_sha256sum_mb_s": statistics.median(verified_by_round.values()),
        "operator": {},
    }
    for name, runs in size["runs"].items():
        if name == "curl":
            continue
        rates = [mb / r["seconds"] for r in runs]
        ratios = [mb / r["seconds"] / curl_by_round[r["round"]] for r in runs]
        summary["operator"][name] = {
            "mb_s": statistics.median(rates),
            "ratio_to_curl": statistics.median(ratios),
            "ratio_to_curl_then_sha256sum": statistics.median(
                mb / r["seconds"] / verified_by_round[r["round"]] for r in runs
            ),
            "rss_growth_mib_max": max(r["growth_mib"] for r in runs),
            "rss_baseline_mib": statistics.median(r["baseline_mib"] for r in runs),
        }
        if all("warm_seconds" in r for r in runs):
            summary["operator"][name]["warm_ratio_to_curl"] = statistics.median(
                mb / r["warm_seconds"] / curl_by_round[r["round"]] for r in runs
            )
            summary["operator"][name]["fixed_cost_s"] = statistics.median(
                r["seconds"] - r["warm_seconds"] for r in runs
            )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[100, 1024], help="file sizes in MiB")
    parser.add_argument("--chunks-kib", type=int, nargs="+", default=[64, 256, 1024, 4096])
    parser.add_argument(
        "--big-chunks-kib", type=int, nargs="+", default=None, help="chunk sizes for sizes > 200 MiB"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--warm", action="store_true", help="also time a second download in the same process (warm)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None,
        help="where the files are written (default /dev/shm: the disk out of the figures)",
    )
    parser.add_argument("--json", type=Path, default=HERE / "out" / "download.json")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("curl is needed for this benchmark")
    print(f"nproc {os.cpu_count()}, load average at start {os.getloadavg()}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-download-", dir=args.workdir))
    report: dict[str, Any] = {"load_start": os.getloadavg(), "sizes": {}}
    try:
        for size_mb in args.sizes:
            chunks_kib = args.big_chunks_kib if (args.big_chunks_kib and size_mb > 200) else args.chunks_kib
            measured = bench_size(size_mb, [c * 1024 for c in chunks_kib], args.rounds, workdir, args.warm)
            measured["summary"] = summarise(measured)
            report["sizes"][str(size_mb)] = measured
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["load_end"] = os.getloadavg()
    print("\nsize      client              MB/s   x curl  x curl+sha256sum  RSS growth (max)")
    for size_mb, measured in report["sizes"].items():
        summary = measured["summary"]
        print(f"{float(size_mb):6.0f} MiB curl            {summary['curl_mb_s']:8.0f}    1.00")
        print(f"{float(size_mb):6.0f} MiB curl+sha256sum  {summary['curl_then_sha256sum_mb_s']:8.0f}")
        for name, figures in summary["operator"].items():
            print(
                f"{float(size_mb):6.0f} MiB {name:15s} {figures['mb_s']:8.0f}"
                f"   {figures['ratio_to_curl']:5.2f}   {figures['ratio_to_curl_then_sha256sum']:5.2f}"
                f"           {figures['rss_growth_mib_max']:6.1f} MiB"
            )
            if "warm_ratio_to_curl" in figures:
                print(
                    f"{'':10s} {name:15s} cold {figures['ratio_to_curl']:.2f} x curl, warm"
                    f" {figures['warm_ratio_to_curl']:.2f} x curl, fixed cost {figures['fixed_cost_s']:.3f} s"
                )
    print(f"load average at end {report['load_end']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child_download(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1")
    else:
        main()
