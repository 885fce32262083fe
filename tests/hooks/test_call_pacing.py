"""The process's share of Marketo's call rate: never more than ``calls_per_20s`` arrivals in any window.

Marketo refuses a 101st call within 20 s per instance (606), for every integration of the instance. The
hook (worker threads) and the triggers (coroutines) of a process wait for a place in one sliding window per
instance instead. Tests shorten the window (``call_pacing.RATE_WINDOW``) and count arrivals server-side;
one test keeps Marketo's real numbers on the window alone.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from airflow_provider_marketo_pm.hooks import call_pacing
from airflow_provider_marketo_pm.hooks.call_pacing import CallWindow
from airflow_provider_marketo_pm.hooks.connection_settings import DEFAULT_CALLS_PER_20S
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.testing import Fault

CONN_ID = "marketo_paced"
SHARE = 6
WINDOW = 0.5
FAST = {"retry_min_wait": 0.001, "retry_max_wait": 0.01}


def most_in_window(times: list[float], window: float) -> int:
    """The most arrivals in any window of ``window`` seconds (the busiest one starts with an arrival)."""
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


@pytest.fixture
def marketo_emulator_options() -> dict[str, Any]:
    """The emulator's own window is the test's: it would answer 606 past the share times two."""
    return {"rate_limit_calls": 2 * SHARE, "rate_limit_window": WINDOW, "max_concurrent": 100}


@pytest.fixture
def paced_connection(emulator, monkeypatch, shorten_rate_window) -> str:
    shorten_rate_window(WINDOW)
    connection = json.loads(emulator.connection_json())
    connection["extra"] = {"calls_per_20s": SHARE, "max_concurrent_calls": 10, **FAST}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    return CONN_ID


@pytest.fixture
def export_id(paced_connection, emulator) -> str:
    job = MarketoHook(CONN_ID).create_export(
        PROGRAM_MEMBERS.request(fields=["leadId"], filter={"programId": 1044})
    )
    emulator.clear_requests()
    return str(job["exportId"])


def counted_arrivals(emulator: Any) -> list[float]:
    return [r.arrived_at for r in emulator.requests if r.endpoint not in ("token", "unknown")]


def test_sync_threads_and_coroutines_together_stay_within_the_share(emulator, export_id):
    calls = 4 * SHARE

    def sync_status() -> None:
        MarketoHook(CONN_ID).get_export_status(PROGRAM_MEMBERS, export_id)

    async def async_statuses() -> None:
        hooks = [MarketoHook(CONN_ID) for _ in range(calls // 2)]
        try:
            await asyncio.gather(*(h.aget_export_status(PROGRAM_MEMBERS, export_id) for h in hooks))
        finally:
            await asyncio.gather(*(h.aclose() for h in hooks))

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        sync_calls = [pool.submit(sync_status) for _ in range(calls // 2)]
        asyncio.run(async_statuses())
        for call in sync_calls:
            call.result()
    took = time.monotonic() - started

    arrivals = counted_arrivals(emulator)
    assert len(arrivals) == calls
    assert most_in_window(arrivals, WINDOW) <= SHARE
    assert all(r.marketo_code != "606" for r in emulator.requests)  # they waited instead
    assert took >= (calls / SHARE - 1) * WINDOW  # 24 calls at 6 per window: 3 windows of waiting at least


def test_token_calls_are_not_paced(emulator, export_id):
    """Marketo does not count token calls: a full window never holds up the token a call needs."""
    window = call_pacing.call_window(emulator.base_url)
    while window.try_enter(SHARE) == 0.0:  # calls running that hold every place
        pass
    MarketoHook.clear_token_cache()

    started = time.monotonic()
    MarketoHook(CONN_ID).get_access_token()

    assert time.monotonic() - started < WINDOW / 2
    assert window.try_enter(SHARE) > 0  # still full
    assert len(emulator.calls("token")) == 1


async def test_a_606_from_another_integration_is_still_retried(emulator, export_id):
    emulator.inject("status", Fault(code="606"))
    hook = MarketoHook(CONN_ID)
    try:
        record = await hook.aget_export_status(PROGRAM_MEMBERS, export_id)
    finally:
        await hook.aclose()

    assert record["exportId"] == export_id
    assert [r.marketo_code for r in emulator.calls("status")] == ["606", None]


async def test_a_cancelled_waiting_call_takes_no_place(paced_connection):
    window = CallWindow(WINDOW)
    for _ in range(SHARE):
        assert window.try_enter(SHARE) == 0.0
    waiting = asyncio.create_task(window.aplace(SHARE).__aenter__())
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    assert window.held() == SHARE


def test_the_default_share_is_50_calls_in_20_seconds():
    """Marketo's real numbers, on the window alone: the 51st call of a burst waits for the first to age."""
    assert call_pacing.RATE_WINDOW == 20.0
    window = CallWindow(call_pacing.RATE_WINDOW)
    assert [window.try_enter(DEFAULT_CALLS_PER_20S) for _ in range(50)] == [0.0] * 50
    assert window.try_enter(DEFAULT_CALLS_PER_20S) == call_pacing.BUSY_WAIT  # all 50 still running
    for _ in range(50):
        window.leave()

    wait = window.try_enter(DEFAULT_CALLS_PER_20S)
    assert 19.9 < wait <= 20.0
    assert window.held() == 50
    assert window.try_enter(100) == 0.0  # a connection with a larger share gets its extra places


def test_a_place_frees_a_window_after_its_call_ended_not_after_it_began():
    """A call is counted when it arrives, between its admission and its end: the place lasts past the end."""
    window = CallWindow(0.2)
    assert window.try_enter(1) == 0.0
    time.sleep(0.15)  # a slow call
    window.leave()

    assert 0.15 < window.try_enter(1) <= 0.2


def test_waiting_threads_are_served_in_turn_without_busy_waiting():
    window = CallWindow(0.1)
    admitted: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        with window.place(2), lock:
            admitted.append(time.monotonic())

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(admitted) == 6
    assert most_in_window(admitted, 0.1) <= 2
