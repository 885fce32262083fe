"""Every hook test starts and ends with an empty process-wide token cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from airflow_provider_marketo_pm.hooks import call_pacing
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    MarketoHook.clear_token_cache()
    yield
    MarketoHook.clear_token_cache()


@pytest.fixture
def shorten_rate_window(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[float], None]]:
    """Make the process's rate window (Marketo's 20 s) this many seconds, for windows made from now on."""

    def shorten(seconds: float) -> None:
        monkeypatch.setattr(call_pacing, "RATE_WINDOW", seconds)
        call_pacing.forget_windows()

    yield shorten
    call_pacing.forget_windows()
