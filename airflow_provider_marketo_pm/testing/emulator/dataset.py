"""A deterministic program-member dataset that is as awkward as real CRM data.

Values carry commas, quotes, embedded newlines, non-ASCII text and empties, so that a client which splits
files on lines or ignores quoting fails against the emulator before it fails in production.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

from airflow_provider_marketo_pm.testing.emulator.clock import iso_utc

FIRST_PROGRAM_ID = 1001
DOCUMENTED_PROGRAM_ID = 1044
DOCUMENTED_PROGRAM_NAME = "PMCF Program"
# The generator draws every date in one fixed frame: updatedAt from 2022-01-01 to 2026-10-31 (until
# 2026-11-01). A dataset "until" another day is that frame moved by whole days (build_dataset), so one
# seed and one day always give the same rows, and until=FRAME_UNTIL gives the rows of earlier releases.
UPDATED_AT_START = datetime(2022, 1, 1, tzinfo=UTC).timestamp()
UPDATED_AT_END = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC).timestamp()
FRAME_UNTIL = date(2026, 11, 1)
#: How many days of updatedAt values a generated dataset spans, ending the day before its ``until``.
SPAN_DAYS = (FRAME_UNTIL - date(2022, 1, 1)).days

# (name, dataType, length, updateable): the describe program member fields of Marketo's docs, plus two
# program member custom fields used in the documented export example.
PROGRAM_MEMBER_FIELDS: tuple[tuple[str, str, int | None, bool], ...] = (
    ("acquiredBy", "boolean", None, False),
    ("attendanceLikelihood", "integer", None, False),
    ("createdAt", "datetime", None, False),
    ("isExhausted", "boolean", None, False),
    ("leadId", "integer", None, False),
    ("membershipDate", "datetime", None, False),
    ("nurtureCadence", "string", 4, False),
    ("program", "string", 255, False),
    ("programId", "integer", None, False),
    ("reachedSuccess", "boolean", None, False),
    ("reachedSuccessDate", "datetime", None, False),
    ("registrationLikelihood", "integer", None, False),
    ("statusName", "string", 255, False),
    ("statusReason", "string", 255, False),
    ("trackName", "string", 255, False),
    ("updatedAt", "datetime", None, False),
    ("waitlistPriority", "integer", None, False),
    ("myCustomField", "string", 255, True),
    ("registrationCode", "string", 100, True),
    ("webinarUrl", "string", 2000, True),
    ("pMCustomField01", "string", 255, True),
    ("pMCustomField02", "string", 255, True),
)
# (id, name, displayName, dataType, length, readOnly): lead fields a describe of leads lists (standard
# fields of Marketo's list of standard fields, plus the two lead custom fields of the documented example).
# createdAt and updatedAt exist on both leads and program members; an export writes the membership's.
LEAD_FIELDS: tuple[tuple[int, str, str, str, int | None, bool], ...] = (
    (1, "id", "Id", "integer", None, True),
    (2, "company", "Company Name", "string", 255, False),
    (3, "email", "Email Address", "email", 255, False),
    (4, "firstName", "First Name", "string", 255, False),
    (5, "lastName", "Last Name", "string", 255, False),
    (6, "middleName", "Middle Name", "string", 255, False),
    (7, "title", "Job Title", "string", 255, False),
    (8, "phone", "Phone Number", "phone", 255, False),
    (9, "city", "City", "string", 255, False),
    (10, "state", "State", "string", 255, False),
    (11, "country", "Country", "string", 255, False),
    (12, "leadSource", "Lead Source", "string", 255, False),
    (13, "leadStatus", "Lead Status", "string", 255, False),
    (14, "unsubscribed", "Unsubscribed", "boolean", None, False),
    (15, "createdAt", "Created At", "datetime", None, True),
    (16, "updatedAt", "Updated At", "datetime", None, True),
    (1001, "leadCustomField01", "leadCustomField01", "string", 255, False),
    (1002, "leadCustomField02", "leadCustomField02", "string", 255, False),
)
LEAD_FIELD_NAMES = tuple(name for _, name, *_ in LEAD_FIELDS)
EXPORTABLE_FIELDS = frozenset(name for name, *_ in PROGRAM_MEMBER_FIELDS) | frozenset(LEAD_FIELD_NAMES)
DATETIME_FIELDS = frozenset(name for name, kind, *_ in PROGRAM_MEMBER_FIELDS if kind == "datetime")

# Status sets by channel, using the status names listed in Marketo's docs.
CHANNEL_STATUSES: tuple[tuple[str, ...], ...] = (
    ("Not in Program", "Invited", "Registered", "Attended", "No Show", "Attended On-demand"),
    ("Not in Program", "Member", "Sent", "Opened", "Clicked", "Bounced", "Unsubscribed"),
    ("Not in Program", "Invited", "Registered", "Waitlisted", "Attended", "Visited Booth", "No Show"),
    ("Not in Program", "Member", "Engaged", "Influenced", "Filled-out Form", "Converted"),
    ("Not in Program", "On List", "Subscribed", "Contacted", "Viewed", "Web Content"),
)
DOCUMENTED_PROGRAM_STATUSES = ("Not in Program", "On List", "Member", "Influenced")

FIRST_NAMES = (
    "Meera", "Jon", "Lyanna", "Rickon", "Hodor", "José", "Zoë", "Łukasz", "Søren", "Ana-María",
    "李", "Nguyễn", "Renée", "O'Neil", "Aoife", "Müller", "Chloé", "Dmitrí", "Åsa", "Ngozi",
)  # fmt: skip
LAST_NAMES = (
    "Reed", "Umber", "Mormont", "Stark", "Smith, Jr.", 'The "Rock"', "García Márquez", "O'Brien",
    "Ødegaard", "van der Berg", "Dupont-Lefèvre", "Kowalski", "Σωκράτης", "Tanaka 田中", "Cassel",
)  # fmt: skip
COMPANIES = ("Acme, Inc.", 'Widgets "R" Us', "Société Générale", "Initech", "Stark Industries", "Umbrella")
CUSTOM_VALUES = (
    "Lead01_Value",
    "multi-line\nnote, with comma",
    'said "hello", then left',
    "tab\there",
    "emoji ✓ ünïcödé",
    "  leading and trailing spaces  ",
    "semi;colon",
    "line one\r\nline two",
)
PROGRAM_KINDS = ("Webinar", "Newsletter", "Trade Show", "Nurture", "Content Syndication")
# Asset API program facts (type, channel) by kind, and the workspaces and folders programs live in.
PROGRAM_TYPES = {
    "Webinar": ("Event", "Webinar"),
    "Newsletter": ("Email", "Email Send"),
    "Trade Show": ("Event", "Tradeshow"),
    "Nurture": ("Engagement", "Nurture"),
    "Content Syndication": ("Default", "Content"),
}
WORKSPACES = ("Default", "EMEA", "North America")
FOLDERS: tuple[tuple[int, str, str], ...] = (  # (folder id, name, workspace)
    (26, "Data Management", "Default"),
    (28, "Nurturing", "Default"),
    (41, "Events EMEA", "EMEA"),
    (42, "Newsletters EMEA", "EMEA"),
    (51, "Events NA", "North America"),
    (52, "Campaigns NA", "North America"),
)
TITLES = ("VP Marketing", "Data Engineer", "CFO", "Head of Ops, EMEA", None)
CITIES = (
    ("Chicago", "IL", "USA"),
    ("Paris", None, "France"),
    ("München", None, "Germany"),
    (None, None, None),
)
LEAD_SOURCES = ("Website", "List Import", "Trade Show", None)
LEAD_STATUSES = ("New", "Working", "Nurture", "Qualified")
PROGRAM_TOPICS = ("Q1 Launch", 'Data, "Done Right"', "Événement Paris", "AI Summit", "Renewals", "München")


@dataclass(frozen=True)
class Program:
    id: int
    name: str
    statuses: tuple[str, ...]
    folder_id: int = 26
    folder_name: str = "Data Management"
    workspace: str = "Default"
    type: str = "Default"
    channel: str = "Content"
    created_at: int = 0
    updated_at: int = 0

    def asset(self) -> dict[str, object]:
        """The program as the Asset API's browse answers it (Marketo writes offsets as ``Z+0000``)."""
        kind_status = {"Engagement": "on", "Email": "unlocked"}.get(self.type, "")
        return {
            "id": self.id,
            "name": self.name,
            "description": "",
            "createdAt": iso_utc(self.created_at) + "+0000",
            "updatedAt": iso_utc(self.updated_at) + "+0000",
            "url": f"https://app-emulated.marketo.invalid/#PG{self.id}A1",
            "type": self.type,
            "channel": self.channel,
            "folder": {"type": "Folder", "value": self.folder_id, "folderName": self.folder_name},
            "status": kind_status,
            "workspace": self.workspace,
            "headStart": False,
        }


