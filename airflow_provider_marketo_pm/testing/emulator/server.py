"""``MarketoEmulator``: a Marketo instance served by uvicorn on a loopback port, in a background thread."""

from __future__ import annotations

import json
import logging
import socket
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from airflow_provider_marketo_pm.testing.emulator.app import MarketoApp
from airflow_provider_marketo_pm.testing.emulator.clock import iso_utc
from airflow_provider_marketo_pm.testing.emulator.errors import MarketoApiFault
from airflow_provider_marketo_pm.testing.emulator.faults import ENDPOINTS, Fault
from airflow_provider_marketo_pm.testing.emulator.file_response import DroppedConnection
from airflow_provider_marketo_pm.testing.emulator.jobs import FILE_FACTS, Job
from airflow_provider_marketo_pm.testing.emulator.options import EmulatorOptions
from airflow_provider_marketo_pm.testing.emulator.request_log import RecordedRequest
from airflow_provider_marketo_pm.testing.emulator.state import MarketoInstance

_STARTUP_TIMEOUT = 15.0
#: The Airflow Variable the example DAGs read their poll interval from, through a template rendered when
#: each task runs: ``poll_interval="{{ var.value.get('marketo_pm_poll_interval', 60) }}"``.
POLL_INTERVAL_VARIABLE = "marketo_pm_poll_interval"
#: Seconds between status checks at the emulator's test pace (its jobs finish in well under a second);
#: Marketo's own cadence is 60 s.
TEST_POLL_INTERVAL = 1.0


