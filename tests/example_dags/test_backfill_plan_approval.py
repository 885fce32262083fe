"""The backfill example DAG's plan approval, end to end with ``dag.test()`` against the emulator.

With ``approve_plan`` the run stops at ``review_plan`` until a person answers; here the answer is given the
way the UI's Required actions page gives it (the REST API's ``update_hitl_detail``, in a thread sharing the
metadata DB). Approve: the exports start, only then. Reject: the run ends with no job created.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import test_example_dags
from airflow.utils.state import DagRunState

from airflow_provider_marketo_pm.operators.plan_approval import HITL_AVAILABLE
from airflow_provider_marketo_pm.plan_summary import DAILY_QUOTA_MB
from airflow_provider_marketo_pm.windows import split_updated_at

pytestmark = [
    pytest.mark.slow,
    pytest.mark.e2e,
    pytest.mark.skipif(not HITL_AVAILABLE, reason="human-in-the-loop operators need Airflow 3.1+"),
]

# The example DAG tests' fixtures: the DAGs parsed against the emulator, the emulator's pinned data.
example_dags = test_example_dags.example_dags
marketo_emulator_options = test_example_dags.marketo_emulator_options
written_files = test_example_dags.written_files

DAG_ID = "marketo_program_members_backfill"
CONF = {"start": "2024-01-01", "end": "2024-04-01", "program_ids": list(range(1001, 1013))}


def answer_when_asked(option: str, seen: dict[str, Any], before: Callable[[], Any]) -> threading.Thread:
    """In a thread: wait for review_plan's request, note ``before()``, then answer it with ``option``."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.models.hitl import HITLDetail
    from airflow.utils.session import create_session
    from sqlalchemy import select

    def answer() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with create_session() as session:
                # The request still open: a row answered earlier (another test's run) is not this one.
                waiting = [row for row in session.scalars(select(HITLDetail)) if not row.response_received]
                detail = waiting[0] if waiting else None
                if detail is not None:
                    ti = detail.task_instance
                    seen.update(before=before(), subject=detail.subject, body=detail.body)
                    update_hitl_detail(
                        dag_id=ti.dag_id,
                        dag_run_id=ti.run_id,
                        task_id=ti.task_id,
                        update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[option]),
                        user=SimpleAuthManagerUser(username="approver", role="admin"),
                        session=session,
                        map_index=ti.map_index,
                    )
                    return
            time.sleep(0.5)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def fresh_hitl_table(airflow_db) -> Iterator[None]:
    """No request of an earlier test in the shared DB: the thread answers the first one it finds."""
    from airflow.models.hitl import HITLDetail
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    def clear() -> None:
        with create_session() as session:
            session.execute(delete(HITLDetail))

    clear()
    yield
    clear()


def test_approved_plan_exports_only_after_the_approval(
    example_dags, marketo_emulator, tmp_path, fresh_hitl_table
):
    seen: dict[str, Any] = {}
    thread = answer_when_asked("Approve", seen, before=lambda: len(marketo_emulator.calls("create")))
    conf = {**CONF, "destination": tmp_path.as_uri(), "approve_plan": True, "mb_per_job": 250}

    run = example_dags.dags[DAG_ID].test(run_conf=conf)
    thread.join(timeout=5)

    assert run.state == DagRunState.SUCCESS
    assert seen["before"] == 0  # nothing was created while the plan waited
    windows = split_updated_at(CONF["start"], CONF["end"])
    jobs = len(windows) * 2  # 12 programs: batches of 10 and 2
    assert len(marketo_emulator.calls("create")) == jobs
    assert len(written_files(tmp_path)) == jobs
    summary = run.get_task_instance("review_plan").xcom_pull(task_ids="review_plan", key="plan_summary")
    assert summary["jobs"] == jobs
    assert summary["estimated_mb"] == jobs * 250
    assert summary["quota_days"] == -(-jobs * 250 // int(DAILY_QUOTA_MB))  # 1,500 MB: 3 days of 500
    assert summary["first_window"] == windows[0]
    assert summary["last_window"] == windows[-1]
    assert seen["subject"] == "Approve the Marketo backfill plan"
    assert f"| Export jobs | {jobs} |" in seen["body"]


def test_rejected_plan_ends_the_run_without_a_job(example_dags, marketo_emulator, tmp_path, fresh_hitl_table):
    seen: dict[str, Any] = {}
    thread = answer_when_asked("Reject", seen, before=lambda: len(marketo_emulator.calls("create")))

    run = example_dags.dags[DAG_ID].test(
        run_conf={**CONF, "destination": tmp_path.as_uri(), "approve_plan": True}
    )
    thread.join(timeout=5)

    assert run.state == DagRunState.SUCCESS
    assert marketo_emulator.calls("create") == []
    assert written_files(tmp_path) == {}
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["review_plan"] == "success"
    assert {
        state for task_id, state in states.items() if task_id != "review_plan" and task_id != "plan_exports"
    } == {"skipped"}
