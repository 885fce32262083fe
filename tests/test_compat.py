"""_compat: the old names keep working, each with a DeprecationWarning that names the new one."""

from __future__ import annotations

import importlib

import pytest

from airflow_provider_marketo_pm._compat import MOVED, resolve
from airflow_provider_marketo_pm.hooks import call_retries


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