class _HideScriptedDrops(logging.Filter):
    """A dropped download is a scripted fault, not a server bug: keep its traceback out of the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


logging.getLogger("uvicorn.error").addFilter(_HideScriptedDrops())


def build_server(instance: MarketoInstance, *, log_level: str = "warning") -> uvicorn.Server:
    config = uvicorn.Config(
        MarketoApp(instance).asgi,
        host=instance.options.host,
        port=instance.options.port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        timeout_keep_alive=instance.options.keep_alive_seconds,
    )
    return uvicorn.Server(config)


class MarketoEmulator:
    """A running emulated Marketo instance, plus the controls tests need (faults, clock, request log).

    Use as a context manager; every keyword is an emulator option (see ``EmulatorOptions``).
    """

    def __init__(self, **options: Any) -> None:
        self.options = EmulatorOptions.from_kwargs(**options)
        self._instance: MarketoInstance | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> MarketoEmulator:
        if self._thread is not None:
            raise RuntimeError("this MarketoEmulator is already running")
        instance = MarketoInstance(self.options)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.options.host, self.options.port))
        except OSError:
            sock.close()
            instance.close()
            raise
        self._port = sock.getsockname()[1]
        self._instance = instance
        self._server = build_server(instance)
        instance.start()
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="marketo-emulator", daemon=True
        )
        self._thread.start()
        ready = threading.Event()
        while not server.started and self._thread.is_alive():
            ready.wait(0.01)
        if not server.started:
            self.stop()
            raise RuntimeError("the Marketo emulator failed to start; see the uvicorn log above")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_STARTUP_TIMEOUT)
        if self._instance is not None:
            self._instance.close()
        self._server = self._thread = self._instance = None

    def __enter__(self) -> MarketoEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def instance(self) -> MarketoInstance:
        if self._instance is None:
            raise RuntimeError("the Marketo emulator is not running: use `with MarketoEmulator() as emu:`")
        return self._instance

    # -- connection details ------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        self.instance  # noqa: B018 - raises a clear error when not running
        return f"http://{self.options.host}:{self._port}"

    @property
    def client_id(self) -> str:
        return self.options.client_id

    @property
    def client_secret(self) -> str:
        return self.options.client_secret

    def connection_json(self, conn_id_type: str = "marketo") -> str:
        """JSON for an ``AIRFLOW_CONN_*`` variable pointing at this emulator."""
        return json.dumps(
            {
                "conn_type": conn_id_type,
                "host": self.base_url,
                "login": self.client_id,
                "password": self.client_secret,
            }
        )

    @property
    def poll_interval(self) -> float:
        """Seconds between status checks that suit this emulator: 1 s at the test pace, its status refresh
        when that is slower (60 s with ``status_refresh_seconds=60``, the CLI's ``--realistic``)."""
        return max(TEST_POLL_INTERVAL, self.options.status_refresh_seconds)

    def connection_env(
        self, conn_id: str = "marketo_default", *, poll_interval: float | None = None
    ) -> dict[str, str]:
        """
        The environment of Airflow runs against this emulator: the connection ``AIRFLOW_CONN_<CONN_ID>``,
        and the Variable ``marketo_pm_poll_interval`` (``AIRFLOW_VAR_MARKETO_PM_POLL_INTERVAL``) set to
        ``poll_interval`` (default: :attr:`poll_interval`, the test pace). DAGs that template their poll
        interval from that Variable, as the example DAGs do, then poll every second instead of every 60 s;
        pass ``poll_interval=60`` for Marketo's cadence.
        """
        interval = self.poll_interval if poll_interval is None else poll_interval
        if isinstance(interval, bool) or not isinstance(interval, int | float) or not interval > 0:
            raise ValueError(f"connection_env(poll_interval): a number of seconds > 0, got {poll_interval!r}")
        return {
            f"AIRFLOW_CONN_{conn_id.upper()}": self.connection_json(),
            f"AIRFLOW_VAR_{POLL_INTERVAL_VARIABLE.upper()}": f"{interval:g}",
        }

    # -- data --------------------------------------------------------------------------------------
    @property
    def data_until(self) -> str:
        """The day (ISO date, UTC) the generated data's ``updatedAt`` values end before: the ``data_until``
        option, else the emulated clock's day when the emulator started."""
        return self.instance.data_until.isoformat()

    def updated_at_range(self) -> tuple[str, str] | None:
        """The earliest and the latest membership ``updatedAt`` served, in Marketo's format (None without
        members): what an ``updatedAt`` filter can find."""
        found = self.instance.dataset.updated_at_range()
        return None if found is None else (iso_utc(found[0]), iso_utc(found[1]))

    # -- request log -------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        return self.instance.log.all()

    def calls(self, endpoint: str) -> list[RecordedRequest]:
        if endpoint not in (*ENDPOINTS, "unknown"):
            raise ValueError(f"unknown endpoint {endpoint!r}; use one of {', '.join(ENDPOINTS)} or 'unknown'")
        return [r for r in self.instance.log.all() if r.endpoint == endpoint]

    def clear_requests(self) -> None:
        self.instance.log.clear()

    # -- faults ------------------------------------------------------------------------------------
    def inject(self, endpoint: str, *faults: Fault) -> None:
        """Script the next answers of ``endpoint``, in order; later calls answer normally again."""
        self.instance.faults.inject(endpoint, faults)

    def drop_download_after(self, nbytes: int, times: int = 1) -> None:
        """Close the connection after ``nbytes`` of each of the next ``times`` file.json bodies."""
        self.instance.faults.drop_download_after(nbytes, times)

    def stall_download_after(self, nbytes: int, seconds: float, times: int = 1) -> None:
        """
        Pause each of the next ``times`` file.json bodies for ``seconds`` after ``nbytes``, connection open.

        A client whose read timeout is shorter gives up mid-stream (and should resume with a Range); a
        patient one receives the whole file. Drops and stalls meet the next bodies in the order scripted.
        """
        self.instance.faults.stall_download_after(nbytes, seconds, times)

    def corrupt_next_checksum(self) -> None:
        """The next job to complete advertises a fileChecksum that does not match its file."""
        self.instance.jobs.corrupt_next_checksum()

    def created_after_enqueue(self, polls: int = 3, *, lost: bool = False) -> None:
        """The next job enqueued answers Queued, then reads Created again (met in production by others).

        By default the job did move on: its next ``polls`` status reads answer Created, and enqueueing it
        again answers 1029 "Job already queued". With ``lost=True`` the enqueue was lost: the job stays
        Created until it is enqueued again (``polls`` does not apply).
        """
        if isinstance(polls, bool) or not isinstance(polls, int) or polls < 1:
            raise ValueError(f"created_after_enqueue(polls): polls must be an integer >= 1, got {polls!r}")
        self.instance.jobs.created_after_enqueue(polls, lost=bool(lost))

    def delay_next_file(self, seconds: float) -> None:
        """The next job to complete reads Completed while its file.json answers 404 for ``seconds``
        (emulated clock) after it finished, as other clients meet in production."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
            raise ValueError(f"delay_next_file(seconds): seconds must be a number > 0, got {seconds!r}")
        self.instance.jobs.delay_next_file(float(seconds))

    def omit_from_next_completion(self, *keys: str) -> None:
        """The next job to complete leaves these out of its Completed record (default: fileChecksum and
        fileSize); the file itself is served as usual."""
        chosen = frozenset(keys or ("fileChecksum", "fileSize"))
        unknown = sorted(chosen - set(FILE_FACTS))
        if unknown:
            raise ValueError(
                f"omit_from_next_completion: unknown key(s) {', '.join(unknown)}; use {', '.join(FILE_FACTS)}"
            )
        self.instance.jobs.omit_from_next_completion(chosen)

    def fail_next_job(self, error_msg: str = "Export failed: internal error") -> None:
        """The next job to start processing ends Failed with this errorMsg."""
        self.instance.jobs.fail_next(error_msg)

    def cancel_job(self, export_id: str) -> dict[str, Any]:
        """Cancel as another tool would (outside Airflow); returns the job's status record."""
        try:
            return self.instance.jobs.cancel(export_id).record()
        except MarketoApiFault as error:
            raise ValueError(error.message) from None

    def occupy_queue(self, n: int, *, seconds: float = 60.0) -> None:
        """Add ``n`` jobs of other integrations to the shared queue; each keeps a processing slot for
        ``seconds`` of emulated time (``advance()`` frees them), or until ``release_queue()``."""
        self.instance.jobs.occupy(n, seconds)

    def release_queue(self) -> None:
        """Finish every job added by ``occupy_queue()`` now."""
        self.instance.jobs.release_queue()
        self.instance.jobs.tick()

    # -- clock and tokens --------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move the emulated clock forward: token expiry, job pace, file retention, quota day."""
        self.instance.clock.advance(seconds)
        self.instance.jobs.tick()

    def now(self) -> float:
        """The emulated time, in seconds since the epoch."""
        return self.instance.clock.now()

    def next_quota_reset(self) -> float:
        """When the daily export quota resets next (emulated clock): 00:00 America/Chicago, or the end of
        the compressed day with ``quota_day_seconds``."""
        return self.instance.jobs.next_quota_reset()

    def advance_to_quota_reset(self) -> None:
        """Jump the emulated clock to the next quota reset (tokens and files age by as much)."""
        self.advance(max(0.0, self.next_quota_reset() - self.now()))

    def expire_token(self) -> None:
        """The current access token answers 602 from now on; the token endpoint hands out a new one."""
        self.instance.tokens.expire_current()

    # -- jobs and files ----------------------------------------------------------------------------
    def job(self, export_id: str) -> dict[str, Any]:
        """The job's true status record, as status.json answers it now (a scripted stale Created read of
        ``created_after_enqueue`` aside: this never uses one up)."""
        self.instance.jobs.tick()
        return self._job(export_id).record()

    def file_path(self, export_id: str) -> Path:
        """Where the job's file is (or will be) written."""
        path = self._job(export_id).path
        if path is None:
            raise KeyError(f"export job {export_id} has no file")
        return path

    def file_bytes(self, export_id: str) -> bytes:
        """The exact bytes served for a completed job (meant for small files)."""
        job = self.instance.jobs.downloadable(export_id)
        if job is None or job.path is None:
            raise ValueError(f"export job {export_id} has no downloadable file")
        return job.path.read_bytes()

    def _job(self, export_id: str) -> Job:
        try:
            return self.instance.jobs.get(export_id)
        except MarketoApiFault as error:
            raise KeyError(error.message) from None

    def quota_used(self) -> int:
        """Bytes of export files completed in the current quota day (see ``next_quota_reset``)."""
        return self.instance.jobs.quota_used()
