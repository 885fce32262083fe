"""The emulator's knobs, checked once up front so a typo fails loudly instead of emulating nonsense."""

from __future__ import annotations

import dataclasses
import math
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

DATASETS = ("generated", "documented")
LINE_ENDINGS = ("\n", "\r\n")
CANCELLED_SPELLINGS = ("Cancelled", "Canceled")


class EmulatorOptionError(ValueError):
    """An emulator option has a bad value; the message names the option."""


@dataclass(frozen=True)
class EmulatorOptions:
    """Everything that makes one emulated Marketo instance differ from another.

    Defaults are Marketo's documented limits, except the job pace, which is fast so tests stay quick;
    ``status_refresh_seconds=60`` and a larger ``processing_seconds`` give the realistic pace.

    Files: ``dataset="documented"`` serves exactly the example of Marketo's Bulk Program Member Extract
    page (program 1044, 12 members); ``line_ending`` is ``"\n"`` or ``"\r\n"``; like Marketo's example,
    no line ending follows the last row unless ``final_newline=True``. ``utf8_bom`` and ``nul_bytes``
    reproduce what loaders meet in production files. ``lead_custom_fields`` adds your own lead field names.

    Subscriptions: ``updated_at_filter=False`` answers 1035 to ``updatedAt`` filters (program members,
    leads) and ``smart_list_filter=False`` to ``smartListId``/``smartListName`` (leads, custom objects), as
    Marketo does on subscriptions without them.

    Time: the export quota day ends at 00:00 America/Chicago on the emulated clock (``start_at`` sets
    where that clock starts, ISO-8601); ``quota_day_seconds`` makes quota days that long instead, so a
    test can live through several resets in seconds.

    Dates of the generated data follow the clock: the memberships' ``updatedAt`` values spread over the
    1765 days (about 4.8 years) before ``data_until``, an ISO date (exclusive), by default the emulated
    clock's day (UTC) when the emulator starts, so "yesterday" and "the last 31 days" always have rows.
    Pin ``data_until`` for the same rows whatever day a test runs (``"2026-11-01"``: earlier releases'
    fixed dataset). The documented dataset keeps the dates of Marketo's page.
    """

    processing_seconds: float = 0.2
    queue_poll_seconds: float = 0.02
    status_refresh_seconds: float = 0.0
    token_ttl: float = 3600.0
    max_processing: int = 2
    max_queued: int = 10
    daily_quota_bytes: int = 500 * 1024 * 1024
    rate_limit_calls: int = 100
    rate_limit_window: float = 20.0
    max_concurrent: int = 10
    updated_at_filter: bool = True
    smart_list_filter: bool = True
    file_retention_seconds: float = 7 * 86400.0
    seed: int = 42
    programs: int = 60
    members: int = 4000
    large_file_mb: float | None = None
    client_id: str = field(default_factory=lambda: "emu-" + secrets.token_hex(8))
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    host: str = "127.0.0.1"
    port: int = 0
    keep_alive_seconds: int = 5
    """How long the server keeps an idle keep-alive connection open (uvicorn's default; servers vary)."""
    data_dir: str | None = None
    dataset: str = "generated"
    line_ending: str = "\n"
    final_newline: bool = False
    utf8_bom: bool = False
    nul_bytes: bool = False
    lead_custom_fields: tuple[str, ...] = ()
    cancelled_spelling: str = "Cancelled"
    start_at: str | None = None
    quota_day_seconds: float | None = None
    data_until: str | None = None

    def __post_init__(self) -> None:
        self._check_number("processing_seconds", minimum=0.0)
        self._check_number("queue_poll_seconds", minimum=0.001)
        self._check_number("status_refresh_seconds", minimum=0.0)
        self._check_number("token_ttl", minimum=1.0)
        self._check_int("max_processing", minimum=1)
        self._check_int("max_queued", minimum=1)
        if self.max_queued < self.max_processing:
            raise EmulatorOptionError(
                f"max_queued={self.max_queued} must be >= max_processing={self.max_processing}: "
                "the queue limit includes the jobs being processed"
            )
        self._check_int("daily_quota_bytes", minimum=1)
        self._check_int("rate_limit_calls", minimum=1)
        self._check_number("rate_limit_window", minimum=0.001)
        self._check_int("max_concurrent", minimum=1)
        self._check_bool("updated_at_filter")
        self._check_bool("smart_list_filter")
        self._check_number("file_retention_seconds", minimum=0.0)
        self._check_int("seed", minimum=None)
        self._check_int("programs", minimum=1, maximum=1000)
        self._check_int("members", minimum=0, maximum=1_000_000)
        if self.programs < 44 and self.dataset == "generated":
            # Program 1044 is the one of Marketo's documented example; keep it in every dataset.
            raise EmulatorOptionError(f"programs={self.programs} must be >= 44 so that program 1044 exists")
        if self.large_file_mb is not None:
            self._check_number("large_file_mb", minimum=0.001)
        for name in ("client_id", "client_secret", "host"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise EmulatorOptionError(f"{name} must be a non-empty string, got {value!r}")
        self._check_int("port", minimum=0, maximum=65535)
        self._check_int("keep_alive_seconds", minimum=1)
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise EmulatorOptionError(f"data_dir must be a path string or None, got {self.data_dir!r}")
        self._check_choice("dataset", DATASETS)
        self._check_choice("line_ending", LINE_ENDINGS)
        self._check_choice("cancelled_spelling", CANCELLED_SPELLINGS)
        for name in ("final_newline", "utf8_bom", "nul_bytes"):
            self._check_bool(name)
        self._check_custom_fields()
        if self.start_at is not None:
            self._check_start_at()
        if self.quota_day_seconds is not None:
            self._check_number("quota_day_seconds", minimum=0.001)
        if self.data_until is not None:
            self._check_data_until()

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> EmulatorOptions:
        """Build options, naming any keyword the emulator does not know (instead of a bare TypeError)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise EmulatorOptionError(
                f"unknown emulator option(s) {', '.join(unknown)}; valid options: {', '.join(sorted(known))}"
            )
        if kwargs.get("data_dir") is not None:
            kwargs["data_dir"] = str(kwargs["data_dir"])
        until = kwargs.get("data_until")
        if isinstance(until, date) and not isinstance(until, datetime):
            kwargs["data_until"] = until.isoformat()
        if isinstance(kwargs.get("lead_custom_fields"), list):
            kwargs["lead_custom_fields"] = tuple(kwargs["lead_custom_fields"])
        return cls(**kwargs)

    @property
    def start_epoch(self) -> float | None:
        """Where the emulated clock starts (seconds since the epoch), or None for now."""
        return None if self.start_at is None else _parse_instant(self.start_at).timestamp()

    @property
    def data_until_date(self) -> date | None:
        """The day the generated data's ``updatedAt`` values end before, or None for the clock's day."""
        return None if self.data_until is None else date.fromisoformat(self.data_until)

    @property
    def large_file_bytes(self) -> int | None:
        return None if self.large_file_mb is None else int(self.large_file_mb * 1024 * 1024)

    def _check_number(self, name: str, *, minimum: float) -> None:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise EmulatorOptionError(f"{name} must be a number, got {value!r}")
        if value < minimum:
            raise EmulatorOptionError(f"{name} must be >= {minimum}, got {value!r}")

    def _check_int(self, name: str, *, minimum: int | None, maximum: int | None = None) -> None:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise EmulatorOptionError(f"{name} must be an integer, got {value!r}")
        if minimum is not None and value < minimum:
            raise EmulatorOptionError(f"{name} must be >= {minimum}, got {value!r}")
        if maximum is not None and value > maximum:
            raise EmulatorOptionError(f"{name} must be <= {maximum}, got {value!r}")

    def _check_choice(self, name: str, choices: tuple[str, ...]) -> None:
        value = getattr(self, name)
        if value not in choices:
            raise EmulatorOptionError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")

    def _check_custom_fields(self) -> None:
        from airflow_provider_marketo_pm.testing.emulator.dataset import EXPORTABLE_FIELDS

        names = self.lead_custom_fields
        if not isinstance(names, tuple) or not all(isinstance(n, str) and n.isidentifier() for n in names):
            raise EmulatorOptionError(
                f"lead_custom_fields must be a tuple of field names (letters, digits, _), got {names!r}"
            )
        clashes = sorted(set(names) & EXPORTABLE_FIELDS)
        if clashes:
            raise EmulatorOptionError(f"lead_custom_fields names built-in fields: {', '.join(clashes)}")

    def _check_start_at(self) -> None:
        try:
            _parse_instant(self.start_at)
        except (TypeError, ValueError):
            raise EmulatorOptionError(
                f"start_at must be an ISO-8601 instant with a time zone such as "
                f"'2026-03-07T12:00:00-06:00', got {self.start_at!r}"
            ) from None

    def _check_data_until(self) -> None:
        value = self.data_until
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError(value)
            date.fromisoformat(value)
        except ValueError:
            raise EmulatorOptionError(
                f"data_until must be an ISO date such as '2026-11-01' (or a datetime.date), got {value!r}"
            ) from None

    def _check_bool(self, name: str) -> None:
        value = getattr(self, name)
        if not isinstance(value, bool):
            raise EmulatorOptionError(f"{name} must be True or False, got {value!r}")


def _parse_instant(value: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError(value)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(value)
    return parsed
