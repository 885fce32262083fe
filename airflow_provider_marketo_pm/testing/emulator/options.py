"""The emulator's knobs, checked once up front so a typo fails loudly instead of emulating nonsense."""

from __future__ import annotations

import dataclasses
import math
import secrets
from dataclasses import dataclass, field
from typing import Any


class EmulatorOptionError(ValueError):
    """An emulator option has a bad value; the message names the option."""


@dataclass(frozen=True)
class EmulatorOptions:
    """Everything that makes one emulated Marketo instance differ from another.

    Defaults are Marketo's documented limits, except the job pace, which is fast so tests stay quick;
    ``status_refresh_seconds=60`` and a larger ``processing_seconds`` give the realistic pace.
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
    file_retention_seconds: float = 7 * 86400.0
    seed: int = 42
    programs: int = 60
    members: int = 4000
    large_file_mb: float | None = None
    client_id: str = field(default_factory=lambda: "emu-" + secrets.token_hex(8))
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    host: str = "127.0.0.1"
    port: int = 0
    data_dir: str | None = None

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
        self._check_number("file_retention_seconds", minimum=0.0)
        self._check_int("seed", minimum=None)
        self._check_int("programs", minimum=1, maximum=1000)
        self._check_int("members", minimum=0, maximum=1_000_000)
        if self.programs < 44:
            # Program 1044 is the one of Marketo's documented example; keep it in every dataset.
            raise EmulatorOptionError(f"programs={self.programs} must be >= 44 so that program 1044 exists")
        if self.large_file_mb is not None:
            self._check_number("large_file_mb", minimum=0.001)
        for name in ("client_id", "client_secret", "host"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise EmulatorOptionError(f"{name} must be a non-empty string, got {value!r}")
        self._check_int("port", minimum=0, maximum=65535)
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise EmulatorOptionError(f"data_dir must be a path string or None, got {self.data_dir!r}")

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
        return cls(**kwargs)

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

    def _check_bool(self, name: str) -> None:
        value = getattr(self, name)
        if not isinstance(value, bool):
            raise EmulatorOptionError(f"{name} must be True or False, got {value!r}")