@dataclass(frozen=True)
class Dataset:
    programs: dict[int, Program]
    members: tuple[dict[str, object], ...]  # sorted by (programId, leadId)

    def members_of(self, program_ids: list[int]) -> list[dict[str, object]]:
        wanted = set(program_ids)
        return [m for m in self.members if m["programId"] in wanted]

    def updated_at_range(self) -> tuple[int, int] | None:
        """The earliest and the latest membership ``updatedAt`` (epoch seconds), None without members."""
        stamps = [int(str(m["updatedAt"])) for m in self.members if m.get("updatedAt") is not None]
        return (min(stamps), max(stamps)) if stamps else None

    def shifted(self, seconds: int) -> Dataset:
        """The same programs and memberships, every date moved by ``seconds``."""
        if not seconds:
            return self
        programs = {
            pid: dataclasses.replace(p, created_at=p.created_at + seconds, updated_at=p.updated_at + seconds)
            for pid, p in self.programs.items()
        }
        members = tuple(
            {k: v + seconds if k in DATETIME_FIELDS and isinstance(v, int) else v for k, v in m.items()}
            for m in self.members
        )
        return Dataset(programs, members)


def describe_lead_fields(custom: tuple[str, ...] = ()) -> list[dict[str, object]]:
    """``GET /rest/v1/leads/describe.json``: one entry per field, with its REST and SOAP names."""
    described: list[dict[str, object]] = []
    for field_id, name, display, kind, length, read_only in _lead_fields(custom):
        entry: dict[str, object] = {"id": field_id, "displayName": display, "dataType": kind}
        if length is not None:
            entry["length"] = length
        entry["rest"] = {"name": name, "readOnly": read_only}
        entry["soap"] = {"name": name[:1].upper() + name[1:], "readOnly": read_only}
        described.append(entry)
    return described


