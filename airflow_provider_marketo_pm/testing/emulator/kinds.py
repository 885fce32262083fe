"""The four bulk extract kinds the emulator serves, and the records they read.

Each kind is its REST path and its create rules; everything else (the job lifecycle, the shared queue,
the daily quota, file serving, the production oddities) is written once for all of them. The records are
derived from the program member dataset on first use (in a worker thread: a create request is parsed off the
event loop): leads with the dataset's leadIds, their activities, and the custom object records linked to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from airflow_provider_marketo_pm.testing.emulator.activities import (
    Activity,
    build_activities,
    parse_activity_export,
)
from airflow_provider_marketo_pm.testing.emulator.custom_objects import (
    CustomObjectRecord,
    build_custom_object_records,
    find_object,
    parse_custom_object_export,
)
from airflow_provider_marketo_pm.testing.emulator.dataset import Dataset
from airflow_provider_marketo_pm.testing.emulator.export_request import ExportSelection, parse_export_request
from airflow_provider_marketo_pm.testing.emulator.jobs import PROGRAM_MEMBERS, Scope
from airflow_provider_marketo_pm.testing.emulator.leads import LeadBook, build_lead_book, parse_lead_export
from airflow_provider_marketo_pm.testing.emulator.options import EmulatorOptions


class Records:
    """What the exports of one instance read; each part is built once, when first asked for."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    @cached_property
    def leads(self) -> LeadBook:
        return build_lead_book(self.dataset)

    @cached_property
    def activities(self) -> tuple[Activity, ...]:
        return build_activities(self.dataset, self.leads)

    @cached_property
    def custom_object_records(self) -> dict[str, tuple[CustomObjectRecord, ...]]:
        return build_custom_object_records(self.leads)


Parser = Callable[[Any, Records, EmulatorOptions, "str | None"], ExportSelection]


@dataclass(frozen=True)
class ExportKind:
    """One bulk extract: ``path`` of its endpoints (``{apiName}`` for custom objects) and its create rules."""

    name: str
    path: str
    parse: Parser

    def scope(self, api_name: str | None = None) -> Scope:
        return Scope(self.name, api_name)


def _program_members(body: Any, records: Records, options: EmulatorOptions, _: str | None) -> ExportSelection:
    return parse_export_request(
        body,
        records.dataset,
        updated_at_filter=options.updated_at_filter,
        custom_fields=options.lead_custom_fields,
    )


def _leads(body: Any, records: Records, options: EmulatorOptions, _: str | None) -> ExportSelection:
    return parse_lead_export(
        body,
        records.leads,
        custom_fields=options.lead_custom_fields,
        updated_at_filter=options.updated_at_filter,
        smart_list_filter=options.smart_list_filter,
    )


def _activities(body: Any, records: Records, options: EmulatorOptions, _: str | None) -> ExportSelection:
    return parse_activity_export(body, records.activities)


def _custom_objects(
    body: Any, records: Records, options: EmulatorOptions, api_name: str | None
) -> ExportSelection:
    custom_object = find_object(api_name or "")
    return parse_custom_object_export(
        body,
        custom_object,
        records.custom_object_records[custom_object.api_name],
        records.leads,
        smart_list_filter=options.smart_list_filter,
    )


KINDS: tuple[ExportKind, ...] = (
    ExportKind(PROGRAM_MEMBERS, "/bulk/v1/program/members/export", _program_members),
    ExportKind("leads", "/bulk/v1/leads/export", _leads),
    ExportKind("activities", "/bulk/v1/activities/export", _activities),
    ExportKind("custom_objects", "/bulk/v1/customobjects/{apiName}/export", _custom_objects),
)
KIND_NAMES = tuple(kind.name for kind in KINDS)
