"""A lead or activity export's verified file becomes typed Parquet: the kinds' tables (LEAD_TABLE typed by
Describe Lead2, ACTIVITY_TABLE by its fixed columns) serve the one Parquet operator."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from airflow_provider_marketo_pm.kinds.activities import ACTIVITIES
from airflow_provider_marketo_pm.kinds.leads import LEADS
from airflow_provider_marketo_pm.operators.activities import (
    MarketoDownloadActivityExportOperator,
    MarketoStartActivityExportOperator,
)
from airflow_provider_marketo_pm.operators.leads import (
    MarketoDownloadLeadExportOperator,
    MarketoStartLeadExportOperator,
)
from airflow_provider_marketo_pm.operators.parquet import MarketoExportToParquetOperator

WAIT = {"wait_for_completion": True, "poll_interval": 0.05, "deferrable": False}


def exported(start, download, destination, **request):
    export_id = start(task_id="start", **WAIT, **request).execute(context={})
    return download(task_id="download", export_id=export_id, destination=destination.as_uri()).execute(
        context={}
    )


def test_a_lead_file_is_typed_by_describe_lead2(emulator, tmp_path):
    export_filter = {"staticListId": 1081}
    source = exported(
        MarketoStartLeadExportOperator,
        MarketoDownloadLeadExportOperator,
        tmp_path / "leads.csv",
        fields=["id", "email", "updatedAt"],
        filter=export_filter,
    )

    result = MarketoExportToParquetOperator(
        task_id="to_parquet", source=source, export_filter=export_filter, kind=LEADS
    ).execute(context={})

    table = pq.read_table(result["uri"].removeprefix("file://"))
    assert table.num_rows == source["records"] > 0
    assert pa.types.is_integer(table.schema.field("id").type)
    assert pa.types.is_timestamp(table.schema.field("updatedAt").type)
    assert emulator.calls("lead_describe2")


def test_an_activity_file_is_typed_by_its_fixed_columns(emulator, tmp_path):
    latest = emulator.updated_at_range()[1]
    export_filter = {"createdAt": {"startAt": f"{latest[:8]}01T00:00:00Z", "endAt": latest}}
    source = exported(
        MarketoStartActivityExportOperator,
        MarketoDownloadActivityExportOperator,
        tmp_path / "activities.csv",
        filter=export_filter,
    )

    result = MarketoExportToParquetOperator(
        task_id="to_parquet", source=source, export_filter=export_filter, kind=ACTIVITIES
    ).execute(context={})

    table = pq.read_table(result["uri"].removeprefix("file://"))
    assert table.num_rows == source["records"]
    assert pa.types.is_integer(table.schema.field("activityTypeId").type)
    assert pa.types.is_string(table.schema.field("attributes").type)