def describe_lead_fields2(custom: tuple[str, ...] = ()) -> list[dict[str, object]]:
    """``GET /rest/v1/leads/describe2.json``: the "API Lead" record with searchable fields and fields."""
    fields: list[dict[str, object]] = []
    for _, name, display, kind, length, read_only in _lead_fields(custom):
        entry: dict[str, object] = {"name": name, "displayName": display, "dataType": kind}
        if length is not None:
            entry["length"] = length
        entry.update(updateable=not read_only, crmManaged=False)
        fields.append(entry)
    searchable = [["email"], ["id"], ["company"], *([name] for name in custom)]
    return [{"name": "API Lead", "searchableFields": searchable, "fields": fields}]


def _lead_fields(custom: tuple[str, ...]) -> list[tuple[int, str, str, str, int | None, bool]]:
    extra = [(2001 + n, name, name, "string", 255, False) for n, name in enumerate(custom)]
    return [*LEAD_FIELDS, *extra]


def custom_value(field: str, lead_id: int) -> str | None:
    """A deterministic value for a user-declared lead custom field (same field and lead, same value)."""
    index = zlib.crc32(f"{field}:{lead_id}".encode())
    return None if index % 5 == 0 else CUSTOM_VALUES[index % len(CUSTOM_VALUES)]


def describe_fields() -> list[dict[str, object]]:
    """The describe program member ``fields`` list, in the shape of Marketo's response."""
    described: list[dict[str, object]] = []
    for name, kind, length, updateable in PROGRAM_MEMBER_FIELDS:
        entry: dict[str, object] = {"name": name, "displayName": name, "dataType": kind}
        if length is not None:
            entry["length"] = length
        entry.update(updateable=updateable, crmManaged=False)
        described.append(entry)
    return described


@functools.lru_cache(maxsize=8)
def build_dataset(seed: int, programs: int, members: int, *, until: date) -> Dataset:
    """
    The generated dataset whose ``updatedAt`` values span the :data:`SPAN_DAYS` days before ``until``.

    Same seed and same ``until``, same data: tests can assert on exact rows. Another ``until`` moves every
    date by whole days (the rows themselves stay the same). Cached because building takes ~50 ms.
    """
    shift_days = (until - FRAME_UNTIL).days
    return _build_in_frame(seed, programs, members).shifted(shift_days * 86400)


