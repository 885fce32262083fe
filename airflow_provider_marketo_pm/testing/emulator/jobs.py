"""Export job lifecycle on Marketo's shared bulk queue: Created -> Queued -> Processing -> Completed/Failed.

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
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from airflow_provider_marketo_pm.testing.emulator.clock import EmulatedClock, iso_utc
from airflow_provider_marketo_pm.testing.emulator.errors import MarketoApiFault, invalid
from airflow_provider_marketo_pm.testing.emulator.export_file import WrittenFile
from airflow_provider_marketo_pm.testing.emulator.export_request import ExportSpec
from airflow_provider_marketo_pm.testing.emulator.options import EmulatorOptions

CREATED, QUEUED, PROCESSING = "Created", "Queued", "Processing"
COMPLETED, FAILED, CANCELLED = "Completed", "Failed", "Cancelled"
ACTIVE = (QUEUED, PROCESSING)
STATUSES = (CREATED, QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED)
STATUS_RETENTION_SECONDS = 30 * 86400
LIST_WINDOW_SECONDS = 7 * 86400
QUOTA_TIMEZONE = ZoneInfo("America/Chicago")  # Marketo's daily quotas reset at 12:00 AM US Central

FileProducer = Callable[["Job"], WrittenFile]


@dataclass
class Job:
    export_id: str
    format: str
    created_at: float
    spec: ExportSpec | None  # None for jobs of other integrations (occupy_queue)
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
    future: Future[WrittenFile] | None = field(default=None, repr=False)

    @property
    def foreign(self) -> bool:
        return self.spec is None

    def record(self) -> dict[str, object]:
        """The status record as Marketo returns it (absent properties are omitted)."""
        record: dict[str, object] = {"exportId": self.export_id, "format": self.format, "status": self.status}
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
            if value is not None:
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
        job.number_of_records, job.file_size, job.file_checksum = (
            written.records,
            written.size,
            f"sha256:{checksum}",
        )

    # -- API operations ----------------------------------------------------------------------------
    def create(self, spec: ExportSpec) -> Job:
        with self._lock:
            self._check_quota()
            export_id = str(uuid.uuid4())
            job = Job(export_id=export_id, format=spec.format, created_at=self._clock.now(), spec=spec)
            job.path = self._data_dir / f"{export_id}.{spec.format.lower()}"
            self._jobs[export_id] = job
            return job

    def enqueue(self, export_id: str) -> Job:
        with self._lock:
            job = self.get(export_id)
            if job.status in (QUEUED, PROCESSING, COMPLETED):
                raise MarketoApiFault("1029", "Job already queued")
            if job.status != CREATED:
                raise invalid(f"Export job {export_id} is {job.status}; only a Created job can be enqueued")
            self._check_quota()
            if self._count(*ACTIVE) >= self._options.max_queued:
                raise MarketoApiFault("1029", "Too many jobs in queue")
            job.status, job.queued_at = QUEUED, self._clock.now()
            return job

    def cancel(self, export_id: str) -> Job:
        with self._lock:
            job = self.get(export_id)
            if job.status == CANCELLED:
                return job
            if job.status in (COMPLETED, FAILED):
                raise invalid(f"Export job {export_id} is {job.status} and can no longer be cancelled")
            job.status = CANCELLED
            if job.future is not None:
                job.future.add_done_callback(lambda _: self._discard_file(job))
            return job

    def get(self, export_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(export_id)
            now = self._clock.now()
            if (
                job is None
                or job.foreign
                or (job.finished_at and now > job.finished_at + STATUS_RETENTION_SECONDS)
            ):
                raise invalid(f"Export job {export_id} not found")
            return job

    def recent(self, statuses: set[str] | None) -> list[Job]:
        """This API user's jobs of the last 7 days, oldest first."""
        with self._lock:
            since = self._clock.now() - LIST_WINDOW_SECONDS
            return [
                job
                for job in sorted(self._jobs.values(), key=lambda j: j.created_at)
                if not job.foreign
                and job.created_at >= since
                and (statuses is None or _status_key(job.status) in statuses)
            ]

    def downloadable(self, export_id: str) -> Job | None:
        """The job whose file can be served now, or None (not completed, unknown or expired)."""
        with self._lock:
            job = self._jobs.get(export_id)
            if job is None or job.foreign or job.status != COMPLETED or job.finished_at is None:
                return None
            if self._clock.now() >= job.finished_at + self._options.file_retention_seconds:
                return None
            return job

    # -- test controls -----------------------------------------------------------------------------
    def fail_next(self, error_msg: str) -> None:
        with self._lock:
            self._fail_next.append(error_msg)

    def corrupt_next_checksum(self) -> None:
        with self._lock:
            self._corrupt_next += 1

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
        with self._lock:
            today = _quota_day(self._clock.now())
            return sum(
                job.file_size or 0
                for job in self._jobs.values()
                if job.status == COMPLETED
                and job.finished_at is not None
                and _quota_day(job.finished_at) == today
            )

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


def _quota_day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=QUOTA_TIMEZONE).date().isoformat()


def _size_label(size: int) -> str:
    mib = 1024 * 1024
    return f"{size // mib}MB" if size % mib == 0 else f"{size}B"
