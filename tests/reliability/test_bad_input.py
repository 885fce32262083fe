"""Bad input: every invalid operator configuration fails before any request reaches Marketo, and the
message names the field at fault. Values that only turn bad after templating are rendered first, the
way a worker renders them, then executed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from airflow.sdk import BaseOperator, Context
from reliability_support import FIELDS, use_emulator

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor
from airflow_provider_marketo_pm.testing import MarketoEmulator

JAN = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T00:00:00Z"}


def start(**overrides: Any) -> Callable[[], BaseOperator]:
    kwargs: dict[str, Any] = {"fields": FIELDS, "filter": {"programId": 1044}, **overrides}
    return lambda: MarketoStartProgramMemberExportOperator(task_id="start_export", **kwargs)


def sensor(**overrides: Any) -> Callable[[], BaseOperator]:
    kwargs: dict[str, Any] = {"export_id": "abc-123", "poll_interval": 0.05, "timeout": 5, **overrides}
    return lambda: MarketoProgramMemberExportSensor(task_id="wait_for_export", **kwargs)


def download(**overrides: Any) -> Callable[[], BaseOperator]:
    kwargs: dict[str, Any] = {"export_id": "abc-123", "destination": "file:///tmp/out.csv", **overrides}
    return lambda: MarketoDownloadProgramMemberExportOperator(task_id="download_export", **kwargs)


@dataclass(frozen=True)
class BadInput:
    name: str
    build: Callable[[], BaseOperator]
    names: str  # the field the message must name
    params: dict[str, Any] = field(default_factory=dict)  # rendered into the templated fields first
    bug: str | None = None  # an open bug: expected to fail (strict xfail) until fixed

    def __str__(self) -> str:
        return self.name


BAD_INPUTS = [
    # -- start operator: the create request --------------------------------------------------------------
    BadInput("fields empty", start(fields=[]), "fields"),
    BadInput("fields a string", start(fields="leadId,email"), "fields"),
    BadInput("fields repeated", start(fields=["leadId", "leadId"]), "fields"),
    BadInput("fields with an empty name", start(fields=["leadId", ""]), "fields"),
    BadInput("filter not a mapping", start(filter=[1044]), "filter"),
    BadInput("filter without a program", start(filter={"isExhausted": False}), "programId"),
    BadInput(
        "programId and programIds", start(filter={"programId": 1044, "programIds": [1044]}), "programId"
    ),
    BadInput("programId negative", start(filter={"programId": -1}), "programId"),
    BadInput("programId a word", start(filter={"programId": "ten"}), "programId"),
    BadInput("programIds empty", start(filter={"programIds": []}), "programIds"),
    BadInput("programIds eleven", start(filter={"programIds": list(range(1001, 1012))}), "programIds"),
    BadInput("programIds repeated", start(filter={"programIds": [1044, 1044]}), "programIds"),
    BadInput("filter unknown key", start(filter={"programId": 1044, "programName": "x"}), "programName"),
    BadInput(
        "updatedAt 40 days",
        start(filter={"programId": 1044, "updatedAt": {**JAN, "endAt": "2024-02-10T00:00:00Z"}}),
        "updatedAt",
    ),
    BadInput(
        "updatedAt endAt before startAt",
        start(filter={"programId": 1044, "updatedAt": {"startAt": JAN["endAt"], "endAt": JAN["startAt"]}}),
        "updatedAt",
    ),
    BadInput(
        "updatedAt naive datetime",
        start(filter={"programId": 1044, "updatedAt": {**JAN, "startAt": "2024-01-01T00:00:00"}}),
        "updatedAt",
    ),
    BadInput(
        "updatedAt without endAt",
        start(filter={"programId": 1044, "updatedAt": {"startAt": JAN["startAt"]}}),
        "updatedAt",
    ),
    BadInput("statusNames empty", start(filter={"programId": 1044, "statusNames": []}), "statusNames"),
    BadInput("isExhausted a word", start(filter={"programId": 1044, "isExhausted": "yes"}), "isExhausted"),
    BadInput("format XLSX", start(format="XLSX"), "format"),
    BadInput(
        "columnHeaderNames for a field not exported", start(column_header_names={"title": "T"}), "title"
    ),
    BadInput(
        "columnHeaderNames empty header", start(column_header_names={"leadId": ""}), "columnHeaderNames"
    ),
    BadInput("queue_full_retries negative", start(queue_full_retries=-1), "queue_full_retries"),
    BadInput(
        "queue_full_wait negative",
        start(queue_full_wait=dt.timedelta(seconds=-30)),
        "queue_full_wait",
    ),
    BadInput("fields with a comma", start(fields=["leadId,email"]), "fields"),
    BadInput("fields with a space", start(fields=["lead Id"]), "fields"),
    BadInput("fields with an emoji", start(fields=["email\U0001f4e7"]), "fields"),
    BadInput("programId of 5,000 digits", start(filter={"programId": "9" * 5000}), "programId"),
    BadInput("programId beyond int32", start(filter={"programId": 2**31}), "programId"),
    BadInput(
        "updatedAt in year 1",
        start(
            filter={
                "programId": 1044,
                "updatedAt": {"startAt": "0001-01-01T00:00:00+01:00", "endAt": "0001-01-02"},
            }
        ),
        "updatedAt",
    ),
    BadInput(
        "updatedAt in year 9999",
        start(
            filter={
                "programId": 1044,
                "updatedAt": {"startAt": "9999-12-30", "endAt": "9999-12-31T23:00:00-05:00"},
            }
        ),
        "updatedAt",
    ),
    # -- start operator: ambiguous flags and unbounded numbers (refused when the DAG is parsed) ----------
    BadInput('overwrite "False" (a string)', start(overwrite="False"), "overwrite"),
    BadInput("overwrite 0", start(overwrite=0), "overwrite"),
    BadInput("overwrite a template (not a templated field)", start(overwrite="{{ params.o }}"), "overwrite"),
    BadInput('deferrable "false"', start(deferrable="false"), "deferrable"),
    BadInput('wait_for_completion "True"', start(wait_for_completion="True"), "wait_for_completion"),
    BadInput("timeout inf", start(wait_for_completion=True, timeout=float("inf")), "timeout"),
    BadInput("timeout 1e300", start(wait_for_completion=True, timeout=1e300), "timeout"),
    BadInput("timeout NaN", start(wait_for_completion=True, timeout=float("nan")), "timeout"),
    BadInput("timeout 8 days", start(wait_for_completion=True, timeout=dt.timedelta(days=8)), "timeout"),
    BadInput("queue_full_wait inf", start(queue_full_wait=float("inf")), "queue_full_wait"),
    BadInput("queue_full_retries a billion", start(queue_full_retries=10**9), "queue_full_retries"),
    BadInput("quota_waits a billion", start(quota_waits=10**9), "quota_waits"),
    BadInput(
        "poll_interval inf", start(wait_for_completion=True, poll_interval=float("inf")), "poll_interval"
    ),
    BadInput("poll_interval 1e300", start(wait_for_completion=True, poll_interval=1e300), "poll_interval"),
    BadInput(
        "templated poll_interval renders inf",
        start(wait_for_completion=True, poll_interval="{{ params.poll }}"),
        "poll_interval",
        params={"poll": "inf"},
    ),
    BadInput(
        "destination a list rendered as text", start(destination="['file:///tmp/a.csv']"), "destination"
    ),
    BadInput(
        "templated destination renders a list",
        start(destination="{{ params.dest }}"),
        "destination",
        params={"dest": ["file:///tmp/a.csv", "file:///tmp/b.csv"]},
    ),
    BadInput(
        "destination climbs out of the root", start(destination="file:///../../etc/x.csv"), "destination"
    ),
    BadInput(
        "destination climbs out of the bucket", start(destination="s3://lake/../other/x.csv"), "destination"
    ),
    # -- start operator: values that only turn bad after templating -------------------------------------
    BadInput(
        "templated updatedAt renders 40 days",
        start(
            filter={"programId": 1044, "updatedAt": {"startAt": "{{ params.a }}", "endAt": "{{ params.b }}"}}
        ),
        "updatedAt",
        params={"a": "2024-01-01T00:00:00Z", "b": "2024-02-10T00:00:00Z"},
    ),
    BadInput(
        "templated updatedAt renders endAt before startAt",
        start(
            filter={"programId": 1044, "updatedAt": {"startAt": "{{ params.a }}", "endAt": "{{ params.b }}"}}
        ),
        "updatedAt",
        params={"a": "2024-01-31T00:00:00Z", "b": "2024-01-01T00:00:00Z"},
    ),
    BadInput(
        "templated updatedAt renders a non-date",
        start(filter={"programId": 1044, "updatedAt": {**JAN, "endAt": "{{ params.b }}"}}),
        "updatedAt",
        params={"b": "end of month"},
    ),
    BadInput(
        "templated programIds renders empty",
        start(filter={"programIds": "{{ params.ids }}"}),
        "programIds",
        params={"ids": []},
    ),
    BadInput(
        "templated format renders xlsx", start(format="{{ params.fmt }}"), "format", params={"fmt": "xlsx"}
    ),
    BadInput(
        "templated field name renders empty",
        start(fields=["leadId", "{{ params.extra }}"]),
        "fields",
        params={"extra": ""},
    ),
    # -- sensor ------------------------------------------------------------------------------------------
    BadInput("sensor export_id empty", sensor(export_id=""), "export_id"),
    BadInput("sensor export_id None", sensor(export_id=None), "export_id"),
    BadInput(
        "sensor export_id renders empty",
        sensor(export_id="{{ params.eid }}"),
        "export_id",
        params={"eid": ""},
    ),
    BadInput(
        "sensor poll_interval zero",
        sensor(poll_interval=0),
        "poll_interval",
    ),
    BadInput(
        "sensor poll_interval negative",
        sensor(poll_interval=-5),
        "poll_interval",
    ),
    BadInput(
        "sensor poll_interval not a number",
        sensor(poll_interval="fast"),
        "poll_interval",
    ),
    BadInput("sensor timeout negative", sensor(timeout=-1), "timeout"),
    BadInput("sensor timeout inf", sensor(timeout=float("inf")), "timeout"),
    BadInput('sensor deferrable "False"', sensor(deferrable="False"), "deferrable"),
    BadInput('sensor cancel_on_timeout "no"', sensor(cancel_on_timeout="no"), "cancel_on_timeout"),
    # -- download operator -------------------------------------------------------------------------------
    BadInput("download compression zip", download(compression="zip"), "compression"),
    BadInput("download chunk_size zero", download(chunk_size=0), "chunk_size"),
    BadInput("download chunk_size negative", download(chunk_size=-4096), "chunk_size"),
    BadInput(
        "download chunk_size not a number",
        download(chunk_size="1MB"),
        "chunk_size",
    ),
    BadInput("download max_resumes negative", download(max_resumes=-1), "max_resumes"),
    BadInput("download max_resumes a billion", download(max_resumes=10**9), "max_resumes"),
    BadInput("download chunk_size 2**40", download(chunk_size=2**40), "chunk_size"),
    BadInput('download progress_interval "abc"', download(progress_interval="abc"), "progress_interval"),
    BadInput("download progress_interval NaN", download(progress_interval=float("nan")), "progress_interval"),
    BadInput(
        "download file_available_timeout inf",
        download(file_available_timeout=float("inf")),
        "file_available_timeout",
    ),
    BadInput('download overwrite "False" (a string)', download(overwrite="False"), "overwrite"),
    BadInput('download verify_checksum "false"', download(verify_checksum="false"), "verify_checksum"),
    BadInput(
        "download destination a list rendered as text",
        download(destination="['s3://b/a.csv']"),
        "destination",
    ),
    BadInput(
        "download destination renders a list",
        download(destination="{{ params.dest }}"),
        "destination",
        params={"dest": ["file:///tmp/a.csv"]},
    ),
    BadInput("download export_id empty", download(export_id=""), "export_id"),
    BadInput(
        "download export_id missing (None)",
        download(export_id=None),
        "export_id",
    ),
    BadInput(
        "download destination empty",
        download(destination=""),
        "destination",
    ),
    BadInput(
        "download destination unknown scheme",
        download(destination="ftp2://host/members.csv"),
        "destination",
    ),
    BadInput(
        "download destination renders without a scheme",
        download(destination="{{ params.dest }}"),
        "destination",
        params={"dest": "exports/members.csv"},
    ),
]


@pytest.fixture(scope="module")
def quiet_emulator() -> Iterator[MarketoEmulator]:
    with MarketoEmulator() as emu:
        yield emu


@pytest.fixture
def emu(quiet_emulator: MarketoEmulator, monkeypatch: pytest.MonkeyPatch) -> MarketoEmulator:
    use_emulator(monkeypatch, quiet_emulator)
    quiet_emulator.clear_requests()
    return quiet_emulator


def configure_and_run(case: BadInput) -> None:
    """Construct, render the templated fields as a worker would, then execute."""
    context = cast(Context, {"params": case.params, "ds": "2024-01-01"})
    operator = case.build()
    operator.render_template_fields(context)
    operator.execute(context)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=pytest.mark.xfail(strict=True, reason=case.bug)) if case.bug else case
        for case in BAD_INPUTS
    ],
    ids=str,
)
def test_bad_input_fails_before_any_request_naming_the_field(case: BadInput, emu: MarketoEmulator):
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the type is asserted below, with the message
        configure_and_run(case)

    assert emu.requests == []
    assert case.names in str(raised.value), f"{type(raised.value).__name__}: {raised.value}"
    assert isinstance(raised.value, MarketoRequestError), "our error, not a TypeError/OverflowError"


def test_there_are_at_least_thirty_bad_inputs():
    assert len(BAD_INPUTS) >= 30
    assert len({case.name for case in BAD_INPUTS}) == len(BAD_INPUTS)
