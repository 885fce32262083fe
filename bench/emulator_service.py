"""The Marketo emulator in a process of its own, with any option, driven over stdin/stdout.

Benchmarks run the emulator out of process so that it never competes with the measured client for
the GIL. The CLI does not expose every option (call limits, queue size), so this module starts a
child Python that runs ``MarketoEmulator(**options)`` and answers JSON-line commands:

    {"cmd": "occupy", "n": 3, "seconds": 6}   -> the other integration's jobs (occupy_queue)
    {"cmd": "dump"}                           -> request log (with arrival time) and every job record
    {"cmd": "quit"}

Each request is stamped with the emulated clock when it arrives, for "calls in any 20 s" figures.

    with EmulatorService(rate_limit_calls=10**6) as emu:
        emu.base_url, emu.connection_env(), emu.dump()
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import TracebackType
from typing import Any, Self


class EmulatorService:
    """Parent side: start the child, read its address, send commands."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self._process: subprocess.Popen[str] | None = None
        self.base_url = self.client_id = self.client_secret = ""

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            [sys.executable, __file__, json.dumps(self.options)],
            # This checkout's emulator, whichever tree PYTHONPATH puts the measured client on: a "before"
            # run is served as the "after" one is.
            env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = self._read()
        self.base_url, self.client_id, self.client_secret = (
            hello["base_url"],
            hello["client_id"],
            hello["client_secret"],
        )
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._process is not None
        try:
            self._send({"cmd": "quit"})
            self._process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def connection_json(self) -> str:
        return json.dumps(
            {
                "conn_type": "marketo",
                "host": self.base_url,
                "login": self.client_id,
                "password": self.client_secret,
            }
        )

    def connection_env(self, conn_id: str = "marketo_default") -> dict[str, str]:
        return {f"AIRFLOW_CONN_{conn_id.upper()}": self.connection_json()}

    def occupy_queue(self, n: int, seconds: float) -> None:
        self._send({"cmd": "occupy", "n": n, "seconds": seconds})
        self._read()

    def dump(self) -> dict[str, Any]:
        """``{"now", "requests": [{at, method, endpoint, export_id, status, code}], "jobs": [...]}``."""
        self._send({"cmd": "dump"})
        return self._read()

    def _send(self, command: dict[str, Any]) -> None:
        assert self._process is not None
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()

    def _read(self) -> dict[str, Any]:
        assert self._process is not None
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator process exited ({self._process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer


def _export_id(path: str) -> str | None:
    parts = path.split("/")
    return parts[-2] if len(parts) > 6 and parts[1] == "bulk" and parts[-2] != "export" else None


def _serve(options: dict[str, Any]) -> None:
    """Child side: run the emulator and answer commands until "quit" or stdin closes."""
    from airflow_provider_marketo_pm.testing import MarketoEmulator
    from airflow_provider_marketo_pm.testing.emulator.request_log import RecordedRequest, RequestLog

    arrivals: dict[int, float] = {}
    original_add = RequestLog.add
    emulator = MarketoEmulator(**options)

    def stamped_add(log: RequestLog, entry: RecordedRequest) -> None:
        arrivals[id(entry)] = emulator.now()
        original_add(log, entry)

    RequestLog.add = stamped_add  # type: ignore[method-assign]
    with emulator as emu:
        hello = {"base_url": emu.base_url, "client_id": emu.client_id, "client_secret": emu.client_secret}
        print(json.dumps(hello), flush=True)
        for line in sys.stdin:
            command = json.loads(line)
            if command["cmd"] == "quit":
                break
            if command["cmd"] == "occupy":
                emu.occupy_queue(command["n"], seconds=command["seconds"])
                print(json.dumps({"ok": True}), flush=True)
            elif command["cmd"] == "dump":
                requests = [
                    {
                        "at": arrivals.get(id(r)),
                        "method": r.method,
                        "endpoint": r.endpoint,
                        "export_id": _export_id(r.path),
                        "status": r.status,
                        "code": r.marketo_code,
                        "user_agent": r.headers.get("user-agent", ""),
                    }
                    for r in emu.requests
                ]
                board = emu.instance.jobs
                with board._lock:  # read-only look at every job, the other integration's included
                    jobs = [
                        {
                            "export_id": j.export_id,
                            "foreign": j.foreign,
                            "status": j.status,
                            "created_at": j.created_at,
                            "queued_at": j.queued_at,
                            "started_at": j.started_at,
                            "finished_at": j.finished_at,
                        }
                        for j in board._jobs.values()
                    ]
                print(json.dumps({"now": emu.now(), "requests": requests, "jobs": jobs}), flush=True)


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
