"""Activities (Bulk Activity Extract): activity types, the activity log of the dataset's leads, the rules.

The log follows the leads and program memberships: each lead has a New Lead and a Change Data Value
activity, some visit a web page and join static lists; each membership has a Change Status in
Progression, and registrations a Fill Out Form. ``attributes`` is a JSON object per row, as Marketo
writes it (empty attributes left out), with commas, quotes and newlines inside.

Create rules (Marketo's Bulk Activity Extract page): ``filter.createdAt`` required (at most 31 days);
``activityTypeIds`` optional ("Delete Lead" cannot be exported); ``primaryAttributeValueIds`` or
``primaryAttributeValues``, not both, at most 50, only with ``activityTypeIds`` of the one asset group
they belong to; ``fields`` optional, by default every column but ``actionResult``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_marketo_pm.testing.emulator.clock import iso_utc
from airflow_provider_marketo_pm.testing.emulator.dataset import LEAD_FIELDS, Dataset
from airflow_provider_marketo_pm.testing.emulator.errors import MarketoApiFault, invalid
from airflow_provider_marketo_pm.testing.emulator.export_request import (
    Columns,
    date_range,
    filter_object,
    parse_format,
    parse_headers,
    refuse_unknown_filters,
)
from airflow_provider_marketo_pm.testing.emulator.leads import Lead, LeadBook

DEFAULT_FIELDS = (
    "marketoGUID", "leadId", "activityDate", "activityTypeId", "campaignId",
    "primaryAttributeValueId", "primaryAttributeValue", "attributes",
)  # fmt: skip
ACTIVITY_FIELDS = (*DEFAULT_FIELDS, "actionResult")
ACTIVITY_FILTERS = ("createdAt", "activityTypeIds", "primaryAttributeValueIds", "primaryAttributeValues")
MAX_PRIMARY_ATTRIBUTE_VALUES = 50
DELETE_LEAD = 37
FIRST_GUID = 780_000_000

VISIT_WEBPAGE, FILL_OUT_FORM, NEW_LEAD, CHANGE_DATA_VALUE = 1, 2, 12, 13
ADD_TO_LIST, CHANGE_STATUS_IN_PROGRESSION = 24, 104


def _type(
    type_id: int, name: str, description: str, primary: tuple[str, str], *attributes: tuple[str, str]
) -> dict[str, object]:
    return {
        "id": type_id,
        "name": name,
        "description": description,
        "primaryAttribute": {"name": primary[0], "dataType": primary[1]},
        "attributes": [{"name": n, "dataType": t} for n, t in attributes],
    }


# GET /rest/v1/activities/types.json, in the shape of Marketo's Activities page (names and data types of
# Marketo's standard types).
ACTIVITY_TYPES: tuple[dict[str, object], ...] = (
    _type(VISIT_WEBPAGE, "Visit Webpage", "User visits a web page", ("Webpage ID", "integer"),
          ("Client IP Address", "string"), ("Query Parameters", "string"), ("Referrer URL", "string"),
          ("User Agent", "string"), ("Webpage URL", "string")),
    _type(FILL_OUT_FORM, "Fill Out Form", "User fills out and submits form on web page",
          ("Webform ID", "integer"), ("Client IP Address", "string"), ("Form Fields", "text"),
          ("Query Parameters", "string"), ("Referrer URL", "string"), ("User Agent", "string"),
          ("Webpage ID", "integer")),
    _type(NEW_LEAD, "New Lead", "New person/record is added to the lead database", ("Lead ID", "integer"),
          ("Created Date", "date"), ("Lead Source", "string"), ("Source Type", "string")),
    _type(CHANGE_DATA_VALUE, "Change Data Value", "Changed attribute value for a person/record",
          ("Attribute Name", "integer"), ("New Value", "text"), ("Old Value", "text"), ("Reason", "text"),
          ("Source", "string")),
    _type(ADD_TO_LIST, "Add to List", "Person/record added to a list", ("List ID", "integer"),
          ("Source", "string")),
    _type(DELETE_LEAD, "Delete Lead", "Person/record deleted from the lead database", ("Lead ID", "integer"),
          ("Remove from CRM", "boolean")),
    _type(CHANGE_STATUS_IN_PROGRESSION, "Change Status in Progression", "Change a status in a progression",
          ("Program ID", "integer"), ("Acquired By", "boolean"), ("New Status", "string"),
          ("New Status ID", "integer"), ("Old Status", "string"), ("Old Status ID", "integer"),
          ("Program Member ID", "integer"), ("Reason", "text"), ("Success", "boolean")),
)  # fmt: skip
TYPE_IDS = frozenset(int(str(t["id"])) for t in ACTIVITY_TYPES)
# The asset group of each type whose primary attribute can be filtered on (the page's two tables).
ASSET_GROUPS = {
    CHANGE_DATA_VALUE: "Attribute Name",
    CHANGE_STATUS_IN_PROGRESSION: "Marketing Program",
    ADD_TO_LIST: "Static List",
    FILL_OUT_FORM: "Web Form",
}
_FIELD_DISPLAY = {name: display for _, name, display, *_ in LEAD_FIELDS}
_FIELD_ID = {name: field_id for field_id, name, *_ in LEAD_FIELDS}
_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1",
)


@dataclass(frozen=True)
class Activity:
    created_at: float
    row: dict[str, object]


def build_activities(dataset: Dataset, book: LeadBook) -> tuple[Activity, ...]:
    """The activity log, oldest first, with ``marketoGUID`` numbered in that order."""
    log = _Log()
    leads = book.by_id()
    for lead in book.leads:
        _lead_activities(log, lead)
    for lead_list in book.lists:
        for lead_id in sorted(lead_list.lead_ids) if not lead_list.smart else ():
            source = "List import" if lead_id % 2 else "Smart campaign"
            log.add(
                leads[lead_id].created_at + 3600,
                ADD_TO_LIST,
                lead_id,
                lead_list.id,
                lead_list.name,
                Source=source,
            )
    for number, member in enumerate(dataset.members):
        _membership_activities(log, dataset, number, member)
    return log.numbered()


class _Log:
    """Activities as they are added; ``numbered()`` sorts them and gives each its ``marketoGUID``."""

    def __init__(self) -> None:
        self._drafts: list[tuple[float, int, int, dict[str, object]]] = []

    def add(
        self, when: float, type_id: int, lead_id: int, value_id: object, value: object, **attrs: object
    ) -> None:
        """One activity; ``attrs`` are its attributes, ``_`` for a space in the name (empties left out)."""
        campaign = None if (lead_id + type_id) % 4 == 0 else 8000 + (lead_id * 31 + type_id) % 97
        attributes = {name.replace("_", " "): v for name, v in attrs.items() if v is not None}
        row: dict[str, object] = {
            "leadId": lead_id,
            "activityDate": iso_utc(when),
            "activityTypeId": type_id,
            "campaignId": campaign,
            "primaryAttributeValueId": value_id,
            "primaryAttributeValue": value,
            "attributes": json.dumps(attributes, ensure_ascii=False, separators=(",", ":")),
            "actionResult": "skipped" if (lead_id * type_id) % 23 == 0 else "succeeded",
        }
        self._drafts.append((when, type_id, lead_id, row))

    def numbered(self) -> tuple[Activity, ...]:
        drafts = sorted(self._drafts, key=lambda draft: draft[:3])
        return tuple(
            Activity(when, {"marketoGUID": str(FIRST_GUID + n), **row})
            for n, (when, _, _, row) in enumerate(drafts)
        )


def _lead_activities(log: _Log, lead: Lead) -> None:
    row = lead.row
    status = row["leadStatus"]
    log.add(
        lead.created_at,
        NEW_LEAD,
        lead.id,
        lead.id,
        row["email"],
        Created_Date=iso_utc(lead.created_at)[:10],
        Lead_Source=row["leadSource"],
        Source_Type="Web form fillout" if lead.id % 2 else "List import",
    )
    log.add(
        lead.updated_at,
        CHANGE_DATA_VALUE,
        lead.id,
        _FIELD_ID["leadStatus"],
        _FIELD_DISPLAY["leadStatus"],
        New_Value=status,
        Old_Value=None if status == "New" else "New",
        Reason='Changed by smart campaign, step 2:\n"Score > 50"',
        Source="Web service API",
    )
    if lead.id % 2 == 0:
        page = lead.id % 5
        log.add(
            (lead.created_at + lead.updated_at) / 2,
            VISIT_WEBPAGE,
            lead.id,
            7000 + page,
            f"example.com/pricing-{page}.html",
            Client_IP_Address=_ip(lead.id),
            Query_Parameters="utm_source=newsletter&utm_medium=email" if lead.id % 4 == 0 else None,
            Referrer_URL="https://www.example.org/search?q=marketo,bulk",
            User_Agent=_AGENTS[lead.id % 2],
            Webpage_URL=f"/pricing-{page}.html",
        )


def _membership_activities(log: _Log, dataset: Dataset, number: int, member: dict[str, object]) -> None:
    lead_id, program_id = int(str(member["leadId"])), int(str(member["programId"]))
    status = str(member["statusName"])
    status_id = dataset.programs[program_id].statuses.index(status) + 20
    log.add(
        float(str(member["updatedAt"])),
        CHANGE_STATUS_IN_PROGRESSION,
        lead_id,
        program_id,
        member["program"],
        Acquired_By=member["acquiredBy"],
        New_Status=status,
        New_Status_ID=status_id,
        Old_Status="Not in Program",
        Old_Status_ID=20,
        Program_Member_ID=3_240_000 + number,
        Reason=member["statusReason"],
        Success=member["reachedSuccess"],
    )
    if status in ("Registered", "Attended", "Filled-out Form", "Subscribed"):
        form_fields = json.dumps(
            {"Email": member["email"], "FirstName": member["firstName"]}, ensure_ascii=False
        )
        log.add(
            float(str(member["createdAt"])),
            FILL_OUT_FORM,
            lead_id,
            3000 + program_id,
            f"{member['program']}.Registration Form",
            Client_IP_Address=_ip(lead_id),
            Form_Fields=form_fields,
            User_Agent=_AGENTS[lead_id % 2],
            Webpage_ID=5000 + program_id,
        )


def _ip(lead_id: int) -> str:
    return f"203.0.113.{lead_id % 250 + 1}"


@dataclass(frozen=True)
class ActivityExportSpec(Columns):
    """A validated activity export request."""

    start: float
    end: float
    type_ids: frozenset[int] | None = None
    value_ids: frozenset[int] | None = None
    values: frozenset[str] | None = None
    log: tuple[Activity, ...] = field(default=(), compare=False, repr=False)

    def rows(self) -> list[dict[str, object]]:
        return [activity.row for activity in self.log if self._matches(activity)]

    def _matches(self, activity: Activity) -> bool:
        row = activity.row
        if not self.start <= activity.created_at <= self.end:
            return False
        if self.type_ids is not None and row["activityTypeId"] not in self.type_ids:
            return False
        if self.value_ids is not None and row["primaryAttributeValueId"] not in self.value_ids:
            return False
        return self.values is None or row["primaryAttributeValue"] in self.values


def parse_activity_export(body: Any, log: tuple[Activity, ...]) -> ActivityExportSpec:
    """Raise the error Marketo would answer for a bad activity export request, else return the spec."""
    if not isinstance(body, dict):
        raise MarketoApiFault("609", "Invalid JSON")
    fields = _fields(body)
    export_format, headers = parse_format(body), parse_headers(body, fields)
    flt = filter_object(body, "createdAt")
    refuse_unknown_filters(flt, ACTIVITY_FILTERS)
    if "createdAt" not in flt:
        raise invalid("filter.createdAt is required for an activity export")
    start, end = date_range(flt["createdAt"], "createdAt")
    type_ids = _type_ids(flt)
    value_ids, values = _primary_attribute_values(flt, type_ids)
    return ActivityExportSpec(fields, export_format, headers, start, end, type_ids, value_ids, values, log)


def _fields(body: dict[str, Any]) -> tuple[str, ...]:
    if "fields" not in body:
        return DEFAULT_FIELDS
    fields = body["fields"]
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise invalid("fields must be a non-empty array of activity field names")
    unknown = [f for f in fields if f not in ACTIVITY_FIELDS]
    if unknown:
        raise invalid(f"Invalid fields: {', '.join(unknown)}")
    return tuple(fields)


def _type_ids(flt: dict[str, Any]) -> frozenset[int] | None:
    if "activityTypeIds" not in flt:
        return None
    raw = flt["activityTypeIds"]
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(t, int) and not isinstance(t, bool) for t in raw)
    ):
        raise invalid(f"activityTypeIds must be a non-empty array of activity type ids, got {raw!r}")
    if DELETE_LEAD in raw:
        raise invalid(
            f"activityTypeIds: Delete Lead ({DELETE_LEAD}) cannot be exported; deleted leads come from "
            "Get Deleted Leads (/rest/v1/activities/deletedleads.json)"
        )
    unknown = sorted(set(raw) - TYPE_IDS)
    if unknown:
        listed = ", ".join(map(str, unknown))
        raise invalid(f"Invalid activityTypeIds: {listed} (see /rest/v1/activities/types.json)")
    return frozenset(raw)


def _primary_attribute_values(
    flt: dict[str, Any], type_ids: frozenset[int] | None
) -> tuple[frozenset[int] | None, frozenset[str] | None]:
    by_id, by_name = "primaryAttributeValueIds" in flt, "primaryAttributeValues" in flt
    if not by_id and not by_name:
        return None, None
    if by_id and by_name:
        raise invalid("primaryAttributeValueIds and primaryAttributeValues cannot be used together")
    name = "primaryAttributeValueIds" if by_id else "primaryAttributeValues"
    if type_ids is None:
        raise invalid(f"{name} needs activityTypeIds (of the activity types the values belong to)")
    groups = {ASSET_GROUPS.get(type_id) for type_id in type_ids}
    if None in groups or len(groups) != 1:
        supported = ", ".join(f"{t} ({g})" for t, g in sorted(ASSET_GROUPS.items()))
        raise invalid(
            f"{name} needs activityTypeIds of one asset group that supports primary attribute filtering: "
            f"{supported}; got {sorted(type_ids)}"
        )
    raw = flt[name]
    wanted_type = int if by_id else str
    if (
        not isinstance(raw, list)
        or not 1 <= len(raw) <= MAX_PRIMARY_ATTRIBUTE_VALUES
        or not all(isinstance(v, wanted_type) and not isinstance(v, bool) for v in raw)
    ):
        kind = "ids" if by_id else "names"
        raise invalid(f"{name} must be an array of 1 to {MAX_PRIMARY_ATTRIBUTE_VALUES} {kind}, got {raw!r}")
    return (frozenset(raw), None) if by_id else (None, frozenset(raw))
