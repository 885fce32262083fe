"""MarketoRetryPolicy: spend a task's retries only on Marketo errors a retry can fix (Airflow 3.3+).

Airflow 3.3 lets a task decide per failure whether to retry and when (``retry_policy=``, evaluated in the
worker with the exception in hand). For Marketo that means:

- transient errors (time-outs, rate limits, 5xx, a full bulk queue, a file that failed verification)
  retry after the task's own ``retry_delay``;
- a daily quota (bulk export bytes, 1029; API calls, 607) retries just after the next reset, 12:00 AM US
  Central, plus a small jitter per task instance so that waiting tasks do not all call at once;
- bad credentials, missing permissions and requests Marketo refuses as malformed fail at once: a retry
  would be refused the same way;
- anything else follows the task's ordinary retry settings: no decision, so in a ``ChainRetryPolicy``
  (Airflow 3.4; ``airflow.providers.common.compat.sdk`` has it on 3.3) the next policy decides.

A retry still needs one of the task's ``retries``: give the task at least as many as the quota resets it may
wait for. Airflow before 3.3 has no ``retry_policy``: this module still imports, constructing the policy logs
that it has no effect, and :func:`marketo_retry_policy_args` returns no argument, so one DAG file runs on
every supported Airflow.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from airflow_provider_marketo_pm.daily_quota import (
    DEFAULT_MAX_JITTER,
    quota_day_in_use,
    validate_max_jitter,
)
from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoApiQuotaError,
    MarketoAuthError,
    MarketoConnectionConfigError,
    MarketoExportIntegrityError,
    MarketoExportQuotaError,
    MarketoFileNotAvailableError,
    MarketoQueueFullError,
    MarketoRequestError,
    describe_quota_reset,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

log = logging.getLogger(__name__)

try:
    from airflow.sdk import RetryDecision, RetryPolicy

    RETRY_POLICY_AVAILABLE = True
except ImportError:  # Airflow < 3.3
    RETRY_POLICY_AVAILABLE = False
    RetryPolicy = object  # type: ignore[assignment,misc]

REFUSED_REQUEST_CODES = frozenset({"600", "603", "609", "610", "612", "1003", "1035"})
"""Marketo codes a retry cannot change: no token sent, access denied, malformed or refused request data."""

DAILY_QUOTA_ERRORS = (MarketoExportQuotaError, MarketoApiQuotaError)
CONFIGURATION_ERRORS = (MarketoAuthError, MarketoConnectionConfigError, MarketoRequestError)


def _refused_as_is(err: MarketoApiError) -> bool:
    """An answer that will be the same on every retry: a refused code, or an HTTP 4xx other than 429."""
    if err.code in REFUSED_REQUEST_CODES:
        return True
    return err.http_status is not None and 400 <= err.http_status < 500 and err.http_status != 429


class MarketoRetryPolicy(RetryPolicy):
    """
    Retry Marketo errors that a retry can fix, at the right time; fail the others without using retries.

    Use it on any task that calls Marketo (``retry_policy=MarketoRetryPolicy()``, Airflow 3.3+; or
    ``**marketo_retry_policy_args()`` to stay compatible with older Airflow).

    :param max_jitter: upper bound of the random delay after a quota reset (per task instance, stable).
    """

    def __init__(self, max_jitter: dt.timedelta = DEFAULT_MAX_JITTER) -> None:
        self.max_jitter = validate_max_jitter(max_jitter)
        if not RETRY_POLICY_AVAILABLE:
            log.warning(
                "MarketoRetryPolicy needs Airflow 3.3 or later (retry_policy); on this Airflow it has no "
                "effect and tasks follow their ordinary retries."
            )

    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: Context | None = None,
    ) -> RetryDecision:
        """Decide from the exception class (and Marketo's code) whether, and when, to retry."""
        if isinstance(exception, DAILY_QUOTA_ERRORS):
            # The same quota day, reset rule and per-task jitter as a start operator's quota wait.
            resume = quota_day_in_use().resume(context, max_jitter=self.max_jitter)
            return RetryDecision.retry(
                delay=resume.wait,
                reason=(
                    f"Marketo's daily quota is used up; {describe_quota_reset(resume.resets_at)}. "
                    f"Retrying at {resume.resume_at.format('YYYY-MM-DDTHH:mm:ss')}Z"
                ),
            )
        if isinstance(exception, CONFIGURATION_ERRORS):
            return RetryDecision.fail(
                f"{type(exception).__name__}: a retry would be refused the same way; fix the connection or "
                "the request"
            )
        if isinstance(exception, MarketoFileNotAvailableError):
            return RetryDecision.default()
        if isinstance(exception, MarketoApiError) and _refused_as_is(exception):
            return RetryDecision.fail(
                f"Marketo refused the request ({exception.code or exception.http_status})"
            )
        if isinstance(exception, MarketoQueueFullError | MarketoExportIntegrityError) or (
            isinstance(exception, MarketoApiError) and exception.retryable
        ):
            return RetryDecision.retry(reason=f"{type(exception).__name__} is transient: retrying")
        return RetryDecision.default()

    def serialize(self) -> dict[str, Any]:
        return {"__type": "MarketoRetryPolicy", "max_jitter": self.max_jitter.total_seconds()}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> MarketoRetryPolicy:
        return cls(
            max_jitter=dt.timedelta(seconds=data.get("max_jitter", DEFAULT_MAX_JITTER.total_seconds()))
        )


def marketo_retry_policy_args(max_jitter: dt.timedelta = DEFAULT_MAX_JITTER) -> dict[str, Any]:
    """``{"retry_policy": MarketoRetryPolicy(...)}`` on Airflow 3.3+, ``{}`` (and a log line) before.

    Spread it into an operator's arguments or ``default_args``: older Airflow refuses an unknown
    ``retry_policy`` argument.
    """
    if not RETRY_POLICY_AVAILABLE:
        log.info("Airflow before 3.3 has no retry_policy: Marketo tasks use their ordinary retries.")
        return {}
    return {"retry_policy": MarketoRetryPolicy(max_jitter=max_jitter)}


__all__ = [
    "RETRY_POLICY_AVAILABLE",
    "MarketoRetryPolicy",
    "marketo_retry_policy_args",
]
