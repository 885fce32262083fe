"""The machine's PostgreSQL and Redis, which the Celery deployment test needs, and what to do without them.

Developers' machines and CI start both before a session; when one does not answer, the test says how
to start it. Locally it then skips; under ``CI=true`` it fails, so CI cannot pass without running it.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class LocalService:
    name: str
    host: str
    port: int
    start_command: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def reachable(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=2):
            return True
        return False


POSTGRES = LocalService(
    "PostgreSQL",
    "127.0.0.1",
    5432,
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
)
REDIS = LocalService(
    "Redis",
    "127.0.0.1",
    6379,
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no',
)


def require(*services: LocalService, environ: Mapping[str, str] = os.environ) -> None:
    """Return if every service answers; else skip, or fail under ``CI=true``, naming how to start them."""
    down = [
        f"{service.name} does not answer on {service.address}; start it with: {service.start_command}"
        for service in services
        if not service.reachable()
    ]
    if not down:
        return
    if environ.get("CI") == "true":
        pytest.fail("; ".join(down))
    pytest.skip("; ".join(down))
