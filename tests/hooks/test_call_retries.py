"""The backoff the hook waits between retries, as shaped by the connection (no sleeping, no clocks)."""

from __future__ import annotations

import logging

import pytest
import tenacity

from airflow_provider_marketo_pm.exceptions import MarketoTransientError
from airflow_provider_marketo_pm.hooks.call_retries import tenacity_kwargs
from airflow_provider_marketo_pm.hooks.connection_settings import parse_connection_settings

LOG = logging.getLogger(__name__)


def settings_with(**extra):
    return parse_connection_settings(
        "marketo_default", host="123-ABC-456", schema=None, port=None, login="id", password="s", extra=extra
    )


def waits(settings, attempts: int) -> list[float]:
    """The wait tenacity would take after each failed attempt."""
    wait = tenacity_kwargs(settings, "status", log=LOG)["wait"]
    state = tenacity.RetryCallState(tenacity.Retrying(), fn=None, args=(), kwargs={})
    result = []
    for attempt in range(1, attempts + 1):
        state.attempt_number = attempt
        result.append(wait(state))
    return result


@pytest.mark.parametrize(
    ("extra", "floors", "cap"),
    [
        ({}, [1, 2, 4, 8, 16, 30, 30], 30),
        ({"retry_min_wait": 0.01, "retry_max_wait": 0.05}, [0.01, 0.02, 0.04, 0.05, 0.05, 0.05, 0.05], 0.05),
        ({"retry_min_wait": "3", "retry_max_wait": "3"}, [3] * 7, 3),
    ],
)
def test_waits_double_from_the_first_wait_up_to_the_longest_plus_jitter(extra, floors, cap):
    settings = settings_with(**extra)
    jitter = settings.retry_min_wait
    for wait, floor in zip(waits(settings, len(floors)), floors, strict=True):
        assert floor <= wait <= min(floor, cap) + jitter


def test_jitter_spreads_parallel_retries():
    assert len({round(w, 9) for w in waits(settings_with(retry_min_wait=1, retry_max_wait=1), 20)}) > 1


def test_attempts_are_bounded_by_max_retries():
    settings = settings_with(max_retries=2, retry_min_wait=0.001, retry_max_wait=0.001)
    calls = []

    def always_busy():
        calls.append(1)
        raise MarketoTransientError("busy", code="606", endpoint="status")

    with pytest.raises(MarketoTransientError, match="Gave up after 3 attempts"):
        tenacity.Retrying(**tenacity_kwargs(settings, "status", log=LOG))(always_busy)
    assert len(calls) == 3
