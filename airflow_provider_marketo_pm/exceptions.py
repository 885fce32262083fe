"""Exceptions raised by the Marketo provider.

Every class derives from :class:`MarketoError` (an ``AirflowException``), so a task fails with a message that
says what to fix. API errors carry Marketo's code, message and ``requestId`` so callers can branch on them
and support can trace them; they never carry the client secret or an access token, even when a server
echoed them back (see :mod:`~airflow_provider_marketo_pm.redaction`).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_marketo_pm._compat import moved_names
from airflow_provider_marketo_pm.redaction import redact_credential_shapes, redact_credentials

MARKETO_TIMEZONE = "America/Chicago"
"""Marketo's daily quotas (API calls and bulk export bytes) reset at midnight US Central."""


def describe_quota_reset(resets_at: pendulum.DateTime) -> str:
    """Say when a daily quota resets, in Marketo's terms and in UTC."""
    return (
        f"it resets at 12:00 AM US Central ({MARKETO_TIMEZONE}), "
        f"which is {resets_at.in_timezone('UTC').format('YYYY-MM-DDTHH:mm:ss')}Z"
    )


class MarketoError(AirflowException):
    """Base class for everything this provider raises about Marketo; its text never holds a credential."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*(redact_credential_shapes(arg) if isinstance(arg, str) else arg for arg in args))

    def __reduce__(self) -> tuple[Any, ...]:
        # Custom constructors break the default exception pickling; rebuild from the instance state instead.
        return (_rebuild_exception, (type(self), self.args, self.__dict__.copy()))


def _rebuild_exception(cls: type[MarketoError], args: tuple[Any, ...], state: dict[str, Any]) -> MarketoError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class MarketoConnectionConfigError(MarketoError, ValueError):
    """The Airflow connection cannot be used as is (missing host or credentials, insecure URL, bad extra)."""


class MarketoRequestError(MarketoError, ValueError):
    """An export request was refused before any network call; the message names the key, value and rule."""

    def __init__(self, key: str, value: Any, rule: str) -> None:
        self.key = key
        self.value = value
        self.rule = rule
        super().__init__(f"{key}={value!r} is invalid: {rule}")


class MarketoPlanTooLargeError(AirflowFailException, MarketoRequestError):
    """
    A backfill plan that cannot run as planned: more jobs in one DAG run than Airflow maps (``[core]
    max_map_length``), or more DAG runs than allowed. Raised while planning, before any Marketo call;
    final (an ``AirflowFailException``: a retry would meet the same numbers). The rule names the numbers,
    the option and the remedy.
    """


class MarketoDestinationError(MarketoRequestError):
    """
    The destination cannot take the file: its bucket or directory is missing, it is not writable with
    ``dest_conn_id``, it climbs out of its base, or (local disks) it has less free space than the file.
    Raised before the export is created (or, for free space, before the download); ``key`` names the
    field at fault (``destination`` or ``dest_conn_id``) and ``rule`` the cause.
    """


class MarketoApiError(MarketoError):
    """
    Marketo answered with an error (an error envelope, or an HTTP error status).

    :ivar code: Marketo's error code as a string (``"606"``), or ``None`` for HTTP-level errors.
    :ivar message: Marketo's own message (or the HTTP reason).
    :ivar request_id: Marketo's ``requestId`` when the answer had one.
    :ivar endpoint: which API call failed (``token``, ``create``, ``enqueue``, ``status`` ...).
    :ivar http_status: the HTTP status of the answer, ``None`` when no answer came (connection error).
    :ivar retryable: ``True`` when the hook retries this error with backoff (transient).
    :ivar hint: what the user should do about it.
    """

    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        request_id: str | None = None,
        endpoint: str | None = None,
        http_status: int | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.code = code
        # Marketo's message and requestId are the server's words; the hint is ours (maybe quoting them).
        self.message = redact_credentials(message)
        self.request_id = redact_credentials(request_id) if isinstance(request_id, str) else request_id
        self.endpoint = endpoint
        self.http_status = http_status
        self.hint = redact_credential_shapes(hint) if hint else hint
        self.retryable = self.default_retryable if retryable is None else retryable
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"Marketo {self.endpoint} call" if self.endpoint else "Marketo call"
        what = f"error {self.code}: {self.message}" if self.code else self.message
        details = []
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.request_id:
            details.append(f"requestId {self.request_id}")
        suffix = f" ({', '.join(details)})" if details else ""
        text = f"{where} failed with {what}{suffix}"
        # The hint may be set after construction (a "did you mean", the retries spent): redacted here.
        return redact_credential_shapes(f"{text}. {self.hint}" if self.hint else text)


class MarketoTransientError(MarketoApiError):
    """604, 606, 608, 611, 615, 713, HTTP 5xx, network errors and time-outs (raised once retries run out)."""

    default_retryable = True


class MarketoNetworkError(MarketoTransientError):
    """
    No answer at all: the host name did not resolve, the connection was refused, TLS failed, a time-out.

    :ivar reason: ``"dns"``, ``"refused"``, ``"tls"``, ``"timeout"`` or ``"network"`` (anything else).
    :ivar max_retries: at most this many retries within the connection's policy (``None``: the policy's).
        A name that does not resolve gets one retry (a resolver hiccup passes, a wrong host does not);
        a TLS failure none (a certificate or protocol mismatch does not heal itself).
    """

    def __init__(self, message: str, *, reason: str, max_retries: int | None = None, **kwargs: Any) -> None:
        self.reason = reason
        self.max_retries = max_retries
        super().__init__(message, **kwargs)
        if max_retries == 0:
            self.retryable = False


class MarketoMalformedAnswerError(MarketoApiError):
    """
    An answer that is not what Marketo's API documents: a field of the wrong type or missing, a number
    that is not a count, an id or a checksum that is not one. Raised instead of a bare Python error
    (KeyError, TypeError, RecursionError ...), before anything is enqueued, carried or published.

    Not retried by the hook (the same answer would come back); a truncated or empty answer is a
    :class:`MarketoTransientError` instead. A retry of the task reads the answer again.

    :ivar field: the field of the answer at fault (``errors``, ``result``, ``exportId``, ``fileSize`` ...),
        or ``"body"`` when the answer as a whole is unreadable.
    """

    def __init__(self, message: str, *, field: str, **kwargs: Any) -> None:
        self.field = field
        super().__init__(message, **kwargs)


class MarketoAuthError(MarketoApiError):
    """Bad client id/secret (HTTP 401 from the token endpoint), or 601/602 again right after a new token."""


class MarketoQueueFullError(MarketoApiError):
    """1029 "Too many jobs in queue": the shared bulk queue is full; enqueue later (not retried here)."""


class _DailyQuotaError(MarketoApiError):
    """A daily quota that resets at 12:00 AM US Central; ``resets_at`` is that instant in UTC."""

    def __init__(self, message: str, *, resets_at: pendulum.DateTime, **kwargs: Any) -> None:
        self.resets_at = resets_at
        super().__init__(message, **kwargs)


class MarketoExportQuotaError(_DailyQuotaError):
    """1029 "Export daily quota ... exceeded": no more bulk export bytes today."""


class MarketoApiQuotaError(_DailyQuotaError):
    """607: the instance's daily API call quota is used up."""


