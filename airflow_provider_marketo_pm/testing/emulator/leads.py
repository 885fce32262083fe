"""Leads (Bulk Lead Extract): the program member dataset's leads, their lists, and the lead export rules.

Every lead is a lead of the program member dataset (the same leadIds, the same field values), so a lead
export and a program member export of one instance agree. A lead's own ``createdAt`` comes before its
first membership and its ``updatedAt`` is its latest membership change, so lead dates move with the
program member dataset's dates. Static and smart lists are fixed rules over the leads.

Create rules (Marketo's Bulk Lead Extract page): ``fields`` required, REST names from Describe Lead2;
exactly one filter type among ``createdAt``, ``updatedAt``, ``staticListId``, ``staticListName``,
``smartListId``, ``smartListName``; date ranges of at most 31 days, ISO-8601 without milliseconds;
``updatedAt`` and the smart lists answer 1035 on a subscription without them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_marketo_pm.testing.emulator.clock import iso_utc
from airflow_provider_marketo_pm.testing.emulator.dataset import LEAD_FIELD_NAMES, Dataset
from airflow_provider_marketo_pm.testing.emulator.errors import MarketoApiFault, invalid
from airflow_provider_marketo_pm.testing.emulator.export_request import (
    Columns,
    date_range,
    filter_object,
    one_filter_type,
    parse_common,
    refuse_unknown_filters,
    with_custom_values,
)

DAY = 86400
LEAD_FILTERS = ("createdAt", "updatedAt", "staticListId", "staticListName", "smartListId", "smartListName")
# the filters "not yet rolled out to all subscriptions", by the option that enables them
NOT_ON_EVERY_SUBSCRIPTION = {
    "updatedAt": "updatedAt",
    "smartListId": "smartList",
    "smartListName": "smartList",
}
UNSUPPORTED = "Unsupported filter type for target subscription"


@dataclass(frozen=True)
class Lead:
    id: int
    created_at: float
    updated_at: float
    row: dict[str, object]  # the lead's export values (datetimes already as Marketo writes them)


@dataclass(frozen=True)
class LeadList:
    """A static list (members added by hand or import) or a smart list (members by rule)."""

    id: int
    name: str
    smart: bool
    lead_ids: frozenset[int]

    def summary(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "type": "smart" if self.smart else "static"}


# (id, name, smart, rule): the lists of every emulated instance; names carry a comma and non-ASCII text.
_LIST_RULES: tuple[tuple[int, str, bool, Callable[[Lead, set[str]], bool]], ...] = (
    (1081, "Car Buyers", False, lambda lead, _: lead.id % 3 == 0),
    (1082, "Newsletter, Weekly", False, lambda lead, _: not lead.row["unsubscribed"] and lead.id % 4 != 1),
    (1083, "Webinar Attendees", False, lambda lead, statuses: "Attended" in statuses),
    (2001, "Chicago Leads", True, lambda lead, _: lead.row["city"] == "Chicago"),
    (2002, "Qualified, EMEA (ü)", True, lambda lead, _: lead.row["leadStatus"] == "Qualified"),
)


@dataclass(frozen=True)
class LeadBook:
    """The instance's leads (by id) and lists."""

    leads: tuple[Lead, ...]
    lists: tuple[LeadList, ...]

    def by_id(self) -> dict[int, Lead]:
        return {lead.id: lead for lead in self.leads}

    def list_members(self, filter_type: str, value: Any) -> frozenset[int]:
        """The lead ids of the list a ``staticList*``/``smartList*`` filter names (1003 if none)."""
        smart = filter_type.startswith("smart")
        by_id = filter_type.endswith("Id")
        kind = "smart" if smart else "static"
        if by_id and (isinstance(value, bool) or not isinstance(value, int)):
            raise invalid(f"{filter_type} must be an integer list id, got {value!r}")
        if not by_id and (not isinstance(value, str) or not value):
            raise invalid(f"{filter_type} must be a list name, got {value!r}")
        for lead_list in self.lists:
            if lead_list.smart == smart and (lead_list.id if by_id else lead_list.name) == value:
                return lead_list.lead_ids
        raise invalid(f"{kind.capitalize()} list not found: {value!r} ({filter_type})")


