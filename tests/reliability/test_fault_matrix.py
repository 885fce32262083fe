"""Fault matrix: for every fault the emulator can inject, start -> sensor -> download either delivers a
file byte-identical to the served one, or fails with a message naming the cause and leaves nothing at
the destination. The table lives in ``fault_cases.py``; the run writes docs/reliability.md.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from airflow.providers.common.compat.sdk import AirflowException
from fault_cases import DAG_CASES, FAULT_CASES, FaultCase
from fault_report import FaultReport, Observation
from reliability_support import (
    DOWNLOAD,
    START,
    WAIT,
    PipelineOutcome,
    call_summary,
    error_answers,
    run_pipeline,
    stable_excerpt,
    use_emulator,
)

from airflow_provider_marketo_pm.testing import MarketoEmulator

pytestmark = pytest.mark.slow


def files_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*")) if directory.exists() else []


def observe(
    case: FaultCase, outcome: PipelineOutcome, emu: MarketoEmulator, as_expected: bool
) -> Observation:
    calls, errors = call_summary(emu)
    return Observation(
        name=case.name,
        injection=case.injection,
        expected=case.expect if case.expect == "success" else f"failure: {case.message}",
        outcome="success" if outcome.succeeded else "failure",
        failed_task=outcome.failed_task or "",
        error_type=type(outcome.error).__name__ if outcome.error is not None else "",
        excerpt=stable_excerpt(outcome.message),
        calls=calls,
        errors=errors,
        as_expected=as_expected,
    )


def contains_in_order(haystack: list[str], needles: tuple[str, ...]) -> bool:
    remaining = iter(haystack)
    return all(any(item == needle for item in remaining) for needle in needles)


@pytest.mark.parametrize("case", FAULT_CASES, ids=str)
def test_fault(case: FaultCase, tmp_path, monkeypatch, fault_report: FaultReport):
    out_dir = tmp_path / "out"
    destination = out_dir / "members.csv"
    with MarketoEmulator(**case.options) as emu:
        use_emulator(monkeypatch, emu, **case.extras)
        case.setup(emu)

        outcome = run_pipeline(
            destination,
            case.settings,
            emu=emu,
            after_start=case.after_start,
            before_download=case.before_download,
        )

        answered = error_answers(emu)
        served = emu.file_bytes(outcome.export_id) if outcome.succeeded and outcome.export_id else b""
        left_behind = files_under(out_dir)
        if case.expect == "success":
            checks = {
                "succeeded": outcome.succeeded,
                "byte-identical": destination.exists() and destination.read_bytes() == served,
                "only the file": left_behind == ["members.csv"],
            }
        else:
            checks = {
                "failed": not outcome.succeeded,
                "in the right task": outcome.failed_task == case.failing_task,
                "names the cause": case.names_the_cause(outcome.message),
                "an Airflow failure": isinstance(outcome.error, AirflowException),
                "nothing at the destination": left_behind == [],
            }
        checks["fault happened"] = contains_in_order(answered, case.answers) and (
            case.proof is None or case.proof(emu)
        )
        fault_report.record(observe(case, outcome, emu, all(checks.values())))

    assert checks == dict.fromkeys(checks, True), f"{case.name}: {outcome.failed_task} {outcome.message}"
    if case.expect == "success":
        assert outcome.result is not None
        assert outcome.result["sha256"] == hashlib.sha256(served).hexdigest()
        assert outcome.result["bytes"] == len(served)


# -- the same faults through a real DAG run --------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("case", DAG_CASES, ids=str)
def test_fault_in_a_real_dag_run(case: FaultCase, fault_dag, tmp_path, monkeypatch, capsys, fault_report):
    out_dir = tmp_path / "out"
    destination = out_dir / "members.csv"
    with MarketoEmulator(**case.options) as emu:
        use_emulator(monkeypatch, emu, **case.extras)
        case.setup(emu)

        dag_run = fault_dag.test(run_conf={"destination": destination.as_uri()})

        states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
        logs = capsys.readouterr().out
        in_order = [f"{task} {states.get(task)}" for task in (START, WAIT, DOWNLOAD)]
        fault_report.record_dag(case.name, ", ".join(in_order))
        if case.expect == "success":
            assert states == {START: "success", WAIT: "success", DOWNLOAD: "success"}
            (export_id,) = {r.path.split("/")[-2] for r in emu.calls("enqueue")}
            assert destination.read_bytes() == emu.file_bytes(export_id)
            assert files_under(out_dir) == ["members.csv"]
        else:
            assert states[case.failing_task] == "failed"
            assert case.names_the_cause(logs)
            assert files_under(out_dir) == []
