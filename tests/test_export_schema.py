"""The schema of an export file: describe types matched to the file's header, and its JSON sidecar."""

from __future__ import annotations

import pytest

from airflow_provider_marketo_pm.exceptions import MarketoExportSchemaError
from airflow_provider_marketo_pm.export_schema import ExportSchema, column_type, export_schema

DESCRIBED = {"leadId": "integer", "email": "email", "updatedAt": "datetime", "programId": "integer"}
WINDOW = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-02-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("data_type", "expected"),
    [("integer", "int64"), ("score", "int64"), ("float", "float64"), ("currency", "float64"),
     ("percent", "float64"), ("boolean", "bool"), ("date", "date32"), ("datetime", "timestamp[us, tz=UTC]"),
     ("string", "string"), ("email", "string"), ("phone", "string"), ("url", "string"), ("text", "string"),
     ("reference", "string"), ("someday a new type", "string"), ("Integer", "int64")],
)  # fmt: skip
def test_marketo_data_types_map_to_column_types(data_type, expected):
    assert column_type(data_type) == expected


def test_renamed_headers_are_typed_by_their_field_and_named_after_it():
    schema = export_schema(
        "program member", ["Lead Id", "email"], DESCRIBED, column_header_names={"leadId": "Lead Id"}
    )
    assert [(c.name, c.header, c.type) for c in schema.columns] == [
        ("leadId", "Lead Id", "int64"),
        ("email", "email", "string"),
    ]


def test_a_one_program_export_implies_its_program_id_and_a_window_is_kept():
    schema = export_schema(
        "program member", ["leadId"], DESCRIBED, implied={"programId": 1044},
        export_filter={"programId": 1044, "updatedAt": WINDOW}, export_id="e1",
    )  # fmt: skip
    assert schema.names == [
        "leadId",
        "programId",
        "_marketo_export_id",
        "_marketo_window_start",
        "_marketo_window_end",
    ]
    assert schema.window == (WINDOW["startAt"], WINDOW["endAt"])
    assert export_schema("pm", ["programId"], DESCRIBED, implied={"programId": 1}).implied == (), (
        "the file has it"
    )


@pytest.mark.parametrize(
    ("header", "match"),
    [
        (["leadId", "Lead Id"], r"\['Lead Id'\]"),
        (["leadId", "leadId"], "twice"),
        (["_marketo_export_id"], "no describe"),
    ],
)
def test_a_header_that_cannot_be_typed_is_refused(header, match):
    with pytest.raises(MarketoExportSchemaError, match=match):
        export_schema("program member", header, DESCRIBED)


def test_the_sidecar_reads_back_as_the_same_schema():
    schema = export_schema(
        "program member", ["Lead Id", "updatedAt"], DESCRIBED, column_header_names={"leadId": "Lead Id"},
        implied={"programId": 7}, export_id="e1", export_filter={"updatedAt": WINDOW}, delimiter="\t",
    ).with_records(12)  # fmt: skip

    again = ExportSchema.from_json(schema.to_json())

    assert again == schema
    assert again.records == 12


@pytest.mark.parametrize(
    "text", ["{}", "[]", "not json", '{"format": "airflow-provider-marketo-pm/export-schema/1"}']
)
def test_a_sidecar_of_anything_else_is_refused_naming_it(text):
    with pytest.raises(MarketoExportSchemaError, match=r"members\.schema\.json is not an export schema"):
        ExportSchema.from_json(text, source="members.schema.json")
