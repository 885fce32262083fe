"""Export job lifecycle on Marketo's shared bulk queue: Created -> Queued -> Processing -> Completed/Failed.

Jobs of every kind (program members, leads, activities, custom objects) live on one board: they share
the queue (2 processing, 10 queued) and the daily export quota, as on Marketo. Each job has a ``Scope``
(its kind, and for custom objects its apiName): a kind's endpoints see only the jobs of their scope.

One lock guards all job state, because the HTTP handlers (event loop thread), the scheduler thread and
the test's own thread (fault injection) all touch it. File generation runs in a worker pool so it never
blocks the event loop.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from airflow_provider_marketo_pm.testing.emulator.clock import EmulatedClock, iso_utc
from airflow_provider_marketo_pm.testing.emulator.errors import MarketoApiFault, invalid
from airflow_provider_marketo_pm.testing.emulator.export_file import WrittenFile
from airflow_provider_marketo_pm.testing.emulator.export_request import ExportSelection
from airflow_provider_marketo_pm.testing.emulator.options import EmulatorOptions

CREATED, QUEUED, PROCESSING = "Created", "Queued", "Processing"
COMPLETED, FAILED, CANCELLED = "Completed", "Failed", "Cancelled"
ACTIVE = (QUEUED, PROCESSING)
STATUSES = (CREATED, QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED)
STATUS_RETENTION_SECONDS = 30 * 86400
LIST_WINDOW_SECONDS = 7 * 86400
QUOTA_TIMEZONE = ZoneInfo("America/Chicago")  # Marketo's daily quotas reset at 12:00 AM US Central
FILE_FACTS = ("numberOfRecords", "fileSize", "fileChecksum")  # what a Completed record adds

PROGRAM_MEMBERS = "program_members"

FileProducer = Callable[["Job"], WrittenFile]


@dataclass(frozen=True)
class Scope:
    """Where a job is seen: its kind's endpoints (and, for a custom object, that object's apiName)."""

    kind: str = PROGRAM_MEMBERS
    api_name: str | None = None


@dataclass
class Job:
    export_id: str
    format: str
    created_at: float
    spec: ExportSelection | None  # None for jobs of other integrations (occupy_queue)
    scope: Scope = Scope()
    path: Path | None = None
    status: str = CREATED
    queued_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    number_of_records: int | None = None
    file_size: int | None = None
    file_checksum: str | None = None
    error_msg: str | None = None
    hold_seconds: float | None = None  # processing time of a foreign job
    fail_with: str | None = None
    corrupt_checksum: bool = False
    cancelled_spelling: str = CANCELLED  # Marketo's answers spell it both ways
    stale_created_reads: int = 0  # status reads left that answer Created although the job moved on
    lost_enqueue: bool = False  # the next enqueue answers Queued but leaves the job Created
    file_ready_delay: float = 0.0  # seconds after completion during which file.json still answers 404
    omitted: frozenset[str] = frozenset()  # Completed facts left out of the record
    future: Future[WrittenFile] | None = field(default=None, repr=False)

    @property
    def foreign(self) -> bool:
        return self.spec is None

    def record(self, *, stale: bool = False) -> dict[str, object]:
        """The status record as Marketo returns it (absent properties are omitted); ``stale`` answers the
        Created record some clients meet after enqueueing."""
        status = self.cancelled_spelling if self.status == CANCELLED else self.status
        if stale:
            return {"exportId": self.export_id, "format": self.format, "status": CREATED,
                    "createdAt": iso_utc(self.created_at)}  # fmt: skip
        record: dict[str, object] = {"exportId": self.export_id, "format": self.format, "status": status}
        for key, epoch in (
            ("createdAt", self.created_at),
            ("queuedAt", self.queued_at),
            ("startedAt", self.started_at),
            ("finishedAt", self.finished_at),
        ):
            if epoch is not None:
                record[key] = iso_utc(epoch)
        for key, value in (
            ("numberOfRecords", self.number_of_records),
            ("fileSize", self.file_size),
            ("fileChecksum", self.file_checksum),
            ("errorMsg", self.error_msg),
        ):
            if value is not None and key not in self.omitted:
                record[key] = value
        return record


class JobBoard:
    """All export jobs of the instance, the shared queue, the daily export quota and the scheduler."""

    def __init__(
        self, options: EmulatorOptions, clock: EmulatedClock, data_dir: Path, produce: FileProducer
    ) -> None:
        self._options = options
        self._clock = clock
        self._data_dir = data_dir
        #: writes a job's file in the worker pool; tests may wrap it (to hold a file mid-generation)
        self.produce = produce
        self._jobs: dict[str, Job] = {}
        self._lock = threading.RLock()
        self._fail_next: list[str] = []
        self._corrupt_next = 0
        self._stale_next: list[tuple[int, bool]] = []  # (status reads, lost) for the next enqueues
        self._file_delays: list[float] = []  # for the next jobs to complete
        self._omit_next: list[frozenset[str]] = []  # for the next jobs to complete
        self._origin = clock.now()  # where compressed quota days are counted from
        self._next_refresh = 0.0
        self._pool = ThreadPoolExecutor(
            max_workers=options.max_processing, thread_name_prefix="marketo-export"
        )
        self._stop = threading.Event()
        self._scheduler = threading.Thread(target=self._run_scheduler, name="marketo-scheduler", daemon=True)

    # -- scheduler ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._next_refresh = self._clock.now() + self._options.status_refresh_seconds
        self._scheduler.start()

    def stop(self) -> None:
        self._stop.set()
        if self._scheduler.is_alive():
            self._scheduler.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run_scheduler(self) -> None:
        while not self._stop.wait(self._options.queue_poll_seconds):
            self.tick()

    def tick(self) -> None:
        """Move jobs along; with ``status_refresh_seconds`` only on refresh ticks, as Marketo does."""
        with self._lock:
            now = self._clock.now()
            refresh = self._options.status_refresh_seconds
            if refresh > 0:
                if now < self._next_refresh:
                    return
                self._next_refresh = now + refresh
            for job in self._jobs.values():
                if job.status == PROCESSING:
                    self._maybe_finish(job, now)
            waiting = sorted(
                (j for j in self._jobs.values() if j.status == QUEUED), key=lambda j: j.queued_at or 0
            )
            for job in waiting:
                if self._count(PROCESSING) >= self._options.max_processing:
                    break
                self._start(job, now)

    def _start(self, job: Job, now: float) -> None:
        job.status, job.started_at = PROCESSING, now
        if job.foreign:
            return
        if self._fail_next:
            job.fail_with = self._fail_next.pop(0)
            return
        if self._corrupt_next:
            self._corrupt_next -= 1
            job.corrupt_checksum = True
        job.future = self._pool.submit(self.produce, job)

    def _maybe_finish(self, job: Job, now: float) -> None:
        assert job.started_at is not None
        if job.foreign:
            if now >= job.started_at + (job.hold_seconds or 0):
                job.status, job.finished_at = COMPLETED, now
            return
        if now < job.started_at + self._options.processing_seconds:
            return
        if job.fail_with is not None:
            job.status, job.finished_at, job.error_msg = FAILED, now, job.fail_with
            return
        if job.future is None or not job.future.done():
            return
        error = job.future.exception()
        if error is not None:
            job.status, job.finished_at, job.error_msg = FAILED, now, f"Export failed: {error}"
            return
        written = job.future.result()
        checksum = written.sha256
        if job.corrupt_checksum:
            checksum = checksum[::-1] if checksum != checksum[::-1] else "0" * len(checksum)
        job.status, job.finished_at = COMPLETED, now
        if self._file_delays:
            job.file_ready_delay = self._file_delays.pop(0)
        if self._omit_next:
            job.omitted = self._omit_next.pop(0)
        job.number_of_records, job.file_size, job.file_checksum = (
            written.records,
            written.size,
            f"sha256:{checksum}",
        )

    # -- API operations ----------------------------------------------------------------------------
    def create(self, spec: ExportSelection, scope: Scope = Scope()) -> Job:
        with self._lock:
            self._check_quota()
            export_id = str(uuid.uuid4())
            job = Job(
                export_id=export_id,
                format=spec.format,
                created_at=self._clock.now(),
                spec=spec,
                scope=scope,
                cancelled_spelling=self._options.cancelled_spelling,
            )
            job.path = self._data_dir / f"{export_id}.{spec.format.lower()}"
            self._jobs[export_id] = job
            return job

    def enqueue(self, export_id: str, scope: Scope | None = None) -> dict[str, object]:
        """Queue a Created job; the answer is the Queued record (even when a scripted fault loses it)."""
        with self._lock:
            job = self.get(export_id, scope)
            if job.status in (QUEUED, PROCESSING, COMPLETED):
                raise MarketoApiFault("1029", "Job already queued")
            if job.status != CREATED:
                raise invalid(f"Export job {export_id} is {job.status}; only a Created job can be enqueued")
            self._check_quota()
            if self._count(*ACTIVE) >= self._options.max_queued:
                raise MarketoApiFault("1029", "Too many jobs in queue")
            job.status, job.queued_at = QUEUED, self._clock.now()
            answer = job.record()
            if self._stale_next:
                reads, lost = self._stale_next.pop(0)
                if lost:
                    job.status, job.queued_at = CREATED, None
                else:
                    job.stale_created_reads = reads
            return answer

    def status_record(self, export_id: str, scope: Scope | None = None) -> dict[str, object]:
        """What status.json answers now (a scripted stale read answers Created and uses up one read)."""
        with self._lock:
            job = self.get(export_id, scope)
            if job.stale_created_reads > 0:
                job.stale_created_reads -= 1
                return job.record(stale=True)
            return job.record()

    def cancel(self, export_id: str, scope: Scope | None = None) -> Job:
        with self._lock:
            job = self.get(export_id, scope)
            if job.status == CANCELLED:
                return job
            if job.status in (COMPLETED, FAILED):
                raise invalid(f"Export job {export_id} is {job.status} and can no longer be cancelled")
            job.status = CANCELLED
            if job.future is not None:
                job.future.add_done_callback(lambda _: self._discard_file(job))
            return job

    def get(self, export_id: str, scope: Scope | None = None) -> Job:
        """This API user's job (of ``scope`` if given: another kind's id is unknown on a kind's path)."""
        with self._lock:
            job = self._jobs.get(export_id)
            now = self._clock.now()
            if (
                job is None
                or job.foreign
                or (scope is not None and job.scope != scope)
                or (job.finished_at and now > job.finished_at + STATUS_RETENTION_SECONDS)
            ):
                raise invalid(f"Export job {export_id} not found")
            return job

    def recent(self, statuses: set[str] | None, scope: Scope | None = None) -> list[Job]:
        """This API user's jobs of the last 7 days, oldest first: of ``scope`` if given, else every kind."""
        with self._lock:
            since = self._clock.now() - LIST_WINDOW_SECONDS
            return [
                job
                for job in sorted(self._jobs.values(), key=lambda j: j.created_at)
                if not job.foreign
                and (scope is None or job.scope == scope)
                and job.created_at >= since
                and (statuses is None or _status_key(job.status) in statuses)
            ]

    def downloadable(self, export_id: str, scope: Scope | None = None) -> Job | None:
        """The job whose file can be served now, or None (not completed, unknown, expired, other scope)."""
        with self._lock:
            job = self._jobs.get(export_id)
            if job is None or job.foreign or job.status != COMPLETED or job.finished_at is None:
                return None
            if scope is not None and job.scope != scope:
                return None
            now = self._clock.now()
            if now >= job.finished_at + self._options.file_retention_seconds:
                return None
            if now < job.finished_at + job.file_ready_delay:
                return None
            return job

    # -- test controls -----------------------------------------------------------------------------
    def fail_next(self, error_msg: str) -> None:
        with self._lock:
            self._fail_next.append(error_msg)

    def corrupt_next_checksum(self) -> None:
        with self._lock:
            self._corrupt_next += 1

    def created_after_enqueue(self, polls: int, *, lost: bool) -> None:
        with self._lock:
            self._stale_next.append((polls, lost))

    def delay_next_file(self, seconds: float) -> None:
        with self._lock:
            self._file_delays.append(seconds)

    def omit_from_next_completion(self, keys: frozenset[str]) -> None:
        with self._lock:
            self._omit_next.append(keys)

    def occupy(self, count: int, hold_seconds: float) -> None:
        """Jobs of other integrations: they take queue and processing slots but are invisible to this user."""
        with self._lock:
            free = self._options.max_queued - self._count(*ACTIVE)
            if count < 0 or count > free:
                raise ValueError(
                    f"occupy_queue(n): n must be between 0 and the free slots ({free}), got {count}"
                )
            now = self._clock.now()
            for n in range(count):
                job = Job(export_id=f"foreign-{uuid.uuid4()}", format="CSV", created_at=now, spec=None)
                job.status, job.queued_at, job.hold_seconds = QUEUED, now + n * 1e-6, hold_seconds
                self._jobs[job.export_id] = job
        self.tick()

    def release_queue(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                if job.foreign and job.status in ACTIVE:
                    job.status, job.finished_at = COMPLETED, self._clock.now()

    def quota_used(self) -> int:
        """Bytes of files completed today, every kind together (one quota for all bulk extracts)."""
        with self._lock:
            today = self.quota_day(self._clock.now())
            return sum(
                job.file_size or 0
                for job in self._jobs.values()
                if job.status == COMPLETED
                and job.finished_at is not None
                and self.quota_day(job.finished_at) == today
            )

    def quota_day(self, epoch: float) -> int:
        """The quota day an instant falls in: days end at 00:00 America/Chicago (Marketo's rule), or every
        ``quota_day_seconds`` from the emulator's start when a test compresses days."""
        length = self._options.quota_day_seconds
        if length is not None:
            return int((epoch - self._origin) // length)
        return datetime.fromtimestamp(epoch, tz=QUOTA_TIMEZONE).date().toordinal()

    def next_quota_reset(self) -> float:
        """When the current quota day ends (seconds since the epoch, emulated clock)."""
        now = self._clock.now()
        length = self._options.quota_day_seconds
        if length is not None:
            return self._origin + (self.quota_day(now) + 1) * length
        tomorrow = datetime.fromtimestamp(now, tz=QUOTA_TIMEZONE).date() + timedelta(days=1)
        return datetime.combine(tomorrow, time(0), tzinfo=QUOTA_TIMEZONE).timestamp()

    # -- helpers -----------------------------------------------------------------------------------
    def _count(self, *statuses: str) -> int:
        return sum(1 for job in self._jobs.values() if job.status in statuses)

    def _check_quota(self) -> None:
        if self.quota_used() >= self._options.daily_quota_bytes:
            raise MarketoApiFault(
                "1029", f"Export daily quota {_size_label(self._options.daily_quota_bytes)} exceeded."
            )

    def _discard_file(self, job: Job) -> None:
        if job.path is not None:
            job.path.unlink(missing_ok=True)


def _status_key(status: str) -> str:
    return status.lower()


def _size_label(size: int) -> str:
    mib = 1024 * 1024
    return f"{size // mib}MB" if size % mib == 0 else f"{size}B"
