"""program_member_export_group and ProgramMemberExportSettings: one export job's tasks, paced, mappable."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pendulum
import pytest
from airflow.sdk import DAG, task
from airflow.sdk.definitions.taskgroup import MappedTaskGroup

from airflow_provider_marketo_pm import destination
from airflow_provider_marketo_pm.exceptions import MarketoDestinationError, MarketoRequestError
from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor
from airflow_provider_marketo_pm.task_groups import program_members
from airflow_provider_marketo_pm.task_groups.program_members import (
    DEFAULT_PROGRAM_MEMBER_FIELDS,
    MARKETO_BULK_EXPORT_POOL,
    ProgramMemberExportSettings,
    export_results,
    program_member_export_group,
)

JOB = {
    "fields": ["leadId", "email"],
    "export_filter": {"programIds": [1044]},
    "destination": "file:///tmp/members/batch=00.csv",
    "dest_conn_id": None,
}


def mapped_dag(**group_kwargs) -> DAG:
    with DAG("uses_the_group", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:

        @task
        def plan() -> list[dict]:
            return [JOB]

        program_member_export_group(**group_kwargs).expand_kwargs(plan())
    return dag


def group_tasks(dag: DAG, group_id: str = "export_job"):
    return tuple(
        dag.task_dict[f"{group_id}.{name}"] for name in ("start_export", "wait_for_export", "download_export")
    )


def test_maps_over_jobs_with_the_three_tasks_in_order():
    dag = mapped_dag()
    start, wait, download = group_tasks(dag)

    assert isinstance(start, MarketoStartProgramMemberExportOperator)
    assert isinstance(wait, MarketoProgramMemberExportSensor)
    assert isinstance(download, MarketoDownloadProgramMemberExportOperator)
    assert isinstance(dag.task_group_dict["export_job"], MappedTaskGroup)
    assert wait.upstream_task_ids == {"export_job.start_export"}
    assert {"export_job.start_export", "export_job.wait_for_export"} <= download.upstream_task_ids


def test_one_pool_slot_covers_a_job_from_create_to_completion():
    start, wait, download = group_tasks(mapped_dag(poll_interval=7, sensor_timeout=600))

    assert start.pool == MARKETO_BULK_EXPORT_POOL == "marketo_bulk_export"
    assert (start.wait_for_completion, start.deferrable) == (True, True), "the start waits, deferred"
    assert (start.poll_interval, start.timeout) == (7, 600)
    assert wait.pool != MARKETO_BULK_EXPORT_POOL, "the sensor only confirms a job that left the queue"
    assert download.pool != MARKETO_BULK_EXPORT_POOL, "downloads hold no place in Marketo's queue"
    assert all("absolute" in str(rule).lower() for rule in (start.weight_rule, wait.weight_rule))
    assert wait.priority_weight > start.priority_weight, "finishing a job beats starting one"
    assert wait.deferrable is True
    assert wait.poll_interval == 7


def test_settings_are_passed_to_every_task_and_stay_templated():
    dag = mapped_dag(
        group_id="members",
        marketo_conn_id="{{ params.conn }}",
        poll_interval="{{ params.poll }}",
        pool=None,
        overwrite=False,
    )
    start, wait, download = group_tasks(dag, "members")

    assert {t.marketo_conn_id for t in (start, wait, download)} == {"{{ params.conn }}"}
    assert start.poll_interval == wait.poll_interval == "{{ params.poll }}"
    assert start.pool == wait.pool == "default_pool"
    assert download.overwrite is False
    assert start.overwrite is False, "the start checks the download's destination before create"


def test_the_start_knows_the_jobs_destination_to_check_it_before_create():
    with DAG("one_job", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:
        program_member_export_group()(**{**JOB, "dest_conn_id": "my_store"})

    start, _, download = group_tasks(dag)
    assert (start.destination, start.dest_conn_id) == (download.destination, download.dest_conn_id)
    assert start.overwrite is download.overwrite is True


def test_the_quota_settings_reach_the_start():
    dag = mapped_dag(on_quota_exceeded="fail", quota_waits=1, daily_export_budget_mb="{{ params.budget }}")
    start, _, _ = group_tasks(dag)

    assert (start.on_quota_exceeded, start.quota_waits) == ("fail", 1)
    assert start.daily_export_budget_mb == "{{ params.budget }}"


def test_any_argument_of_the_start_reaches_it_through_the_group():
    start, _, _ = group_tasks(mapped_dag(queue_full_retries=5, reenqueue_after_polls=None, retries=2))

    assert (start.queue_full_retries, start.reenqueue_after_polls, start.retries) == (5, None, 2)


def test_an_argument_the_start_does_not_take_is_refused_when_the_group_is_built():
    with pytest.raises(TypeError, match="no argument 'quota_wait'"):
        program_member_export_group(quota_wait=1)


def test_the_start_waits_for_the_quota_reset_by_default():
    start, _, _ = group_tasks(mapped_dag())

    assert (start.on_quota_exceeded, start.quota_waits, start.daily_export_budget_mb) == ("wait", 3, None)


RESULT = {"uri": "file:///m/batch=00.csv", "bytes": 9, "records": 1, "sha256": "ab", "export_id": "e1"}


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (RESULT, [RESULT]),  # a group mapped over one job: Airflow hands over the one result
        ([RESULT, {**RESULT, "export_id": "e2"}], [RESULT, {**RESULT, "export_id": "e2"}]),
        ((r for r in [RESULT]), [RESULT]),  # a lazy sequence
        (None, []),
    ],
)
def test_export_results_is_a_list_whatever_the_number_of_jobs(output, expected):
    assert export_results(output) == expected


def test_a_bad_poll_interval_is_refused_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match="poll_interval"):
        mapped_dag(poll_interval=0)


def test_called_once_without_mapping():
    with DAG("one_job", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:
        program_member_export_group()(**JOB)

    start, _, download = group_tasks(dag)
    assert start.filter == JOB["export_filter"]
    assert download.destination == JOB["destination"]
    assert not isinstance(dag.task_group_dict["export_job"], MappedTaskGroup)


def test_the_download_reports_the_jobs_programs_as_lineage_inputs():
    with DAG("one_job", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:
        program_member_export_group()(**JOB)

    *_, download = group_tasks(dag)
    assert download._program_ids() == [1044]


class TestSettings:
    @pytest.fixture(autouse=True)
    def _no_variables(self, monkeypatch):
        for name in ("PROGRAM_IDS", "DESTINATION", "DEST_CONN_ID", "FIELDS"):
            monkeypatch.delenv(f"AIRFLOW_VAR_MARKETO_PM_{name}", raising=False)

    @pytest.fixture
    def variables_unset(self, monkeypatch):
        """No Variable anywhere; outside a task Airflow 3.0 cannot look one up in the metadata DB."""
        looked_up = []

        def get(key, default=None, deserialize_json=False):
            looked_up.append(key)
            return default

        monkeypatch.setattr(program_members.Variable, "get", get)
        return looked_up

    @pytest.fixture
    def variables_from_env(self, monkeypatch):
        """Variables from ``AIRFLOW_VAR_*`` only: outside a task Airflow 3.0 cannot reach the metadata DB."""

        def get(key, default=None, deserialize_json=False):
            value = os.environ.get(f"AIRFLOW_VAR_{key.upper()}")
            if value is None:
                return default
            return json.loads(value) if deserialize_json else value

        monkeypatch.setattr(program_members.Variable, "get", get)

    def test_defaults_without_params_or_variables(self, variables_unset):
        demo = {"program_ids": [1044], "destination": "file:///tmp/marketo_program_members"}
        settings = ProgramMemberExportSettings.from_params(None, defaults=demo)

        assert settings == ProgramMemberExportSettings(
            program_batches=[[1044]],
            destination="file:///tmp/marketo_program_members",
            dest_conn_id=None,
            fields=list(DEFAULT_PROGRAM_MEMBER_FIELDS),
        )
        assert sorted(variables_unset) == [
            f"marketo_pm_{n}" for n in ("dest_conn_id", "destination", "fields", "program_ids")
        ]

    @pytest.mark.parametrize("missing", ["program_ids", "destination"])
    def test_a_setting_found_nowhere_names_the_param_and_the_variable(self, variables_unset, missing):
        # The library has no demo defaults (no program 1044, no /tmp): the DAG gives its own.
        given = {"program_ids": [1044], "destination": "file:///data"}
        del given[missing]
        with pytest.raises(MarketoRequestError, match=f"marketo_pm_{missing}"):
            ProgramMemberExportSettings.from_params(given)

    def test_params_win_over_variables(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW_VAR_MARKETO_PM_PROGRAM_IDS", "[1001, 1002]")
        monkeypatch.setenv("AIRFLOW_VAR_MARKETO_PM_DESTINATION", "s3://from-variable/")
        monkeypatch.setenv("AIRFLOW_VAR_MARKETO_PM_FIELDS", '["leadId"]')

        settings = ProgramMemberExportSettings.from_params(
            {"program_ids": list(range(1001, 1013)), "destination": None, "dest_conn_id": "aws_marketo"},
            check_destination=False,  # no such store here: the settings are read, not used
        )

        assert settings.program_batches == [list(range(1001, 1011)), [1011, 1012]]
        assert settings.destination == "s3://from-variable"
        assert settings.dest_conn_id == "aws_marketo"
        assert settings.fields == ["leadId"]

    def test_all_programs_are_looked_up_when_the_run_reads_its_settings(
        self, emulator, monkeypatch, variables_from_env
    ):
        monkeypatch.setenv("AIRFLOW_VAR_MARKETO_PM_PROGRAM_IDS", "all")

        settings = ProgramMemberExportSettings.from_params(
            {"destination": "file:///data"}, marketo_conn_id="marketo_default", check_destination=False
        )

        every_id = sorted(emulator.instance.dataset.programs)
        assert [pid for batch in settings.program_batches for pid in batch] == every_id
        assert [len(batch) for batch in settings.program_batches] == [10] * 6
        assert len(emulator.calls("programs")) == 1

    def test_a_workspace_filter_exports_that_workspaces_programs(
        self, emulator, monkeypatch, variables_from_env
    ):
        monkeypatch.setenv("AIRFLOW_VAR_MARKETO_PM_CONN_ID", "marketo_default")

        settings = ProgramMemberExportSettings.from_params(
            {"program_ids": {"workspace": "EMEA"}, "destination": "file:///data"}, check_destination=False
        )

        expected = sorted(p.id for p in emulator.instance.dataset.programs.values() if p.workspace == "EMEA")
        assert [pid for batch in settings.program_batches for pid in batch] == expected
        assert emulator.calls("programs")[0].query["filterValues"] == "EMEA"

    @pytest.mark.parametrize(
        "program_ids", ["some", {"name": "x"}, {"workspace": "a", "folderId": 1}, {"workspace": []}]
    )
    def test_a_bad_program_selection_is_refused_before_any_call(self, emulator, program_ids):
        with pytest.raises(MarketoRequestError, match="program_ids"):
            ProgramMemberExportSettings.from_params({"program_ids": program_ids, "destination": "file:///d"})

        assert emulator.requests == []

    def test_dag_params_are_the_settings_it_reads(self):
        assert set(ProgramMemberExportSettings.dag_params()) == {
            "program_ids",
            "destination",
            "dest_conn_id",
            "fields",
        }

    def test_a_job_is_one_item_of_the_groups_expand_kwargs(self, variables_unset):
        params = {"destination": "file:///data/", "program_ids": [1]}
        settings = ProgramMemberExportSettings.from_params(params, check_destination=False)

        job = settings.job({"programIds": [1044]}, "daily/updated_date=2024-03-04/batch=00.csv")

        assert job == {
            "fields": list(DEFAULT_PROGRAM_MEMBER_FIELDS),
            "export_filter": {"programIds": [1044]},
            "destination": "file:///data/daily/updated_date=2024-03-04/batch=00.csv",
            "dest_conn_id": None,
        }
        assert set(job) == set(JOB)

    def test_a_compact_job_leaves_the_runs_constants_to_partial_and_is_a_third_shorter(self, variables_unset):
        settings = ProgramMemberExportSettings.from_params(
            {"destination": "s3://marketo-history/exports", "program_ids": list(range(1001, 1011))},
            check_destination=False,
        )
        export_filter = {
            "programIds": list(range(1001, 1011)),
            "updatedAt": {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-02-01T00:00:00Z"},
        }
        path = "backfill/updated_from=2024-01-01/updated_to=2024-02-01/batch=00.csv"

        compact = settings.compact_job(export_filter, path)

        assert set(compact) == {"export_filter", "destination"}
        assert settings.constants() == {"fields": settings.fields, "dest_conn_id": None}
        assert {**compact, **settings.constants()} == settings.job(export_filter, path)
        full, small = (len(json.dumps(item)) for item in (settings.job(export_filter, path), compact))
        assert small < 0.7 * full, (small, full)

    def test_the_destination_is_proven_writable_once_for_all_jobs(
        self, variables_unset, tmp_path, monkeypatch
    ):
        probes = []
        real_probe = destination.prove_writable
        monkeypatch.setattr(
            destination, "prove_writable", lambda *a, **kw: probes.append((a[1], kw)) or real_probe(*a, **kw)
        )

        settings = ProgramMemberExportSettings.from_params(
            {"program_ids": list(range(1001, 1031)), "destination": f"file://{tmp_path}/members"}
        )
        jobs = [
            settings.job({"programIds": b}, f"batch={n:02d}.csv")
            for n, b in enumerate(settings.program_batches)
        ]

        assert len(jobs) == 3
        assert probes == [(f"file://{tmp_path}/members", {"directory": True})]
        assert list(tmp_path.iterdir()) == [], "the probe is deleted, and no directory is created"

    def test_a_destination_that_cannot_be_written_fails_before_any_marketo_call(
        self, emulator, variables_unset, tmp_path
    ):
        (tmp_path / "exports").write_text("a file, not a directory")

        with pytest.raises(MarketoDestinationError, match="is a file, not a directory") as caught:
            ProgramMemberExportSettings.from_params(
                {"program_ids": "all", "destination": f"file://{tmp_path}/exports/members"},
                marketo_conn_id="marketo_default",
            )

        assert caught.value.key == "destination"
        assert emulator.requests == [], "the programs were not even listed"

    def test_an_unknown_dest_conn_id_is_refused(self, variables_unset):
        with pytest.raises(MarketoDestinationError) as caught:
            ProgramMemberExportSettings.from_params(
                {"program_ids": [1], "destination": "s3://lake/marketo", "dest_conn_id": "aws_typo"}
            )

        assert (caught.value.key, caught.value.value) == ("dest_conn_id", "aws_typo")

    @pytest.mark.parametrize(
        ("given", "key"),
        [
            ({"destination": "['s3://a/x', 's3://b/x']"}, "destination"),
            ({"destination": ["s3://a/x"]}, "destination"),
            ({"fields": "leadId,email"}, "fields"),
            ({"fields": ["leadId", "lead Id"]}, "fields"),
            ({"fields": ["leadId", "leadId"]}, "fields"),
        ],
    )
    def test_a_destination_or_fields_that_could_mean_two_things_are_refused(
        self, variables_unset, given, key
    ):
        with pytest.raises(MarketoRequestError) as caught:
            ProgramMemberExportSettings.from_params({"program_ids": [1], "destination": "file:///d", **given})

        assert caught.value.key == key

    @pytest.mark.parametrize("path", ["../elsewhere.csv", "daily/../../x.csv", "/", ""])
    def test_a_job_path_that_climbs_out_of_the_destination_is_refused(self, variables_unset, path):
        settings = ProgramMemberExportSettings.from_params(
            {"program_ids": [1], "destination": "file:///data/marketo"}, check_destination=False
        )

        with pytest.raises(MarketoRequestError, match="inside the destination 'file:///data/marketo'"):
            settings.job({"programIds": [1]}, path)

    def test_a_job_path_with_dots_is_refused_on_an_object_store(self, variables_unset):
        settings = ProgramMemberExportSettings.from_params(
            {"program_ids": [1], "destination": "s3://lake/marketo"}, check_destination=False
        )

        with pytest.raises(MarketoRequestError, match="literally in the key"):
            settings.job({"programIds": [1]}, "daily/../batch=00.csv")


@pytest.mark.parametrize(
    ("export_filter", "name"),
    [
        (
            {
                "programIds": [1001, 1002],
                "updatedAt": {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-02-01"},
            },
            "2024-01-01..2024-02-01 programs 1001,1002",
        ),
        ({"programIds": [1044]}, "programs 1044"),
        ({"programId": 1044, "statusNames": ["Member"]}, "programs 1044"),
    ],
)
def test_each_mapped_start_is_named_after_its_window_and_programs(export_filter, name):
    dag = mapped_dag()
    start, _, download = group_tasks(dag)
    env = dag.get_template_env()  # StrictUndefined, as when the task runs

    def render(template: str, **task_attributes) -> str:
        return env.from_string(template).render(task=SimpleNamespace(**task_attributes))

    assert render(start.map_index_template, filter=export_filter) == name
    assert render(download.map_index_template, destination="s3://b/k") == "s3://b/k"


@pytest.mark.parametrize(
    ("export_id", "record", "name"),
    [
        (
            "5f4c-01",
            {"exportId": "5f4c-01", "status": "Completed", "numberOfRecords": 122},
            "export 5f4c-01: 122 records",
        ),
        (
            "5f4c-01",
            {"exportId": "5f4c-01", "status": "Completed", "numberOfRecords": 1},
            "export 5f4c-01: 1 record",
        ),
        ("5f4c-01", None, "export 5f4c-01"),  # nothing handed in: the sensor read the status itself
        (object(), object(), ""),  # still unresolved (Airflow 3.0 on a resume from deferral): no failure
    ],
)
def test_each_mapped_wait_is_named_after_its_export(export_id, record, name):
    dag = mapped_dag()
    _, wait, _ = group_tasks(dag)
    env = dag.get_template_env()  # StrictUndefined, as when the task runs

    label = env.from_string(wait.map_index_template).render(
        task=SimpleNamespace(export_id=export_id, record=record)
    )

    assert label == name
