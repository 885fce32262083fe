"""Fixtures of the kind tests: ``api``, a raw HTTP client of a running emulator, and a window with data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from testing.emulator_client import RawMarketoClient

from airflow_provider_marketo_pm.testing import MarketoEmulator


@pytest.fixture
def api(marketo_emulator: MarketoEmulator) -> Iterator[RawMarketoClient]:
    """Plain ``requests`` calls to the emulator (token in the Authorization header), not the hook."""
    client = RawMarketoClient(marketo_emulator)
    yield client
    client.session.close()


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., RawMarketoClient]]:
    """Start an emulator with options (a subscription without some filters ...), stopped at teardown."""
    clients: list[RawMarketoClient] = []

    def start(**options: Any) -> RawMarketoClient:
        clients.append(RawMarketoClient(MarketoEmulator(**options).start()))
        return clients[-1]

    yield start
    for client in clients:
        client.session.close()
        client.emulator.stop()


@pytest.fixture
def recent_month(marketo_emulator: MarketoEmulator) -> dict[str, datetime]:
    """The 30 days up to the emulator's latest membership change: when leads, activities, records change."""
    found = marketo_emulator.updated_at_range()
    assert found is not None
    latest = datetime.fromisoformat(found[1]).astimezone(UTC) + timedelta(seconds=1)
    return {"startAt": latest - timedelta(days=30), "endAt": latest}
