"""Without PostgreSQL or Redis the Celery deployment test skips locally, fails in CI, and says why."""

from __future__ import annotations

import socket

import pytest
from local_services import POSTGRES, REDIS, LocalService, require


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


@pytest.fixture
def down(closed_port: int) -> LocalService:
    return LocalService("Redis", "127.0.0.1", closed_port, "redis-server --port 6379")


def test_an_unreachable_service_skips_with_the_command_that_starts_it(down):
    with pytest.raises(
        pytest.skip.Exception,
        match=rf"Redis does not answer on 127.0.0.1:{down.port}; "
        "start it with: redis-server --port 6379",
    ):
        require(down, environ={})


def test_under_ci_an_unreachable_service_fails_instead(down):
    with pytest.raises(pytest.fail.Exception, match="Redis does not answer"):
        require(down, environ={"CI": "true"})


def test_a_listening_service_passes(closed_port):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        require(LocalService("PostgreSQL", "127.0.0.1", server.getsockname()[1], "-"), environ={"CI": "true"})


def test_the_machine_services_name_their_start_commands():
    assert POSTGRES.port == 5432
    assert "pg_ctlcluster" in POSTGRES.start_command
    assert REDIS.port == 6379
    assert REDIS.start_command.startswith("redis-server")
