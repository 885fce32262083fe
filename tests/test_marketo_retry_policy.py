"""MarketoRetryPolicy: which Marketo failure retries, when, and which fails without using a retry."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from types import SimpleNamespace

import pendulum
import pytest

from airflow_provider_marketo_pm.daily_quota import QuotaDay, QuotaResume, reset_jitter, use_quota_day
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
    MarketoTransientError,
)
from airflow_provider_marketo_pm.retry_policy import (
    RETRY_POLICY_AVAILABLE,
    MarketoRetryPolicy,
    marketo_retry_policy_args,
)

needs_retry_policy = pytest.mark.skipif(not RETRY_POLICY_AVAILABLE, reason="retry_policy needs Airflow 3.3+")

RESETS_AT = pendulum.datetime(2024, 1, 16, 6, tz="UTC")


def ti_context(map_index: int = -1) -> dict[str, object]:
    ti = SimpleNamespace(dag_id="backfill", task_id="start_export", run_id="manual__1", map_index=map_index)
    return {"ti": ti}


@pytest.fixture
def freeze(monkeypatch):
    """Stop the clock the policy reads (``pendulum.now``) at a given instant."""

    def at(instant: pendulum.DateTime) -> None:
        monkeypatch.setattr(pendulum, "now", lambda tz=None: instant.in_timezone(tz or "UTC"))

    return at


def decide(exception: BaseException, context=None):
    return MarketoRetryPolicy().evaluate(exception, try_number=1, max_tries=4, context=context)


@needs_retry_policy
class TestDecisions:
    @pytest.mark.parametrize(
        "exception",
        [
            pytest.param(MarketoTransientError("Rate limit exceeded", code="606"), id="606 rate limit"),
            pytest.param(MarketoTransientError("Bad Gateway", http_status=502), id="HTTP 502"),
            pytest.param(MarketoTransientError("network error ConnectionError"), id="network error"),
            pytest.param(MarketoQueueFullError("Too many jobs in queue", code="1029"), id="full queue"),
            pytest.param(
                MarketoExportIntegrityError(
                    "e1", expected_size=1, actual_size=2, expected_sha256="a", actual_sha256="b"
                ),
                id="file failed verification",
            ),
        ],
    )
    def test_transient_errors_retry_after_the_tasks_own_delay(self, exception):
        from airflow.sdk.definitions.retry_policy import RetryAction

        decision = decide(exception)
        assert decision.action is RetryAction.RETRY
        assert decision.retry_delay is None  # None: the task's retry_delay (and its backoff) applies
        assert "transient" in (decision.reason or "")

    @pytest.mark.parametrize(
        "exception",
        [
            pytest.param(
                MarketoAuthError("Unauthorized", http_status=401, endpoint="token"), id="bad secret"
            ),
            pytest.param(MarketoAuthError("Access token invalid", code="601"), id="601 after a new token"),
            pytest.param(MarketoConnectionConfigError("no host"), id="unusable connection"),
            pytest.param(MarketoRequestError("fields", [], "must name at least one field"), id="bad request"),
            pytest.param(MarketoApiError("Access denied", code="603"), id="603 permission"),
            pytest.param(MarketoApiError("No access token", code="600"), id="600 no token"),
            pytest.param(MarketoApiError("Invalid JSON", code="609"), id="609"),
            pytest.param(MarketoApiError("Not found", code="610"), id="610"),
            pytest.param(MarketoApiError("Bad content type", code="612"), id="612"),
            pytest.param(MarketoApiError("Invalid data", code="1003"), id="1003 status names"),
            pytest.param(MarketoApiError("updatedAt not enabled", code="1035"), id="1035"),
            pytest.param(MarketoApiError("Payload Too Large", http_status=413), id="HTTP 413"),
            pytest.param(
                MarketoApiError("Not Found", http_status=404, endpoint="create"), id="wrong base URL"
            ),
        ],
    )
    def test_auth_permission_and_bad_request_errors_fail_without_retrying(self, exception):
        from airflow.sdk.definitions.retry_policy import RetryAction

        decision = decide(exception)
        assert decision.action is RetryAction.FAIL
        assert decision.reason

    @pytest.mark.parametrize("error_class", [MarketoExportQuotaError, MarketoApiQuotaError])
    def test_a_daily_quota_retries_just_after_the_reset(self, error_class, freeze):
        from airflow.sdk.definitions.retry_policy import RetryAction

        now = pendulum.datetime(2024, 1, 15, 20, tz="UTC")  # 14:00 CST: the reset is 10 hours away
        error = error_class("Export daily quota 500MB exceeded.", code="1029", resets_at=RESETS_AT)
        freeze(now)
        decision = decide(error, ti_context())

        assert decision.action is RetryAction.RETRY
        jitter = reset_jitter(seed="backfill/start_export/manual__1/-1")
        assert decision.retry_delay == dt.timedelta(hours=10) + jitter
        assert "12:00 AM US Central" in decision.reason
        assert "2024-01-16T06:00:00Z" in decision.reason

    def test_the_quota_wait_is_stable_per_task_instance_and_spread_between_them(self, freeze):
        now = pendulum.datetime(2024, 7, 15, 12, tz="UTC")
        error = MarketoExportQuotaError("quota", code="1029", resets_at=RESETS_AT)
        freeze(now)
        delays = [decide(error, ti_context(map_index)).retry_delay for map_index in range(20)]
        again = [decide(error, ti_context(map_index)).retry_delay for map_index in range(20)]

        assert delays == again
        assert len(set(delays)) == 20
        reset_in = dt.timedelta(hours=17)  # 05:00 UTC (midnight CDT)
        assert all(reset_in <= delay <= reset_in + dt.timedelta(minutes=5) for delay in delays)

    def test_the_jitter_bound_is_the_policys(self, freeze):
        now = pendulum.datetime(2024, 7, 15, 12, tz="UTC")
        error = MarketoApiQuotaError("quota", code="607", resets_at=RESETS_AT)
        policy = MarketoRetryPolicy(max_jitter=dt.timedelta(0))
        freeze(now)
        decision = policy.evaluate(error, try_number=2, max_tries=4, context=None)
        assert decision.retry_delay == dt.timedelta(hours=17)

    def test_the_wait_is_the_quota_day_in_uses_the_one_a_start_operator_asks(self, freeze):
        now = pendulum.datetime(2024, 7, 15, 12, tz="UTC")
        freeze(now)
        asked: list[tuple[object, dt.timedelta]] = []

        class CompressedDay(QuotaDay):
            def resume(self, context=None, *, max_jitter=dt.timedelta(0)) -> QuotaResume:
                asked.append((context, max_jitter))
                return QuotaResume(now, now.add(seconds=20), now.add(seconds=21))

        error = MarketoExportQuotaError("quota", code="1029", resets_at=RESETS_AT)
        context = ti_context()
        with use_quota_day(CompressedDay()):
            decision = MarketoRetryPolicy(max_jitter=dt.timedelta(seconds=7)).evaluate(
                error, try_number=1, max_tries=4, context=context
            )

        assert decision.retry_delay == dt.timedelta(seconds=21)
        assert "2024-07-15T12:00:20Z" in decision.reason  # the quota day's reset
        assert asked == [(context, dt.timedelta(seconds=7))]

    @pytest.mark.parametrize(
        "exception",
        [
            pytest.param(
                MarketoFileNotAvailableError("Not Found", http_status=404, endpoint="file"), id="file 404"
            ),
            pytest.param(MarketoApiError("Something new", code="999"), id="unknown code"),
            pytest.param(ValueError("not Marketo's"), id="not a Marketo error"),
        ],
    )
    def test_anything_else_follows_the_tasks_ordinary_retries(self, exception):
        from airflow.sdk.definitions.retry_policy import RetryAction

        assert decide(exception).action is RetryAction.DEFAULT

    def test_serializes_to_json_primitives(self):
        policy = MarketoRetryPolicy(max_jitter=dt.timedelta(seconds=90))
        data = json.loads(json.dumps(policy.serialize()))
        assert MarketoRetryPolicy.deserialize(data).max_jitter == dt.timedelta(seconds=90)

    def test_the_args_helper_gives_the_policy(self):
        args = marketo_retry_policy_args(max_jitter=dt.timedelta(seconds=10))
        assert isinstance(args["retry_policy"], MarketoRetryPolicy)
        assert args["retry_policy"].max_jitter == dt.timedelta(seconds=10)


def chain_retry_policy():
    """Airflow's ChainRetryPolicy: the SDK's from Airflow 3.4, the common.compat provider's copy on 3.3."""
    try:
        from airflow.providers.common.compat.sdk import ChainRetryPolicy
    except ImportError:
        pytest.skip("this Airflow has no ChainRetryPolicy")
    return ChainRetryPolicy


