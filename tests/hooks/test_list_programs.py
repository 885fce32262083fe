"""MarketoHook.list_programs: every program of Marketo's Asset API browse, paged, optionally filtered."""

from __future__ import annotations

import pytest

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook


@pytest.fixture
def hook(emulator) -> MarketoHook:
    return MarketoHook()


def test_lists_every_program_in_pages_of_at_most_200(emulator, hook):
    programs = hook.list_programs(max_return=25)

    assert sorted(p["id"] for p in programs) == sorted(emulator.instance.dataset.programs)
    assert len(programs) == 60
    calls = emulator.calls("programs")
    # 60 programs in pages of 25: 25 + 25 + 10, the short page ends the list.
    assert [c.query.get("offset") for c in calls] == ["0", "25", "50"]
    assert {c.query.get("maxReturn") for c in calls} == {"25"}


def test_stops_on_marketos_no_assets_found_answer(emulator, hook):
    # 60 programs in pages of 20: the fourth page is the "No assets found" warning without a result.
    assert len(hook.list_programs(max_return=20)) == 60
    assert len(emulator.calls("programs")) == 4


def test_asks_for_the_largest_page_by_default(emulator, hook):
    hook.list_programs()

    assert emulator.calls("programs")[0].query["maxReturn"] == "200"


def test_filters_by_workspace(emulator, hook):
    programs = hook.list_programs("workspace", "EMEA")

    expected = {p.id for p in emulator.instance.dataset.programs.values() if p.workspace == "EMEA"}
    assert {p["id"] for p in programs} == expected
    assert expected
    assert emulator.calls("programs")[0].query["filterType"] == "workspace"


def test_filter_values_go_comma_separated(emulator, hook):
    wanted = sorted(emulator.instance.dataset.programs)[:3]

    programs = hook.list_programs("id", wanted)

    assert sorted(p["id"] for p in programs) == wanted
    assert emulator.calls("programs")[0].query["filterValues"] == ",".join(map(str, wanted))


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        ((), {"max_return": 201}, "max_return"),
        ((), {"max_return": 0}, "max_return"),
        (("name", "x"), {}, "filter_type"),
        (("workspace", []), {}, "filter_values"),
        (("workspace", "a,b"), {}, "filter_values"),
    ],
)
def test_bad_arguments_are_refused_before_any_call(emulator, hook, args, kwargs, field):
    with pytest.raises(MarketoRequestError, match=field):
        hook.list_programs(*args, **kwargs)

    assert emulator.requests == []
