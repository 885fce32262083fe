"""When the hook retries a Marketo call, and how long it waits in between (tenacity).

Bounded in attempts and in time, exponential with jitter so that parallel tasks sharing Marketo's rate
(606) and concurrency (615) limits do not retry in step. Only errors marked ``retryable`` are retried; when
the budget runs out the last error is raised as :class:`MarketoTransientError` saying how long it tried.
"""

from __future__ import annotations

from typing import Any

import tenacity

from airflow_provider_marketo_pm.exceptions import MarketoApiError, MarketoTransientError
from airflow_provider_marketo_pm.hooks.connection_settings import MarketoConnectionSettings


def retry_policy(settings: MarketoConnectionSettings, endpoint: str, *, log: Any) -> dict[str, Any]:
    """Keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying`` around one call of ``endpoint``."""

    def give_up(state: tenacity.RetryCallState) -> Any:
        error = state.outcome.exception() if state.outcome else None
        if not isinstance(error, MarketoApiError):  # pragma: no cover - retry only takes these
            raise RuntimeError("retries ended without an error")
        raise MarketoTransientError(
            error.message,
            code=error.code,
            request_id=error.request_id,
            endpoint=error.endpoint,
            http_status=error.http_status,
            hint=f"Gave up after {state.attempt_number} attempts in {state.seconds_since_start:.1f} s.",
        ) from error

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
        "stop": tenacity.stop_after_attempt(settings.max_retries + 1)
        | tenacity.stop_after_delay(settings.retry_max_time),
        "wait": tenacity.wait_exponential(multiplier=settings.retry_min_wait, max=settings.retry_max_wait)
        + tenacity.wait_random(0, settings.retry_min_wait),
        "retry": tenacity.retry_if_exception(lambda err: isinstance(err, MarketoApiError) and err.retryable),
        "before_sleep": log_retry,
        "retry_error_callback": give_up,
    }


__all__ = ["retry_policy"]
