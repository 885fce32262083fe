"""
Copy a Completed export's file into object storage: streamed, resumed, verified, published atomically.

The destination never holds a partial or unverified file: the bytes go to a temporary sibling
(``<dest>.<host>-<pid>-<token>.partial``, same store, owned by this try; see
:mod:`~airflow_provider_marketo_pm.partial_files`), are hashed and counted on the way, and the temporary
file is moved into place only when both match what Marketo advertised. On any failure, the last flush
included, the temporary data is removed (an S3 multipart upload is aborted, not completed). A local disk
with less free space than ``fileSize`` is refused before the download. Memory stays at a few chunks
whatever the file size.

Reading the socket, hashing and writing overlap: the calling thread reads, and two background
threads hash and write each chunk (hashlib and file writes release the GIL on large buffers), fed
through small bounded queues, so the copy runs at the pace of its slowest stage, not of their sum.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import queue
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Literal

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import ObjectStoragePath

from airflow_provider_marketo_pm.destination import free_bytes, is_local, public_uri
from airflow_provider_marketo_pm.exceptions import (
    MarketoDestinationError,
    MarketoExportIntegrityError,
    MarketoExportUnverifiableError,
    MarketoRequestError,
)
from airflow_provider_marketo_pm.export_kind import ExportKind
from airflow_provider_marketo_pm.hooks.export_file import RESUMABLE_STREAM_ERRORS
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.hooks.marketo_responses import MAX_COUNT, checksum_hex, marketo_count
from airflow_provider_marketo_pm.partial_files import partial_path, publish, remove_stale_partials

__all__ = ["RESUMABLE_STREAM_ERRORS", "VerifiedDownload", "expected_file", "public_uri"]

Chunk = bytes | memoryview

#: Chunks waiting per background stage: bounds memory at about (2 x depth + 3) chunks.
_PIPELINE_DEPTH = 3


class _ConsumerFailed(Exception):
    """A background stage (hash or write) failed: not a broken stream, so never resumed."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _ChunkPipeline:
    """
    Hand every chunk to each consumer, each running in its own thread behind a bounded queue.

    ``put`` blocks while a queue is full (memory stays bounded); ``close`` waits until every chunk is
    consumed; ``abort`` drops what is queued. After either returns no consumer runs any more.
    """

    def __init__(self, consumers: Sequence[Callable[[Chunk], object]], depth: int = _PIPELINE_DEPTH) -> None:
        self._queues: list[queue.Queue[Chunk | None]] = [queue.Queue(maxsize=depth) for _ in consumers]
        self._failure: BaseException | None = None
        self._dropping = threading.Event()
        self._threads = [
            threading.Thread(target=self._consume, args=(q, consumer), daemon=True, name="marketo-pm-copy")
            for q, consumer in zip(self._queues, consumers, strict=True)
        ]
        for thread in self._threads:
            thread.start()

    def _consume(self, chunks: queue.Queue[Chunk | None], consumer: Callable[[Chunk], object]) -> None:
        while (chunk := chunks.get()) is not None:
            if self._dropping.is_set():
                continue  # keep draining until the end marker, so that ``put`` never blocks for good
            try:
                consumer(chunk)
            except BaseException as err:
                self._failure = self._failure or err
                self._dropping.set()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise _ConsumerFailed(self._failure)

    def put(self, chunk: Chunk) -> None:
        self._raise_failure()
        for chunks in self._queues:
            chunks.put(chunk)

    def _end(self) -> None:
        for chunks in self._queues:
            chunks.put(None)
        for thread in self._threads:
            thread.join()

    def close(self) -> None:
        self._end()
        self._raise_failure()

    def abort(self) -> None:
        self._dropping.set()
        self._end()


