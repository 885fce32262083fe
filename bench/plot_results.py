"""Draw bench/out/*.json as one PNG: download rates, memory, event-loop lag and the backfill timeline.

    .venv/bin/python bench/plot_results.py [bench/out] [bench/out/summary.png]

Needs matplotlib (not a dependency of the provider); without it, says so and exits 0.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "out"
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else folder / "summary.png"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart (pip install matplotlib)")
        return
    download, fanout, backfill = (load(folder, n) for n in ("download", "fanout", "backfill"))
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    (ax_rate, ax_mem), (ax_lag, ax_gantt) = axes

    if download:
        labels, rates, colors, growth = [], [], [], []
        for size, measured in download["sizes"].items():
            summary = measured["summary"]
            labels.append(f"curl\n{float(size):.0f} MiB")
            rates.append(summary["curl_mb_s"])
            colors.append("grey")
            if "curl_then_sha256sum_mb_s" in summary:
                labels.append(f"curl+sha\n{float(size):.0f} MiB")
                rates.append(summary["curl_then_sha256sum_mb_s"])
                colors.append("silver")
            for name, fig_ in summary["operator"].items():
                labels.append(f"{name.removeprefix('op_')}\n{float(size):.0f} MiB")
                rates.append(fig_["mb_s"])
                colors.append("tab:blue")
                growth.append(
                    (f"{name.removeprefix('op_')}\n{float(size):.0f} MiB", fig_["rss_growth_mib_max"])
                )
        ax_rate.bar(range(len(rates)), rates, color=colors)
        ax_rate.set_xticks(range(len(rates)), labels, fontsize=7)
        ax_rate.set_ylabel("MB/s (median of rounds)")
        ax_rate.set_title("Download to file://: curl, curl + sha256sum (grey) vs operator by chunk")
        ax_mem.bar(range(len(growth)), [g for _, g in growth], color="tab:green")
        ax_mem.axhline(32, color="red", linestyle="--", label="target < 32 MiB")
        ax_mem.set_xticks(range(len(growth)), [n for n, _ in growth], fontsize=7)
        ax_mem.set_ylabel("peak RSS growth (MiB)")
        ax_mem.set_title("Download process memory: growth over RSS after imports")
        ax_mem.legend(loc="upper left")

    if fanout:
        passes = fanout["passes"]
        x = range(len(passes))
        ax_lag.bar([i - 0.2 for i in x], [p["lag_p50_ms"] for p in passes], width=0.4, label="p50")
        ax_lag.bar([i + 0.2 for i in x], [p["lag_p99_ms"] for p in passes], width=0.4, label="p99")
        ax_lag.axhline(50, color="red", linestyle="--", label="target p99 < 50 ms")
        ax_lag.set_yscale("log")
        ax_lag.set_xticks(list(x), [textwrap.fill(p["name"], 13) for p in passes], fontsize=7)
        ax_lag.set_ylabel("event-loop lag (ms, log)")
        ax_lag.set_title(f"{fanout['triggers']} triggers, poll {fanout['poll']:g} s, one event loop")
        ax_lag.legend(fontsize=8)

    if backfill:
        timeline = backfill["timeline"]
        for row, job in enumerate(timeline):
            color = "tab:orange" if job["foreign"] else "tab:blue"
            ax_gantt.barh(row, job["started"] - job["queued"], left=job["queued"], color="lightgrey")
            ax_gantt.barh(row, job["finished"] - job["started"], left=job["started"], color=color)
            if not job["foreign"]:
                ax_gantt.plot([job["download"]], [row], "k|")
        ax_gantt.axvline(backfill["ideal_s"], color="red", linestyle="--", label="ideal end (busy / 2 slots)")
        ax_gantt.set_xlabel("seconds since the first job started")
        ax_gantt.set_ylabel("job (orange: other integration)")
        ax_gantt.set_title(
            f"Backfill, {backfill['windows']} windows: queued (grey), processing, | first download call"
        )
        ax_gantt.invert_yaxis()
        ax_gantt.legend(fontsize=8)
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=90)
    print(f"chart: {target}")


if __name__ == "__main__":
    main()
