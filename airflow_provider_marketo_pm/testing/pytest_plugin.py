"""pytest plugin (registered through the ``pytest11`` entry point): the ``marketo_emulator`` fixture.

Override ``marketo_emulator_options`` in a conftest.py, module or class to change the emulator's options.
The emulator is imported inside the fixture: pytest loads this plugin in every session of an environment
where the provider is installed, and those sessions must not pay for (or break on) the server stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_marketo_pm.testing.emulator import MarketoEmulator


@pytest.fixture
def marketo_emulator_options() -> dict[str, Any]:
    """Options for ``marketo_emulator``; the defaults are the fast pace (jobs finish in well under 1 s)."""
    return {}


@pytest.fixture
def marketo_emulator(marketo_emulator_options: dict[str, Any]) -> Iterator[MarketoEmulator]:
    """A running Marketo emulator on a free loopback port, fresh for each test."""
    from airflow_provider_marketo_pm.testing.emulator import MarketoEmulator

    with MarketoEmulator(**marketo_emulator_options) as emulator:
        yield emulator


@pytest.fixture
def marketo_connection(marketo_emulator: MarketoEmulator, monkeypatch: pytest.MonkeyPatch) -> MarketoEmulator:
    """The emulator, reachable as the Airflow connection ``marketo_default`` for the test's duration."""
    for name, value in marketo_emulator.connection_env("marketo_default").items():
        monkeypatch.setenv(name, value)
    return marketo_emulator
