"""How the hook reads its connection: base URL forms, extras, http refusal, session and UI metadata."""

from __future__ import annotations

import json

import pytest

from airflow_provider_marketo_pm.exceptions import MarketoConnectionConfigError
from airflow_provider_marketo_pm.hooks.connection_settings import resolve_base_url
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook


@pytest.mark.parametrize(
    ("host", "kwargs", "expected"),
    [
        ("https://123-ABC-456.mktorest.com", {}, "https://123-ABC-456.mktorest.com"),
        ("https://123-ABC-456.mktorest.com/rest/", {}, "https://123-ABC-456.mktorest.com"),
        ("https://123-ABC-456.mktorest.com/identity", {}, "https://123-ABC-456.mktorest.com"),
        ("  123-ABC-456 ", {}, "https://123-ABC-456.mktorest.com"),
        ("123-ABC-456.mktorest.com", {}, "https://123-ABC-456.mktorest.com"),
        ("http://127.0.0.1:8766", {}, "http://127.0.0.1:8766"),
        ("127.0.0.1", {"port": 8766}, "http://127.0.0.1:8766"),
        ("localhost:8766", {}, "http://localhost:8766"),
        ("http://[::1]:8766/", {}, "http://[::1]:8766"),
        ("127.0.0.1:8766", {"schema": "https"}, "https://127.0.0.1:8766"),
        # The optional Port field: the scheme's default adds nothing; the port the host names may repeat.
        ("https://123-ABC-456.mktorest.com", {"port": 443}, "https://123-ABC-456.mktorest.com"),
        ("123-ABC-456", {"port": 443}, "https://123-ABC-456.mktorest.com"),
        ("https://123-ABC-456.mktorest.com", {"port": 8443}, "https://123-ABC-456.mktorest.com:8443"),
        ("http://127.0.0.1:8766", {"port": 8766}, "http://127.0.0.1:8766"),
        ("http://127.0.0.1", {"port": 80}, "http://127.0.0.1"),
    ],
)
def test_base_url_forms(host, kwargs, expected):
    assert resolve_base_url(host, **kwargs) == expected


@pytest.mark.parametrize(
    ("host", "port", "message"),
    [
        ("http://127.0.0.1:8766", 8767, "port 8767 differs from the port 8766 in its host"),
        ("https://123-ABC-456.mktorest.com:8443", 443, "port 443 differs from the port 8443 in its host"),
        ("123-ABC-456", 70000, "port 70000 is not a TCP port"),
        ("123-ABC-456", -1, "port -1 is not a TCP port"),
    ],
)
def test_a_port_that_contradicts_the_host_or_is_no_port_is_refused(host, port, message):
    with pytest.raises(MarketoConnectionConfigError, match=message):
        resolve_base_url(host, port=port)


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("http://123-ABC-456.mktorest.com", "Refusing plain http"),
        ("http://10.1.2.3:8766", "Refusing plain http"),
        ("123-ABC-456.mktorest.com", None),
        ("", "has no host"),
        (None, "has no host"),
        ("ftp://123-ABC-456.mktorest.com", "not an http"),
    ],
)
def test_insecure_or_missing_hosts_are_refused(host, message):
    if message is None:
        assert resolve_base_url(host, schema="https").startswith("https://")
        with pytest.raises(MarketoConnectionConfigError, match="Refusing plain http"):
            resolve_base_url(host, schema="http")
        return
    with pytest.raises(MarketoConnectionConfigError, match=message):
        resolve_base_url(host)


@pytest.mark.parametrize(
    "host", ["https://app-ab12.marketo.com", "app-sj01.marketo.com", "https://APP-AB12.MARKETO.COM/#MM0A1"]
)
def test_marketos_web_ui_is_refused_saying_where_the_rest_endpoint_is(host):
    with pytest.raises(MarketoConnectionConfigError) as caught:
        resolve_base_url(host)
    message = str(caught.value)
    assert "is Marketo's web UI, not its REST API" in message
    assert "Admin > Integration > Web Services > REST API" in message
    assert "https://123-ABC-456.mktorest.com/rest" in message


def test_a_ui_host_fails_the_hook_before_any_call(monkeypatch):
    use_connection(monkeypatch, host="https://app-ab12.marketo.com", login="id", password="secret")
    with pytest.raises(MarketoConnectionConfigError, match="web UI"):
        MarketoHook().describe_program_members()


CREDENTIALS = {"host": "123-ABC-456", "login": "id", "password": "secret"}


def use_connection(monkeypatch, **conn):
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", json.dumps({"conn_type": "marketo", **conn}))


def test_settings_from_json_connection(monkeypatch):
    use_connection(
        monkeypatch,
        host="123-ABC-456",
        login="the-client-id",
        password="the-client-secret",
        extra={"identity_url": "https://sso.example.com", "timeout": 12.5, "max_retries": 0},
    )
    settings = MarketoHook().settings
    assert settings.base_url == "https://123-ABC-456.mktorest.com"
    assert settings.identity_url == "https://sso.example.com/identity"
    assert (settings.client_id, settings.client_secret) == ("the-client-id", "the-client-secret")
    assert (settings.timeout, settings.max_retries) == (12.5, 0)
    assert "the-client-secret" not in repr(settings)


