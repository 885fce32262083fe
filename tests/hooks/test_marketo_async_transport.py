"""The hook's async transport under fan-out: one token fetch for many cold callers, one session per loop.

A triggerer runs hundreds of export triggers in one event loop. They must not each ask for a token when
they find the cache empty together, and a trigger's polls must share keep-alive connections that are
closed when the last trigger ends, however it ends (tests/hooks/test_shared_sessions.py: many hooks).
"""

from __future__ import annotations

import asyncio
import gc
from contextlib import aclosing
from typing import Any

import aiohttp
import pytest

from airflow_provider_marketo_pm.exceptions import MarketoApiError, MarketoTransientError
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.testing import Fault
from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger

FAST = {"retry_min_wait": 0.001, "retry_max_wait": 0.01}
CALLERS = 50

# An unclosed aiohttp session warns when it is collected: make that a failure, not a log line.
pytestmark = [
    pytest.mark.filterwarnings("error::ResourceWarning"),
    pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture
def marketo_emulator_options() -> dict[str, Any]:
    """Room for 50 calls at once: Marketo's 10 concurrent calls would only exercise the retries."""
    return {"max_concurrent": 2 * CALLERS}


@pytest.fixture(autouse=True)
def _rate_share_out_of_the_way(shorten_rate_window):
    """51 calls at once: the process's 50 per 20 s would hold one back 20 s (see test_call_pacing)."""
    shorten_rate_window(0.05)


@pytest.fixture(autouse=True)
def _cold_token_cache():
    MarketoHook.clear_token_cache()
    yield
    MarketoHook.clear_token_cache()
    gc.collect()  # an unclosed session left by the test warns now, inside it


@pytest.fixture
def export_id(emulator) -> str:
    """A job left Created (its status stays pending, so a trigger keeps polling it); the token cache cold."""
    job = MarketoHook(**FAST).create_export(
        PROGRAM_MEMBERS.request(fields=["leadId"], filter={"programId": 1044})
    )
    MarketoHook.clear_token_cache()
    emulator.clear_requests()
    return str(job["exportId"])


@pytest.fixture
def sessions(monkeypatch) -> list[aiohttp.ClientSession]:
    """Every aiohttp session made during the test."""
    made: list[aiohttp.ClientSession] = []
    original_init = aiohttp.ClientSession.__init__

    def recording_init(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", recording_init)
    return made


@pytest.fixture
async def connections(monkeypatch) -> list[object]:
    """One entry per TCP connection the running event loop opens (aiohttp opens them through it)."""
    opened: list[object] = []
    loop = asyncio.get_running_loop()
    original = loop.create_connection

    async def counting_create_connection(*args: Any, **kwargs: Any) -> Any:
        opened.append(kwargs.get("sock") or args[1:3])
        return await original(*args, **kwargs)

    monkeypatch.setattr(loop, "create_connection", counting_create_connection)
    return opened


async def cold_status_calls(export_id: str, callers: int) -> list[dict[str, Any]]:
    """``callers`` hooks (one per trigger) asking for the same status at once."""
    hooks = [MarketoHook(**FAST) for _ in range(callers)]
    try:
        return await asyncio.gather(*(hook.aget_export_status(PROGRAM_MEMBERS, export_id) for hook in hooks))
    finally:
        await asyncio.gather(*(hook.aclose() for hook in hooks))


# --- one token for many cold callers ---------------------------------------------------------------------


async def test_concurrent_callers_on_a_cold_cache_fetch_one_token(emulator, export_id):
    records = await cold_status_calls(export_id, CALLERS)

    assert [r["exportId"] for r in records] == [export_id] * CALLERS
    assert len(emulator.calls("status")) == CALLERS
    assert len(emulator.calls("token")) == 1


def test_token_fetches_are_single_flight_in_every_event_loop(emulator, export_id):
    """The cache is process-wide, its asyncio locks are per loop: a second loop neither breaks nor shares."""
    asyncio.run(cold_status_calls(export_id, 10))
    MarketoHook.clear_token_cache()
    asyncio.run(cold_status_calls(export_id, 10))

    assert len(emulator.calls("status")) == 20
    assert len(emulator.calls("token")) == 2


async def test_a_failed_token_fetch_lets_the_next_waiting_caller_try(emulator, export_id):
    emulator.inject("token", Fault(http_status=503), Fault(http_status=503))
    hooks = [MarketoHook(max_retries=0, **FAST) for _ in range(3)]
    try:
        outcomes = await asyncio.gather(
            *(hook.aget_export_status(PROGRAM_MEMBERS, export_id) for hook in hooks), return_exceptions=True
        )
    finally:
        await asyncio.gather(*(hook.aclose() for hook in hooks))

    assert [type(o) for o in outcomes].count(MarketoTransientError) == 2
    assert [r.status for r in emulator.calls("token")] == [503, 503, 200]


# --- a hook's lease on the loop's session ----------------------------------------------------------------


async def test_a_hook_reuses_one_session_and_connection_until_aclose(
    emulator, export_id, sessions, connections
):
    hook = MarketoHook(timeout=7, **FAST)

    for _ in range(5):
        await hook.aget_export_status(PROGRAM_MEMBERS, export_id)
    await hook.acancel_export(PROGRAM_MEMBERS, export_id)

    (session,) = sessions
    assert not session.closed
    assert len(connections) == 1  # token, 5 status calls and the cancel on one keep-alive connection
    await hook.aclose()
    assert session.closed
    await hook.aclose()  # idempotent


async def test_aclose_before_any_call_is_harmless(sessions):
    await MarketoHook(**FAST).aclose()

    assert sessions == []


def test_a_hook_used_in_two_event_loops_gets_a_session_in_each(emulator, export_id, sessions):
    hook = MarketoHook(**FAST)

    async def poll_and_close() -> dict[str, Any]:
        try:
            return await hook.aget_export_status(PROGRAM_MEMBERS, export_id)
        finally:
            await hook.aclose()

    first, second = asyncio.run(poll_and_close()), asyncio.run(poll_and_close())

    assert first["exportId"] == second["exportId"] == export_id
    assert len(sessions) == 2
    assert all(session.closed for session in sessions)


async def test_the_shared_session_outlives_an_error_answer(emulator, export_id, sessions):
    emulator.inject("status", Fault(code="603"))
    async with aclosing(MarketoHook(**FAST)) as hook:
        with pytest.raises(MarketoApiError, match="Read-Only Lead"):
            await hook.aget_export_status(PROGRAM_MEMBERS, export_id)
        record = await hook.acancel_export(PROGRAM_MEMBERS, export_id)

    assert record["status"] == "Cancelled"
    (session,) = sessions
    assert session.closed


# --- the trigger: one hook, one session, one connection per run ------------------------------------------


async def test_a_polling_trigger_opens_one_connection_and_closes_its_session(
    emulator, export_id, sessions, connections
):
    trigger = MarketoProgramMemberExportTrigger(export_id=export_id, poll_interval=0.02)
    polls = 6

    async def watch() -> None:
        async for _ in trigger.run():
            pass

    task = asyncio.create_task(watch())
    while len(emulator.calls("status")) < polls and not task.done():  # noqa: ASYNC110 - the emulator's log
        await asyncio.sleep(0.01)
    task.cancel()  # a triggerer cancels the trigger when its task is cleared or reassigned
    with pytest.raises(asyncio.CancelledError):
        await task

    assert len(emulator.calls("status")) >= polls
    assert len(emulator.calls("token")) == 1
    (session,) = sessions
    assert session.closed
    assert len(connections) == 1


async def test_a_trigger_that_finishes_closes_its_session(emulator, export_id, sessions):
    emulator.cancel_job(export_id)
    trigger = MarketoProgramMemberExportTrigger(export_id=export_id, poll_interval=0.02)

    events = [event.payload async for event in trigger.run()]

    assert [e["status"] for e in events] == ["error"]
    (session,) = sessions
    assert session.closed
