"""A Completed export's ``file.json``, streamed in chunks so a file of any size never sits in memory.

:class:`MarketoExportFile` is one answer: a cut connection, or a body shorter than the size Marketo
announced, raises a transient error. :class:`ResumableExportFile` is the one place that resumes: it opens
the file again from the bytes already received (a Range request), within one budget.
"""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import requests
import urllib3
from urllib3.exceptions import ReadTimeoutError

from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoDownloadError,
    MarketoFileNotAvailableError,
    MarketoTransientError,
)
from airflow_provider_marketo_pm.export_status import counted
from airflow_provider_marketo_pm.hooks.error_classification import error_from_http_status
from airflow_provider_marketo_pm.hooks.marketo_responses import envelope_error

ENVELOPE_PEEK_LIMIT = 64 * 1024
"""A JSON answer up to this size is read as a possible error envelope instead of being streamed."""
RESUME_HINT = "Open the file again with start=<bytes already written> to resume."


class MarketoExportFile:
    """
    An open ``file.json`` answer, read with :meth:`iter_chunks`.

    :ivar start: the byte offset this answer starts at (the Range asked for).
    :ivar total_size: the size of the whole file when Marketo said it, else ``None``.
    :ivar bytes_read: bytes handed out so far by :meth:`iter_chunks`.
    :ivar read_timeout: the seconds without a byte after which the read gives up (named in the error).
    """

    def __init__(
        self,
        response: requests.Response,
        *,
        start: int,
        total_size: int | None,
        read_timeout: float | None = None,
    ) -> None:
        self._response = response
        self.start = start
        self.total_size = total_size
        self.read_timeout = read_timeout
        self.bytes_read = 0

    @classmethod
    def from_response(
        cls, response: requests.Response, start: int, *, read_timeout: float | None = None
    ) -> MarketoExportFile:
        """Check a streamed ``file.json`` answer (status, Range honoured, no error envelope) and wrap it."""
        if response.status_code not in (200, 206):
            raise error_from_http_status(response.status_code, response.text, endpoint="file")
        if start and response.status_code != 206:
            raise MarketoApiError(
                f"asked for bytes from {start} but got the whole file (HTTP {response.status_code})",
                endpoint="file",
                http_status=response.status_code,
            )
        length = response.headers.get("Content-Length", "")
        is_json = "json" in response.headers.get("Content-Type", "")
        if is_json and length.isdigit() and int(length) <= ENVELOPE_PEEK_LIMIT:
            # A small JSON answer is Marketo's error envelope (a 601/602 for instance), not the file.
            try:
                payload = json.loads(response.content)
            except (ValueError, RecursionError):
                payload = None
            if isinstance(payload, Mapping) and payload.get("success") is False:
                raise envelope_error(payload, endpoint="file", http_status=response.status_code)
        total_size = _total_size(response, start)
        return cls(response, start=start, total_size=total_size, read_timeout=read_timeout)

    def iter_chunks(self, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Yield the body in chunks; a cut connection raises ``MarketoTransientError`` (resume at offset)."""
        try:
            for chunk in self._response.iter_content(chunk_size=chunk_size):
                if chunk:
                    self.bytes_read += len(chunk)
                    yield chunk
        except requests.RequestException as err:
            raise self._interrupted(err) from err
        self._check_complete()

    def readinto_chunks(self, buffers: Sequence[bytearray]) -> Iterator[memoryview]:
        """
        Yield the body as views of ``buffers``, filled straight from the socket (``readinto``) and used in
        turn: no new bytes object per chunk. The caller must be done with a view before the turn comes
        back to its buffer. Errors as :meth:`iter_chunks`.

        Reads through the ``http.client`` response under urllib3 (urllib3's own ``readinto`` reads a new
        bytes object and copies it). A content-encoded body (gzip on the wire), which only urllib3
        decodes, is read through :meth:`iter_chunks` instead.
        """
        fp = getattr(self._response.raw, "_fp", None)
        if not isinstance(fp, http.client.HTTPResponse) or self._response.headers.get("Content-Encoding"):
            for chunk in self.iter_chunks(len(buffers[0])):
                yield memoryview(chunk)
            return
        turn = 0
        try:
            while True:
                view = memoryview(buffers[turn])
                try:
                    size = fp.readinto(view)
                except http.client.IncompleteRead:
                    size = 0  # ended early: the short-body check below says so
                if not size:
                    break
                self.bytes_read += size
                yield view[:size]
                turn = (turn + 1) % len(buffers)
        except (OSError, http.client.HTTPException) as err:
            raise self._interrupted(err) from err
        self._check_complete()

    def _interrupted(self, err: Exception) -> MarketoTransientError:
        position = self.start + self.bytes_read
        if _is_read_timeout(err):
            waited = f" (no byte for {self.read_timeout:g} s)" if self.read_timeout else ""
            what = f"download stalled after {position} bytes: read timeout{waited}"
        else:
            what = f"download interrupted after {position} bytes ({type(err).__name__})"
        return MarketoTransientError(what, endpoint="file", hint=RESUME_HINT)

    def _check_complete(self) -> None:
        if self.total_size is not None and self.start + self.bytes_read < self.total_size:
            raise MarketoTransientError(
                f"download ended at byte {self.start + self.bytes_read} of {self.total_size}",
                endpoint="file",
                hint=RESUME_HINT,
            )

    def close(self) -> None:
        """Release the connection (the hook's context manager does it)."""
        self._response.close()


def _is_read_timeout(err: Exception) -> bool:
    """requests reports a read timeout inside a streamed body as a ConnectionError wrapping urllib3's."""
    return isinstance(err, requests.Timeout | TimeoutError) or any(
        isinstance(arg, ReadTimeoutError) for arg in err.args
    )


_CONTENT_RANGE = re.compile(r"bytes ([0-9]{1,19})-([0-9]{1,19})/([0-9]{1,19}|\*)")
_DIGITS = re.compile(r"[0-9]{1,19}")


def _total_size(response: requests.Response, start: int) -> int | None:
    """
    The whole file's size, from a 206's ``Content-Range`` (which must start at ``start``: a resume answered
    from another byte would splice the wrong bytes in) or a 200's ``Content-Length``; ``None`` if unknown.
    A 206 whose range is missing, unreadable or inconsistent raises :class:`MarketoDownloadError`.
    """
    length = response.headers.get("Content-Length", "").strip()
    if response.status_code != 206:
        return start + int(length) if _DIGITS.fullmatch(length) else None
    content_range = response.headers.get("Content-Range", "").strip()
    match = _CONTENT_RANGE.fullmatch(content_range)
    if match is None:
        raise _range_refused(
            start, f"with Content-Range {content_range[:80]!r}, not 'bytes first-last/total'"
        )
    first, last = int(match.group(1)), int(match.group(2))
    total = None if match.group(3) == "*" else int(match.group(3))
    if first != start:
        raise _range_refused(start, f"from byte {first} (Content-Range {content_range!r})")
    if last < first or (total is not None and last >= total):
        raise _range_refused(start, f"with an impossible range (Content-Range {content_range!r})")
    if _DIGITS.fullmatch(length) and int(length) != last - first + 1:
        raise _range_refused(start, f"with Content-Length {length} for the range {first}-{last}")
    return total


def _range_refused(start: int, how: str) -> MarketoDownloadError:
    return MarketoDownloadError(
        f"Marketo file call: asked for bytes from {start}, answered HTTP 206 {how}: refusing to resume "
        "from it (nothing of it is written). A retry of the task downloads the file again."
    )


#: A stream broken by one of these is resumed from the last byte received (``Range``).
RESUMABLE_STREAM_ERRORS: tuple[type[BaseException], ...] = (
    MarketoTransientError,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.Timeout,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
    ConnectionError,
    TimeoutError,
)

FileOpener = Callable[[int], AbstractContextManager[MarketoExportFile]]
"""Opens the file from a byte offset, one attempt (no retry of its own: the resumes are the retries)."""


class ResumableExportFile:
    """
    A whole export file as chunks, resumed with ``Range`` after a failed open or a broken stream.

    Every failure counts against one budget, ``max_resumes`` (a failed open is not retried on its own as
    well), and the wait before each resume comes from the connection's retry policy (exponential, with
    jitter). Worst case: ``1 + max_resumes`` file calls. A failure of the caller (hashing, writing) happens
    outside this generator and is never resumed.

    A 404 is not a broken stream: Marketo has been seen answering 404 for a while for the file of a job it
    reports Completed (tap-marketo notes it). It is asked for again after each of ``not_yet_available_waits``
    (a bounded series shaped by the connection's retries, see :meth:`~airflow_provider_marketo_pm.hooks.
    call_retries.CallRetries.waits_within`), apart from ``max_resumes``;
    when they are spent the last :class:`MarketoFileNotAvailableError` is raised saying how long it waited.
    An expired file (kept 7 days) fails the same way once the waits are spent.

    :param open_at: opens the file from a byte offset (a single attempt).
    :param total_size: the file's size when known (``fileSize``); ``None`` trusts the answer's length.
    :param wait_before: seconds to wait before resume number n (1 for the first).
    :param not_yet_available_waits: the waits before asking again for a file that answers 404.
    """

    def __init__(
        self,
        export_id: str,
        open_at: FileOpener,
        *,
        total_size: int | None,
        max_resumes: int,
        wait_before: Callable[[int], float],
        log: Any,
        not_yet_available_waits: Iterable[float] = (),
    ) -> None:
        self.export_id = export_id
        self._open_at = open_at
        self.total_size = total_size
        self.max_resumes = max_resumes
        self._wait_before = wait_before
        self._not_yet_available_waits = not_yet_available_waits
        self.log = log
        self.received = 0

    def chunks(self, chunk_size: int, *, turns: int = 2) -> Iterator[memoryview]:
        """
        Yield the file from the start to ``total_size``, resuming as needed, as views of ``turns`` reused
        buffers of ``chunk_size`` bytes (see :meth:`MarketoExportFile.readinto_chunks`): a view must be
        consumed before ``turns - 1`` more chunks have been taken.
        """
        buffers = [bytearray(chunk_size) for _ in range(turns)]
        resumes = 0
        not_yet_available = _NotYetAvailable(self.export_id, self._not_yet_available_waits, self.log)
        while True:
            try:
                with self._open_at(self.received) as stream:
                    if stream.start != self.received:
                        raise MarketoDownloadError(
                            f"Asked export {self.export_id} from byte {self.received} but the server "
                            f"answered from byte {stream.start}; cannot resume safely."
                        )
                    total = self.total_size if self.total_size is not None else stream.total_size
                    for chunk in stream.readinto_chunks(buffers):
                        self.received += len(chunk)
                        yield chunk
                if total is None or self.received >= total:
                    return  # an unknown size: the answer's own length was checked by the stream
                reason: BaseException | str = f"stream ended after {self.received} of {total} bytes"
            except MarketoFileNotAvailableError as err:
                not_yet_available.wait_or_raise(err)
                continue
            except RESUMABLE_STREAM_ERRORS as err:
                reason = err
            resumes += 1
            if resumes > self.max_resumes:
                raise MarketoDownloadError(
                    f"Download of export {self.export_id} broke {counted(resumes, 'time')} (last: {reason}); "
                    f"giving up after {self.received} of {self.total_size or 'an unknown number of'} bytes."
                )
            wait = self._wait_before(resumes)
            self.log.warning(
                "Download of export %s broke at byte %d (%s); resuming with Range in %.1f s (%d of %d).",
                self.export_id,
                self.received,
                reason,
                wait,
                resumes,
                self.max_resumes,
            )
            time.sleep(wait)


class _NotYetAvailable:
    """The waits for a Completed job's file that answers 404, and the error once they are spent."""

    def __init__(self, export_id: str, waits: Iterable[float], log: Any) -> None:
        self.export_id, self._waits, self.log = export_id, iter(waits), log
        self.calls = 0
        self.waited = 0.0

    def wait_or_raise(self, err: MarketoFileNotAvailableError) -> None:
        self.calls += 1
        wait = next(self._waits, None)
        if wait is None:
            if self.calls > 1:
                err.hint = (
                    f"{err.hint} It still answered 404 after {self.calls} calls over {self.waited:.1f} s "
                    "(file_available_timeout)."
                )
                err.args = (err._render(),)
            raise err
        self.log.warning(
            "The file of export %s answers 404 although the job is Completed; asking again in %.1f s (%d).",
            self.export_id,
            wait,
            self.calls,
        )
        time.sleep(wait)
        self.waited += wait


__all__ = ["MarketoExportFile", "ResumableExportFile"]  # what the hook's file methods return
