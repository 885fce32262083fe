"""The exception classes: what they carry, how they read, and that they survive pickling."""

from __future__ import annotations

import pickle

import pendulum
import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_marketo_pm.daily_quota import next_quota_reset
from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoApiQuotaError,
    MarketoAuthError,
    MarketoError,
    MarketoExportQuotaError,
    MarketoFileNotAvailableError,
    MarketoQueueFullError,
    MarketoRequestError,
    MarketoTransientError,
    describe_quota_reset,
)


def test_every_error_is_an_airflow_exception():
    for cls in (
        MarketoApiError,
        MarketoApiQuotaError,
        MarketoAuthError,
        MarketoExportQuotaError,
        MarketoFileNotAvailableError,
        MarketoQueueFullError,
        MarketoRequestError,
        MarketoTransientError,
    ):
        assert issubclass(cls, MarketoError)
        assert issubclass(cls, AirflowException)
    assert issubclass(MarketoRequestError, ValueError)
    assert issubclass(MarketoTransientError, MarketoApiError)


def test_api_error_carries_marketo_details_and_reads_well():
    error = MarketoApiError(
        "Access denied", code="603", request_id="e42b#14272d07d78", endpoint="create", http_status=200,
        hint="Give the role Read-Only Lead.",
    )  # fmt: skip
    assert (error.code, error.message, error.request_id, error.endpoint, error.http_status) == (
        "603",
        "Access denied",
        "e42b#14272d07d78",
        "create",
        200,
    )
    assert error.retryable is False
    assert str(error) == (
        "Marketo create call failed with error 603: Access denied (HTTP 200, requestId e42b#14272d07d78). "
        "Give the role Read-Only Lead."
    )


def test_transient_errors_are_retryable_by_default():
    assert MarketoTransientError("busy", code="606").retryable is True
    assert MarketoQueueFullError("Too many jobs in queue", code="1029").retryable is False


def test_request_error_names_key_value_and_rule():
    error = MarketoRequestError("filter.programId", "abc", "must be a positive integer program id")
    assert str(error) == "filter.programId='abc' is invalid: must be a positive integer program id"
    assert (error.key, error.value, error.rule) == (
        "filter.programId",
        "abc",
        "must be a positive integer program id",
    )


@pytest.mark.parametrize(
    "error",
    [
        MarketoApiError("x", code="610", endpoint="status", request_id="r1"),
        MarketoTransientError("slow", code="604", http_status=200),
        MarketoExportQuotaError(
            "Export daily quota 500MB exceeded.", code="1029", resets_at=next_quota_reset()
        ),
        MarketoRequestError("fields", [], "must name at least one field"),
    ],
)
def test_errors_survive_pickling(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # CST (UTC-6) in winter, CDT (UTC-5) in summer: midnight Chicago is 06:00 or 05:00 UTC.
        (pendulum.datetime(2024, 1, 15, 12, 0, tz="UTC"), pendulum.datetime(2024, 1, 16, 6, 0, tz="UTC")),
        (pendulum.datetime(2024, 7, 15, 12, 0, tz="UTC"), pendulum.datetime(2024, 7, 16, 5, 0, tz="UTC")),
        # 03:00 UTC is still the previous evening in Chicago: the reset is the same UTC day.
        (pendulum.datetime(2024, 1, 15, 3, 0, tz="UTC"), pendulum.datetime(2024, 1, 15, 6, 0, tz="UTC")),
        # Spring-forward day: the next midnight is already CDT.
        (pendulum.datetime(2024, 3, 10, 12, 0, tz="UTC"), pendulum.datetime(2024, 3, 11, 5, 0, tz="UTC")),
    ],
)
def test_quota_resets_at_midnight_us_central(now, expected):
    resets_at = next_quota_reset(now)
    assert resets_at == expected
    assert resets_at.timezone_name == "UTC"


def test_the_old_reset_function_warns_and_follows_the_one_rule():
    now = pendulum.datetime(2024, 3, 10, 12, 0, tz="UTC")
    with pytest.warns(DeprecationWarning, match=r"exceptions\.next_quota_reset is deprecated; use .*daily"):
        from airflow_provider_marketo_pm.exceptions import next_quota_reset as deprecated_next_quota_reset

    assert deprecated_next_quota_reset is next_quota_reset
    assert deprecated_next_quota_reset(now) == next_quota_reset(now)


def test_quota_reset_message_names_central_time_and_utc():
    text = describe_quota_reset(pendulum.datetime(2024, 1, 16, 6, 0, tz="UTC"))
    assert "12:00 AM US Central (America/Chicago)" in text
    assert "2024-01-16T06:00:00Z" in text


def test_quota_errors_expose_reset_time():
    resets_at = pendulum.datetime(2024, 1, 16, 6, 0, tz="UTC")
    assert MarketoExportQuotaError("quota", resets_at=resets_at).resets_at == resets_at
    assert MarketoApiQuotaError("quota", code="607", resets_at=resets_at).resets_at == resets_at
