"""Shared wiring of the reliability suites: the emulator as ``marketo_default`` with fast retries, and a
driver that runs start -> sensor -> download through the operators' own execute paths (deferrals included).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from airflow.sdk import Context

from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor
from airflow_provider_marketo_pm.testing import MarketoEmulator

FIELDS = ["leadId", "firstName", "lastName", "email", "statusName"]
PROGRAM_FILTER: dict[str, Any] = {"programId": 1044}
#: Connection extras of the matrix: a short read timeout and few, fast retries keep every row quick.
FAST_EXTRAS: dict[str, Any] = {
    "timeout": 2.0,
    "max_retries": 3,
    "retry_min_wait": 0.005,
    "retry_max_wait": 0.02,
    "retry_max_time": 15,
}
START, WAIT, DOWNLOAD = "start_export", "wait_for_export", "download_export"


def use_emulator(monkeypatch: pytest.MonkeyPatch, emu: MarketoEmulator, **extras: Any) -> None:
    """Point ``marketo_default`` at the emulator, with connection extras (env var, no DB)."""
    conn = json.loads(emu.connection_json())
    conn["extra"] = {**FAST_EXTRAS, **extras}
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", json.dumps(conn))


def drive(operator: Any, context: Context) -> Any:
    """Run an operator as a worker and triggerer would: on deferral, run the trigger to its first
    event and call the resume method with it, until the task returns or raises."""
    method: Callable[..., Any] = operator.execute
    kwargs: dict[str, Any] = {}
    while True:
        try:
            return method(context, **kwargs)
        except TaskDeferred as deferred:
            kwargs = {"event": asyncio.run(_first_event(deferred.trigger))}
            method = getattr(operator, deferred.method_name)


async def _first_event(trigger: Any) -> Any:
    async for event in trigger.run():
        return event.payload
    raise AssertionError(f"{trigger!r} yielded no event")


@dataclass
class PipelineOutcome:
    """What a start -> sensor -> download run did."""

    export_id: str | None = None
    result: dict[str, Any] | None = None
    failed_task: str | None = None
    error: BaseException | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        return "" if self.error is None else str(self.error)


Hook = Callable[[MarketoEmulator, str], None]


def _nothing(emu: MarketoEmulator, export_id: str) -> None:
    return None


@dataclass(frozen=True)
class PipelineSettings:
    filter: Mapping[str, Any] = field(default_factory=lambda: dict(PROGRAM_FILTER))
    queue_full_retries: int = 30
    queue_full_wait: float = 0.1
    max_resumes: int = 2
    #: seconds a download keeps asking for a file answering 404: 6 waits with FAST_EXTRAS' backoff
    file_available_timeout: float = 0.1
    sensor_deferrable: bool = False
    on_quota_exceeded: str = "wait"


def run_pipeline(
    destination: Path,
    settings: PipelineSettings,
    *,
    emu: MarketoEmulator,
    after_start: Hook = _nothing,
    before_download: Hook = _nothing,
) -> PipelineOutcome:
    """start -> sensor -> download, each through its operator; stops at the first task that fails."""
    context = cast(Context, {})
    outcome = PipelineOutcome()
    start = MarketoStartProgramMemberExportOperator(
        task_id=START,
        fields=FIELDS,
        filter=dict(settings.filter),
        queue_full_retries=settings.queue_full_retries,
        queue_full_wait=dt.timedelta(seconds=settings.queue_full_wait),
        on_quota_exceeded=settings.on_quota_exceeded,
    )
    try:
        outcome.export_id = drive(start, context)
    except Exception as err:
        outcome.failed_task, outcome.error = START, err
        return outcome
    assert outcome.export_id is not None
    after_start(emu, outcome.export_id)
    sensor = MarketoProgramMemberExportSensor(
        task_id=WAIT,
        export_id=outcome.export_id,
        poll_interval=0.05,
        timeout=30,
        deferrable=settings.sensor_deferrable,
    )
    try:
        drive(sensor, context)
    except Exception as err:
        outcome.failed_task, outcome.error = WAIT, err
        return outcome
    before_download(emu, outcome.export_id)
    download = MarketoDownloadProgramMemberExportOperator(
        task_id=DOWNLOAD,
        export_id=outcome.export_id,
        destination=destination.as_uri(),
        chunk_size=256,  # small emulator files: many chunks, so a cut lands mid-file
        max_resumes=settings.max_resumes,
        file_available_timeout=settings.file_available_timeout,
        progress_interval=0.0,
    )
    try:
        outcome.result = drive(download, context)
    except Exception as err:
        outcome.failed_task, outcome.error = DOWNLOAD, err
    return outcome


# -- reporting ---------------------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SHA = re.compile(r"(sha256:)?[0-9a-f]{64}")
_REQUEST_ID = re.compile(r"requestId [0-9a-f]+#[0-9a-f]+")
_SECONDS = re.compile(r"in \d+\.\d+ s")
_PORT = re.compile(r"port=\d+")
_RESET = re.compile(r"which is \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_FILE_URI = re.compile(r"file://[^\s;,)]+")


def stable_excerpt(message: str, limit: int = 220) -> str:
    """The message with run-specific values (ids, hashes, times, ports) replaced, for a reproducible doc."""
    text = _UUID.sub("<exportId>", " ".join(message.split()))
    text = _SHA.sub("<sha256>", text)
    text = _REQUEST_ID.sub("requestId <id>", text)
    text = _SECONDS.sub("in <t> s", text)
    text = _PORT.sub("port=<port>", text)
    text = _RESET.sub("which is <next reset UTC>", text)
    text = _FILE_URI.sub("<destination>", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_answers(emu: MarketoEmulator) -> list[str]:
    """Every Marketo error code or HTTP error answered, in order: ``status:606``, ``file:HTTP 503``."""
    return [
        f"{r.endpoint}:{r.marketo_code}" if r.marketo_code else f"{r.endpoint}:HTTP {r.status}"
        for r in emu.requests
        if r.marketo_code or r.status >= 400
    ]


def call_summary(emu: MarketoEmulator) -> tuple[str, str]:
    """(calls per endpoint except status polls, error answers in order) from the emulator's request log."""
    counts = Counter(r.endpoint for r in emu.requests if r.endpoint != "status")
    endpoints = ("token", "create", "enqueue", "file")
    calls = ", ".join(f"{name} {counts[name]}" for name in endpoints if counts[name])
    return calls, ", ".join(error_answers(emu)) or "none"