class _Progress:
    """Log bytes, percent, MB/s and ETA at most every ``interval`` seconds."""

    def __init__(self, log: Any, export_id: str, total: int | None, interval: float) -> None:
        self.log, self.export_id, self.total, self.interval = log, export_id, total, interval
        self.started = self.last = time.monotonic()
        self.logged: int | None = None

    def update(self, received: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if received == self.logged or (not final and now - self.last < self.interval):
            return
        self.last, self.logged = now, received
        elapsed = max(now - self.started, 1e-9)
        rate = received / elapsed
        if self.total is None:  # a record without fileSize: no percent, no ETA
            self.log.info("Export %s: %d bytes, %.2f MB/s.", self.export_id, received, rate / 1e6)
            return
        percent = 100.0 * received / self.total if self.total else 100.0
        eta = (self.total - received) / rate if rate > 0 else float("inf")
        self.log.info(
            "Export %s: %d of %d bytes (%.1f%%), %.2f MB/s, ETA %.0f s.",
            self.export_id,
            received,
            self.total,
            percent,
            rate / 1e6,
            eta,
        )


def expected_file(
    record: Mapping[str, Any], *, verify_checksum: bool, log: Any
) -> tuple[int | None, str | None]:
    """
    ``(fileSize, sha256 hex)`` to verify a Completed record's file against, ``None`` for what it lacks.

    Marketo's spec marks neither as required and other clients met records without them. Without
    ``fileSize`` the checksum is verified (and the answer's own length); without ``fileChecksum`` the file
    is refused (:class:`MarketoExportUnverifiableError`, before any download) unless ``verify_checksum`` is
    False: then the size alone is verified, with a warning. A checksum that is there is always verified.
    What is there must be usable, whatever ``verify_checksum``: a ``fileSize`` that is no whole number >= 0
    or a ``fileChecksum`` that is not ``sha256:`` and 64 hex digits raises
    :class:`~airflow_provider_marketo_pm.exceptions.MarketoMalformedAnswerError` before any download.
    """
    export_id = str(record.get("exportId", "?"))
    size = marketo_count(record.get("fileSize"), "fileSize", export_id=export_id)
    has_size = size is not None
    raw_checksum = record.get("fileChecksum")
    checksum = None if raw_checksum is None else checksum_hex(raw_checksum, export_id=export_id)
    missing = [name for name, there in (("fileChecksum", checksum), ("fileSize", has_size)) if not there]
    if checksum is None and verify_checksum:
        fallback = (
            "set verify_checksum=False to publish it verified by its fileSize only"
            if has_size
            else "set verify_checksum=False to publish it unverified"
        )
        raise MarketoExportUnverifiableError(
            f"The Completed record of export {export_id} has no {' and no '.join(missing)}: refusing to "
            f"publish a file that cannot be verified. A retry reads the status again; or {fallback}."
        )
    if missing:
        checked = "its sha256" if checksum else ("its size" if has_size else "nothing but the HTTP length")
        log.warning(
            "The Completed record of export %s has no %s: verifying %s only.",
            export_id,
            " and no ".join(missing),
            checked,
        )
    return size, checksum


def _checked_expectations(expected_size: Any, expected_sha256: Any) -> None:
    """What :meth:`VerifiedDownload.copy` verifies against must be a size and a sha256, or ``None``."""
    if expected_size is not None and (
        isinstance(expected_size, bool)
        or not isinstance(expected_size, int)
        or not 0 <= expected_size <= MAX_COUNT
    ):
        raise MarketoRequestError(
            "expected_size", expected_size, "must be None or a whole number of bytes >= 0"
        )
    if expected_sha256 is not None and (
        not isinstance(expected_sha256, str) or re.fullmatch(r"[0-9a-f]{64}", expected_sha256) is None
    ):
        raise MarketoRequestError(
            "expected_sha256", expected_sha256, "must be None or 64 lower-case hex digits (no 'sha256:')"
        )


@dataclass(frozen=True)
class VerifiedDownload:
    """
    How to copy export files: chunking, resumes, compression, overwrite; ``log`` gets the progress lines.

    :param log: where progress, resumes and the publication are logged (the task's logger).
    :param chunk_size: bytes read and written per chunk.
    :param max_resumes: how many times a broken stream is resumed with ``Range``.
    :param progress_interval: seconds between progress log lines.
    :param compression: ``None`` or ``"gzip"`` (the stored file is gzipped; bytes and sha256 are still
        those Marketo served).
    :param overwrite: replace an existing destination; by default it is refused.
    :param file_available_timeout: seconds to keep asking for a file that answers 404 (see
        :meth:`MarketoHook.read_export_file`).
    """

    log: Any
    chunk_size: int
    max_resumes: int
    progress_interval: float
    compression: Literal["gzip"] | None = None
    overwrite: bool = False
    file_available_timeout: float = 0.0

    def copy(
        self,
        hook: MarketoHook,
        export_id: str,
        destination: ObjectStoragePath,
        *,
        expected_size: int | None,
        expected_sha256: str | None,
        kind: ExportKind,
    ) -> tuple[str, int]:
        """
        Copy job ``export_id`` of ``kind`` to ``destination``; return the copy's (sha256, bytes).

        Whichever of ``expected_size`` and ``expected_sha256`` is given is verified; which ones a download
        may do without is the caller's decision (see :func:`expected_file`). Both are checked first: a
        value that is neither ``None`` nor a size (a sha256 hex) is refused before anything is read.
        """
        _checked_expectations(expected_size, expected_sha256)
        uri = public_uri(destination)
        if destination.exists() and not self.overwrite:
            raise AirflowFailException(f"{uri} already exists; set overwrite=True to replace it.")
        self._check_free_space(destination, expected_size)
        if is_local(destination):
            destination.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(destination, self.log)
        partial = partial_path(destination)

        sha256, received = self._write_verified(
            hook, kind, export_id, partial, expected_size, expected_sha256, uri
        )
        try:
            if destination.exists() and not self.overwrite:
                raise AirflowFailException(
                    f"{uri} appeared during the download; set overwrite=True to replace it."
                )
            publish(partial, destination)
        except BaseException:
            self._remove_quietly(partial)
            raise
        self.log.info("Published %s (%d bytes, sha256 %s).", uri, received, sha256)
        return sha256, received

    def _check_free_space(self, destination: ObjectStoragePath, expected_size: int | None) -> None:
        """On a local disk, a file larger than the free space fails before the download, naming both."""
        if expected_size is None or self.compression is not None:  # a gzipped file's size is not known
            return
        free = free_bytes(destination)
        if free is not None and expected_size > free:
            raise MarketoDestinationError(
                "destination",
                public_uri(destination),
                f"has {free} bytes free, but the file is {expected_size} bytes (its fileSize): free some "
                "space, or write elsewhere (nothing was downloaded)",
            )

    def _write_verified(
        self,
        hook: MarketoHook,
        kind: ExportKind,
        export_id: str,
        partial: ObjectStoragePath,
        expected_size: int | None,
        expected_sha: str | None,
        uri: str,
    ) -> tuple[str, int]:
        """
        Stream into ``partial`` and verify; on any failure nothing of ``partial`` remains, including when
        the last flush fails (a full disk) or S3's last part and commit do.
        """
        # The raw fsspec file, not ObjectStoragePath.open()'s lineage wrapper: no per-chunk lineage call,
        # and discard() reaches s3fs (an aborted multipart upload instead of a completed one).
        out = partial.fs.open(partial.path, mode="wb")
        pipeline: _ChunkPipeline | None = None
        try:
            sink: IO[bytes] = (
                gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="")  # type: ignore[assignment]
                if self.compression == "gzip"
                else out
            )
            digest = hashlib.sha256()
            pipeline = _ChunkPipeline((digest.update, sink.write))
            received = self._stream(hook, kind, export_id, pipeline.put, expected_size)
            pipeline.close()  # every chunk hashed and written
            if sink is not out:
                sink.close()  # flushes the gzip trailer; leaves ``out`` open
            actual_sha = digest.hexdigest()
            wrong_size = expected_size is not None and received != expected_size
            if wrong_size or (expected_sha and actual_sha != expected_sha):
                raise MarketoExportIntegrityError(
                    export_id,
                    expected_size=expected_size,
                    actual_size=received,
                    expected_sha256=expected_sha,
                    actual_sha256=actual_sha,
                    destination=uri,
                )
            out.close()  # the last buffered bytes are written here: inside the cleanup
        except BaseException as err:
            if pipeline is not None:
                pipeline.abort()  # no thread touches ``out`` any more
            self._discard(out)
            self._remove_quietly(partial)
            if isinstance(err, _ConsumerFailed):
                raise err.error from None
            raise
        return actual_sha, received

    def _stream(
        self,
        hook: MarketoHook,
        kind: ExportKind,
        export_id: str,
        write: Callable[[Chunk], None],
        total: int | None,
    ) -> int:
        """Copy the file through ``write``; resuming a broken stream is the hook's (one budget, one place)."""
        progress = _Progress(self.log, export_id, total, self.progress_interval)
        file = hook.read_export_file(
            kind,
            export_id,
            total_size=total,
            max_resumes=self.max_resumes,
            file_available_timeout=self.file_available_timeout,
        )
        received = 0
        # Each chunk is a view of a reused buffer: enough turns that no buffer is refilled while a
        # background stage still holds it (queued or in hand: _PIPELINE_DEPTH + 1 per stage).
        for chunk in file.chunks(self.chunk_size, turns=_PIPELINE_DEPTH + 2):
            write(chunk)
            received += len(chunk)
            progress.update(received)
        progress.update(received, final=True)
        return received

    @staticmethod
    def _discard(out: Any) -> None:
        """Abandon a write: s3fs aborts its multipart upload; other files are just closed."""
        try:
            out.discard()
        except Exception:  # local files (autocommit) cannot discard: closing them is enough
            pass
        else:
            # A discarded s3fs file must not be closed: close() would flush and could complete an upload.
            out.closed = True
            return
        with contextlib.suppress(Exception):
            out.close()

    def _remove_quietly(self, path: ObjectStoragePath) -> None:
        try:
            if path.exists():
                path.unlink()
        except Exception as err:
            self.log.warning("Could not remove temporary %s: %s", public_uri(path), err)
