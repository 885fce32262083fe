"""How fast does the emulator serve a large export file? Compares curl with a plain requests stream client.

The point: serving a big file must not be what limits a client. curl on loopback is the
reference for "as fast as a client can read"; a Python client that streams with requests is what our hook
does. Runs alternate so that page cache and CPU frequency effects hit both equally.

    .venv/bin/python bench/bench_emulator_file.py [--mb 1024] [--runs 3]

Writes downloads to a temporary directory (nothing in the repository).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

EXPORT = "/bulk/v1/program/members/export"
CHUNK = 1024 * 1024


@dataclass
class Served:
    base_url: str
    client_id: str
    client_secret: str


@contextlib.contextmanager
def emulator_process(size_mb: float, data_dir: Path) -> Iterator[Served]:
    """The emulator in its own process (the CLI), so the Python client does not share its GIL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    served = Served(f"http://127.0.0.1:{port}", "bench", secrets.token_urlsafe(16))
    command = [
        sys.executable,
        "-m",
        "airflow_provider_marketo_pm.testing.emulator",
        *("--port", str(port), "--client-id", served.client_id, "--log-level", "warning"),
        *("--large-file-mb", str(size_mb), "--daily-quota-bytes", str(1 << 50), "--data-dir", str(data_dir)),
    ]
    process = subprocess.Popen(command, env={"MARKETO_EMULATOR_CLIENT_SECRET": served.client_secret})
    try:
        for _ in range(600):
            with contextlib.suppress(requests.ConnectionError):
                requests.get(served.base_url, timeout=5)
                break
            time.sleep(0.05)
        yield served
    finally:
        process.terminate()
        process.wait(timeout=30)


def start_export(emulator: Served) -> tuple[str, dict[str, str], dict]:
    token = requests.post(
        f"{emulator.base_url}/identity/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
        },
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "fields": [
            "leadId",
            "firstName",
            "lastName",
            "email",
            "statusName",
            "leadCustomField01",
            "updatedAt",
        ],
        "filter": {"programIds": list(range(1001, 1011))},
    }
    created = requests.post(f"{emulator.base_url}{EXPORT}/create.json", json=body, headers=headers).json()
    export_id = created["result"][0]["exportId"]
    requests.post(f"{emulator.base_url}{EXPORT}/{export_id}/enqueue.json", headers=headers)
    while True:
        record = requests.get(f"{emulator.base_url}{EXPORT}/{export_id}/status.json", headers=headers).json()
        status = record["result"][0]
        if status["status"] == "Completed":
            return export_id, headers, status
        if status["status"] in ("Failed", "Cancelled"):
            raise SystemExit(f"export ended {status}")
        time.sleep(0.2)


def download_with_curl(url: str, headers: dict[str, str], target: Path) -> float:
    # The token goes to curl through stdin (-H @-), never on its command line.
    header_lines = "".join(f"{name}: {value}\n" for name, value in headers.items())
    started = time.perf_counter()
    subprocess.run(
        ["curl", "-s", "-f", "-o", str(target), "-H", "@-", url], input=header_lines.encode(), check=True
    )
    return time.perf_counter() - started


def download_with_requests(url: str, headers: dict[str, str], target: Path) -> float:
    started = time.perf_counter()
    with requests.get(url, headers=headers, stream=True) as response, target.open("wb") as out:
        response.raise_for_status()
        for chunk in response.iter_content(CHUNK):
            out.write(chunk)
    return time.perf_counter() - started


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=1024, help="file size in MB (default 1024 = 1 GB)")
    parser.add_argument("--runs", type=int, default=3, help="downloads per client")
    parser.add_argument(
        "--sink",
        choices=("disk", "null"),
        default="disk",
        help="where both clients write: a temporary file, or /dev/null to take the disk out of the measure",
    )
    args = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("curl is needed for this benchmark")

    workdir = Path(tempfile.mkdtemp(prefix="bench-emulator-file-"))
    try:
        with emulator_process(args.mb, workdir / "served") as emu:
            generated = time.perf_counter()
            export_id, headers, status = start_export(emu)
            size_mb = status["fileSize"] / (1024 * 1024)
            print(f"generated a {size_mb:.0f} MB file in {time.perf_counter() - generated:.1f} s")
            url = f"{emu.base_url}{EXPORT}/{export_id}/file.json"
            rates: dict[str, list[float]] = {"curl": [], "requests": []}
            for run in range(args.runs):
                for name, download in (("curl", download_with_curl), ("requests", download_with_requests)):
                    target = workdir / f"{name}.csv" if args.sink == "disk" else Path(os.devnull)
                    seconds = download(url, headers, target)
                    if (
                        args.sink == "disk"
                        and run == 0
                        and "sha256:" + sha256_of(target) != status["fileChecksum"]
                    ):
                        raise SystemExit(f"{name} download does not match fileChecksum")
                    rates[name].append(size_mb / seconds)
                    print(f"run {run + 1} {name:8s} {size_mb / seconds:8.0f} MB/s")
                    if args.sink == "disk":
                        target.unlink()
        curl, python = statistics.median(rates["curl"]), statistics.median(rates["requests"])
        print(
            f"median: curl {curl:.0f} MB/s, requests {python:.0f} MB/s, requests/curl = {python / curl:.2f}"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