def test_settings_from_uri_connection(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MARKETO_DEFAULT",
        "marketo://my%20client:s%3Acret@123-ABC-456.mktorest.com?timeout=30&retry_max_time=60",
    )
    settings = MarketoHook().settings
    # Airflow lower-cases the host of a URI; host names are case-insensitive.
    assert settings.base_url == "https://123-abc-456.mktorest.com"
    assert settings.identity_url == "https://123-abc-456.mktorest.com/identity"
    assert (settings.client_id, settings.client_secret) == ("my client", "s:cret")
    assert (settings.timeout, settings.retry_max_time) == (30.0, 60.0)


def test_constructor_overrides_extras(monkeypatch):
    use_connection(monkeypatch, host="123-ABC-456", login="id", password="secret", extra={"timeout": 30})
    settings = MarketoHook(timeout=2, max_retries=7, retry_max_time=9).settings
    assert (settings.timeout, settings.max_retries, settings.retry_max_time) == (2, 7, 9)


def test_backoff_waits_come_from_extras_json_or_uri(monkeypatch):
    use_connection(monkeypatch, **CREDENTIALS, extra={"retry_min_wait": 0.25, "retry_max_wait": 4})
    assert (MarketoHook().settings.retry_min_wait, MarketoHook().settings.retry_max_wait) == (0.25, 4.0)
    monkeypatch.setenv(
        "AIRFLOW_CONN_MARKETO_DEFAULT",
        "marketo://id:secret@123-ABC-456.mktorest.com?retry_min_wait=0.5&retry_max_wait=2",
    )
    assert (MarketoHook().settings.retry_min_wait, MarketoHook().settings.retry_max_wait) == (0.5, 2.0)


def test_unset_or_null_numeric_extras_take_the_defaults(monkeypatch):
    extra = dict.fromkeys(("timeout", "max_retries", "retry_min_wait", "retry_max_wait", "retry_max_time"))
    use_connection(monkeypatch, **CREDENTIALS, extra=extra)  # a form that saves empty fields as null
    settings = MarketoHook().settings
    assert (settings.timeout, settings.max_retries, settings.retry_max_time) == (60.0, 5, 300.0)
    assert (settings.retry_min_wait, settings.retry_max_wait) == (1.0, 30.0)


@pytest.mark.parametrize(
    ("hook_kwargs", "extra", "expected"),
    [
        ({"retry_min_wait": 0.1, "retry_max_wait": 0.2}, {"retry_min_wait": 2, "retry_max_wait": 8},
         (0.1, 0.2)),
        ({"retry_max_wait": 4}, {"retry_min_wait": 10, "retry_max_wait": 60}, (4, 4)),
        ({"retry_max_wait": 4}, {"retry_min_wait": 0.5}, (0.5, 4)),
        ({"retry_min_wait": 45}, {}, (45, 45)),
    ],
)  # fmt: skip
def test_constructor_backoff_overrides_the_extras_keeping_min_within_max(
    monkeypatch, hook_kwargs, extra, expected
):
    use_connection(monkeypatch, **CREDENTIALS, extra=extra)
    settings = MarketoHook(**hook_kwargs).settings
    assert (settings.retry_min_wait, settings.retry_max_wait) == expected


def test_constructor_refuses_a_first_wait_longer_than_the_longest():
    with pytest.raises(ValueError, match="retry_min_wait=5 must not exceed retry_max_wait=1"):
        MarketoHook(retry_min_wait=5, retry_max_wait=1)


@pytest.mark.parametrize(
    ("conn", "message"),
    [
        ({**CREDENTIALS, "extra": {"retry_min_wait": 0}}, "retry_min_wait=0 must be a positive number"),
        ({**CREDENTIALS, "extra": {"retry_max_wait": "-1"}}, "retry_max_wait='-1' must be a positive number"),
        ({**CREDENTIALS, "extra": {"retry_max_wait": True}}, "retry_max_wait=True must be a positive number"),
        ({**CREDENTIALS, "extra": {"retry_min_wait": 5, "retry_max_wait": 2}},
         "retry_min_wait=5 is longer than retry_max_wait=2"),
        ({**CREDENTIALS, "extra": {"retry_min_wait": 45}},
         "retry_min_wait=45 is longer than retry_max_wait=30"),
        ({"host": "123-ABC-456", "password": "secret"}, "client id as login"),
        ({"host": "123-ABC-456", "login": "id"}, "client id as login"),
        ({**CREDENTIALS, "extra": {"headers": {"X": "1"}}}, "unknown extra"),
        ({**CREDENTIALS, "extra": {"timeout": "soon"}}, "timeout='soon'"),
        ({**CREDENTIALS, "extra": {"timeout": "inf"}}, "timeout='inf' must be a finite number"),
        ({**CREDENTIALS, "extra": {"retry_max_time": 1e400}}, "retry_max_time=inf must be a finite number"),
        ({**CREDENTIALS, "extra": {"max_retries": -1}}, "max_retries=-1"),
        ({"host": "http://marketo.internal", "login": "id", "password": "s"}, "Refusing plain http"),
    ],
)  # fmt: skip
def test_unusable_connections_fail_clearly(monkeypatch, conn, message):
    use_connection(monkeypatch, **conn)
    with pytest.raises(MarketoConnectionConfigError, match=message):
        MarketoHook().settings  # noqa: B018


