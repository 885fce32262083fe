"""The example DAGs: they import cleanly and offline, and each one runs end to end against the emulator.

End-to-end runs use ``dag.test()`` (tasks and triggers in this process, no scheduler), the emulator's
fast pace and a ``file://`` destination under tmp_path, then check what reached Marketo (the create
requests) and what reached the destination (files whose bytes are exactly the emulator's).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import itertools
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import airflow
import airflow.sdk.execution_time.context
import pendulum
import pytest

try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # Airflow < 3.1
    from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

try:
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 3.0
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[no-redef]

try:
    from airflow.serialization.encoders import coerce_to_core_timetable
except ImportError:  # Airflow 3.0: a DAG's timetable is a core timetable already

    def coerce_to_core_timetable(timetable: Any) -> Any:  # type: ignore[misc]
        return timetable


from airflow.utils.state import DagRunState

from airflow_provider_marketo_pm.retry_policy import RETRY_POLICY_AVAILABLE, MarketoRetryPolicy
from airflow_provider_marketo_pm.windows import split_updated_at

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
DAG_IDS = {
    "marketo_activities_daily",
    "marketo_custom_object_snapshot",
    "marketo_leads_daily",
    "marketo_program_members_backfill",
    "marketo_program_members_backfill_window",
    "marketo_program_members_daily",
    "marketo_program_members_snapshot",
    "marketo_program_members_to_postgres",
}
POOL = "marketo_bulk_export"
AIRFLOW_VERSION = tuple(int(part) for part in airflow.__version__.split(".")[:2])


def load_example_dags() -> DagBag:
    bag = DagBag(dag_folder=str(EXAMPLE_DAGS))
    assert bag.import_errors == {}
    return bag


def render_with_variables(task: Any) -> Any:
    """A copy of ``task`` with its connection id and poll interval rendered as a worker would."""
    from airflow.sdk.execution_time.context import VariableAccessor

    rendered = copy.copy(task)
    context = {"var": {"value": VariableAccessor(deserialize_json=False)}}
    for name in ("marketo_conn_id", "poll_interval"):
        if hasattr(task, name):
            setattr(rendered, name, task.render_template(getattr(task, name), context))
    return rendered


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any socket connection fail loudly, so a DAG that calls out at import cannot pass."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network call at DAG import: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


class TestImport:
    def test_every_example_dag_imports_without_errors_or_network(self, no_network):
        bag = load_example_dags()
        assert set(bag.dag_ids) == DAG_IDS

    @pytest.mark.skipif(not RETRY_POLICY_AVAILABLE, reason="retry_policy is Airflow 3.3+")
    def test_every_planning_task_fails_bad_input_at_once_with_the_marketo_retry_policy(self):
        planners = {
            (dag.dag_id, task.task_id): task
            for dag in load_example_dags().dags.values()
            for task in dag.tasks
            if task.task_id.startswith("plan_")
        }
        assert len(planners) == 8, sorted(planners)
        for name, task in planners.items():
            assert isinstance(task.retry_policy, MarketoRetryPolicy), name

    @pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
    def test_each_dag_explains_itself_and_starts_paused_friendly(self, dag_id):
        dag = load_example_dags().dags[dag_id]
        assert dag.doc_md
        assert "marketo_bulk_export" in dag.doc_md
        assert dag.catchup is False
        assert "marketo" in dag.tags

    @pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
    def test_jobs_in_flight_are_paced_by_the_pool_one_slot_from_create_to_completion(self, dag_id):
        tasks = load_example_dags().dags[dag_id].task_dict
        start, wait, download = (
            tasks[f"export_job.{name}"] for name in ("start_export", "wait_for_export", "download_export")
        )
        assert start.pool == POOL
        assert (start.wait_for_completion, start.deferrable) == (True, True)
        assert wait.pool != POOL, "the job has left Marketo's queue when the sensor confirms it"
        assert download.pool != POOL, "downloads do not hold a place in Marketo's queue"
        # a free worker slot goes to finishing a completed job before starting a new one
        # (Airflow 3.0 keeps the rule as a strategy object, later versions as its name)
        assert all("absolute" in str(rule).lower() for rule in (start.weight_rule, wait.weight_rule))
        assert wait.priority_weight > start.priority_weight
        if AIRFLOW_VERSION < (3, 1):
            return  # rendering Variables outside a running task needs SDK comms that Airflow 3.0 lacks
        for task in (start, wait):
            rendered = render_with_variables(task)
            assert rendered.poll_interval == "60", "60 s by default: Marketo refreshes status once a minute"
            assert rendered.marketo_conn_id == "marketo_default"

    def test_daily_data_interval_is_the_utc_day(self):
        dag = load_example_dags().dags["marketo_program_members_daily"]
        assert isinstance(dag.timetable, CronDataIntervalTimetable)
        interval = coerce_to_core_timetable(dag.timetable).infer_manual_data_interval(
            run_after=pendulum.datetime(2024, 3, 10, 12, tz="UTC")
        )
        assert (interval.start, interval.end) == (
            pendulum.datetime(2024, 3, 9, tz="UTC"),
            pendulum.datetime(2024, 3, 10, tz="UTC"),
        )

    def test_no_variable_is_read_when_the_dags_are_parsed(self, monkeypatch):
        def refuse(key: str, *args: Any, **kwargs: Any) -> None:
            raise AssertionError(f"Variable {key!r} read at DAG import")

        monkeypatch.setattr(airflow.sdk.execution_time.context, "_get_variable", refuse)
        bag = load_example_dags()
        assert set(bag.dag_ids) == DAG_IDS

    def test_poll_interval_and_connection_are_rendered_from_variables_when_tasks_run(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW_VAR_MARKETO_PM_POLL_INTERVAL", "5")
        monkeypatch.setenv("AIRFLOW_VAR_MARKETO_PM_CONN_ID", "marketo_sandbox")
        for dag in load_example_dags().dags.values():
            for waiting in ("export_job.start_export", "export_job.wait_for_export"):
                rendered = render_with_variables(dag.task_dict[waiting])
                assert float(rendered.poll_interval) == 5
                assert rendered.marketo_conn_id == "marketo_sandbox"
            for task_id in ("export_job.start_export", "export_job.download_export"):
                assert render_with_variables(dag.task_dict[task_id]).marketo_conn_id == "marketo_sandbox"


# --- end to end -------------------------------------------------------------------------------------

#: The emulator's data as of one fixed day (it follows the clock otherwise), so that the rows and file
#: sizes these runs meet, 2024 windows included, are the same whatever day the tests run.
DATA_UNTIL = "2026-11-01"


@pytest.fixture
def marketo_emulator_options() -> dict[str, Any]:
    return {"data_until": DATA_UNTIL}


@pytest.fixture
def example_dags(marketo_emulator, airflow_db, monkeypatch) -> DagBag:
    """The example DAGs parsed with a fast poll interval, pointed at the emulator."""
    for key, value in marketo_emulator.connection_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AIRFLOW_VAR_MARKETO_PM_POLL_INTERVAL", "0.2")
    # dag.test() re-parses the DAGs folder; keep it to the example DAGs (fast, and nothing else in it)
    bundle = {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle"}
    monkeypatch.setenv(
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST",
        json.dumps([{**bundle, "kwargs": {"path": str(EXAMPLE_DAGS)}}]),
    )
    monkeypatch.delenv("AIRFLOW_VAR_MARKETO_PM_DESTINATION", raising=False)
    monkeypatch.delenv("AIRFLOW_VAR_MARKETO_PM_PROGRAM_IDS", raising=False)
    return load_example_dags()


def created_filters(emulator) -> list[dict[str, Any]]:
    return [json.loads(call.body)["filter"] for call in emulator.calls("create")]


def completed_export_checksums(emulator) -> set[str]:
    """sha256 of every file the emulator completed, as it advertises them (``/export/{id}/enqueue.json``)."""
    ids = {call.path.split("/")[-2] for call in emulator.calls("enqueue")}
    return {emulator.job(export_id)["fileChecksum"].removeprefix("sha256:") for export_id in ids}


def written_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


@pytest.mark.slow
@pytest.mark.e2e
def test_backfill_exports_every_window_and_batch_verified(example_dags, marketo_emulator, tmp_path):
    program_ids = list(range(1001, 1013))  # 12 programs -> batches of 10 and 2
    conf = {"start": "2024-01-01", "end": "2024-03-01", "program_ids": program_ids}
    run = example_dags.dags["marketo_program_members_backfill"].test(
        run_conf={**conf, "destination": tmp_path.as_uri()}
    )
    assert run.state == DagRunState.SUCCESS

    windows = split_updated_at(conf["start"], conf["end"])
    assert [w["startAt"] for w in windows] == ["2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"]
    filters = created_filters(marketo_emulator)
    assert sorted((f["updatedAt"]["startAt"], f["programIds"]) for f in filters) == sorted(
        (w["startAt"], batch) for w in windows for batch in (program_ids[:10], program_ids[10:])
    )

    # Each mapped task is labelled in the UI: the start by window and programs, the wait by its export.
    labels = {(ti.task_id, ti.rendered_map_index) for ti in run.get_task_instances() if ti.map_index >= 0}
    export_ids = {call.path.split("/")[-2] for call in marketo_emulator.calls("enqueue")}
    assert {label for task_id, label in labels if task_id == "export_job.start_export"} == {
        f"{w['startAt'][:10]}..{w['endAt'][:10]} programs {','.join(map(str, batch))}"
        for w in windows
        for batch in (program_ids[:10], program_ids[10:])
    }
    wait_labels = {label for task_id, label in labels if task_id == "export_job.wait_for_export"}
    assert {label.split(":")[0].removeprefix("export ") for label in wait_labels} == export_ids
    assert all(label.endswith(" records") or label.endswith(" record") for label in wait_labels)

    files = written_files(tmp_path)
    assert sorted(files) == [
        f"backfill/updated_from={lower}/updated_to={upper}/batch={n}.csv"
        for lower, upper in (("2024-01-01", "2024-02-01"), ("2024-02-01", "2024-03-01"))
        for n in ("00", "01")
    ]
    assert {hashlib.sha256(data).hexdigest() for data in files.values()} == completed_export_checksums(
        marketo_emulator
    )
    for name, data in files.items():
        lower = pendulum.parse(name.split("updated_from=")[1][:10])
        upper = pendulum.parse(name.split("updated_to=")[1][:10])
        batch = program_ids[:10] if name.endswith("batch=00.csv") else program_ids[10:]
        for row in csv_rows(data):
            assert int(row["programId"]) in batch
            assert lower <= pendulum.parse(row["updatedAt"]) <= upper


@pytest.mark.slow
@pytest.mark.e2e
def test_backfill_of_one_window_and_one_batch_reports_its_one_file(example_dags, marketo_emulator, tmp_path):
    """One job (the demo's --end 2024-01-10 --program-ids 1044): the report still gets a list of one."""
    dag = example_dags.dags["marketo_program_members_backfill"]
    conf = {"start": "2024-01-01", "end": "2024-01-10", "program_ids": [1044]}

    run = dag.test(run_conf={**conf, "destination": tmp_path.as_uri()})

    assert run.state == DagRunState.SUCCESS
    assert len(marketo_emulator.calls("create")) == 1
    files = written_files(tmp_path)
    assert list(files) == ["backfill/updated_from=2024-01-01/updated_to=2024-01-10/batch=00.csv"]
    report = run.get_task_instance("report")
    assert report is not None
    assert report.state == "success"


def window_runs_of(run) -> list[Any]:
    """The window DAG's runs that a backfill run started, by their run id."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == "marketo_program_members_backfill_window").all()
        return sorted(
            (r for r in runs if r.run_id.startswith(f"{run.run_id}__window_")), key=lambda r: r.run_id
        )


@pytest.mark.slow
@pytest.mark.e2e
def test_a_backfill_larger_than_one_run_runs_window_by_window_in_runs_of_the_window_dag(
    example_dags, marketo_emulator, tmp_path
):
    """4 jobs, at most 2 per run: the backfill starts one window run per window and creates no job itself;
    each window run exports its window's batches, named as in the one-run plan."""
    program_ids = list(range(1001, 1013))  # 2 batches
    conf = {"start": "2024-01-01", "end": "2024-03-01", "program_ids": program_ids, "max_jobs_per_run": 2}
    run = example_dags.dags["marketo_program_members_backfill"].test(
        run_conf={**conf, "destination": tmp_path.as_uri()}
    )

    assert run.state == DagRunState.SUCCESS
    assert marketo_emulator.calls("create") == [], "the backfill run only plans and starts window runs"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["start_window_runs"] == "success"
    assert states["export_job.start_export"] == "skipped", "no job in the backfill run itself"
    windows = window_runs_of(run)
    assert [(w.conf["window"], w.conf["plan_run_id"]) for w in windows] == [(0, run.run_id), (1, run.run_id)]

    window_dag = example_dags.dags["marketo_program_members_backfill_window"]
    for window in windows:  # the scheduler would run them; here, each as dag.test() runs it
        window_run = window_dag.test(run_conf=window.conf)
        assert window_run.state == DagRunState.SUCCESS
    windows_planned = split_updated_at(conf["start"], conf["end"])
    assert sorted(
        (f["updatedAt"]["startAt"], f["programIds"]) for f in created_filters(marketo_emulator)
    ) == sorted(
        (w["startAt"], batch) for w in windows_planned for batch in (program_ids[:10], program_ids[10:])
    )
    assert sorted(written_files(tmp_path)) == [
        f"backfill/updated_from={lower}/updated_to={upper}/batch={n}.csv"
        for lower, upper in (("2024-01-01", "2024-02-01"), ("2024-02-01", "2024-03-01"))
        for n in ("00", "01")
    ]


@pytest.mark.slow
@pytest.mark.e2e
def test_a_backfill_that_cannot_fit_fails_at_once_naming_the_limit_and_creates_nothing(
    example_dags, marketo_emulator, tmp_path, capfd
):
    """3 batches per window, at most 2 jobs per run: refused in planning, for good (no retry)."""
    conf = {"start": "2024-01-01", "end": "2024-03-01", "program_ids": list(range(1001, 1031))}
    run = example_dags.dags["marketo_program_members_backfill"].test(
        run_conf={**conf, "max_jobs_per_run": 2, "destination": tmp_path.as_uri()}
    )

    assert run.state == DagRunState.FAILED
    plan = run.get_task_instance("plan_exports")
    assert plan is not None
    assert (plan.state, plan.try_number) == ("failed", 1), "final: no retry 60 s later"
    assert marketo_emulator.calls("create") == []
    assert window_runs_of(run) == []
    output = capfd.readouterr()
    assert (
        "one window alone has 3 jobs, more than one DAG run maps (max_jobs_per_run=2;"
        in output.out + output.err
    )


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.skipif(not RETRY_POLICY_AVAILABLE, reason="retry_policy is Airflow 3.3+")
def test_a_backfill_with_bad_dates_fails_at_once_naming_them_and_creates_nothing(
    example_dags, marketo_emulator, tmp_path, capfd
):
    """End before start: refused in planning for good, not retried a minute later (the task has retries)."""
    conf = {
        "start": "2024-03-01",
        "end": "2024-01-01",
        "program_ids": [1044],
        "destination": tmp_path.as_uri(),
    }
    run = example_dags.dags["marketo_program_members_backfill"].test(run_conf=conf)

    assert run.state == DagRunState.FAILED
    plan = run.get_task_instance("plan_exports")
    assert plan is not None
    assert (plan.state, plan.try_number) == ("failed", 1), "final: no retry 60 s later"
    assert marketo_emulator.calls("create") == []
    output = capfd.readouterr()
    assert "start='2024-03-01T00:00:00Z' is invalid: must be before end=2024-01-01T00:00:00Z" in (
        output.out + output.err
    )


@pytest.mark.slow
@pytest.mark.e2e
def test_daily_exports_the_previous_day_to_its_partition(example_dags, marketo_emulator, tmp_path):
    dag = example_dags.dags["marketo_program_members_daily"]
    run = dag.test(
        logical_date=pendulum.datetime(2024, 3, 5, tz="UTC"),
        run_conf={"program_ids": [1044, 1001], "destination": tmp_path.as_uri()},
    )
    assert run.state == DagRunState.SUCCESS
    # a run at 2024-03-05 00:00 covers the UTC day before it
    assert (run.data_interval_start, run.data_interval_end) == (
        pendulum.datetime(2024, 3, 4, tz="UTC"),
        pendulum.datetime(2024, 3, 5, tz="UTC"),
    )
    assert created_filters(marketo_emulator) == [
        {
            "programIds": [1044, 1001],
            "updatedAt": {"startAt": "2024-03-04T00:00:00Z", "endAt": "2024-03-05T00:00:00Z"},
        }
    ]
    files = written_files(tmp_path)
    assert list(files) == ["daily/updated_date=2024-03-04/batch=00.csv"]
    data = files["daily/updated_date=2024-03-04/batch=00.csv"]
    assert {hashlib.sha256(data).hexdigest()} == completed_export_checksums(marketo_emulator)


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("marketo_emulator_options", [{}])  # not pinned: the data ends with yesterday
def test_daily_with_days_31_exports_the_last_31_days_rows_whatever_the_day(
    example_dags, marketo_emulator, tmp_path
):
    """The rolling window (plan_last_days) against data that follows the clock: today's last 31 days."""
    today = pendulum.now("UTC").start_of("day")
    programs = list(range(1001, 1011))
    run = example_dags.dags["marketo_program_members_daily"].test(
        logical_date=today,
        run_conf={"days": 31, "program_ids": programs, "destination": tmp_path.as_uri()},
    )
    assert run.state == DagRunState.SUCCESS

    window = {
        "startAt": today.subtract(days=31).format("YYYY-MM-DDTHH:mm:ss[Z]"),
        "endAt": today.format("YYYY-MM-DDTHH:mm:ss[Z]"),
    }
    assert created_filters(marketo_emulator) == [{"programIds": programs, "updatedAt": window}]
    path = f"daily/updated_date={today.subtract(days=1).to_date_string()}/batch=00.csv"
    files = written_files(tmp_path)
    assert list(files) == [path]
    rows = csv_rows(files[path])
    assert rows, "the emulator's data reaches yesterday, so the last 31 days have rows"
    assert all(window["startAt"] <= row["updatedAt"] < window["endAt"] for row in rows)


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.compat
def test_snapshot_exports_current_membership_without_updated_at(example_dags, marketo_emulator, tmp_path):
    dag = example_dags.dags["marketo_program_members_snapshot"]
    run = dag.test(
        logical_date=pendulum.datetime(2024, 6, 3, 6, tz="UTC"),
        run_conf={"program_ids": [1044], "destination": tmp_path.as_uri()},
    )
    assert run.state == DagRunState.SUCCESS
    assert created_filters(marketo_emulator) == [{"programIds": [1044]}]
    files = written_files(tmp_path)
    assert list(files) == [
        f"snapshot/snapshot_date=2024-06-03/{name}"
        for name in ("_manifest.json", "batch=00.csv", "batch=00.parquet", "batch=00.schema.json")
    ]
    rows = csv_rows(files["snapshot/snapshot_date=2024-06-03/batch=00.csv"])
    assert rows
    assert {row["programId"] for row in rows} == {"1044"}
    updated = sorted(pendulum.parse(row["updatedAt"]) for row in rows)
    assert updated[-1] - updated[0] > pendulum.duration(days=31), "not limited to one updatedAt window"


@pytest.mark.slow
@pytest.mark.e2e
def test_airflow_backfill_create_makes_one_run_per_utc_day_of_the_daily_dag(airflow_db):
    """The documented recipe: `airflow backfill create` on the daily DAG covers each day exactly once."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    bundle = {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle"}
    env = {
        **os.environ,
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [{**bundle, "kwargs": {"path": str(EXAMPLE_DAGS)}}]
        ),
    }
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run([*airflow, "dags", "reserialize"], check=True, capture_output=True, env=env)
    subprocess.run(
        [
            *airflow,
            *("backfill", "create", "--dag-id", "marketo_program_members_daily"),
            *("--from-date", "2023-12-30", "--to-date", "2024-01-02", "--max-active-runs", "2"),
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == "marketo_program_members_daily").all()
        intervals = sorted(
            (run.data_interval_start, run.data_interval_end) for run in runs if run.run_type == "backfill"
        )
    days = [pendulum.datetime(2023, 12, 30, tz="UTC").add(days=n) for n in range(5)]
    assert intervals == list(itertools.pairwise(days))


# A compressed quota day: 20 s, long enough for the first jobs of the run, short for the test. The quota
# (6000 bytes) is less than the run's files (about 10 KB for the Default workspace's 20 programs over three
# windows, 6 jobs) and more than what is left after day one: the backfill runs into it on day one and
# finishes on day two.
QUOTA_DAY = {"daily_quota_bytes": 6000, "quota_day_seconds": 20.0, "data_until": DATA_UNTIL}


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("marketo_emulator_options", [QUOTA_DAY])
def test_backfill_of_a_workspace_waits_out_the_daily_quota_and_finishes_on_day_two(
    example_dags, marketo_emulator, tmp_path
):
    from airflow_provider_marketo_pm.testing.quota_day import compressed_quota_day

    conf = {"start": "2024-01-01", "end": "2024-04-01", "program_ids": {"workspace": "Default"}}
    with compressed_quota_day(marketo_emulator):
        run = example_dags.dags["marketo_program_members_backfill"].test(
            run_conf={**conf, "destination": tmp_path.as_uri()}
        )

    assert run.state == DagRunState.SUCCESS
    # no failed task, no retry (the window runs' starter has nothing to start: the plan fits one run)
    assert {ti.state for ti in run.get_task_instances() if ti.task_id != "start_window_runs"} == {"success"}
    jobs = marketo_emulator.instance.jobs
    quota_refusals = [
        call
        for endpoint in ("create", "enqueue")
        for call in marketo_emulator.calls(endpoint)
        if call.marketo_code == "1029"
    ]
    assert quota_refusals, "the run never met the daily quota"
    created = [
        json.loads(call.body)["filter"]
        for call in marketo_emulator.calls("create")
        if call.marketo_code is None
    ]
    enqueued = {
        call.path.split("/")[-2] for call in marketo_emulator.calls("enqueue") if call.marketo_code is None
    }
    finished_days = {jobs.quota_day(jobs.get(export_id).finished_at) for export_id in enqueued}
    assert finished_days == {0, 1}, "every job completes on day one or day two"

    # Exactly one export job per window x batch: a wait neither lost nor repeated a job.
    dataset = marketo_emulator.instance.dataset
    programs = sorted(p.id for p in dataset.programs.values() if p.workspace == "Default")
    windows = split_updated_at(conf["start"], conf["end"])
    assert sorted((f["updatedAt"]["startAt"], f["programIds"]) for f in created) == sorted(
        (w["startAt"], batch) for w in windows for batch in (programs[:10], programs[10:])
    )
    assert len(enqueued) == len(created) == 6
    files = written_files(tmp_path)
    assert len(files) == 6
    assert {hashlib.sha256(data).hexdigest() for data in files.values()} == completed_export_checksums(
        marketo_emulator
    )
