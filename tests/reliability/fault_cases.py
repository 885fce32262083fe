"""The fault matrix: every fault the emulator can inject, how it is injected, and what a run must do about it.

One row per fault. ``setup`` runs before the start task, ``after_start`` between start and sensor,
``before_download`` between sensor and download. A row expects either success (a byte-identical file)
or a failure of ``failing_task`` whose message contains each " … "-separated fragment of ``message``.
``answers`` must appear, in order, among the emulator's error answers: proof that the fault happened.
Rows with ``dag=True`` are also run through a real ``dag.test()`` DAG run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from reliability_support import DOWNLOAD, FIELDS, START, WAIT, PipelineSettings, error_answers

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.testing import Fault, MarketoEmulator

Step = Callable[[MarketoEmulator, str], None]
Setup = Callable[[MarketoEmulator], None]
RETRIED_ENDPOINTS = ("create", "enqueue", "status", "file")
ATTEMPTS_PER_CALL = 4  # FAST_EXTRAS max_retries=3, plus the first try


def _nothing(emu: MarketoEmulator, export_id: str = "") -> None:
    return None


@dataclass(frozen=True)
class FaultCase:
    name: str
    injection: str
    expect: Literal["success", "failure"]
    message: str = ""
    failing_task: str | None = None
    setup: Setup = _nothing
    after_start: Step = _nothing
    before_download: Step = _nothing
    answers: tuple[str, ...] = ()
    #: what else proves the fault happened and was handled as the row says (from the request log)
    proof: Callable[[MarketoEmulator], bool] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    settings: PipelineSettings = field(default_factory=PipelineSettings)
    dag: bool = False

    def __str__(self) -> str:
        return self.name

    def names_the_cause(self, message: str) -> bool:
        return all(fragment.lower() in message.lower() for fragment in self.message.split(" … "))


# -- injections ----------------------------------------------------------------------------------------------


def once_on_every_call(fault: Fault) -> Setup:
    """The first create, enqueue, status and file.json call each meet the fault once."""

    def inject(emu: MarketoEmulator) -> None:
        for endpoint in RETRIED_ENDPOINTS:
            emu.inject(endpoint, fault)

    return inject


def on_status(*faults: Fault) -> Step:
    return lambda emu, export_id: emu.inject("status", *faults)


def on_file(*faults: Fault) -> Step:
    return lambda emu, export_id: emu.inject("file", *faults)


def expire_token(emu: MarketoEmulator, export_id: str) -> None:
    emu.expire_token()


def drop_at(where: Callable[[int], int], times: int = 1) -> Step:
    """Cut the next file.json bodies at a byte offset computed from the advertised fileSize."""

    def inject(emu: MarketoEmulator, export_id: str) -> None:
        emu.drop_download_after(where(int(emu.job(export_id)["fileSize"])), times=times)

    return inject


def stall_at(where: Callable[[int], int], seconds: float, times: int = 1) -> Step:
    """Hold the next file.json bodies ``seconds`` (connection open) at an offset computed from fileSize."""

    def inject(emu: MarketoEmulator, export_id: str) -> None:
        emu.stall_download_after(where(int(emu.job(export_id)["fileSize"])), seconds, times=times)

    return inject


def resumed_with_a_range(emu: MarketoEmulator) -> bool:
    """The file was opened twice: whole, then from the byte the first answer stalled or broke at."""
    ranges = [r.headers.get("range") for r in emu.calls("file")]
    return (
        len(ranges) == 2
        and ranges[0] is None
        and str(ranges[1]).startswith("bytes=")
        and ranges[1] != "bytes=0-"
    )


def truncate_file(emu: MarketoEmulator, export_id: str) -> None:
    """The served body stops at half of the fileSize the status advertises."""
    path = emu.file_path(export_id)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def use_up_export_quota(emu: MarketoEmulator) -> None:
    """Complete one export so that today's (tiny) daily export quota is used up."""
    hook = MarketoHook()
    export_id = str(
        hook.create_export(PROGRAM_MEMBERS.request(fields=FIELDS, filter={"programId": 1044}))["exportId"]
    )
    hook.enqueue_export(PROGRAM_MEMBERS, export_id)
    for _ in range(200):
        if emu.job(export_id)["status"] == "Completed":
            emu.clear_requests()
            return
        time.sleep(0.05)
    raise AssertionError("the quota-filling export never completed")


