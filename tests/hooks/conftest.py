"""Every hook test starts and ends with an empty process-wide token cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    MarketoHook.clear_token_cache()
    yield
    MarketoHook.clear_token_cache()
