"""The process-wide access token cache: reuse until the margin, and no eviction of a renewed token."""

from __future__ import annotations

from airflow_provider_marketo_pm.hooks.token_cache import AccessTokenCache

KEY = ("https://123-ABC-456.mktorest.com/identity", "client-id")


def test_a_token_is_reused_until_less_than_the_margin_is_left():
    cache = AccessTokenCache()
    cache.put(KEY, "t1", expires_in=3600)
    assert cache.get(KEY, margin=60) == "t1"
    assert cache.get(KEY, margin=3601) is None
    assert cache.get(("https://other/identity", "client-id"), margin=60) is None


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
