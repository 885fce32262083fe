"""A token is reused while it lives: every call that fits in its remaining life uses it, the last seconds
are waited out, and many callers at once make one token call (worker threads and coroutines alike).

Marketo, asked for a token while one is live, hands back that token with its remaining life: the emulator
does the same, and ``emu.advance()`` ages the live token; clearing the hook's cache then makes the hook a
process that only learns the token from Marketo's answer (``expires_in`` shrinking).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from marketo_exports import start_export_via_hook, wait_for_export_status

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.hooks.token_cache import EXPIRY_SLACK, AccessTokenCache, TokenStep
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS

KEY = ("https://123-ABC-456.mktorest.com/identity", "client-id")
CALLS = 20
TIMEOUT = 5.0


# --- the rule ----------------------------------------------------------------------------------------------


def test_a_token_is_reused_until_less_than_the_margin_is_left():
    cache = AccessTokenCache()
    cache.put(KEY, "t1", expires_in=3600)
    assert cache.get(KEY, margin=60) == "t1"
    assert cache.get(KEY, margin=3601) is None
    assert cache.get(("https://other/identity", "client-id"), margin=60) is None


def test_a_token_serves_a_call_that_fits_and_is_waited_out_for_one_that_does_not():
    cache = AccessTokenCache()
    assert cache.next_step(KEY, needed=60) == TokenStep()  # none: fetch at once
    cache.put(KEY, "live", expires_in=30)
    assert cache.next_step(KEY, needed=10) == TokenStep(token="live")
    waiting = cache.next_step(KEY, needed=60)
    assert (waiting.token, waiting.waiting_out) == (None, "live")
    assert 30 <= waiting.wait <= 30 + EXPIRY_SLACK  # until Marketo has surely expired it
    cache.put(KEY, "next", expires_in=20)  # an instance whose tokens live less than a call may take
    assert cache.next_step(KEY, needed=60, waited_out="live") == TokenStep(token="next")
    cache.put(KEY, "live", expires_in=1)  # the live one again: Marketo's clock is behind ours
    assert cache.next_step(KEY, needed=60, waited_out="live").waiting_out == "live"


def test_a_tokens_life_is_counted_from_when_it_was_asked_for():
    cache = AccessTokenCache()
    cache.put(KEY, "t1", expires_in=30, asked_at=time.monotonic() - 25)  # a token call that took 25 s
    assert cache.get(KEY, margin=4) == "t1"
    assert cache.get(KEY, margin=6) is None


def test_discarding_a_stale_token_keeps_one_another_caller_renewed():
    cache = AccessTokenCache()
    cache.put(KEY, "renewed", expires_in=3600)
    cache.discard(KEY, "stale")
    assert cache.get(KEY, margin=0) == "renewed"
    cache.discard(KEY, "renewed")
    assert cache.get(KEY, margin=0) is None


def test_clear_forgets_every_token():
    cache = AccessTokenCache()
    cache.put(KEY, "t1", expires_in=3600)
    cache.clear()
    assert cache.get(KEY, margin=0) is None


# --- the hook against the emulator -------------------------------------------------------------------------


@pytest.fixture
def marketo_emulator_options():
    """Room for 20 calls at once: Marketo's 10 concurrent calls would only exercise the retries."""
    return {"max_concurrent": 2 * CALLS}


@pytest.fixture
def export_id(emulator, monkeypatch) -> str:
    """A job left Created; the connection's timeout 5 s; the hook's cache cold and the request log empty."""
    connection = {**json.loads(emulator.connection_json()), "extra": {"timeout": TIMEOUT}}
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", json.dumps(connection))
    export_id = start_export_via_hook(enqueue=False)
    MarketoHook.clear_token_cache()
    emulator.clear_requests()
    return export_id


def age_the_live_token(emulator, left: float) -> None:
    """Marketo's live token now has ``left`` seconds of life; this process has forgotten it."""
    emulator.advance(emulator.options.token_ttl - left)
    MarketoHook.clear_token_cache()


