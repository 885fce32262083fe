"""Many triggers, one session: sockets stay as many as ``max_concurrent_calls``, however many triggers poll.

Each status trigger used to keep an aiohttp session and a keep-alive socket of its own: 1,100 triggers
under a 1,024 file-descriptor limit lost polls to EMFILE. Now the hooks of one event loop calling one
instance as one API user lease one session whose connector keeps at most ``max_concurrent_calls``
sockets, and never more calls than that run at once (counted by the emulator, server-side).
"""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import psutil
import pytest

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.hooks.shared_sessions import SESSIONS
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.testing import Fault
from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger

CONN_ID = "marketo_shared"
BOUND = 3

pytestmark = [
    pytest.mark.filterwarnings("error::ResourceWarning"),
    pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture
def marketo_emulator_options() -> dict[str, Any]:
    """Marketo's limits out of the way: the emulator counts what arrives, the client keeps the bound."""
    return {"max_concurrent": 10**4, "rate_limit_calls": 10**9}


@pytest.fixture
def bounded_connection(emulator, monkeypatch, shorten_rate_window) -> str:
    """A connection with ``max_concurrent_calls=3`` and the whole rate share over a 50 ms window."""
    shorten_rate_window(0.05)
    connection = json.loads(emulator.connection_json())
    connection["extra"] = {"max_concurrent_calls": BOUND, "calls_per_20s": 100}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    yield CONN_ID
    gc.collect()  # an unclosed session left by the test warns now, inside it


def export_ids(count: int) -> list[str]:
    hook = MarketoHook(CONN_ID)
    request = PROGRAM_MEMBERS.request(fields=["leadId"], filter={"programId": 1044})
    return [str(hook.create_export(request)["exportId"]) for _ in range(count)]


def client_sockets(port: int) -> int:
    """This process's TCP sockets to the emulator (the client ends; the emulator's own ends excluded)."""
    return sum(1 for c in psutil.Process().net_connections("tcp") if c.raddr and c.raddr.port == port)


async def sockets_while_polling(emulator: Any, ids: list[str]) -> tuple[int, int]:
    """Start one trigger per job, wait until every job was polled twice; the sockets then, at most."""
    port = int(emulator.base_url.rsplit(":", 1)[1])
    triggers = [
        MarketoProgramMemberExportTrigger(export_id=i, marketo_conn_id=CONN_ID, poll_interval=0.05)
        for i in ids
    ]

    async def watch(trigger: MarketoProgramMemberExportTrigger) -> None:
        async for _ in trigger.run():
            pass

    tasks = [asyncio.create_task(watch(t)) for t in triggers]
    most = 0
    try:
        while True:
            polled = {call.path.split("/")[-2] for call in emulator.calls("status")}
            most = max(most, client_sockets(port))
            if len(polled) == len(ids) and len(emulator.calls("status")) >= 2 * len(ids):
                break
            await asyncio.sleep(0.02)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return most, client_sockets(port)


@pytest.mark.slow
async def test_sockets_stay_within_the_bound_for_50_and_500_triggers(emulator, bounded_connection):
    few, many = export_ids(50), export_ids(500)
    MarketoHook.clear_token_cache()

    emulator.clear_requests()
    most_for_few, left_for_few = await sockets_while_polling(emulator, few)
    emulator.clear_requests()
    most_for_many, left_for_many = await sockets_while_polling(emulator, many)

    assert 1 <= most_for_few <= BOUND
    assert 1 <= most_for_many <= BOUND  # flat: 10 times the triggers, the same sockets
    assert left_for_few == left_for_many == 0  # the last trigger to end closed the session
    assert emulator.instance.limits.peak_in_flight <= BOUND


async def test_calls_in_flight_never_exceed_max_concurrent_calls(emulator, bounded_connection):
    (export_id,) = export_ids(1)
    emulator.inject("status", *[Fault(delay=0.05)] * 20)
    before = emulator.instance.limits.peak_in_flight
    hooks = [MarketoHook(CONN_ID) for _ in range(20)]
    try:
        records = await asyncio.gather(*(h.aget_export_status(PROGRAM_MEMBERS, export_id) for h in hooks))
    finally:
        await asyncio.gather(*(h.aclose() for h in hooks))

    assert [r["exportId"] for r in records] == [export_id] * 20
    assert before == 1  # the create, alone
    assert emulator.instance.limits.peak_in_flight == BOUND  # reached, never passed


async def test_hooks_of_one_loop_and_connection_share_one_session_closed_by_the_last(
    emulator, bounded_connection
):
    (export_id,) = export_ids(1)
    first, second = MarketoHook(CONN_ID), MarketoHook(CONN_ID)
    await first.aget_export_status(PROGRAM_MEMBERS, export_id)
    await second.aget_export_status(PROGRAM_MEMBERS, export_id)
    session = first._lease.session if first._lease else None

    assert session is not None
    assert second._lease is not None
    assert second._lease.session is session
    await first.aclose()
    assert not session.closed  # the second hook still holds it
    await second.aclose()
    assert session.closed


async def test_another_connection_of_the_same_user_with_another_bound_gets_its_own_session(
    emulator, bounded_connection, monkeypatch
):
    connection = json.loads(emulator.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_OTHER", json.dumps(connection))  # default bound: 5
    (export_id,) = export_ids(1)
    bounded, default = MarketoHook(CONN_ID), MarketoHook("marketo_other")
    try:
        await bounded.aget_export_status(PROGRAM_MEMBERS, export_id)
        await default.aget_export_status(PROGRAM_MEMBERS, export_id)
        assert bounded._lease is not None
        assert default._lease is not None
        assert bounded._lease.session is not default._lease.session
        assert bounded._lease.shared.slots._value == BOUND
        assert default._lease.shared.slots._value == 5
    finally:
        await bounded.aclose()
        await default.aclose()


async def test_a_hook_collected_without_aclose_gives_its_lease_back(emulator, bounded_connection):
    (export_id,) = export_ids(1)
    hook = MarketoHook(CONN_ID)
    await hook.aget_export_status(PROGRAM_MEMBERS, export_id)
    assert hook._lease is not None
    session = hook._lease.session

    del hook
    gc.collect()
    await asyncio.sleep(0.05)  # the close runs as a task of this loop

    assert session.closed
    assert SESSIONS.shared(session) is None or SESSIONS.shared(session).leases == 0
