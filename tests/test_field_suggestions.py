"""1003 "Invalid fields: leadID" -> "did you mean `leadId`?", from the describe fields read once."""

from __future__ import annotations

import pytest
from marketo_exports import PROGRAM_ID

from airflow_provider_marketo_pm.exceptions import MarketoApiError
from airflow_provider_marketo_pm.field_suggestions import (
    described_field_names,
    invalid_field_names,
    suggest_fields,
)
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.testing import Fault

KNOWN = ["leadId", "programId", "statusName", "email", "firstName", "membershipDate"]


@pytest.mark.parametrize(
    ("message", "names"),
    [
        ("Invalid fields: leadID", ["leadID"]),
        ("Invalid fields: leadID, emial", ["leadID", "emial"]),
        ("Invalid field: 'statusname'.", ["statusname"]),
        ("Invalid data", []),
    ],
)
def test_the_refused_names_are_read_from_marketos_message(message, names):
    assert invalid_field_names(message) == names


@pytest.mark.parametrize(
    ("unknown", "suggested"),
    [
        (["leadID"], {"leadID": "leadId"}),  # case only
        (["emial"], {"emial": "email"}),  # a typo
        (["membershipdte"], {"membershipdte": "membershipDate"}),
        (["shoeSize"], {}),  # nothing close: no guess
    ],
)
def test_the_closest_described_name_is_suggested(unknown, suggested):
    assert suggest_fields(unknown, KNOWN) == suggested


def test_names_come_from_both_describe_shapes():
    fields = [{"name": "leadId"}, {"name": "statusName"}]
    program_members = [{"name": "API Program Membership", "fields": fields}]
    leads = [{"id": 1, "displayName": "Id", "rest": {"name": "id"}}, {"id": 3, "rest": {"name": "email"}}]
    assert described_field_names([*program_members, *leads]) == ["leadId", "statusName", "id", "email"]


def test_a_misspelled_field_gets_did_you_mean_from_the_describes(emulator):
    with pytest.raises(MarketoApiError) as caught:
        MarketoHook().create_export(
            PROGRAM_MEMBERS.request(fields=["leadID", "emial"], filter={"programId": PROGRAM_ID})
        )

    message = str(caught.value)
    assert "error 1003: Invalid fields: leadID, emial" in message
    assert "Did you mean `leadId` (for `leadID`)? Did you mean `email` (for `emial`)?" in message
    assert len(emulator.calls("describe")) == 1
    assert len(emulator.calls("lead_describe")) == 1


def test_other_1003_answers_read_no_describe(emulator):
    emulator.inject("create", Fault(code="1003", message="Invalid data"))
    with pytest.raises(MarketoApiError, match="1003"):
        MarketoHook().create_export(
            PROGRAM_MEMBERS.request(fields=["leadId"], filter={"programId": PROGRAM_ID})
        )
    assert emulator.calls("describe") == []


def test_an_unreadable_describe_leaves_marketos_error_as_it_was(emulator):
    emulator.inject("describe", Fault(code="603", message="Access denied"))
    with pytest.raises(MarketoApiError) as caught:
        MarketoHook().create_export(
            PROGRAM_MEMBERS.request(fields=["leadID"], filter={"programId": PROGRAM_ID})
        )
    assert caught.value.code == "1003"
    assert "Invalid fields: leadID" in str(caught.value)
    assert "/rest/v1/programs/members/describe.json, /rest/v1/leads/describe.json" in str(caught.value)
