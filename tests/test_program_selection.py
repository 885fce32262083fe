"""program_ids as a user writes it: ids, "all", or one filter of Marketo's program browse."""

from __future__ import annotations

import pytest

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.program_selection import parse_program_selection, program_list_params

EVERY_PROGRAM = {"filter_type": None, "filter_values": None}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([1044, "1045"], [1044, 1045]),
        (1044, [1044]),
        ("[1044, 1045]", [1044, 1045]),  # a Variable or a rendered template is text
        ("all", EVERY_PROGRAM),
        (" ALL ", EVERY_PROGRAM),
        ('"all"', EVERY_PROGRAM),
        ({"workspace": "Default"}, {"filter_type": "workspace", "filter_values": "Default"}),
        ({"folderId": [26, 28]}, {"filter_type": "folderId", "filter_values": [26, 28]}),
        (
            {"filterType": "workspace", "filterValues": ["EMEA"]},
            {"filter_type": "workspace", "filter_values": ["EMEA"]},
        ),
        ('{"workspace": "EMEA"}', {"filter_type": "workspace", "filter_values": "EMEA"}),
    ],
)
def test_reads_ids_all_and_filters(given, expected):
    assert parse_program_selection(given) == expected


@pytest.mark.parametrize("given", ["everything", [], {}, {"programName": "x"}, {"id": []}, None, 3.5])
def test_refuses_anything_else_naming_the_field_and_the_rule(given):
    with pytest.raises(MarketoRequestError, match=r"program_ids=.*\"all\""):
        parse_program_selection(given)


def test_the_first_page_asks_for_200_programs_from_offset_0():
    assert program_list_params() == {"maxReturn": 200, "offset": 0}
    assert program_list_params("folderId", [26, 28], earliest_updated_at="2024-01-01T00:00:00Z") == {
        "maxReturn": 200,
        "offset": 0,
        "filterType": "folderId",
        "filterValues": "26,28",
        "earliestUpdatedAt": "2024-01-01T00:00:00Z",
    }
