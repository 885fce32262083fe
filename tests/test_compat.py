"""_compat: the old names keep working, each with a DeprecationWarning that names the new one: module names
and the hook's old methods."""

from __future__ import annotations

import importlib
import inspect

import pytest

from airflow_provider_marketo_pm._compat import MOVED, resolve
from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.hooks import call_retries
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("RetryPolicy", call_retries.CallRetries, id="the hook's RetryPolicy is CallRetries"),
        pytest.param("retry_policy", call_retries.tenacity_kwargs, id="retry_policy() is tenacity_kwargs()"),
    ],
)
def test_an_old_name_warns_and_is_the_new_object(old, new):
    with pytest.warns(
        DeprecationWarning, match=rf"call_retries\.{old} is deprecated; use .*\.{new.__name__}"
    ):
        assert getattr(call_retries, old) is new


def test_the_old_import_statement_still_works():
    with pytest.warns(DeprecationWarning, match="CallRetries"):
        from airflow_provider_marketo_pm.hooks.call_retries import RetryPolicy

    assert RetryPolicy(max_retries=1, min_wait=1, max_wait=2, max_time=3).max_retries == 1


def test_a_name_that_never_existed_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        call_retries.NoSuchThing  # noqa: B018


@pytest.mark.parametrize(("old", "new"), list(MOVED.items()), ids=lambda pair: ".".join(pair))
def test_every_moved_name_resolves_and_is_gone_from_its_module(old, new):
    old_module, old_name = old
    new_module, new_name = new
    assert old_name not in vars(importlib.import_module(old_module))  # else __getattr__ never runs
    assert old_name not in importlib.import_module(old_module).__all__
    with pytest.warns(DeprecationWarning, match=rf"{old_name} is deprecated; use {new_module}\.{new_name}"):
        assert getattr(importlib.import_module(old_module), old_name) == resolve(new_module, new_name)


# --- the hook's program member methods of 0.1.0 ------------------------------------------------------------

DEPRECATED_METHOD = r"MarketoHook\.\w+ is deprecated; use MarketoHook\."

OLD_HOOK_METHODS = [
    # (old method, its arguments, the method taking a kind it calls with PROGRAM_MEMBERS and the same ones)
    ("enqueue_program_member_export", ("e1",), {}, "enqueue_export"),
    ("get_program_member_export_status", ("e1",), {}, "get_export_status"),
    ("aget_program_member_export_status", ("e1",), {}, "aget_export_status"),
    ("cancel_program_member_export", ("e1",), {}, "cancel_export"),
    ("acancel_program_member_export", ("e1",), {}, "acancel_export"),
    ("list_program_member_exports", ("Completed",), {"batch_size": 5}, "list_exports"),
    ("open_program_member_export_file", ("e1", 7), {}, "open_export_file"),
]


def spy_on(monkeypatch, hook, method):
    """Replace ``hook.method`` by a spy (async for an async method) that records its arguments."""
    calls = []

    def sync(*args, **kwargs):
        calls.append((args, kwargs))
        return "answer"

    async def asynchronous(*args, **kwargs):
        return sync(*args, **kwargs)

    monkeypatch.setattr(
        hook, method, asynchronous if inspect.iscoroutinefunction(getattr(hook, method)) else sync
    )
    return calls


async def called(method, *args, **kwargs):
    answer = method(*args, **kwargs)
    return await answer if inspect.isawaitable(answer) else answer


@pytest.mark.parametrize(
    ("old", "args", "kwargs", "new"), OLD_HOOK_METHODS, ids=[m[0] for m in OLD_HOOK_METHODS]
)
async def test_an_old_hook_method_warns_and_calls_the_method_taking_a_kind(
    monkeypatch, old, args, kwargs, new
):
    hook = MarketoHook()
    calls = spy_on(monkeypatch, hook, new)
    with pytest.warns(DeprecationWarning, match=rf"MarketoHook\.{old} is deprecated; use MarketoHook\.{new}"):
        answer = await called(getattr(hook, old), *args, **kwargs)
    assert answer == "answer"
    assert calls == [((PROGRAM_MEMBERS, *args), kwargs)]


def test_the_old_create_builds_the_program_member_request_and_creates_it(monkeypatch):
    hook = MarketoHook()
    calls = spy_on(monkeypatch, hook, "create_export")
    request = PROGRAM_MEMBERS.request(
        fields=["leadId"], filter={"programId": 1044}, format="TSV", column_header_names={"leadId": "Lead"}
    )
    with pytest.warns(
        DeprecationWarning, match=r"create_program_member_export is deprecated; use .*create_export"
    ):
        hook.create_program_member_export(["leadId"], {"programId": 1044}, "TSV", {"leadId": "Lead"})
    with pytest.warns(DeprecationWarning, match=DEPRECATED_METHOD):
        hook.create_program_member_export(request)  # an ExportRequest, as 0.1.0 took too
    assert calls == [((request,), {}), ((request,), {})]


def test_the_old_create_refuses_a_bad_request_before_any_call(monkeypatch):
    hook = MarketoHook()
    calls = spy_on(monkeypatch, hook, "create_export")
    with (
        pytest.warns(DeprecationWarning, match=DEPRECATED_METHOD),
        pytest.raises(MarketoRequestError, match="fields"),
    ):
        hook.create_program_member_export([], {"programId": 1044})
    assert calls == []


def test_the_old_hook_methods_still_run_an_export_against_marketo(emulator):
    """The README's recipe of 0.1.0, against the emulator: each step warns, and the export is the same."""
    hook = MarketoHook(retry_min_wait=0.001, retry_max_wait=0.01)
    with pytest.warns(DeprecationWarning, match=DEPRECATED_METHOD):
        export_id = hook.create_program_member_export(["leadId"], {"programId": 1044})["exportId"]
    with pytest.warns(DeprecationWarning, match=DEPRECATED_METHOD):
        hook.enqueue_program_member_export(export_id)
    hook.wait_for_export(PROGRAM_MEMBERS, export_id, poll_interval=0.05, timeout=30)
    with pytest.warns(DeprecationWarning, match=DEPRECATED_METHOD):
        assert hook.get_program_member_export_status(export_id)["status"] == "Completed"
    with pytest.warns(DeprecationWarning, match=DEPRECATED_METHOD):
        opened = hook.open_program_member_export_file(export_id)
    with opened as export_file:
        assert b"".join(export_file.iter_chunks()) == emulator.file_bytes(export_id)
    with pytest.warns(DeprecationWarning, match=DEPRECATED_METHOD):
        assert export_id in {job["exportId"] for job in hook.list_program_member_exports()}
