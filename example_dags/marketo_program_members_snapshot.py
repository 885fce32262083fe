"""
### Marketo program members: current membership snapshot

Exports the **current** members of a list of programs (no `updatedAt` filter: every member, whenever
last changed), one file per batch of 10 programs:
`{destination}/snapshot/snapshot_date=YYYY-MM-DD/batch=NN.csv`. Runs every Monday at 06:00 UTC
and on demand; a snapshot is a point in time, so a trigger timetable (no data interval) fits.

Use it to seed a table before switching to `marketo_program_members_daily`, or to reconcile. Mind
the daily export quota (500 MB by default, shared by all bulk extracts of the instance, reset at
midnight US Central): a snapshot of large programs can use much of it. Narrow it with the
`status_names` param (Marketo ORs the names; each must exist in one of the programs).

**Pacing.** `start_export` and `wait_for_export` run in the pool `marketo_bulk_export`
(`airflow pools set marketo_bulk_export 4 "Marketo bulk export jobs in flight" --include-deferred`)
so that at most 4 of our jobs hold places in Marketo's shared 10-job queue.

**Settings** (DAG params win, then Airflow Variables, then defaults): `program_ids` /
`marketo_pm_program_ids` (JSON list, default `[1044]`), `destination` / `marketo_pm_destination`
(default `file:///tmp/marketo_program_members`), `dest_conn_id` / `marketo_pm_dest_conn_id`,
`fields` / `marketo_pm_fields` (JSON list). `marketo_pm_conn_id` (default `marketo_default`) and
`marketo_pm_poll_interval` (default 60 s, Marketo's status refresh) are read at parse time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, Variable, dag, task, task_group

from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)
from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor
from airflow_provider_marketo_pm.windows import batch_program_ids

POOL = "marketo_bulk_export"
DEFAULT_FIELDS = [
    "leadId",
    "firstName",
    "lastName",
    "email",
    "statusName",
    "statusReason",
    "membershipDate",
    "reachedSuccess",
    "updatedAt",
]
DEFAULT_DESTINATION = "file:///tmp/marketo_program_members"
# Read at parse time: the operators take the connection id and the poll interval untemplated.
MARKETO_CONN_ID = Variable.get("marketo_pm_conn_id", default="marketo_default")
POLL_INTERVAL = float(Variable.get("marketo_pm_poll_interval", default=60))


def _setting(params: dict[str, Any], name: str, default: Any, *, json: bool = False) -> Any:
    """A DAG param if given, else the ``marketo_pm_<name>`` Variable, else the default."""
    value = params.get(name)
    if value in (None, "", []):
        value = Variable.get(f"marketo_pm_{name}", default=default, deserialize_json=json)
    return value


@dag(
    dag_id="marketo_program_members_snapshot",
    schedule=CronTriggerTimetable("0 6 * * 1", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["marketo", "example"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "program_ids": Param(None, type=["null", "array"], items={"type": "integer"}),
        "status_names": Param(None, type=["null", "array"], items={"type": "string"}),
        "destination": Param(None, type=["null", "string"], description="object storage URL"),
        "dest_conn_id": Param(None, type=["null", "string"]),
        "fields": Param(None, type=["null", "array"], items={"type": "string"}),
    },
)
def marketo_program_members_snapshot() -> None:
    @task
    def plan_exports(ds: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One job per batch of 10 programs, with no updatedAt filter."""
        params = params or {}
        batches = batch_program_ids(_setting(params, "program_ids", [1044], json=True))
        destination = str(_setting(params, "destination", DEFAULT_DESTINATION)).rstrip("/")
        dest_conn_id = _setting(params, "dest_conn_id", None)
        fields = _setting(params, "fields", DEFAULT_FIELDS, json=True)
        status_names = params.get("status_names")
        jobs = []
        for number, batch in enumerate(batches):
            export_filter: dict[str, Any] = {"programIds": batch}
            if status_names:
                export_filter["statusNames"] = status_names
            jobs.append(
                {
                    "fields": fields,
                    "export_filter": export_filter,
                    "destination": f"{destination}/snapshot/snapshot_date={ds}/batch={number:02d}.csv",
                    "dest_conn_id": dest_conn_id,
                }
            )
        return jobs

    @task_group
    def export_job(fields: list[str], export_filter: dict[str, Any], destination: str, dest_conn_id: Any):
        """Start one export, wait for it without holding a worker, then stream its file."""
        start = MarketoStartProgramMemberExportOperator(
            task_id="start_export",
            marketo_conn_id=MARKETO_CONN_ID,
            fields=fields,
            filter=export_filter,
            pool=POOL,
            # absolute: with the default "downstream" rule the start would add up the sensor's weight
            # and outrank it, starting new jobs before waiting on started ones
            priority_weight=1,
            weight_rule="absolute",
            map_index_template="programs {{ task.filter.programIds | join(',') }}",
        )
        wait = MarketoProgramMemberExportSensor(
            task_id="wait_for_export",
            marketo_conn_id=MARKETO_CONN_ID,
            export_id=start.output,
            poll_interval=POLL_INTERVAL,
            deferrable=True,
            pool=POOL,
            priority_weight=100,
            weight_rule="absolute",
        )
        download = MarketoDownloadProgramMemberExportOperator(
            task_id="download_export",
            marketo_conn_id=MARKETO_CONN_ID,
            export_id=start.output,
            destination=destination,
            dest_conn_id=dest_conn_id,
            overwrite=True,
            map_index_template="{{ task.destination }}",
        )
        wait >> download

    export_job.expand_kwargs(plan_exports(ds="{{ ds }}"))


marketo_program_members_snapshot()
