"""A deterministic program-member dataset that is as awkward as real CRM data.

Values carry commas, quotes, embedded newlines, non-ASCII text and empties, so that a client which splits
files on lines or ignores quoting fails against the emulator before it fails in production.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import UTC, datetime

from airflow_provider_marketo_pm.testing.emulator.clock import iso_utc

FIRST_PROGRAM_ID = 1001
DOCUMENTED_PROGRAM_ID = 1044
DOCUMENTED_PROGRAM_NAME = "PMCF Program"
UPDATED_AT_START = datetime(2022, 1, 1, tzinfo=UTC).timestamp()
UPDATED_AT_END = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC).timestamp()

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
LEAD_FIELDS = ("firstName", "lastName", "email", "company", "leadCustomField01", "leadCustomField02")
EXPORTABLE_FIELDS = frozenset(name for name, *_ in PROGRAM_MEMBER_FIELDS) | frozenset(LEAD_FIELDS)
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
PROGRAM_TOPICS = ("Q1 Launch", 'Data, "Done Right"', "Événement Paris", "AI Summit", "Renewals", "München")


@dataclass(frozen=True)
class Program:
    id: int
    name: str
    statuses: tuple[str, ...]


@dataclass(frozen=True)
class Dataset:
    programs: dict[int, Program]
    members: tuple[dict[str, object], ...]  # sorted by (programId, leadId)

    def members_of(self, program_ids: list[int]) -> list[dict[str, object]]:
        wanted = set(program_ids)
        return [m for m in self.members if m["programId"] in wanted]


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
def build_dataset(seed: int, programs: int, members: int) -> Dataset:
    """Same seed, same data: tests can assert on exact rows. Cached because building takes ~50 ms."""
    rng = random.Random(seed)
    program_map: dict[int, Program] = {}
    for index in range(programs):
        program_id = FIRST_PROGRAM_ID + index
        if program_id == DOCUMENTED_PROGRAM_ID:
            program_map[program_id] = Program(
                program_id, DOCUMENTED_PROGRAM_NAME, DOCUMENTED_PROGRAM_STATUSES
            )
            continue
        name = f"{rng.choice(PROGRAM_KINDS)} - {rng.choice(PROGRAM_TOPICS)} {2022 + index % 5}"
        program_map[program_id] = Program(program_id, name, CHANNEL_STATUSES[index % len(CHANNEL_STATUSES)])

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
    return {
        "leadId": lead_id,
        "firstName": first,
        "lastName": last,
        "email": f"{email_local or 'lead'}{lead_id}@example.com",
        "company": None if rng.random() < 0.1 else rng.choice(COMPANIES),
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
