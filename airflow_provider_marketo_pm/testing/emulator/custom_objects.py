"""Custom objects (Bulk Custom Object Extract): two objects linked to the dataset's leads, and the rules.

``car_c`` follows the Car of Marketo's Bulk Custom Object Extract page (dedupe on ``vin``); ``contract_c``
has integer, currency, date and boolean fields. Both link to a lead by ``leadId`` (first-level objects, as
the bulk extract requires); a record's dates lie between its lead's ``createdAt`` and ``updatedAt``.

Create rules: the object's ``apiName`` in the path; ``fields`` from its describe; exactly one filter type
among ``updatedAt`` (the records' own, at most 31 days), ``staticListName``/``staticListId`` and
``smartListName``/``smartListId`` (the records of the list's leads; smart lists answer 1035 on a
subscription without them).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_marketo_pm.testing.emulator.clock import iso_utc
from airflow_provider_marketo_pm.testing.emulator.errors import MarketoApiFault
from airflow_provider_marketo_pm.testing.emulator.leads import (
    DateOrListSelection,
    Lead,
    LeadBook,
    parse_date_or_list_request,
)

CUSTOM_OBJECT_FILTERS = ("updatedAt", "staticListId", "staticListName", "smartListId", "smartListName")
_NAMESPACE = uuid.UUID("6f1e0c52-3a55-4d7e-9a43-6d1d3f1b2c7e")
_STANDARD = (  # (name, displayName, dataType, length, updateable): every custom object has them
    ("marketoGUID", "Marketo GUID", "string", 36, False),
    ("createdAt", "Created At", "datetime", None, False),
    ("updatedAt", "Updated At", "datetime", None, False),
    ("leadId", "Lead ID", "integer", None, True),
)
MAKES = (("Tesla", "Model S"), ("Škoda", "Octavia, Combi"), ("Ford", 'F-150 "Lightning"'), ("Fiat", "500"))
COLORS = ("Pearl White", "Midnight Silver Metallic", "Fusion Red", None)
PLANS = ("Starter", "Growth", "Enterprise, multi-year")


@dataclass(frozen=True)
class CustomObjectRecord:
    lead_id: int
    updated_at: float
    row: dict[str, object]


@dataclass(frozen=True)
class CustomObjectType:
    """One custom object's metadata (what the list and describe calls answer)."""

    api_name: str
    display_name: str
    plural_name: str
    description: str
    dedupe_fields: tuple[str, ...]
    fields: tuple[tuple[str, str, str, int | None, bool], ...]
    created_at: str = "2021-05-05T16:14:41Z"
    updated_at: str = "2021-05-05T16:14:42Z"

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, *_ in self.fields)

    def metadata(self, *, with_fields: bool) -> dict[str, object]:
        """The object as the list call (``with_fields=False``) and the describe call answer it."""
        meta: dict[str, object] = {
            "name": self.api_name,
            "apiName": self.api_name,
            "displayName": self.display_name,
            "pluralName": self.plural_name,
            "description": self.description,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "idField": "marketoGUID",
            "dedupeFields": list(self.dedupe_fields),
            "searchableFields": [[name] for name in (*self.dedupe_fields, "marketoGUID", "leadId")],
            "relationships": [
                {"field": "leadId", "type": "child", "relatedTo": {"name": "Lead", "field": "Id"}}
            ],
            "state": "approved",
            "version": "approved",
        }
        if with_fields:
            meta["fields"] = [_describe_field(*spec) for spec in self.fields]
        return meta


def _describe_field(
    name: str, display: str, data_type: str, length: int | None, updateable: bool
) -> dict[str, object]:
    entry: dict[str, object] = {"name": name, "displayName": display, "dataType": data_type}
    if length is not None:
        entry["length"] = length
    entry.update(updateable=updateable, crmManaged=False)
    return entry


CAR = CustomObjectType(
    "car_c",
    "Car",
    "Cars",
    "Car owned by lead",
    ("vin",),
    (
        *_STANDARD,
        ("vin", "VIN", "string", 255, True),
        ("make", "Make", "string", 255, True),
        ("model", "Model", "string", 255, True),
        ("color", "Color", "string", 255, True),
        ("year", "Year", "integer", None, True),
    ),
)
CONTRACT = CustomObjectType(
    "contract_c",
    "Contract",
    "Contracts",
    "Subscription contract signed by lead",
    ("contractId",),
    (
        *_STANDARD,
        ("contractId", "Contract ID", "string", 36, True),
        ("plan", "Plan", "string", 255, True),
        ("seats", "Seats", "integer", None, True),
        ("amount", "Amount", "currency", None, True),
        ("signedOn", "Signed On", "date", None, True),
        ("autoRenew", "Auto Renew", "boolean", None, True),
    ),
    created_at="2022-02-11T22:41:04Z",
    updated_at="2023-06-01T08:00:00Z",
)
OBJECT_TYPES = {CAR.api_name: CAR, CONTRACT.api_name: CONTRACT}