def queue_full_until_first_refusal(emu: MarketoEmulator) -> None:
    """Other integrations fill the queue; their jobs finish once our first enqueue has been refused
    (a watcher, not a hold time: a slow run must still meet the full queue)."""
    emu.occupy_queue(10, seconds=3600)

    def release_after_refusal() -> None:
        for _ in range(1000):
            if "enqueue:1029" in error_answers(emu):
                emu.release_queue()
                return
            time.sleep(0.01)

    threading.Thread(target=release_after_refusal, name="release-queue", daemon=True).start()


def cancel_outside_airflow(emu: MarketoEmulator, export_id: str) -> None:
    emu.cancel_job(export_id)


def expire_file(emu: MarketoEmulator, export_id: str) -> None:
    emu.advance(7 * 86400 + 60)  # files are kept 7 days (the token expires too: the hook renews it)


def _transient_rows() -> list[FaultCase]:
    rows = [
        FaultCase(
            name=f"{code} {label}",
            injection=f"Marketo error {code} once on each of create, enqueue, status, file.json",
            expect="success",
            setup=once_on_every_call(Fault(code=code)),
            answers=tuple(f"{endpoint}:{code}" for endpoint in RETRIED_ENDPOINTS),
            dag=code == "606",
        )
        for code, label in (
            ("604", "request timed out"),
            ("606", "rate limit (100 calls / 20 s)"),
            ("608", "API temporarily unavailable"),
            ("611", "system error"),
            ("615", "concurrent access limit"),
            ("713", "transient error"),
        )
    ]
    rows += [
        FaultCase(
            name=f"HTTP {status}",
            injection=f"HTTP {status} once on each of create, enqueue, status, file.json",
            expect="success",
            setup=once_on_every_call(Fault(http_status=status, body=f"upstream says {status}")),
            answers=tuple(f"{endpoint}:HTTP {status}" for endpoint in RETRIED_ENDPOINTS),
            dag=status == 503,
        )
        for status in (500, 502, 503)
    ]
    return rows


