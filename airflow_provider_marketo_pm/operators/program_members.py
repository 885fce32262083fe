"""Operators that start a Marketo program member export and download its verified file.

The lifecycle (create, enqueue, re-attach, wait, verified download) is written once in
:mod:`airflow_provider_marketo_pm.operators.bulk_export`; these classes name the program member kind and
its request arguments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from airflow.sdk import XComArg

from airflow_provider_marketo_pm.export_kind import ExportRequest
from airflow_provider_marketo_pm.export_status import (
    MARKETO_STATUS_REFRESH_SECONDS,
    REENQUEUE_AFTER_CREATED_POLLS,
)
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS, program_member_export_request
from airflow_provider_marketo_pm.operators.bulk_export import (
    FILE_AVAILABLE_TIMEOUT,
    MarketoDownloadExportOperator,
    MarketoStartExportOperator,
)
from airflow_provider_marketo_pm.triggers.program_members import MarketoProgramMemberExportTrigger
from airflow_provider_marketo_pm.validation import parse_program_id

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

__all__ = ["MarketoDownloadProgramMemberExportOperator", "MarketoStartProgramMemberExportOperator"]

#: task_state_store key; renaming it would orphan the jobs of in-flight retries.
EXPORT_STATE_KEY = "marketo_program_member_export"


class MarketoStartProgramMemberExportOperator(MarketoStartExportOperator):
    """
    Create and enqueue a program member export; the XCom return value is its ``exportId``.

    ``fields``, ``filter``, ``format`` and ``column_header_names`` are Marketo's own create request
    (templated, nested values included, e.g. ``filter={"programId": 1044, "updatedAt": {"startAt":
    "{{ data_interval_start | ts }}", ...}}``) and are validated once, into an
    :class:`~airflow_provider_marketo_pm.export_kind.ExportRequest`, before any call is made.

    When the shared bulk queue is full (1029 "Too many jobs in queue"; README, "Pacing and pools") the
    operator waits and retries the enqueue up to ``queue_full_retries`` times, ``queue_full_wait`` apart:
    deferred on a timer (no worker slot), or on the worker with ``deferrable=False``.

    When Marketo's daily export quota is used up (1029 "Export daily quota ... exceeded" on create or
    enqueue), the start by default defers until just after the reset (12:00 AM US Central, plus a jitter
    of up to 5 minutes per task instance) and tries again, keeping the Created job (no second export), up
    to ``quota_waits`` resets in a row; then it fails naming the quota and the reset time. With
    ``daily_export_budget_mb`` it first sums this API user's program member exports of the current quota
    day (the list endpoint) and, when the budget is spent, waits for the reset the same way before
    creating the job. README, "Large backfills", has the arithmetic and what the budget cannot see.

    On Airflow 3.3+ the exportId is kept in the task state store, so a retried task re-attaches to
    its job instead of starting a second one (a Created job is enqueued, a Queued, Processing or
    Completed one is kept, a Failed or Cancelled one is replaced). Airflow < 3.3 has no task state
    store: there a retry starts a new export.

    With ``wait_for_completion=True`` the task also waits until the job is Completed (deferred to
    :class:`~airflow_provider_marketo_pm.triggers.program_members.MarketoProgramMemberExportTrigger`,
    or polling on the worker with ``deferrable=False``), failing on Failed/Cancelled as the sensor
    does, and still returns the exportId; the Completed status record is left under XCom key
    ``record``. Why one task from create to completion fits a pool: README, "Pacing and pools".

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
        status once a minute: below 60 against a real instance fails the start before create).
    :param timeout: how long to wait for completion (seconds or timedelta) before failing with
        AirflowSensorTimeout; the job is left running (a retry re-attaches to it on Airflow 3.3+).
    :param deferrable: wait in the triggerer instead of on a worker; defaults to
        ``[operators] default_deferrable``, True when unset. ``False`` never defers (the quota then
        fails at once: a worker must not sleep until the reset).
    :param on_quota_exceeded: ``"wait"`` (default) for the reset, or ``"fail"`` at once. The failure is
        final (AirflowFailException), except on a task with a ``retry_policy`` (e.g.
        ``MarketoRetryPolicy``, Airflow 3.3+): there it is the ``MarketoExportQuotaError`` itself, so that
        the policy retries just after the reset.
    :param quota_waits: how many quota resets in a row to wait for before failing (default 3).
    :param daily_export_budget_mb: MB of program member exports this API user allows itself per quota
        day (templated; default: the connection extra of the same name; none: no budget).
    :param reenqueue_after_polls: while waiting, when the job reads ``Created`` this many status reads in
        a row after it was enqueued (default 3), enqueue it again from the worker, at most 3 times (see the
        sensor's argument of the same name). ``None`` never enqueues again.
    :param destination: where the download will write the file (templated, optional): checked before
        the job is created, so that a URL without a scheme, a list rendered as text, ``..`` climbing out
        of the root or bucket, a file that exists without ``overwrite``, or a store that cannot be written
        (a probe is written and deleted: a missing bucket, a read-only directory) fails the start instead
        of the download (after the export used a queue slot and daily quota).
    :param dest_conn_id: Airflow connection of the destination store (templated); it must exist.
    :param overwrite: the download will replace an existing destination; without it an existing one is
        refused at start. Like ``wait_for_completion`` and ``deferrable``: True or False only.

    Durations are finite, at most 7 days; counts at most 1000 (README, "Argument values").
    """

    export_kind = PROGRAM_MEMBERS
    state_key = EXPORT_STATE_KEY
    status_trigger = MarketoProgramMemberExportTrigger

    template_fields: Sequence[str] = (
        "fields",
        "filter",
        "format",
        "column_header_names",
        "marketo_conn_id",
        "poll_interval",
        "daily_export_budget_mb",
        "destination",
        "dest_conn_id",
    )
    template_fields_renderers = {"filter": "json", "column_header_names": "json", "fields": "json"}

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
        deferrable: bool | None = None,
        on_quota_exceeded: Literal["wait", "fail"] = "wait",
        quota_waits: int = 3,
        daily_export_budget_mb: float | str | None = None,
        reenqueue_after_polls: int | None = REENQUEUE_AFTER_CREATED_POLLS,
        destination: str | None = None,
        dest_conn_id: str | None = None,
        overwrite: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            on_quota_exceeded=on_quota_exceeded,
            quota_waits=quota_waits,
            daily_export_budget_mb=daily_export_budget_mb,
            marketo_conn_id=marketo_conn_id,
            queue_full_retries=queue_full_retries,
            queue_full_wait=queue_full_wait,
            wait_for_completion=wait_for_completion,
            poll_interval=poll_interval,
            timeout=timeout,
            deferrable=deferrable,
            reenqueue_after_polls=reenqueue_after_polls,
            destination=destination,
            dest_conn_id=dest_conn_id,
            overwrite=overwrite,
            **kwargs,
        )
        self.fields = fields
        self.filter = filter
        self.format = format
        self.column_header_names = column_header_names

    def export_request(self) -> ExportRequest:
        return program_member_export_request(self.fields, self.filter, self.format, self.column_header_names)


def openlineage_dataset_name(uri: str) -> tuple[str, str]:
    """
    ``(namespace, name)`` of a stored file by the OpenLineage dataset naming spec: ``file`` and the absolute
    path for local files; ``<scheme>://<bucket>`` and the object key for object stores (``s3://bucket``).
    """
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return "file", "/" + parts.path.lstrip("/")
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")


class MarketoDownloadProgramMemberExportOperator(MarketoDownloadExportOperator):
    """
    Stream a Completed export's file to any Airflow object store, verified before it is published.

    The file is streamed in fixed-size chunks (memory does not grow with its size) to a temporary
    sibling of the destination (``<dest>.<host>-<pid>-<token>.partial``, same store, owned by this try:
    two downloads to one destination never touch each other's), hashed with SHA-256 and counted on the
    way; on a local disk, a ``fileSize`` larger than the free space fails before the download. It is
    moved into place only when the byte count equals ``fileSize`` and the hash equals ``fileChecksum``;
    on any failure the temporary data is removed (an S3 multipart
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
    :param overwrite: replace an existing destination; by default it is refused (True or False only).
    :param compression: ``None`` or ``"gzip"`` (the stored file is gzipped).
    :param chunk_size: bytes read and written per chunk (1 byte to 64 MiB).
    :param max_resumes: how many times a broken stream is resumed with ``Range`` (at most 1000).
    :param progress_interval: seconds between progress log lines (a finite number, at most 7 days).
    :param program_ids: Marketo program id(s) of the export (or its create filter), reported as lineage input.
    :param marketo_conn_id: Airflow connection of the Marketo instance (templated).
    :param record: the job's Completed status record if already read (templated, e.g. the sensor's
        XCom): then no status call is made.
    :param verify_checksum: refuse a Completed record without ``fileChecksum`` (default: nothing
        unverified is published). ``False`` publishes such a file verified by its ``fileSize`` only, with a
        warning; a checksum that is there is always verified. A record without ``fileSize`` is verified by
        its checksum. Either way the log says which is missing.
    :param file_available_timeout: how long (seconds or timedelta, default 5 minutes) to keep asking
        for the file of a Completed job that answers 404, with the connection's retry waits; then the
        download fails with :class:`~airflow_provider_marketo_pm.exceptions.MarketoFileNotAvailableError`
        (an expired file too: files are kept 7 days).
    """

    export_kind = PROGRAM_MEMBERS

    template_fields: Sequence[str] = (
        "export_id",
        "destination",
        "dest_conn_id",
        "program_ids",
        "marketo_conn_id",
        "record",
    )

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
        record: dict[str, Any] | XComArg | None = None,
        verify_checksum: bool = True,
        file_available_timeout: timedelta | float = FILE_AVAILABLE_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            export_id=export_id,
            destination=destination,
            marketo_conn_id=marketo_conn_id,
            dest_conn_id=dest_conn_id,
            overwrite=overwrite,
            compression=compression,
            chunk_size=chunk_size,
            max_resumes=max_resumes,
            progress_interval=progress_interval,
            record=record,
            verify_checksum=verify_checksum,
            file_available_timeout=file_available_timeout,
            **kwargs,
        )
        self.program_ids = program_ids

    def _program_ids(self) -> list[int]:
        """The lineage inputs, each id read by the filter's rule; a templated list may arrive as JSON text."""
        ids = self.program_ids
        if isinstance(ids, Mapping):  # the export's filter, as the task group passes it
            ids = ids.get("programIds") or ids.get("programId")
        if ids is None or ids == "":
            return []
        if isinstance(ids, str) and ids.lstrip().startswith("["):
            ids = json.loads(ids)
        if isinstance(ids, int | str):
            ids = [ids]
        return [parse_program_id("program_ids", pid) for pid in ids]

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