class MarketoFileNotAvailableError(MarketoApiError):
    """file.json answered 404: the job is not Completed, the id is unknown, or the file expired."""


class MarketoExportIntegrityError(MarketoError):
    """
    A downloaded export file does not match the ``fileSize`` or ``fileChecksum`` Marketo advertised.

    Retryable on purpose (plain ``AirflowException`` semantics, not ``AirflowFailException``): the bytes
    may have been corrupted in transit, so the task's retries download the file again. Nothing was
    published. A mismatch that survives every retry points at Marketo's side of the file.

    :ivar export_id: the exportId whose file failed verification.
    :ivar expected_size: ``fileSize`` from the status record (``None`` if it had none); ``actual_size`` the
        bytes received.
    :ivar expected_sha256: ``fileChecksum`` (hex, without ``sha256:``; ``None`` if it had none);
        ``actual_sha256`` what was received.
    :ivar destination: where the file would have been written (nothing was).
    """

    retryable = True

    def __init__(
        self,
        export_id: str,
        *,
        expected_size: int | None,
        actual_size: int,
        expected_sha256: str | None,
        actual_sha256: str,
        destination: str | None = None,
    ) -> None:
        self.export_id = export_id
        self.expected_size = expected_size
        self.actual_size = actual_size
        self.expected_sha256 = expected_sha256
        self.actual_sha256 = actual_sha256
        self.destination = destination
        nothing_written = f"; nothing written to {destination}" if destination else ""
        size = "an unknown size (no fileSize)" if expected_size is None else f"{expected_size} bytes"
        checksum = f"sha256:{expected_sha256}" if expected_sha256 else "no checksum (no fileChecksum)"
        super().__init__(
            f"Export {export_id} failed verification{nothing_written}. "
            f"Expected {size} with {checksum}, "
            f"got {actual_size} bytes with sha256:{actual_sha256}."
        )


