"""Fixtures of the emulator tests: ``api``, a raw HTTP client bound to the ``marketo_emulator`` fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from emulator_client import RawMarketoClient

from airflow_provider_marketo_pm.testing import MarketoEmulator


@pytest.fixture
def api(marketo_emulator: MarketoEmulator) -> Iterator[RawMarketoClient]:
    client = RawMarketoClient(marketo_emulator)
    yield client
    client.session.close()


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., tuple[MarketoEmulator, RawMarketoClient]]]:
    """Start an emulator with custom options (stopped at teardown), with a client bound to it."""
    started: list[tuple[MarketoEmulator, RawMarketoClient]] = []

    def start(**options: Any) -> tuple[MarketoEmulator, RawMarketoClient]:
        emulator = MarketoEmulator(**options).start()
        started.append((emulator, RawMarketoClient(emulator)))
        return started[-1]

    yield start
    for emulator, client in started:
        client.session.close()
        emulator.stop()