def build_custom_object_records(book: LeadBook) -> dict[str, tuple[CustomObjectRecord, ...]]:
    """The records of each object: a car for every third lead (some own two), a contract for every fourth."""
    cars, contracts = [], []
    for lead in book.leads:
        for n in range(1 + (lead.id % 9 == 0)) if lead.id % 3 == 0 else ():
            make, model = MAKES[(lead.id + n) % len(MAKES)]
            cars.append(
                _record(
                    "car_c",
                    lead,
                    n,
                    vin=f"5YJSA1E4{lead.id:07d}{n}",
                    make=make,
                    model=model,
                    color=COLORS[(lead.id + n) % len(COLORS)],
                    year=2015 + (lead.id + n) % 10,
                )
            )
        if lead.id % 4 == 0:
            contracts.append(
                _record(
                    "contract_c",
                    lead,
                    0,
                    contractId=f"C-{lead.id:06d}",
                    plan=PLANS[lead.id % len(PLANS)],
                    seats=5 * (1 + lead.id % 20),
                    amount=round(1200.5 * (1 + lead.id % 7), 2),
                    signedOn=iso_utc(lead.created_at)[:10],
                    autoRenew=lead.id % 8 == 0,
                )
            )
    return {"car_c": tuple(cars), "contract_c": tuple(contracts)}


def _record(api_name: str, lead: Lead, n: int, **values: object) -> CustomObjectRecord:
    span = max(0.0, lead.updated_at - lead.created_at)
    created = lead.created_at + span * (0.25 + 0.25 * n)
    updated = lead.created_at + span * (0.5 + 0.25 * n)
    guid = str(uuid.uuid5(_NAMESPACE, f"{api_name}:{lead.id}:{n}"))
    row = {
        "marketoGUID": guid,
        "createdAt": iso_utc(created),
        "updatedAt": iso_utc(updated),
        "leadId": lead.id,
        **values,
    }
    return CustomObjectRecord(lead.id, updated, row)


def find_object(api_name: str, code: str = "1003") -> CustomObjectType:
    """The custom object of ``api_name``; ``code`` (1003 for a bulk request, 1013 for a describe) if none."""
    found = OBJECT_TYPES.get(api_name)
    if found is None:
        known = ", ".join(sorted(OBJECT_TYPES))
        message = "Object not found" if code == "1013" else "Custom object not found"
        raise MarketoApiFault(code, f"{message}: {api_name!r} (custom objects: {known})")
    return found


@dataclass(frozen=True)
class CustomObjectExportSpec(DateOrListSelection):
    """A validated custom object export request."""

    records: tuple[CustomObjectRecord, ...] = field(default=(), compare=False, repr=False)

    def rows(self) -> list[dict[str, object]]:
        return [record.row for record in self.records if self.selects(record.lead_id, record.updated_at)]


def parse_custom_object_export(
    body: Any,
    custom_object: CustomObjectType,
    records: tuple[CustomObjectRecord, ...],
    book: LeadBook,
    *,
    smart_list_filter: bool = True,
) -> CustomObjectExportSpec:
    """Raise the error Marketo would answer for a bad custom object export request, else the spec."""
    selection = parse_date_or_list_request(
        body,
        custom_object.field_names,
        CUSTOM_OBJECT_FILTERS,
        book,
        updated_at_filter=True,  # a custom object's own updatedAt is on every subscription
        smart_list_filter=smart_list_filter,
    )
    return CustomObjectExportSpec(**selection, records=records)


def list_objects(names: list[str]) -> list[dict[str, object]]:
    """``GET /rest/v1/customobjects.json``: every object, or those ``names`` lists (comma-separated or
    repeated)."""
    wanted = {n.strip() for value in names for n in value.split(",") if n.strip()}
    return [
        obj.metadata(with_fields=False)
        for name, obj in sorted(OBJECT_TYPES.items())
        if not wanted or name in wanted
    ]
