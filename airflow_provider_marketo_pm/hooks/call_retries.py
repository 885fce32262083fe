"""CallRetries: when one Marketo call is tried again, and how long to wait in between, from the connection.

Bounded in attempts and in time, exponential with jitter so that parallel tasks sharing Marketo's rate
(606) and concurrency (615) limits do not retry in step. Only errors marked ``retryable`` are retried, and a
network error may allow fewer retries (a name that does not resolve gets one: see
:func:`~airflow_provider_marketo_pm.hooks.error_classification.error_from_network`); when the budget runs out
the last error is raised as :class:`MarketoTransientError` saying how long it tried, and what to check.

These are the hook's retries of a call, not a task's: whether a failed task runs again is Airflow's
``retry_policy`` (:class:`~airflow_provider_marketo_pm.retry_policy.MarketoRetryPolicy`). The same
:class:`CallRetries` shapes the places that try again, and their budgets never multiply:

- a JSON call (token, create, enqueue, status, cancel) is retried by tenacity within the policy;
- a download's file calls are single attempts: :class:`~airflow_provider_marketo_pm.hooks.export_file.
  ResumableExportFile` resumes a failed open or a broken stream, waiting :meth:`CallRetries.wait_before`;
- the status trigger's polls are single attempts, and it tolerates ``max_retries`` failed polls in a row;
- a Completed job's file that answers 404 is asked for again, with these waits, for a bounded time
  (:meth:`CallRetries.waits_within` the download's ``file_available_timeout``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import tenacity

from airflow_provider_marketo_pm._compat import moved_names
from airflow_provider_marketo_pm.exceptions import MarketoApiError, MarketoTransientError
from airflow_provider_marketo_pm.export_status import counted
from airflow_provider_marketo_pm.hooks.connection_settings import MarketoConnectionSettings


@dataclass(frozen=True)
class CallRetries:
    """
    How often, and after which waits, one call to Marketo is tried again (from the connection's extras).

    :param max_retries: tries after the first one.
    :param min_wait: the first wait in seconds; each next one doubles, plus 0..min_wait of jitter.
    :param max_wait: the longest single wait (before jitter).
    :param max_time: stop trying one call after this many seconds.
    """

    max_retries: int
    min_wait: float
    max_wait: float
    max_time: float

    @classmethod
    def from_settings(cls, settings: MarketoConnectionSettings) -> CallRetries:
        return cls(
            settings.max_retries, settings.retry_min_wait, settings.retry_max_wait, settings.retry_max_time
        )

    def wait_before(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first): tenacity's shape, by hand."""
        return self._backoff(retry) + random.uniform(0, self.min_wait)

    def _backoff(self, retry: int) -> float:
        return min(self.max_wait, self.min_wait * 2.0 ** (retry - 1))

    def waits_within(self, budget: float) -> Iterator[float]:
        """
        The waits (jittered, as :meth:`wait_before`) of retries that fit in ``budget`` seconds, for waiting
        on something that is not there yet rather than broken (a Completed job's file answering 404).

        Their number is what fits without the jitter, so it depends only on the policy and the budget; the
        jitter adds at most ``min_wait`` per wait.
        """
        planned, retry = 0.0, 1
        while planned + self._backoff(retry) <= budget:
            planned += self._backoff(retry)
            yield self.wait_before(retry)
            retry += 1

    def tenacity_kwargs(self, endpoint: str, *, log: Any) -> dict[str, Any]:
        """Keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying`` around one call of ``endpoint``."""

        def give_up(state: tenacity.RetryCallState) -> Any:
            error = state.outcome.exception() if state.outcome else None
            if not isinstance(error, MarketoApiError):  # pragma: no cover - retry only takes these
                raise RuntimeError("retries ended without an error")
            raise gave_up(error, state.attempt_number, state.seconds_since_start or 0.0) from error

        def log_retry(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "Marketo %s call failed (attempt %d): %s; retrying in %.1f s",
                endpoint,
                state.attempt_number,
                error,
                wait,
            )

        return {
            "stop": tenacity.stop_after_attempt(self.max_retries + 1)
            | tenacity.stop_after_delay(self.max_time)
            | _StopAtTheErrorsLimit(),
            "wait": tenacity.wait_exponential(multiplier=self.min_wait, max=self.max_wait)
            + tenacity.wait_random(0, self.min_wait),
            "retry": tenacity.retry_if_exception(
                lambda err: isinstance(err, MarketoApiError) and err.retryable
            ),
            "before_sleep": log_retry,
            "retry_error_callback": give_up,
        }


def gave_up(error: MarketoApiError, attempts: int, seconds: float) -> MarketoTransientError:
    """The error raised when a retryable ``error`` is the last try: transient, saying how long it tried."""
    said = f"Gave up after {counted(attempts, 'attempt')} in {seconds:.1f} s."
    return MarketoTransientError(
        error.message,
        code=error.code,
        request_id=error.request_id,
        endpoint=error.endpoint,
        http_status=error.http_status,
        hint=f"{error.hint} {said}" if error.hint else said,
    )


class _StopAtTheErrorsLimit(tenacity.stop.stop_base):
    """Stop when the error allows no more retries (a name that does not resolve: one), policy aside."""

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        limit = getattr(error, "max_retries", None)
        return isinstance(limit, int) and retry_state.attempt_number > limit


def tenacity_kwargs(settings: MarketoConnectionSettings, endpoint: str, *, log: Any) -> dict[str, Any]:
    """Tenacity keyword arguments around one call of ``endpoint`` (:meth:`CallRetries.tenacity_kwargs`)."""
    return CallRetries.from_settings(settings).tenacity_kwargs(endpoint, log=log)


__all__ = ["CallRetries", "tenacity_kwargs"]

# RetryPolicy and retry_policy(), the old names, keep working with a DeprecationWarning.
__getattr__ = moved_names(__name__)
