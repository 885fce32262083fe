"""Operators that start a Marketo program member export and download its file, verified."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout
from airflow.sdk import Asset, AssetAlias, BaseOperator, Context, ObjectStoragePath, XComArg

from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoAuthError,
    MarketoError,
    MarketoExportQuotaError,
    MarketoQueueFullError,
    MarketoRequestError,
    MarketoTransientError,
    describe_quota_reset,
)
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.sensors.program_members import (
    MARKETO_STATUS_REFRESH_SECONDS,
    checked_timeout,
    completed_record_from_event,
    poll_interval_seconds,
    rendered_later,
)
from airflow_provider_marketo_pm.triggers.program_members import (
    ExportState,
    MarketoExportEnqueueRetryTrigger,
    MarketoProgramMemberExportTrigger,
    jittered_interval,
    judge_export_status,
)
from airflow_provider_marketo_pm.validation import build_export_request
from airflow_provider_marketo_pm.verified_download import VerifiedDownload, public_uri

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

__all__ = ["MarketoDownloadProgramMemberExportOperator", "MarketoStartProgramMemberExportOperator"]

#: task_state_store key; renaming it would orphan the jobs of in-flight retries.
EXPORT_STATE_KEY = "marketo_program_member_export"
_SHARED_QUEUE = (
    "Marketo's bulk extract queue holds at most 10 jobs (2 processing) per instance, shared by lead, "
    "activity, program member and custom object exports of every integration"
)


def _request_fingerprint(body: Mapping[str, Any]) -> str:
    """Identify an export request, so a retry only re-attaches to a job asked with the same request."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _known_at_parse_time(value: Any) -> bool:
    """
    A plain value, checkable when the DAG is parsed.

    A Jinja template, an XComArg or a mapped argument only gets its value on the worker; its check
    waits for execute().
    """
    if isinstance(value, str):
        return "{{" not in value
    return value is None or isinstance(value, int | float | bytes | list | tuple | dict)