@needs_retry_policy
class TestInAChainOfPolicies:
    """First in a chain, the policy decides Marketo's errors and leaves every other error to the next one."""

    @pytest.fixture
    def chain(self):
        from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

        ChainRetryPolicy = chain_retry_policy()
        return ChainRetryPolicy(
            [
                MarketoRetryPolicy(max_jitter=dt.timedelta(0)),
                ExceptionRetryPolicy(rules=[RetryRule(exception=ValueError, action=RetryAction.FAIL)]),
            ]
        )

    def evaluate(self, chain, exception):
        return chain.evaluate(exception=exception, try_number=1, max_tries=4, context=ti_context())

    def test_a_marketo_error_is_decided_by_the_marketo_policy(self, chain):
        from airflow.sdk import RetryAction

        decision = self.evaluate(chain, MarketoAuthError("Unauthorized", http_status=401, endpoint="token"))

        assert decision.action is RetryAction.FAIL
        assert decision.reason.startswith("MarketoRetryPolicy: MarketoAuthError")

    def test_a_quota_error_retries_at_the_reset_through_the_chain(self, chain, freeze):
        from airflow.sdk import RetryAction

        freeze(pendulum.datetime(2024, 7, 15, 12, tz="UTC"))
        decision = self.evaluate(chain, MarketoExportQuotaError("quota", code="1029", resets_at=RESETS_AT))

        assert decision.action is RetryAction.RETRY
        assert decision.retry_delay == dt.timedelta(hours=17)

    def test_any_other_error_is_left_to_the_next_policy(self, chain):
        from airflow.sdk import RetryAction

        decision = self.evaluate(chain, ValueError("not Marketo's"))

        assert decision.action is RetryAction.FAIL
        assert decision.reason.startswith("ExceptionRetryPolicy:")
        assert "after MarketoRetryPolicy: no decision" in decision.reason

    def test_a_dag_with_the_chain_serializes(self, chain):
        from airflow.providers.standard.operators.empty import EmptyOperator
        from airflow.sdk import DAG
        from airflow.serialization.serialized_objects import DagSerialization

        with DAG("chained_policy", schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)) as dag:
            EmptyOperator(task_id="call_marketo", retries=2, retry_policy=chain)

        data = json.loads(json.dumps(DagSerialization.to_dict(dag)))
        assert DagSerialization.from_dict(data).get_task("call_marketo").has_retry_policy


