"""
### Marketo custom object: snapshot of every record

Exports **every record** of one custom object (param `api_name`, default `car_c`), into
`{destination}/custom_objects/{api_name}/snapshot_date=YYYY-MM-DD/part=NNN.csv`. Runs every Monday
at 06:00 UTC and on demand; a snapshot is a point in time, so a trigger timetable fits.

**How "every record" is asked for.** A custom object export needs one filter: `updatedAt` (at most
31 days), or a static or smart list of the records' leads. With `static_list_id` set, the snapshot is
one job: the records of that list's leads. Otherwise it is the records updated since `since`, in
contiguous 31-day `updatedAt` windows up to the run (planned by `backfill_plan.plan_backfill`):
by default `since` is the object type's own `createdAt` (List Custom Objects), before which no
record of it can have changed. Windows share their edges: deduplicate on the object's
`dedupeFields` (its describe), or `marketoGUID`.

Mind the daily export quota (500 MB by default, shared by every bulk extract of the instance and
counted by the start's `daily_export_budget_mb` across kinds): a snapshot of a large object can use
much of it; the starts wait for the reset when it runs out.

**Pacing.** Every start holds one slot of the pool `marketo_bulk_export` from create to completion
(`airflow pools set marketo_bulk_export 4 "Marketo bulk export jobs in flight" --include-deferred`),
the one pool of every kind. The tasks come from the provider's `custom_object_export_group`.

**Settings** (DAG params): `api_name`, `fields` (from the object's describe; default the car
object's), `since` (ISO date, null: the type's `createdAt`), `static_list_id`, `destination` (default
`file:///tmp/marketo_custom_objects`), `dest_conn_id`. `marketo_pm_conn_id` and
`marketo_pm_poll_interval` are Variables read through templates when the tasks run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

try:
    from airflow.sdk import CronTriggerTimetable
except ImportError:  # Airflow 3.0 keeps timetables in core
    from airflow.timetables.trigger import CronTriggerTimetable  # type: ignore[no-redef]

from airflow_provider_marketo_pm.backfill_plan import plan_backfill
from airflow_provider_marketo_pm.destination import destination_url
from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.custom_objects import parse_api_name
from airflow_provider_marketo_pm.retry_policy import marketo_retry_policy_args
from airflow_provider_marketo_pm.task_groups.custom_objects import custom_object_export_group

CONN_ID = "{{ var.value.get('marketo_pm_conn_id', 'marketo_default') }}"
export_job = custom_object_export_group(
    group_id="export_job",
    marketo_conn_id=CONN_ID,
    poll_interval="{{ var.value.get('marketo_pm_poll_interval', 60) }}",
    pool="marketo_bulk_export",
)

DEFAULT_FIELDS = ["marketoGUID", "leadId", "updatedAt", "vin", "make", "model", "year"]
DEFAULT_DESTINATION = "file:///tmp/marketo_custom_objects"


def object_created_at(conn_id: str, api_name: str) -> str:
    """The custom object type's ``createdAt`` (List Custom Objects): no record of it changed before."""
    found = MarketoHook(marketo_conn_id=conn_id).list_custom_objects([api_name])
    created = next((item.get("createdAt") for item in found if item.get("name") == api_name), None)
    if not isinstance(created, str) or not created:
        raise MarketoRequestError(
            "api_name", api_name, "is no custom object Marketo lists (with its createdAt)"
        )
    return created


@dag(
    dag_id="marketo_custom_object_snapshot",
    schedule=CronTriggerTimetable("0 6 * * 1", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["marketo", "example", "custom_objects"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "api_name": Param("car_c", type="string"),
        "fields": Param(DEFAULT_FIELDS, type="array", items={"type": "string"}, minItems=1),
        "since": Param(
            None, type=["null", "string"], description="first updatedAt (null: the type's createdAt)"
        ),
        "static_list_id": Param(None, type=["null", "integer"]),
        "destination": Param(DEFAULT_DESTINATION, type="string"),
        "dest_conn_id": Param(None, type=["null", "string"]),
    },
)
def marketo_custom_object_snapshot() -> None:
    @task(**marketo_retry_policy_args())  # bad input fails at once on 3.3+, not after a retry
    def plan_exports(
        snapshot_date: str, run_at: str, conn_id: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """One job of the list's records, or one per 31-day updatedAt window from `since` to the run."""
        params = params or {}
        api_name = parse_api_name(params.get("api_name") or "car_c")
        fields = params.get("fields") or DEFAULT_FIELDS
        base = (
            f"{str(params.get('destination') or DEFAULT_DESTINATION).rstrip('/')}/custom_objects/{api_name}"
        )
        folder = f"{base}/snapshot_date={snapshot_date}"

        def job(export_filter: dict[str, Any], name: str) -> dict[str, Any]:
            return {
                "api_name": api_name,
                "fields": fields,
                "export_filter": export_filter,
                "destination": destination_url(f"{folder}/{name}"),
                "dest_conn_id": params.get("dest_conn_id"),
            }

        if params.get("static_list_id") is not None:
            return [job({"staticListId": params["static_list_id"]}, "part=000.csv")]
        since = params.get("since") or object_created_at(conn_id, api_name)
        plan = plan_backfill(
            since,
            run_at,
            {"custom_objects": {"objects": {api_name: fields}, "path": "part={job:03d}.csv"}},
            order="by_kind",
        )
        print(plan)
        return [job(planned.arguments["filter"], planned.path) for planned in plan.jobs]

    export_job.expand_kwargs(
        plan_exports(snapshot_date="{{ ds }}", run_at="{{ logical_date | ts }}", conn_id=CONN_ID)
    )


marketo_custom_object_snapshot()
