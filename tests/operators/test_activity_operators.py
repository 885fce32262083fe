"""MarketoStartActivityExportOperator: activity types by name, resolved through the hook before create."""

from __future__ import annotations

import json

import pytest

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.kinds.activities import ACTIVITIES
from airflow_provider_marketo_pm.operators.activities import (
    MarketoDownloadActivityExportOperator,
    MarketoStartActivityExportOperator,
)

JANUARY = {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-01-31T00:00:00Z"}


def start(**kwargs) -> MarketoStartActivityExportOperator:
    kwargs.setdefault("filter", {"createdAt": JANUARY})
    return MarketoStartActivityExportOperator(task_id="start", **kwargs)


def created_body(emulator) -> dict:
    (create,) = emulator.calls("create")
    assert create.path == "/bulk/v1/activities/export/create.json"
    return json.loads(create.body)


def test_the_filter_fields_and_activity_types_are_templated():
    assert {"fields", "filter", "format", "column_header_names", "activity_types"} <= set(
        MarketoStartActivityExportOperator.template_fields
    )
    assert MarketoStartActivityExportOperator.export_kind is ACTIVITIES
    assert MarketoDownloadActivityExportOperator.export_kind is ACTIVITIES


def test_without_fields_the_body_leaves_them_out_for_marketos_default_columns(emulator):
    start().execute(context={})

    assert created_body(emulator) == {"filter": {"createdAt": JANUARY}, "format": "CSV"}
    assert emulator.calls("activity_types") == []  # no names: no types call


def test_activity_type_names_become_ids_with_one_types_call_before_create(emulator):
    start(activity_types=["Visit Webpage", "fill out form", 12]).execute(context={})

    assert created_body(emulator)["filter"] == {"createdAt": JANUARY, "activityTypeIds": [1, 2, 12]}
    assert len(emulator.calls("activity_types")) == 1
    assert emulator.requests.index(emulator.calls("activity_types")[0]) < emulator.requests.index(
        emulator.calls("create")[0]
    )


def test_a_rendered_activity_type_name_is_resolved_too(emulator):
    op = start(activity_types="{{ params.types }}", filter={"createdAt": JANUARY})
    op.render_template_fields({"params": {"types": "Add to List"}})

    op.execute(context={})

    assert created_body(emulator)["filter"]["activityTypeIds"] == [24]


def test_primary_attribute_values_go_with_the_resolved_types(emulator):
    start(
        activity_types=["Fill Out Form"],
        filter={"createdAt": JANUARY, "primaryAttributeValues": ["Webinar.Registration Form"]},
    ).execute(context={})

    assert created_body(emulator)["filter"] == {
        "createdAt": JANUARY,
        "activityTypeIds": [2],
        "primaryAttributeValues": ["Webinar.Registration Form"],
    }


def test_an_unknown_name_fails_naming_it_and_the_name_meant_before_create(emulator):
    with pytest.raises(MarketoRequestError, match="Visit Webpag") as caught:
        start(activity_types=["Visit Webpag"]).execute(context={})

    assert caught.value.key == "activity_types"
    assert "Did you mean `Visit Webpage`?" in caught.value.rule
    assert emulator.calls("create") == []


def test_delete_lead_is_refused_by_name(emulator):
    with pytest.raises(MarketoRequestError, match="Get Deleted Leads"):
        start(activity_types=["Delete Lead"]).execute(context={})
    assert emulator.calls("create") == []


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"filter": {"createdAt": JANUARY, "activityTypeIds": [1]}}, "not both"),
        ({"filter": {"primaryAttributeValueIds": [1001]}}, "filter.createdAt"),
        ({"filter": {"createdAt": {"startAt": "2024-01-01", "endAt": "2024-03-01"}}}, "31 days"),
        ({"fields": ["leadID"]}, "Did you mean `leadId`?"),
    ],
)
def test_bad_input_with_names_fails_before_any_call(emulator, kwargs, words):
    with pytest.raises(MarketoRequestError, match=words):
        start(activity_types=["Visit Webpage"], **kwargs).execute(context={})
    assert emulator.requests == []