def test_a_negative_jitter_bound_is_refused():
    with pytest.raises(MarketoRequestError, match=r"max_jitter=.*must be a timedelta of zero or more"):
        MarketoRetryPolicy(max_jitter=dt.timedelta(seconds=-1))


@pytest.mark.skipif(RETRY_POLICY_AVAILABLE, reason="Airflow 3.3+ has retry_policy")
def test_older_airflow_gets_no_argument_and_a_log_line(caplog):
    with caplog.at_level("INFO", logger="airflow_provider_marketo_pm.retry_policy"):
        assert marketo_retry_policy_args() == {}
        MarketoRetryPolicy()
    assert "Airflow before 3.3 has no retry_policy" in caplog.text
    assert "needs Airflow 3.3 or later" in caplog.text


FAILING_DAG = textwrap.dedent(
    """
    import datetime as dt

    from airflow.sdk import DAG, task

    from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
    from airflow_provider_marketo_pm.retry_policy import MarketoRetryPolicy

    with DAG(
        dag_id="marketo_pm_retry_policy_test",
        schedule=None,
        start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        catchup=False,
    ) as dag:

        @task(retries=2, retry_delay=dt.timedelta(seconds=0), retry_policy=MarketoRetryPolicy())
        def fetch_token():
            MarketoHook().get_access_token()

        fetch_token()
    """
)


@needs_retry_policy
@pytest.mark.slow
def test_a_task_with_the_policy_fails_at_once_on_bad_credentials(
    marketo_emulator, monkeypatch, tmp_path, use_dags_folder
):
    connection = json.loads(marketo_emulator.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", json.dumps({**connection, "password": "wrong"}))
    (tmp_path / "retry_policy_dag.py").write_text(FAILING_DAG)
    use_dags_folder(tmp_path)
    from retry_policy_dag import dag

    dag_run = dag.test()

    (ti,) = dag_run.get_task_instances()
    assert str(ti.state) == "failed"
    assert ti.try_number == 1  # two retries left, none used
    assert len(marketo_emulator.calls("token")) == 1