def _counting_number(name: str, value: Any, *, minimum: int) -> int:
    """An int (not a bool) of at least ``minimum``, or MarketoRequestError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MarketoRequestError(name, value, f"must be an int >= {minimum}")
    if value < minimum:
        raise MarketoRequestError(name, value, f"must be >= {minimum}")
    return value


def _non_negative_duration(name: str, value: Any) -> timedelta:
    """A timedelta or a number of seconds, not negative."""
    if isinstance(value, bool) or not isinstance(value, timedelta | int | float):
        raise MarketoRequestError(name, value, "must be a timedelta or a number of seconds")
    duration = value if isinstance(value, timedelta) else timedelta(seconds=value)
    if duration < timedelta(0):
        raise MarketoRequestError(name, value, "must not be negative")
    return duration


def _quota_failure(what: str, err: MarketoExportQuotaError) -> AirflowFailException:
    """Final failure: a retry before the reset (12:00 AM US Central) would only be refused again."""
    return AirflowFailException(
        f"{what}: Marketo's bulk export daily quota is used up; {describe_quota_reset(err.resets_at)}. "
        f"Not retrying before then. ({err})"
    )


class MarketoStartProgramMemberExportOperator(BaseOperator):
    """
    Create and enqueue a program member export; the XCom return value is its ``exportId``.

    ``fields``, ``filter``, ``format`` and ``column_header_names`` are Marketo's own create request
    (templated, nested values included, e.g. ``filter={"programId": 1044, "updatedAt": {"startAt":
    "{{ data_interval_start | ts }}", ...}}``) and are validated before any call is made.

    When the shared bulk queue is full (1029 "Too many jobs in queue") the operator defers on a timer,
    holding no worker slot, and retries the enqueue up to ``queue_full_retries`` times. The daily
    export quota fails at once (no retry) and says when it resets.

    On Airflow 3.3+ the exportId is kept in the task state store, so a retried task re-attaches to
    its job instead of starting a second one (a Created job is enqueued, a Queued, Processing or
    Completed one is kept, a Failed or Cancelled one is replaced). Airflow < 3.3 has no task state
    store: there a retry starts a new export.

    With ``wait_for_completion=True`` the task also waits until the job is Completed (deferred to
    :class:`~airflow_provider_marketo_pm.triggers.program_members.MarketoProgramMemberExportTrigger`,
    or polling on the worker with ``deferrable=False``), failing on Failed/Cancelled as the sensor
    does, and still returns the exportId. One task then covers the job from create to completion, so
    a pool (created with ``--include-deferred``) counts our jobs in Marketo's queue exactly.

    :param fields: REST API names of the columns (program member, lead and custom fields).
    :param filter: Marketo filter: ``programId`` or ``programIds`` plus optional ``isExhausted``,
        ``nurtureCadence``, ``statusNames`` and ``updatedAt`` (at most 31 days).
    :param format: ``CSV`` (default), ``TSV`` or ``SSV``.
    :param column_header_names: map from field name to the header written for it.
    :param marketo_conn_id: Airflow connection of the Marketo instance (templated).
    :param queue_full_retries: how many more enqueue attempts to make while the queue is full.
    :param queue_full_wait: wait between those attempts (seconds or timedelta).
    :param wait_for_completion: end only when the job is Completed (default: once it is enqueued).
    :param poll_interval: seconds between status checks while waiting (templated; Marketo refreshes
        status once a minute, so keep 60 against a real instance).
    :param timeout: how long to wait for completion (seconds or timedelta) before failing with
        AirflowSensorTimeout; the job is left running (a retry re-attaches to it on Airflow 3.3+).
    :param deferrable: wait in the triggerer (default) instead of on a worker.
    """

    template_fields: Sequence[str] = (
        "fields",
        "filter",
        "format",
        "column_header_names",
        "marketo_conn_id",
        "poll_interval",
    )
    template_fields_renderers = {"filter": "json", "column_header_names": "json", "fields": "json"}
    ui_color = "#5c4ee5"

    def __init__(
        self,
        *,
        fields: list[str],
        filter: dict[str, Any],
        format: str = "CSV",
        column_header_names: dict[str, str] | None = None,
        marketo_conn_id: str = "marketo_default",
        queue_full_retries: int = 30,
        queue_full_wait: timedelta | float = timedelta(minutes=2),
        wait_for_completion: bool = False,
        poll_interval: float | str = MARKETO_STATUS_REFRESH_SECONDS,
        timeout: timedelta | float = timedelta(hours=24),
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        # A template or XComArg is checked once rendered, in execute(); a plain value now (parse time).
        self.poll_interval: Any = (
            poll_interval if rendered_later(poll_interval) else poll_interval_seconds(poll_interval)
        )
        timeout = checked_timeout(timeout)
        self.timeout = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        self.deferrable = deferrable
        self.fields = fields
        self.filter = filter
        self.format = format
        self.column_header_names = column_header_names
        self.marketo_conn_id = marketo_conn_id
        self.queue_full_retries = _counting_number("queue_full_retries", queue_full_retries, minimum=0)
        self.queue_full_wait = _non_negative_duration("queue_full_wait", queue_full_wait)
        self._started_export_id: str | None = None

    @property
    def hook(self) -> MarketoHook:
        return MarketoHook(marketo_conn_id=self.marketo_conn_id)

    def execute(self, context: Context) -> str:
        body = build_export_request(self.fields, self.filter, self.format, self.column_header_names)
        if self.wait_for_completion:
            self.poll_interval = poll_interval_seconds(self.poll_interval)  # rendered by now
        fingerprint = _request_fingerprint(body)
        hook = self.hook
        store = context.get("task_state_store")
        if store is None:
            self.log.info(
                "No task state store (Airflow < 3.3): if this try fails after the job is created, "
                "a retry starts a new export instead of re-attaching to it."
            )
        previous = self._reattachable_export(hook, store, fingerprint)
        if previous is not None:
            export_id, status = previous
            self._started_export_id = export_id
            if status == "Completed":
                self.log.info("Re-attached to export %s, already Completed.", export_id)
                return export_id
            if status != "Created":
                self.log.info("Re-attached to export %s (%s) started by an earlier try.", export_id, status)
                return self._wait_if_asked(export_id)
            self.log.info("Re-attached to export %s (Created); enqueueing it.", export_id)
        else:
            try:
                record = hook.create_program_member_export(
                    fields=body["fields"],
                    filter=body["filter"],
                    format=body.get("format", "CSV"),
                    column_header_names=body.get("columnHeaderNames"),
                )
            except MarketoExportQuotaError as err:
                raise _quota_failure("No export was created", err) from err
            export_id = str(record["exportId"])
            self._started_export_id = export_id
            self.log.info("Created program member export %s.", export_id)
            if store is not None:
                store.set(EXPORT_STATE_KEY, {"export_id": export_id, "request": fingerprint})
        return self._enqueue_or_defer(export_id, attempt=0)

    def _reattachable_export(self, hook: MarketoHook, store: Any, fingerprint: str) -> tuple[str, str] | None:
        """Return (exportId, status) of an earlier try's job that can still serve this request."""
        saved = store.get(EXPORT_STATE_KEY) if store is not None else None
        if not isinstance(saved, dict) or not saved.get("export_id"):
            return None
        export_id = str(saved["export_id"])
        if saved.get("request") != fingerprint:
            self.log.info(
                "Export %s of an earlier try asked for another request; starting afresh.", export_id
            )
            return None
        try:
            status = hook.get_program_member_export_status(export_id).get("status")
        except (MarketoTransientError, MarketoAuthError):
            raise
        except MarketoApiError as err:
            self.log.warning(
                "Export %s of an earlier try is unreadable (%s); starting afresh.", export_id, err
            )
            return None
        if status in {"Created", "Queued", "Processing", "Completed"}:
            return export_id, str(status)
        self.log.info("Export %s of an earlier try is %s; starting afresh.", export_id, status)
        return None

    def _enqueue_or_defer(self, export_id: str, attempt: int) -> str:
        try:
            record = self.hook.enqueue_program_member_export(export_id)
        except MarketoExportQuotaError as err:
            raise _quota_failure(f"Export {export_id} was not enqueued", err) from err
        except MarketoQueueFullError as err:
            if attempt >= self.queue_full_retries:
                waited = self.queue_full_wait * attempt
                raise AirflowException(
                    f"Export {export_id} could not be enqueued: the queue was still full after "
                    f"{attempt + 1} attempts over {waited}. {_SHARED_QUEUE}. The job stays Created; "
                    "raise queue_full_retries/queue_full_wait or schedule exports apart."
                ) from err
            self.log.info(
                "Queue full for export %s (%s). Enqueue attempt %d of %d in %s.",
                export_id,
                _SHARED_QUEUE,
                attempt + 2,
                self.queue_full_retries + 1,
                self.queue_full_wait,
            )
            self.defer(
                trigger=MarketoExportEnqueueRetryTrigger(
                    export_id=export_id,
                    attempt=attempt + 1,
                    retry_at=time.time() + self.queue_full_wait.total_seconds(),
                ),
                method_name="resume_enqueue",
            )
        self.log.info("Enqueued export %s (%s).", export_id, record.get("status"))
        return self._wait_if_asked(export_id)

    def _wait_if_asked(self, export_id: str) -> str:
        """With ``wait_for_completion``, return only once the enqueued job is Completed."""
        if not self.wait_for_completion:
            return export_id
        poll_interval = poll_interval_seconds(self.poll_interval)
        if self.deferrable:
            self.defer(
                trigger=MarketoProgramMemberExportTrigger(
                    export_id=export_id,
                    marketo_conn_id=self.marketo_conn_id,
                    poll_interval=poll_interval,
                    end_time=time.time() + self.timeout,
                    # Just enqueued: nothing to see before one (jittered) interval.
                    first_poll_at=time.time() + jittered_interval(poll_interval),
                ),
                method_name="resume_after_completion",
            )
        deadline = time.monotonic() + self.timeout
        hook = self.hook
        while True:
            verdict = judge_export_status(hook.get_program_member_export_status(export_id))
            if verdict.state is ExportState.ERROR:
                raise AirflowFailException(verdict.message)
            self.log.info(verdict.message)
            if verdict.state is ExportState.DONE:
                return export_id
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AirflowSensorTimeout(f"Timed out waiting for Marketo export {export_id} to complete.")
            time.sleep(min(poll_interval, remaining))

    def resume_after_completion(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Called back by the status trigger: the exportId once Completed, else the sensor's failure."""
        record = completed_record_from_event(event)
        self.log.info((event or {}).get("message") or "")
        return str(record.get("exportId") or (event or {})["export_id"])

    def resume_enqueue(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Called back after a queue-full wait: try the enqueue again."""
        if not isinstance(event, dict) or event.get("status") != "retry" or not event.get("export_id"):
            raise AirflowException(f"Enqueue retry timer returned no usable event: {event!r}")
        export_id = str(event["export_id"])
        self._started_export_id = export_id
        return self._enqueue_or_defer(export_id, int(event["attempt"]))

    def on_kill(self) -> None:
        """Cancel the job this task started, unless it already completed (its file is paid for)."""
        export_id = self._started_export_id
        if export_id is None:
            return
        try:
            hook = self.hook
            status = hook.get_program_member_export_status(export_id).get("status")
            if status in {"Created", "Queued", "Processing"}:
                hook.cancel_program_member_export(export_id)
                self.log.info("Cancelled Marketo export %s (was %s).", export_id, status)
        except MarketoError as err:
            self.log.warning("Could not cancel Marketo export %s: %s", export_id, err)


def _export_id(value: Any) -> str:
    """A Marketo exportId: a non-empty string (``None`` must not become the string 'None')."""
    if not isinstance(value, str) or not value.strip():
        raise MarketoRequestError("export_id", value, "must be a non-empty string (the exportId)")
    return value.strip()


def _destination_url(value: Any) -> str:
    """An object storage URL with a scheme: a bare path would land relative to the worker's cwd."""
    if not isinstance(value, str) or not value.strip():
        raise MarketoRequestError("destination", value, "must be a non-empty object storage URL")
    scheme, separator, rest = value.strip().partition("://")
    if not separator or not scheme or not rest:
        raise MarketoRequestError(
            "destination", value, "must be a URL with a scheme, e.g. file:///data/members.csv or s3://b/k"
        )
    return value.strip()


def _object_storage_path(value: Any, conn_id: str | None) -> ObjectStoragePath:
    """The destination as a path of a registered filesystem, before anything is asked of Marketo."""
    url = _destination_url(value)
    try:
        path = ObjectStoragePath(url, conn_id=conn_id)
        path.fs  # noqa: B018  # Airflow < 3.3 only refuses an unknown scheme here
    except (ValueError, ImportError) as err:  # "Unsupported filesystem: 'ftp2'", no s3fs installed, ...
        raise MarketoRequestError("destination", value, f"is not a usable object storage URL: {err}") from err
    return path


def openlineage_dataset_name(uri: str) -> tuple[str, str]:
    """
    ``(namespace, name)`` of a stored file by the OpenLineage dataset naming spec: ``file`` and the absolute
    path for local files; ``<scheme>://<bucket>`` and the object key for object stores (``s3://bucket``).
    """
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return "file", "/" + parts.path.lstrip("/")
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")


class MarketoDownloadProgramMemberExportOperator(BaseOperator):
    """
    Stream a Completed export's file to any Airflow object store, verified before it is published.

    The file is streamed in fixed-size chunks (memory does not grow with its size) to a temporary
    sibling of the destination (``<dest>.<uuid>.partial``, same store), hashed with SHA-256 and
    counted on the way. It is moved into place only when the byte count equals ``fileSize`` and the
    hash equals ``fileChecksum``; on any failure the temporary data is removed (an S3 multipart
    upload is aborted, not completed), so the destination never holds a partial or unverified file.
    A mismatch raises :class:`~airflow_provider_marketo_pm.exceptions.MarketoExportIntegrityError`,
    which the task's retries retry: bytes corrupted in transit come right with a fresh download.
    A dropped connection or a 5xx mid-stream resumes from the last byte with ``Range``, at most
    ``max_resumes`` times. (The copy itself is :class:`~airflow_provider_marketo_pm.verified_download.
    VerifiedDownload`; this operator checks its arguments and the job, and reports the result.)

    Returns ``{"uri", "bytes", "records", "sha256", "export_id"}`` (``bytes`` and ``sha256`` are the
    file as Marketo served it, also when gzipped). An ``Asset`` outlet receives the file's details
    as event extra; an ``AssetAlias`` outlet receives an event for ``Asset(uri)`` of the written
    file, which is how a templated destination feeds asset-scheduled DAGs.

    :param export_id: exportId of a Completed job (templated).
    :param destination: ObjectStoragePath URL of the file to write (templated): ``file://``,
        ``s3://``, ``gs://``, ``abfs://``... (with the store's filesystem installed).
    :param dest_conn_id: Airflow connection of the destination store.
    :param overwrite: replace an existing destination; by default it is refused.
    :param compression: ``None`` or ``"gzip"`` (the stored file is gzipped).
    :param chunk_size: bytes read and written per chunk.
    :param max_resumes: how many times a broken stream is resumed with ``Range``.
    :param progress_interval: seconds between progress log lines.
    :param program_ids: Marketo program id(s) of the export (or its create filter), reported as lineage input.
    :param marketo_conn_id: Airflow connection of the Marketo instance (templated).
    """

    template_fields: Sequence[str] = (
        "export_id",
        "destination",
        "dest_conn_id",
        "program_ids",
        "marketo_conn_id",
    )
    ui_color = "#5c4ee5"

    def __init__(
        self,
        *,
        export_id: str | XComArg,
        destination: str,
        marketo_conn_id: str = "marketo_default",
        dest_conn_id: str | None = None,
        overwrite: bool = False,
        compression: Literal["gzip"] | None = None,
        chunk_size: int = 1024 * 1024,
        max_resumes: int = 5,
        progress_interval: float = 30.0,
        program_ids: int | Sequence[int] | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if compression not in (None, "gzip"):
            raise ValueError(f"compression={compression!r} is not supported: use None or 'gzip'")
        self.chunk_size = _counting_number("chunk_size", chunk_size, minimum=1)
        self.max_resumes = _counting_number("max_resumes", max_resumes, minimum=0)
        # Templated: literal values are checked now (DAG parse time), rendered ones again in execute().
        if _known_at_parse_time(export_id):
            _export_id(export_id)
        if _known_at_parse_time(destination):
            _destination_url(destination)
        self.export_id: Any = export_id  # an XComArg or template until rendered: a str in execute()
        self.destination = destination
        self.marketo_conn_id = marketo_conn_id
        self.dest_conn_id = dest_conn_id
        self.overwrite = overwrite
        self.compression = compression
        self.progress_interval = progress_interval
        self.program_ids = program_ids
        self._result: dict[str, Any] | None = None

    @property
    def hook(self) -> MarketoHook:
        return MarketoHook(marketo_conn_id=self.marketo_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        export_id = _export_id(self.export_id)
        destination = _object_storage_path(self.destination, self.dest_conn_id)
        hook = self.hook
        record = hook.get_program_member_export_status(export_id)
        verdict = judge_export_status(record)
        if verdict.state is ExportState.ERROR:
            raise AirflowFailException(verdict.message)
        if verdict.state is not ExportState.DONE:
            raise AirflowException(f"{verdict.message} Only a Completed export has a file to download.")
        copier = VerifiedDownload(
            log=self.log,
            chunk_size=self.chunk_size,
            max_resumes=self.max_resumes,
            progress_interval=self.progress_interval,
            compression=self.compression,
            overwrite=self.overwrite,
        )
        sha256, received = copier.copy(
            hook,
            export_id,
            destination,
            expected_size=int(record["fileSize"]),
            expected_sha256=str(record.get("fileChecksum", "")).removeprefix("sha256:").lower(),
        )
        uri = public_uri(destination)
        self._result = {
            "uri": uri,
            "bytes": received,
            "records": int(record.get("numberOfRecords", 0) or 0),
            "sha256": sha256,
            "export_id": export_id,
        }
        self._emit_asset_events(context, self._result)
        return self._result

    def _emit_asset_events(self, context: Context, result: Mapping[str, Any]) -> None:
        extra = {key: result[key] for key in ("export_id", "records", "sha256", "bytes")}
        outlet_events = context.get("outlet_events")
        if outlet_events is None:
            return
        for outlet in self.outlets:
            if isinstance(outlet, AssetAlias):
                outlet_events[outlet].add(Asset(uri=result["uri"]), extra=extra)
            elif isinstance(outlet, Asset):
                outlet_events[outlet].extra.update(extra)

    def _program_ids(self) -> list[int]:
        ids = self.program_ids
        if isinstance(ids, Mapping):  # the export's filter, as the task group passes it
            ids = ids.get("programIds") or ids.get("programId")
        if ids is None or ids == "":
            return []
        if isinstance(ids, str):
            return [int(part) for part in ids.replace("[", "").replace("]", "").split(",") if part.strip()]
        if isinstance(ids, int):
            return [ids]
        return [int(i) for i in ids]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        """Report the Marketo program(s) as inputs and the written file as output (OpenLineage)."""
        try:
            from airflow.providers.common.compat.openlineage.facet import Dataset
            from airflow.providers.openlineage.extractors import OperatorLineage
        except ImportError:
            return None
        if self._result is None:
            return OperatorLineage()
        host = MarketoHook.get_connection(self.marketo_conn_id).host or "marketo"
        namespace = f"marketo://{host.split('://')[-1].rstrip('/')}"
        inputs = [Dataset(namespace=namespace, name=f"program/{pid}/members") for pid in self._program_ids()]
        namespace, name = openlineage_dataset_name(self._result["uri"])
        return OperatorLineage(inputs=inputs, outputs=[Dataset(namespace=namespace, name=name)])
