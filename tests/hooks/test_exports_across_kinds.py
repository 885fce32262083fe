"""This API user's exports of every kind, read together: what the daily budget sums (over real HTTP)."""

from __future__ import annotations

import logging

import pytest
from marketo_exports import finished_export_of

from airflow_provider_marketo_pm import daily_quota
from airflow_provider_marketo_pm.exceptions import MarketoApiError
from airflow_provider_marketo_pm.export_budget import list_paths
from airflow_provider_marketo_pm.hooks.exports_across_kinds import (
    custom_objects_in_use,
    list_exports_across_kinds,
)
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.testing import Fault

DENIED = Fault(code="603", message="Access denied")


@pytest.fixture
def hook(emulator) -> MarketoHook:
    return MarketoHook()


def test_the_custom_objects_in_use_are_the_types_marketo_lists(emulator, hook):
    assert custom_objects_in_use(hook) == ("car_c", "contract_c")


def test_the_sum_over_every_kind_is_what_the_shared_quota_metered(emulator, hook):
    kinds = ("program_members", "leads", "activities", "car_c")
    sizes = [finished_export_of(emulator, kind)["fileSize"] for kind in kinds]

    exports = list_exports_across_kinds(hook)

    assert exports.custom_object_api_names == ("car_c", "contract_c")
    assert set(exports.listed) == set(list_paths(["car_c", "contract_c"]))
    assert exports.job_count == len(kinds)
    spent = exports.bytes_since(daily_quota.last_quota_reset())
    assert spent == sum(sizes) == emulator.quota_used()
    # One kind's list alone would have seen a quarter of it: the bytes of the other kinds are real.
    assert all(0 < size < spent for size in sizes)


def test_a_custom_object_type_never_approved_has_no_list_to_read(emulator, hook, monkeypatch):
    types = [{"name": "car_c", "state": "approved"}, {"name": "boat_c", "state": "draft"}]
    monkeypatch.setattr(MarketoHook, "list_custom_objects", lambda self: types)

    assert custom_objects_in_use(hook) == ("car_c",)


def test_custom_objects_marketo_denies_are_not_counted_with_a_warning(emulator, hook, caplog):
    finished_export_of(emulator, "leads")
    emulator.inject("custom_objects", DENIED)

    with caplog.at_level(logging.WARNING):
        exports = list_exports_across_kinds(hook)

    assert exports.custom_object_api_names == ()
    assert exports.job_count == 1
    assert "cannot export them either" in caplog.text


def test_a_kinds_list_marketo_denies_counts_as_empty_and_is_named(emulator, hook, caplog):
    finished_export_of(emulator, "leads")
    emulator.inject("list", DENIED)  # the first list read: program members

    with caplog.at_level(logging.WARNING):
        exports = list_exports_across_kinds(hook, custom_object_api_names=[])

    assert exports.denied == ("/bulk/v1/program/members/export.json",)
    assert exports.job_count == 1  # the lead export is still counted
    assert "/bulk/v1/program/members/export.json" in caplog.text


def test_any_other_refusal_fails_the_read_a_budget_never_guesses(emulator, hook):
    emulator.inject("custom_objects", Fault(code="610", message="Requested resource not found"))

    with pytest.raises(MarketoApiError, match="610"):
        list_exports_across_kinds(hook)