@pytest.mark.parametrize("flag", [True, "true"])
def test_insecure_http_opt_in_for_an_emulator_on_a_private_network(monkeypatch, flag):
    use_connection(monkeypatch, **{**CREDENTIALS, "host": "http://marketo-emulator:8766"},
                   extra={"allow_insecure_http": flag})  # fmt: skip
    settings = MarketoHook().settings
    assert settings.base_url == "http://marketo-emulator:8766"
    assert settings.identity_url == "http://marketo-emulator:8766/identity"


def test_insecure_http_flag_must_be_a_boolean(monkeypatch):
    use_connection(monkeypatch, **CREDENTIALS, extra={"allow_insecure_http": "yes please"})
    with pytest.raises(MarketoConnectionConfigError, match="allow_insecure_http='yes please'"):
        MarketoHook().settings  # noqa: B018


def test_session_sends_no_connection_extra_as_header(monkeypatch):
    use_connection(
        monkeypatch, host="123-ABC-456", login="id", password="secret", extra={"timeout": 5, "max_retries": 2}
    )
    hook = MarketoHook()
    session = hook.get_conn(headers={"X-Trace": "1"})
    assert {name.lower() for name in session.headers} <= {
        "accept",
        "user-agent",
        "accept-encoding",
        "connection",
        "x-trace",
    }
    assert session.auth is None
    assert hook.settings.base_url == "https://123-ABC-456.mktorest.com"


def test_hook_metadata_and_ui_fields():
    assert MarketoHook.conn_type == "marketo"
    assert MarketoHook.conn_name_attr == "marketo_conn_id"
    assert MarketoHook.default_conn_name == "marketo_default"
    assert MarketoHook.hook_name == "Marketo"
    behaviour = MarketoHook.get_ui_field_behaviour()
    assert set(behaviour) == {"hidden_fields", "relabeling", "placeholders"}
    assert behaviour["hidden_fields"] == ["schema"]  # Port stays: Airflow 3.3.1-3.3.2's Test button needs it
    assert behaviour["relabeling"]["login"] == "Client ID"
    assert behaviour["relabeling"]["password"] == "Client Secret"
    assert MarketoHook.get_connection_form_widgets() == {}


def test_the_share_of_marketos_limits_defaults_to_adobes_advice(monkeypatch):
    use_connection(monkeypatch, **CREDENTIALS, extra={"max_concurrent_calls": None, "calls_per_20s": None})
    settings = MarketoHook().settings
    assert (settings.max_concurrent_calls, settings.calls_per_20s) == (5, 50)


def test_the_share_of_marketos_limits_comes_from_extras_json_or_uri(monkeypatch):
    use_connection(monkeypatch, **CREDENTIALS, extra={"max_concurrent_calls": 10, "calls_per_20s": 1})
    assert (MarketoHook().settings.max_concurrent_calls, MarketoHook().settings.calls_per_20s) == (10, 1)
    monkeypatch.setenv(
        "AIRFLOW_CONN_MARKETO_DEFAULT",
        "marketo://id:secret@123-ABC-456.mktorest.com?max_concurrent_calls=2&calls_per_20s=100",
    )
    assert (MarketoHook().settings.max_concurrent_calls, MarketoHook().settings.calls_per_20s) == (2, 100)


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("max_concurrent_calls", 0, "from 1 to 10"),
        ("max_concurrent_calls", 11, "Marketo refuses more than 10 concurrent calls"),
        ("max_concurrent_calls", 2.5, "a whole number from 1 to 10"),
        ("max_concurrent_calls", True, "a whole number"),
        ("calls_per_20s", 101, "Marketo refuses more than 100 calls per 20 s"),
        ("calls_per_20s", -5, "from 1 to 100"),
        ("calls_per_20s", "fifty", "a whole number from 1 to 100"),
    ],
)
def test_a_share_outside_marketos_limits_is_refused_naming_the_extra(monkeypatch, name, value, rule):
    use_connection(monkeypatch, **CREDENTIALS, extra={name: value})
    with pytest.raises(MarketoConnectionConfigError, match=rf"extra {name}=.*{rule}"):
        _ = MarketoHook().settings
