"""Secrets: the client secret and every access token Marketo issued never appear in a log line, an
exception, an XCom value, or a request URL, in a full run and in failing ones.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from reliability_support import PipelineSettings, run_pipeline, use_emulator
from sqlalchemy import select

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.testing import Fault, MarketoEmulator

pytestmark = pytest.mark.slow
CLIENT_SECRET = "Zq7-reliability-CLIENT-SECRET-4f9e2b81"
WRONG_SECRET = "Wx3-reliability-WRONG-SECRET-c0ffee42"


def issued_tokens(emu: MarketoEmulator) -> set[str]:
    """Every token the client presented (only tokens Marketo issued get sent) plus the live one."""
    tokens = {
        r.headers["authorization"].partition(" ")[2].strip()
        for r in emu.requests
        if r.headers.get("authorization", "").lower().startswith("bearer ")
    }
    if emu.instance.tokens.current:
        tokens.add(emu.instance.tokens.current)
    return {token for token in tokens if token}


def exception_texts(error: BaseException | None) -> list[str]:
    """str, repr and attributes of an exception and of every exception chained to it."""
    texts = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        texts += [str(error), repr(error), repr(vars(error)) if hasattr(error, "__dict__") else ""]
        error = error.__cause__ or error.__context__
    return texts


def leaks(secrets: Iterable[str], texts: Iterable[str]) -> list[str]:
    return sorted({secret[:6] + "…" for secret in secrets for text in texts if secret in text})


def request_urls(emu: MarketoEmulator) -> list[str]:
    return [r.url for r in emu.requests] + [repr(r.query) for r in emu.requests]


def task_log_files() -> list[str]:
    logs = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    return [p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file()] if logs.exists() else []


def xcom_values(dag_id: str, run_id: str) -> list[str]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.execute(
            select(XComModel.key, XComModel.value).where(
                XComModel.dag_id == dag_id, XComModel.run_id == run_id
            )
        ).all()
    return [f"{key}={value!r}" for key, value in rows]


@pytest.fixture
def secret_emulator(monkeypatch: pytest.MonkeyPatch) -> Any:
    with MarketoEmulator(client_secret=CLIENT_SECRET, processing_seconds=0.5) as emu:
        use_emulator(monkeypatch, emu)
        yield emu


@pytest.mark.e2e
def test_a_full_dag_run_never_reveals_the_secret_or_a_token(
    secret_emulator, fault_dag, tmp_path, caplog, capsys
):
    caplog.set_level(logging.DEBUG)
    MarketoHook().get_access_token()  # a cached token that Marketo then expires: the run renews it
    secret_emulator.expire_token()
    destination = tmp_path / "out" / "members.csv"

    dag_run = fault_dag.test(run_conf={"destination": destination.as_uri()})

    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    tokens = issued_tokens(secret_emulator)
    assert len(tokens) >= 2  # the expired one and its replacement
    captured = capsys.readouterr()
    xcoms = xcom_values(dag_run.dag_id, dag_run.run_id)
    assert any("members.csv" in value for value in xcoms)  # the XCom values were really read
    assert "Created program member export" in caplog.text + captured.out  # the task logs were captured
    secrets = {CLIENT_SECRET, *tokens}
    assert leaks(secrets, [r.getMessage() for r in caplog.records]) == []
    assert leaks(secrets, [caplog.text, captured.out, captured.err]) == []
    assert leaks(secrets, task_log_files()) == []
    assert leaks(secrets, xcoms) == []
    assert leaks(secrets, request_urls(secret_emulator)) == []
    assert [r.headers.get("authorization", "") for r in secret_emulator.calls("token")] == [""] * len(
        secret_emulator.calls("token")
    )


FAILURES = {
    "601 after a fresh token": lambda emu: emu.inject("status", Fault(code="601"), Fault(code="601")),
    "603 access denied": lambda emu: emu.inject("create", Fault(code="603")),
    "stalled file (read timeout)": lambda emu: emu.inject("file", *[Fault(delay=1.0)] * 12),
    "HTTP 500 on token": lambda emu: emu.inject("token", *[Fault(http_status=500, body="boom")] * 4),
}


@pytest.mark.parametrize("inject", FAILURES.values(), ids=FAILURES.keys())
def test_failing_runs_never_reveal_them_in_exceptions_or_logs(
    inject, secret_emulator, monkeypatch, tmp_path, caplog, capsys
):
    caplog.set_level(logging.DEBUG)
    use_emulator(monkeypatch, secret_emulator, timeout=0.5, max_retries=1)
    secret_emulator.expire_token()
    inject(secret_emulator)

    outcome = run_pipeline(
        tmp_path / "members.csv", PipelineSettings(max_resumes=1, sensor_deferrable=True), emu=secret_emulator
    )

    assert not outcome.succeeded
    captured = capsys.readouterr()
    assert "MarketoStartProgramMemberExportOperator" in captured.out  # the task logs were captured
    secrets = {CLIENT_SECRET, *issued_tokens(secret_emulator)}
    assert leaks(secrets, exception_texts(outcome.error)) == []
    assert leaks(secrets, [caplog.text, captured.out, captured.err]) == []
    assert leaks(secrets, request_urls(secret_emulator)) == []


def test_wrong_credentials_never_reveal_the_wrong_secret(
    secret_emulator, monkeypatch, tmp_path, caplog, capsys
):
    caplog.set_level(logging.DEBUG)
    wrong = secret_emulator.connection_json().replace(CLIENT_SECRET, WRONG_SECRET)
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", wrong)

    outcome = run_pipeline(tmp_path / "members.csv", PipelineSettings(), emu=secret_emulator)

    assert outcome.failed_task == "start_export"
    assert "check the client id (login) and client secret (password)" in outcome.message
    captured = capsys.readouterr()
    assert leaks({WRONG_SECRET}, exception_texts(outcome.error)) == []
    assert leaks({WRONG_SECRET}, [caplog.text, captured.out, captured.err]) == []
    assert leaks({WRONG_SECRET}, request_urls(secret_emulator)) == []
    assert all(WRONG_SECRET.encode() in r.body for r in secret_emulator.calls("token"))  # sent, in the body