def build_lead_book(dataset: Dataset) -> LeadBook:
    """The leads of the dataset's memberships, with lead-level dates, and the lists over them."""
    memberships: dict[int, list[dict[str, object]]] = {}
    for member in dataset.members:
        memberships.setdefault(int(str(member["leadId"])), []).append(member)
    leads = []
    for lead_id in sorted(memberships):
        rows = memberships[lead_id]
        first_joined = min(_epoch(row["createdAt"]) for row in rows)
        created = first_joined - (lead_id * 7919) % (60 * DAY)  # joined Marketo up to 60 days earlier
        updated = max(_epoch(row["updatedAt"]) for row in rows)
        values = {name: rows[0].get(name) for name in LEAD_FIELD_NAMES}
        values.update(id=lead_id, leadId=lead_id, createdAt=iso_utc(created), updatedAt=iso_utc(updated))
        leads.append(Lead(lead_id, created, updated, values))
    statuses = {lead_id: {str(row["statusName"]) for row in rows} for lead_id, rows in memberships.items()}
    lists = tuple(
        LeadList(list_id, name, smart, frozenset(lead.id for lead in leads if rule(lead, statuses[lead.id])))
        for list_id, name, smart, rule in _LIST_RULES
    )
    return LeadBook(tuple(leads), lists)


@dataclass(frozen=True)
class DateOrListSelection(Columns):
    """
    A request of exactly one filter type, a date range or a list (leads, custom objects): its records are
    those whose date lies in [start, end], or whose lead is on the list (``lead_ids``).
    """

    filter_type: str
    start: float | None = None
    end: float | None = None
    lead_ids: frozenset[int] | None = None

    def selects(self, lead_id: int, moment: float) -> bool:
        """Whether a record of lead ``lead_id`` dated ``moment`` (by the filter's date) is selected."""
        if self.lead_ids is not None:
            return lead_id in self.lead_ids
        assert self.start is not None
        assert self.end is not None
        return self.start <= moment <= self.end


def parse_date_or_list_request(
    body: Any,
    known_fields: Collection[str],
    filters: tuple[str, ...],
    book: LeadBook,
    *,
    updated_at_filter: bool,
    smart_list_filter: bool,
) -> dict[str, Any]:
    """
    The fields of a :class:`DateOrListSelection` from a create body of one of ``filters`` (the date ones end
    in ``At``), or the error Marketo would answer (1035 for a filter the subscription lacks).
    """
    fields, export_format, headers = parse_common(body, known_fields)
    flt = filter_object(body, f"one of {', '.join(filters)}")
    refuse_unknown_filters(flt, filters)
    filter_type = one_filter_type(flt, filters)
    refuse_unsupported(filter_type, updated_at_filter=updated_at_filter, smart_list_filter=smart_list_filter)
    selection: dict[str, Any] = {
        "fields": fields,
        "format": export_format,
        "column_header_names": headers,
        "filter_type": filter_type,
    }
    if filter_type.endswith("At"):
        selection["start"], selection["end"] = date_range(flt[filter_type], filter_type)
    else:
        selection["lead_ids"] = book.list_members(filter_type, flt[filter_type])
    return selection


@dataclass(frozen=True)
class LeadExportSpec(DateOrListSelection):
    """A validated lead export request."""

    book: LeadBook | None = field(default=None, compare=False, repr=False)

    def rows(self) -> list[dict[str, object]]:
        assert self.book is not None
        by_created = self.filter_type == "createdAt"
        chosen = [
            lead.row
            for lead in self.book.leads
            if self.selects(lead.id, lead.created_at if by_created else lead.updated_at)
        ]
        return with_custom_values(chosen, self.fields, LEAD_FIELD_NAMES)


def parse_lead_export(
    body: Any,
    book: LeadBook,
    *,
    custom_fields: tuple[str, ...] = (),
    updated_at_filter: bool = True,
    smart_list_filter: bool = True,
) -> LeadExportSpec:
    """Raise the error Marketo would answer for a bad lead export request, else return the spec."""
    known = set(LEAD_FIELD_NAMES) | set(custom_fields)
    selection = parse_date_or_list_request(
        body,
        known,
        LEAD_FILTERS,
        book,
        updated_at_filter=updated_at_filter,
        smart_list_filter=smart_list_filter,
    )
    return LeadExportSpec(**selection, book=book)


def refuse_unsupported(filter_type: str, *, updated_at_filter: bool, smart_list_filter: bool) -> None:
    """1035 for a filter this subscription lacks (``updatedAt``, smart lists need extra infrastructure)."""
    feature = NOT_ON_EVERY_SUBSCRIPTION.get(filter_type)
    enabled = {"updatedAt": updated_at_filter, "smartList": smart_list_filter}
    if feature is not None and not enabled[feature]:
        raise MarketoApiFault("1035", f"{UNSUPPORTED}: {filter_type}")


def _epoch(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"membership dates are epoch seconds, got {value!r}")
    return float(value)