@functools.lru_cache(maxsize=8)
def _build_in_frame(seed: int, programs: int, members: int) -> Dataset:
    rng = random.Random(seed)
    program_map: dict[int, Program] = {}
    for index in range(programs):
        program_id = FIRST_PROGRAM_ID + index
        if program_id == DOCUMENTED_PROGRAM_ID:
            program_map[program_id] = documented_program()
            continue
        kind = rng.choice(PROGRAM_KINDS)
        name = f"{kind} - {rng.choice(PROGRAM_TOPICS)} {2022 + index % 5}"
        folder_id, folder_name, workspace = FOLDERS[index % len(FOLDERS)]
        created = int(UPDATED_AT_START + index * 86400 * 7)
        program_map[program_id] = Program(
            program_id,
            name,
            CHANNEL_STATUSES[index % len(CHANNEL_STATUSES)],
            folder_id=folder_id,
            folder_name=folder_name,
            workspace=workspace,
            type=PROGRAM_TYPES[kind][0],
            channel=PROGRAM_TYPES[kind][1],
            created_at=created,
            updated_at=created + (index * 7919) % (86400 * 30),
        )

    lead_count = max(1, members * 2 // 3)
    leads = [_lead(rng, 1000 + n) for n in range(lead_count)]
    program_ids = sorted(program_map)
    rows: dict[tuple[int, int], dict[str, object]] = {}
    for n in range(members):
        # Every program gets members (round robin first), the rest land at random.
        program = program_map[
            program_ids[n % len(program_ids)] if n < len(program_ids) * 3 else rng.choice(program_ids)
        ]
        lead = rng.choice(leads)
        key = (program.id, int(lead["leadId"]))  # type: ignore[call-overload]
        if key not in rows:
            rows[key] = _membership(rng, program, lead)
    return Dataset(program_map, tuple(rows[key] for key in sorted(rows)))


def _lead(rng: random.Random, lead_id: int) -> dict[str, object]:
    first = rng.choice(FIRST_NAMES)
    last = None if rng.random() < 0.08 else rng.choice(LAST_NAMES)
    email_local = "".join(
        ch for ch in f"{first}.{last or 'x'}".lower() if (ch.isascii() and ch.isalnum()) or ch == "."
    )
    more = random.Random(lead_id)  # the fields added later draw apart, so the rows above stay as they were
    city, state, country = more.choice(CITIES)
    return {
        "leadId": lead_id,
        "id": lead_id,
        "firstName": first,
        "middleName": None,
        "lastName": last,
        "email": f"{email_local or 'lead'}{lead_id}@example.com",
        "company": None if rng.random() < 0.1 else rng.choice(COMPANIES),
        "title": more.choice(TITLES),
        "phone": f"+1 312 555 {lead_id % 10000:04d}" if more.random() < 0.5 else None,
        "city": city,
        "state": state,
        "country": country,
        "leadSource": more.choice(LEAD_SOURCES),
        "leadStatus": more.choice(LEAD_STATUSES),
        "unsubscribed": more.random() < 0.05,
        "leadCustomField01": rng.choice(CUSTOM_VALUES),
        "leadCustomField02": None if rng.random() < 0.3 else rng.choice(CUSTOM_VALUES),
    }


def _membership(rng: random.Random, program: Program, lead: dict[str, object]) -> dict[str, object]:
    updated = rng.uniform(UPDATED_AT_START, UPDATED_AT_END)
    joined = rng.uniform(UPDATED_AT_START - 86400 * 90, updated)
    success = rng.random() < 0.3
    nurture = rng.random() < 0.2
    return {
        **lead,
        "programId": program.id,
        "program": program.name,
        "statusName": rng.choice(program.statuses),
        "statusReason": rng.choice(
            (None, "Filled out form", "Added by list import, batch #7", "Changed by\nsmart campaign")
        ),
        "acquiredBy": rng.random() < 0.5,
        "attendanceLikelihood": rng.randint(0, 100) if rng.random() < 0.5 else None,
        "registrationLikelihood": rng.randint(0, 100) if rng.random() < 0.5 else None,
        "waitlistPriority": rng.randint(1, 50) if rng.random() < 0.1 else None,
        "createdAt": int(joined),
        "membershipDate": int(joined),
        "updatedAt": int(updated),
        "reachedSuccess": success,
        "reachedSuccessDate": int(rng.uniform(joined, updated)) if success else None,
        "isExhausted": nurture and rng.random() < 0.4,
        "nurtureCadence": rng.choice(("norm", "paus")) if nurture else None,
        "trackName": rng.choice(("Track A", "Track B, EMEA")) if nurture else None,
        "myCustomField": rng.choice((None, *CUSTOM_VALUES)),
        "registrationCode": f"REG-{rng.randint(1000, 9999)}" if rng.random() < 0.3 else None,
        "webinarUrl": f"https://example.com/webinar?id={rng.randint(1, 999)}&lang=fr"
        if rng.random() < 0.2
        else None,
        "pMCustomField01": rng.choice(("PM01_Value", "Wert äöü", None)),
        "pMCustomField02": rng.choice(("PM02_Value", "a,b,c", '"quoted"', None)),
    }


def cell(field: str, value: object) -> str:
    """How Marketo writes one value into an export file: empties as the literal ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if field in DATETIME_FIELDS and isinstance(value, int):
        return iso_utc(value)
    return str(value)


# -- the documented example --------------------------------------------------------------------------------
# The file shown on Marketo's Bulk Program Member Extract page (program 1044, 12 members), whose advertised
# fileChecksum is the sha256 of these rows joined by "\n" without a final newline.
DOCUMENTED_MEMBER_DATE = int(datetime(2020, 1, 8, 18, 10, 26, tzinfo=UTC).timestamp())
DOCUMENTED_LEADS: tuple[tuple[int, str, str | None, str], ...] = (
    (1789, "Meera", "Reed", "mree@housestark.com"),
    (1790, "Jon", "Umber", "jumb@housestark.com"),
    (1791, "Lyanna", "Mormont", "lmor@housestark.com"),
    (1792, "Rickon", "Stark", "rsta@housestark.com"),
    (1793, "Hodor", None, "hodor@housestark.com"),
    (1794, "Osha", None, "osha@housestark.com"),
    (1795, "Jojen", "Reed", "Jree@housestark.com"),
    (1796, "Rickard", "Karstark", "rkar@housestark.com"),
    (1797, "Maester", "Luwin", "mluw@housestark.com"),
    (1798, "Rodrik", "Cassel", "rcas@housestark.com"),
    (1799, "Jory", "Cassel", "jcas@housestark.com"),
    (1800, "Septa", "Mordane", "smor@housestark.com"),
)
DOCUMENTED_FIELDS = (
    "firstName", "lastName", "email", "membershipDate", "program", "statusName", "leadId",
    "reachedSuccess", "leadCustomField01", "leadCustomField02", "pMCustomField01", "pMCustomField02",
)  # fmt: skip
DOCUMENTED_HEADERS = {
    "membershipDate": "Member Date",
    "program": "Program",
    "statusName": "Status",
    "leadId": "Lead Id",
    "reachedSuccess": "Success",
}
DOCUMENTED_CHECKSUM = "sha256:b3c8e70e6e501cf1025e345a66b409d4fd07364c7da773cfa68a2b68ce1a7212"


def documented_program() -> Program:
    created = DOCUMENTED_MEMBER_DATE - 86400
    return Program(
        DOCUMENTED_PROGRAM_ID,
        DOCUMENTED_PROGRAM_NAME,
        DOCUMENTED_PROGRAM_STATUSES,
        created_at=created,
        updated_at=created,
    )


@functools.lru_cache(maxsize=1)
def documented_dataset() -> Dataset:
    """Program 1044 and its 12 members as the example shows them; fields it does not show are empty."""
    program = documented_program()
    blank: dict[str, object] = dict.fromkeys(EXPORTABLE_FIELDS)
    members = tuple(
        {
            **blank,
            "leadId": lead_id,
            "id": lead_id,
            "firstName": first,
            "lastName": last,
            "email": email,
            "programId": program.id,
            "program": program.name,
            "statusName": "On List",
            "membershipDate": DOCUMENTED_MEMBER_DATE,
            "createdAt": DOCUMENTED_MEMBER_DATE,
            "updatedAt": DOCUMENTED_MEMBER_DATE,
            "reachedSuccess": False,
            "acquiredBy": False,
            "isExhausted": False,
            "leadCustomField01": "Lead01_Value",
            "leadCustomField02": "Lead02_Value",
            "pMCustomField01": "PM01_Value",
            "pMCustomField02": "PM02_Value",
        }
        for lead_id, first, last, email in DOCUMENTED_LEADS
    )
    return Dataset({program.id: program}, members)