def tokens_sent(emulator, endpoint: str) -> list[str]:
    return [r.headers["authorization"].split(" ", 1)[1] for r in emulator.calls(endpoint)]


def test_a_token_with_30_s_left_serves_every_call_that_fits(emulator, export_id):
    MarketoHook().get_access_token()
    age_the_live_token(emulator, 30)  # with the timeout at 5 s, 30 s fit many calls
    emulator.clear_requests()

    hook = MarketoHook()
    for _ in range(CALLS):
        hook.get_export_status(PROGRAM_MEMBERS, export_id)

    assert len(emulator.calls("token")) == 1  # learnt once; before: one token call per status call
    assert len(set(tokens_sent(emulator, "status"))) == 1
    assert [r.marketo_code for r in emulator.calls("status")] == [None] * CALLS


async def test_a_token_with_30_s_left_serves_every_call_that_fits_async(emulator, export_id):
    MarketoHook().get_access_token()
    age_the_live_token(emulator, 30)
    emulator.clear_requests()

    hook = MarketoHook()
    try:
        for _ in range(CALLS):
            await hook.aget_export_status(PROGRAM_MEMBERS, export_id)
    finally:
        await hook.aclose()

    assert len(emulator.calls("token")) == 1
    assert [r.marketo_code for r in emulator.calls("status")] == [None] * CALLS


def test_a_token_in_its_last_seconds_is_waited_out_then_renewed(emulator, export_id):
    hook = MarketoHook()
    hook.get_export_status(PROGRAM_MEMBERS, export_id)
    age_the_live_token(emulator, 1.5)  # less than the call's 5 s deadline
    emulator.clear_requests()

    started = time.monotonic()
    hook.get_export_status(PROGRAM_MEMBERS, export_id)
    waited = time.monotonic() - started

    assert len(emulator.calls("token")) == 2  # the live token learnt, then the next one after it expired
    assert tokens_sent(emulator, "status") == [emulator.instance.tokens.current]  # the new one, once
    assert [r.marketo_code for r in emulator.calls("status")] == [None]  # never a 602
    assert 1.0 <= waited <= 1.5 + EXPIRY_SLACK + 1.0, waited


def test_twenty_threads_make_one_token_call(emulator, export_id):
    download_id = start_export_via_hook()
    wait_for_export_status(emulator, download_id)
    MarketoHook.clear_token_cache()
    emulator.clear_requests()
    start = threading.Barrier(CALLS)
    errors: list[BaseException] = []

    def status() -> None:
        MarketoHook().get_export_status(PROGRAM_MEMBERS, export_id)

    def download() -> None:
        with MarketoHook().open_export_file(PROGRAM_MEMBERS, download_id) as export_file:
            b"".join(export_file.iter_chunks())

    def run(call) -> None:  # type: ignore[no-untyped-def]
        start.wait()
        try:
            call()
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(status if i % 2 else download,)) for i in range(CALLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(emulator.calls("status")) == len(emulator.calls("file")) == CALLS // 2
    assert len(emulator.calls("token")) == 1  # before: 11 of 20


async def test_many_coroutines_make_one_token_call_and_wait_out_a_token_together(emulator, export_id):
    MarketoHook().get_access_token()
    age_the_live_token(emulator, 1.5)
    emulator.clear_requests()
    hooks = [MarketoHook() for _ in range(CALLS)]
    try:
        await asyncio.gather(*(hook.aget_export_status(PROGRAM_MEMBERS, export_id) for hook in hooks))
    finally:
        await asyncio.gather(*(hook.aclose() for hook in hooks))

    assert len(emulator.calls("token")) == 2  # the live token, then the next: once for all of them
    assert set(tokens_sent(emulator, "status")) == {emulator.instance.tokens.current}
    assert [r.marketo_code for r in emulator.calls("status")] == [None] * CALLS