FAULT_CASES: list[FaultCase] = [
    FaultCase(name="no fault", injection="nothing (baseline)", expect="success", dag=True),
    FaultCase(
        name="601 mid-run",
        injection="status answers 601 (token invalid) once, while the sensor waits",
        expect="success",
        after_start=on_status(Fault(code="601")),
        answers=("status:601",),
    ),
    FaultCase(
        name="602 mid-run",
        injection="emu.expire_token() after start and again before download",
        expect="success",
        after_start=expire_token,
        before_download=expire_token,
        answers=("status:602", "status:602"),
    ),
    FaultCase(
        name="601 again after a fresh token",
        injection="status answers 601 twice in a row",
        expect="failure",
        failing_task=WAIT,
        message="refused a freshly issued access token",
        after_start=on_status(Fault(code="601"), Fault(code="601")),
        answers=("status:601", "status:601"),
    ),
    *_transient_rows(),
    FaultCase(
        name="606 that does not stop",
        injection=f"status answers 606 {ATTEMPTS_PER_CALL} times (max_retries=3 exhausted)",
        expect="failure",
        failing_task=WAIT,
        message=f"status call failed with error 606 … Gave up after {ATTEMPTS_PER_CALL} attempts",
        after_start=on_status(*[Fault(code="606")] * ATTEMPTS_PER_CALL),
        answers=("status:606",) * ATTEMPTS_PER_CALL,
    ),
    FaultCase(
        name="HTTP 503 that does not stop",
        # One budget: each of the 1 + max_resumes file calls is a single attempt (no retries inside a resume).
        injection="file.json answers HTTP 503 on every call (max_resumes=2)",
        expect="failure",
        failing_task=DOWNLOAD,
        message="broke 3 times (last: Marketo file call failed with upstream says 503 (HTTP 503)",
        before_download=on_file(*[Fault(http_status=503, body="upstream says 503")] * 3),
        answers=("file:HTTP 503",) * 3,
    ),
    FaultCase(
        name="dropped connection, early",
        injection="connection closed right after the headers of file.json (0 body bytes)",
        expect="success",
        before_download=drop_at(lambda size: 0),
    ),
    FaultCase(
        name="dropped connection, middle",
        injection="connection closed after half of the file",
        expect="success",
        before_download=drop_at(lambda size: size // 2),
    ),
    FaultCase(
        name="dropped connection, near the end",
        injection="connection closed 10 bytes before the end of the file",
        expect="success",
        before_download=drop_at(lambda size: size - 10),
    ),
    FaultCase(
        name="dropped connection on every attempt",
        injection="connection closed before the first body byte, 10 times in a row (max_resumes=2)",
        expect="failure",
        failing_task=DOWNLOAD,
        message="broke 3 times … giving up after 0 of",
        before_download=drop_at(lambda size: 0, times=10),
    ),
    FaultCase(
        name="stalled before the headers (read timeout)",
        injection="file.json answers after 1.0 s, connection extra timeout=0.5 s",
        expect="success",
        extras={"timeout": 0.5},
        before_download=on_file(Fault(delay=1.0)),
    ),
    FaultCase(
        name="stalled before the headers on every attempt",
        injection="file.json answers after 1.0 s, twice (timeout=0.5, max_retries=1, max_resumes=0)",
        expect="failure",
        failing_task=DOWNLOAD,
        message="no whole answer from '127.0.0.1' within the call's deadline of 0.5 s",
        extras={"timeout": 0.5, "max_retries": 1},
        settings=PipelineSettings(max_resumes=0),
        before_download=on_file(Fault(delay=1.0), Fault(delay=1.0)),
    ),
    FaultCase(
        name="stalled mid-body (read timeout)",
        injection="file.json body stops for 30 s after half of the file, connection open; timeout=0.5 s",
        expect="success",
        extras={"timeout": 0.5},
        before_download=stall_at(lambda size: size // 2, seconds=30.0),
        proof=resumed_with_a_range,
    ),
    FaultCase(
        name="stalled mid-body on every attempt",
        injection="every file.json body stops for 30 s after 300 bytes (timeout=0.5, max_resumes=2)",
        expect="failure",
        failing_task=DOWNLOAD,
        message="broke 3 times … download stalled after … read timeout (no byte for 0.5 s) … giving up after",
        extras={"timeout": 0.5},
        before_download=stall_at(lambda size: 300, seconds=30.0, times=10),
    ),
    FaultCase(
        name="1029 queue full for a while",
        injection="emu.occupy_queue(10) by other integrations until the first enqueue meets 1029",
        expect="success",
        setup=queue_full_until_first_refusal,
        answers=("enqueue:1029",),
    ),
    FaultCase(
        name="1029 queue full for good",
        injection="emu.occupy_queue(10) for an hour; queue_full_retries=2",
        expect="failure",
        failing_task=START,
        message="the queue was still full after 3 attempts",
        setup=lambda emu: emu.occupy_queue(10, seconds=3600),
        settings=PipelineSettings(queue_full_retries=2),
        answers=("enqueue:1029",) * 3,
    ),
    FaultCase(
        name='1029 "Job already queued"',
        injection="enqueue answer lost (answers after 1.5 s, timeout=1.0); the replay meets 1029",
        expect="success",
        extras={"timeout": 1.0},
        setup=lambda emu: emu.inject("enqueue", Fault(delay=1.5), Fault(delay=0.8)),
        answers=("enqueue:1029",),
    ),
    FaultCase(
        name="1029 daily export quota (create)",
        injection="daily_quota_bytes=1000, used up by an earlier export; on_quota_exceeded='fail'",
        expect="failure",
        failing_task=START,
        message="daily quota is used up; it resets at 12:00 AM US Central",
        settings=PipelineSettings(on_quota_exceeded="fail"),
        options={"daily_quota_bytes": 1000},
        setup=use_up_export_quota,
        answers=("create:1029",),
    ),
    FaultCase(
        name="1029 daily export quota (enqueue)",
        injection="enqueue answers 1029 \"Export daily quota 500MB exceeded.\"; on_quota_exceeded='fail'",
        expect="failure",
        failing_task=START,
        message="daily quota is used up; it resets at 12:00 AM US Central",
        settings=PipelineSettings(on_quota_exceeded="fail"),
        setup=lambda emu: emu.inject(
            "enqueue", Fault(code="1029", message="Export daily quota 500MB exceeded.")
        ),
        answers=("enqueue:1029",),
        dag=True,
    ),
    FaultCase(
        name="607 daily API call quota",
        injection="status answers 607 while the sensor waits",
        expect="failure",
        failing_task=WAIT,
        message="daily API call quota is used up; it resets at 12:00 AM US Central",
        after_start=on_status(Fault(code="607")),
        answers=("status:607",),
    ),
    FaultCase(
        name="603 access denied",
        injection="create answers 603",
        expect="failure",
        failing_task=START,
        message="'Read-Only Lead' or 'Read-Write Lead' permission",
        setup=lambda emu: emu.inject("create", Fault(code="603")),
        answers=("create:603",),
        dag=True,
    ),
    FaultCase(
        name="1035 updatedAt filter not enabled",
        injection="updated_at_filter=False; the filter has an updatedAt window",
        expect="failure",
        failing_task=START,
        message="updatedAt filter is not enabled for this Marketo subscription",
        options={"updated_at_filter": False},
        settings=PipelineSettings(
            filter={
                "programId": 1044,
                "updatedAt": {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T00:00:00Z"},
            }
        ),
        answers=("create:1035",),
    ),
    FaultCase(
        name="job Failed",
        injection='emu.fail_next_job("Export failed: internal error 7781")',
        expect="failure",
        failing_task=WAIT,
        message="failed: Export failed: internal error 7781",
        setup=lambda emu: emu.fail_next_job("Export failed: internal error 7781"),
        dag=True,
    ),
    FaultCase(
        name="job Cancelled outside Airflow",
        injection="emu.cancel_job(exportId) right after start",
        expect="failure",
        failing_task=WAIT,
        message="was cancelled (status 'Cancelled'), by a user or another tool",
        options={"processing_seconds": 5.0},
        after_start=cancel_outside_airflow,
    ),
    FaultCase(
        name="file expired (404 after Completed)",
        injection="emu.advance(7 days + 60 s) between sensor and download",
        expect="failure",
        failing_task=DOWNLOAD,
        message="expired (files are kept 7 days) … still answered 404 after 7 calls",
        before_download=expire_file,
        answers=("file:HTTP 404",) * 7,
    ),
    FaultCase(
        name="wrong checksum",
        injection="emu.corrupt_next_checksum()",
        expect="failure",
        failing_task=DOWNLOAD,
        message="failed verification",
        setup=lambda emu: emu.corrupt_next_checksum(),
        dag=True,
    ),
    FaultCase(
        name="body shorter than fileSize",
        injection="the served file is cut to half of the advertised fileSize",
        expect="failure",
        failing_task=DOWNLOAD,
        message="giving up after",
        before_download=truncate_file,
    ),
]

DAG_CASES = [case for case in FAULT_CASES if case.dag]
