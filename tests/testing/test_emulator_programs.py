"""The Asset API's program browse, served from the emulator's dataset with Marketo's envelope and paging."""

from __future__ import annotations

import pytest
from emulator_client import error_of

from airflow_provider_marketo_pm.testing import Fault

PROGRAMS = "/rest/asset/v1/programs.json"


def browse(api, **params):
    return api.call("GET", PROGRAMS, params=params)


def test_the_envelope_and_a_program_as_marketo_writes_them(api):
    answer = browse(api)

    assert answer["success"] is True
    assert (answer["warnings"], answer["errors"]) == ([], [])
    assert len(answer["result"]) == 20  # maxReturn defaults to 20
    program = answer["result"][0]
    assert set(program) == {
        "id", "name", "description", "createdAt", "updatedAt", "url", "type", "channel", "folder",
        "status", "workspace", "headStart",
    }  # fmt: skip
    assert program["id"] == 1001
    assert program["createdAt"].endswith("Z+0000")
    assert set(program["folder"]) == {"type", "value", "folderName"}


def test_offset_paging_with_max_return_lists_every_program_once(api):
    seen, offset = [], 0
    while True:
        answer = browse(api, maxReturn=25, offset=offset)
        if "result" not in answer:
            break
        seen += [program["id"] for program in answer["result"]]
        offset += 25

    assert seen == list(range(1001, 1061))
    assert answer["success"] is True
    assert answer["warnings"] == ["No assets found for the given search criteria."]


def test_max_return_is_at_most_200(start_emulator):
    _, api = start_emulator(programs=250)

    assert len(browse(api, maxReturn=200)["result"]) == 200
    assert error_of(browse(api, maxReturn=201))[0] == "1003"
    assert error_of(browse(api, maxReturn=0))[0] == "1003"


@pytest.mark.parametrize("filter_type", ["id", "programId"])
def test_filter_by_program_id(api, filter_type):
    answer = browse(api, filterType=filter_type, filterValues="1044,1002,9999")

    assert [program["id"] for program in answer["result"]] == [1002, 1044]
    assert answer["result"][1]["name"] == "PMCF Program"


def test_filter_by_workspace_and_by_folder(api):
    emea = browse(api, filterType="workspace", filterValues="EMEA", maxReturn=200)["result"]
    folder = browse(api, filterType="folderId", filterValues="41", maxReturn=200)["result"]

    assert emea
    assert {program["workspace"] for program in emea} == {"EMEA"}
    assert len({program["folder"]["value"] for program in emea}) == 2
    assert folder
    assert {program["folder"]["value"] for program in folder} == {41}
    assert {program["id"] for program in folder} < {program["id"] for program in emea}


def test_every_program_lives_in_a_workspace_and_a_folder(api):
    programs = browse(api, maxReturn=200)["result"]

    assert {program["workspace"] for program in programs} == {"Default", "EMEA", "North America"}
    assert all(program["folder"]["folderName"] for program in programs)


def test_updated_at_bounds(api):
    programs = browse(api, maxReturn=200)["result"]
    middle = sorted(program["updatedAt"] for program in programs)[30].removesuffix("+0000")

    later = browse(api, maxReturn=200, earliestUpdatedAt=middle)["result"]

    assert 0 < len(later) < len(programs)
    assert all(program["updatedAt"].removesuffix("+0000") >= middle for program in later)


@pytest.mark.parametrize(
    "params",
    [
        {"filterType": "name", "filterValues": "x"},
        {"filterType": "workspace"},
        {"filterValues": "1044"},
        {"offset": "-1"},
        {"earliestUpdatedAt": "yesterday"},
    ],
)
def test_bad_parameters_are_1003(api, params):
    assert error_of(browse(api, **params))[0] == "1003"


def test_the_programs_endpoint_can_be_scripted_and_is_logged(api, marketo_emulator):
    marketo_emulator.inject("programs", Fault(code="611"))

    assert error_of(browse(api))[0] == "611"
    assert browse(api)["success"] is True
    assert len(marketo_emulator.calls("programs")) == 2
