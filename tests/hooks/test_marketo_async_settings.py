"""What a trigger's poll costs on the async path: one connection lookup per hook, no retry machinery.

The lookup (the secrets backends' configuration read, a hop to a worker thread, the parse) was most of a
poll's CPU; a triggerer running thousands of triggers polls hundreds of times a second. The sync path
keeps its settings for the hook's life too (``MarketoHook.settings``). A single-attempt call (a poll)
skips tenacity but ends as it would: a retryable error transient, saying it gave up, any other as it is.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_marketo_pm.exceptions import MarketoApiError, MarketoTransientError
from airflow_provider_marketo_pm.hooks import marketo as marketo_module
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.testing import Fault
from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger


@pytest.fixture
def lookups(monkeypatch) -> list[str]:
    """The conn ids of every async connection lookup the hook module makes."""
    seen: list[str] = []
    original = marketo_module.aget_connection_and_extra

    async def counting(conn_id: str) -> tuple[Any, dict[str, Any]]:
        seen.append(conn_id)
        return await original(conn_id)

    monkeypatch.setattr(marketo_module, "aget_connection_and_extra", counting)
    return seen


@pytest.fixture
def export_id(emulator) -> str:
    """A job left Created: its status stays pending, so a trigger keeps polling it."""
    job = MarketoHook().create_export(PROGRAM_MEMBERS.request(fields=["leadId"], filter={"programId": 1044}))
    return str(job["exportId"])


async def test_a_hooks_async_calls_look_the_connection_up_once(emulator, export_id, lookups):
    hook = MarketoHook(max_retries=0)
    try:
        for _ in range(3):
            await hook.aget_export_status(PROGRAM_MEMBERS, export_id)
        settings = await hook.aget_settings()
    finally:
        await hook.aclose()

    assert lookups == ["marketo_default"]
    assert settings.max_retries == 0  # the hook's own arguments still apply over the kept connection


async def test_a_polling_trigger_looks_the_connection_up_once_per_run(emulator, export_id, lookups):
    # The trigger's retry budget (the connection's max_retries) comes from the same lookup as its polls.
    trigger = MarketoProgramMemberExportTrigger(export_id=export_id, poll_interval=0.01)

    async def watch() -> None:
        async for _ in trigger.run():
            pass

    task = asyncio.create_task(watch())
    while len(emulator.calls("status")) < 4 and not task.done():  # noqa: ASYNC110 - the emulator's log
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert len(emulator.calls("status")) >= 4
    assert lookups == ["marketo_default"]


@pytest.mark.parametrize(
    ("fault", "raised", "transient"),
    [
        (Fault(http_status=503), MarketoTransientError, True),
        (Fault(code="606"), MarketoTransientError, True),
        (Fault(code="603"), MarketoApiError, False),
    ],
)
async def test_a_single_attempt_ends_as_the_retry_policy_would_with_one_try(
    emulator, export_id, fault, raised, transient
):
    emulator.clear_requests()
    emulator.inject("status", fault)
    hook = MarketoHook(max_retries=0)
    try:
        with pytest.raises(raised) as caught:
            await hook.aget_export_status(PROGRAM_MEMBERS, export_id)
    finally:
        await hook.aclose()

    assert len(emulator.calls("status")) == 1
    assert isinstance(caught.value, MarketoTransientError) is transient
    assert ("Gave up after 1 attempt in" in str(caught.value)) is transient