class MarketoExportUnverifiableError(MarketoError):
    """
    A Completed record lacks ``fileChecksum`` (or both it and ``fileSize``), so the file cannot be verified
    as the download requires; nothing was downloaded. A retry reads the status again;
    ``verify_checksum=False`` publishes a file verified by its size only.
    """


class MarketoExportNotCompletedError(MarketoError):
    """A job not Completed yet (Created, Queued, Processing) was asked for its file; a retry may help."""


class MarketoExportFailedError(AirflowFailException, MarketoError):
    """
    The job ended Failed or Cancelled: final, the task fails without retrying (no retry can change it).

    :ivar record: the job's status record (``status``, ``errorMsg`` ...).
    """

    def __init__(self, message: str, *, record: dict[str, Any] | None = None) -> None:
        self.record = record
        super().__init__(message)


class MarketoExportTimeoutError(AirflowSensorTimeout, MarketoError):
    """The job was not Completed before the wait's deadline; it is left running in Marketo."""


class MarketoExportNotEnqueuedError(MarketoError):
    """
    A job kept reading ``Created`` after it was enqueued, and enqueueing it again (a bounded number of times)
    did not help: Marketo never took it into its queue. A retry of the task tries again.
    """


class MarketoExportEventError(MarketoError):
    """A status trigger's event could not be used (the status was unreadable, or the event malformed)."""


class MarketoDownloadError(MarketoError):
    """A download broke more often than its resume budget allows, or the server broke the Range contract."""


class MarketoExportSchemaError(MarketoError, ValueError):
    """
    A verified export cannot be typed as its describe says: a column no describe names, a value that is not
    of its column's type, a header that is not the export's, or a row count other than the record's.
    Nothing typed is published; the verified CSV is left as it was.
    """


class MarketoLoadError(MarketoError, ValueError):
    """A database load was refused before any row was written (a key column missing, a bad table name)."""


__all__ = [
    "MARKETO_TIMEZONE",
    "MarketoApiError",
    "MarketoApiQuotaError",
    "MarketoAuthError",
    "MarketoConnectionConfigError",
    "MarketoDestinationError",
    "MarketoDownloadError",
    "MarketoError",
    "MarketoExportEventError",
    "MarketoExportFailedError",
    "MarketoExportIntegrityError",
    "MarketoExportNotCompletedError",
    "MarketoExportNotEnqueuedError",
    "MarketoExportQuotaError",
    "MarketoExportSchemaError",
    "MarketoExportTimeoutError",
    "MarketoExportUnverifiableError",
    "MarketoFileNotAvailableError",
    "MarketoLoadError",
    "MarketoMalformedAnswerError",
    "MarketoNetworkError",
    "MarketoPlanTooLargeError",
    "MarketoQueueFullError",
    "MarketoRequestError",
    "MarketoTransientError",
    "describe_quota_reset",
]

# next_quota_reset, the old name of daily_quota.next_quota_reset, keeps working with a DeprecationWarning.
__getattr__ = moved_names(__name__)
