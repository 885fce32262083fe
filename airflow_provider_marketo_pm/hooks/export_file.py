"""A Completed export's ``file.json`` answer, streamed in chunks so a file of any size never sits in memory.

Downloads resume: a cut connection, or a body shorter than the size Marketo announced, raises a transient
error that tells the caller to open the file again from the bytes it already has (a Range request).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

import requests
from urllib3.exceptions import ReadTimeoutError

from airflow_provider_marketo_pm.exceptions import MarketoApiError, MarketoTransientError
from airflow_provider_marketo_pm.hooks.error_classification import error_from_envelope, error_from_http_status

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
            except ValueError:
                payload = None
            if isinstance(payload, Mapping) and payload.get("success") is False:
                raise error_from_envelope(payload, endpoint="file", http_status=response.status_code)
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
            position = self.start + self.bytes_read
            if _is_read_timeout(err):
                waited = f" (no byte for {self.read_timeout:g} s)" if self.read_timeout else ""
                what = f"download stalled after {position} bytes: read timeout{waited}"
            else:
                what = f"download interrupted after {position} bytes ({type(err).__name__})"
            raise MarketoTransientError(what, endpoint="file", hint=RESUME_HINT) from err
        if self.total_size is not None and self.start + self.bytes_read < self.total_size:
            raise MarketoTransientError(
                f"download ended at byte {self.start + self.bytes_read} of {self.total_size}",
                endpoint="file",
                hint=RESUME_HINT,
            )

    def close(self) -> None:
        """Release the connection (the hook's context manager does it)."""
        self._response.close()


def _is_read_timeout(err: requests.RequestException) -> bool:
    """requests reports a read timeout inside a streamed body as a ConnectionError wrapping urllib3's."""
    return isinstance(err, requests.Timeout) or any(isinstance(arg, ReadTimeoutError) for arg in err.args)


def _total_size(response: requests.Response, start: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range:
        total = content_range.rsplit("/", 1)[1].strip()
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return start + int(length) if length and length.isdigit() else None


__all__ = ["MarketoExportFile"]
