"""testing.quota_day: quota waits end at the emulator's compressed resets inside the block only."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import pendulum
import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from marketo_exports import FIELDS, PROGRAM_ID

from airflow_provider_marketo_pm import daily_quota
from airflow_provider_marketo_pm.exceptions import MarketoExportQuotaError
from airflow_provider_marketo_pm.operators.program_members import MarketoStartProgramMemberExportOperator
from airflow_provider_marketo_pm.retry_policy import RETRY_POLICY_AVAILABLE, MarketoRetryPolicy
from airflow_provider_marketo_pm.testing import Fault
from airflow_provider_marketo_pm.testing.quota_day import EmulatorQuotaDay, compressed_quota_day

# Ten-minute days: long enough that no reset passes during a test, far shorter than Marketo's.
TEN_MINUTE_DAYS = {"quota_day_seconds": 600.0}
JITTER = 0.2


def start_deferral() -> TaskDeferred:
    op = MarketoStartProgramMemberExportOperator(
        task_id="start", fields=FIELDS, filter={"programId": PROGRAM_ID}
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context={})
    return deferred.value


def emulators_reset_on_the_wall_clock(emulator) -> float:
    return time.time() + (emulator.next_quota_reset() - emulator.now())


@pytest.mark.parametrize("marketo_emulator_options", [TEN_MINUTE_DAYS])
def test_a_refused_start_waits_for_the_emulators_reset_inside_the_block_only(emulator):
    quota_used = Fault(code="1029", message="Export daily quota 500MB exceeded.")
    emulator.inject("enqueue", quota_used, quota_used)

    with compressed_quota_day(emulator, max_jitter_seconds=JITTER):
        before = emulators_reset_on_the_wall_clock(emulator)
        compressed = start_deferral().trigger.wake_at
        after = emulators_reset_on_the_wall_clock(emulator)
    marketos = start_deferral().trigger.wake_at

    assert before <= compressed <= after + JITTER
    reset = daily_quota.next_quota_reset().timestamp()
    assert reset <= marketos <= reset + daily_quota.DEFAULT_MAX_JITTER.total_seconds()


@pytest.mark.skipif(not RETRY_POLICY_AVAILABLE, reason="retry_policy needs Airflow 3.3+")
@pytest.mark.parametrize("marketo_emulator_options", [TEN_MINUTE_DAYS])
def test_marketo_retry_policy_waits_for_the_same_reset(marketo_emulator):
    error = MarketoExportQuotaError("quota", code="1029", resets_at=pendulum.now("UTC"))

    with compressed_quota_day(marketo_emulator, max_jitter_seconds=JITTER):
        until_reset = marketo_emulator.next_quota_reset() - marketo_emulator.now()
        delay = MarketoRetryPolicy().evaluate(error, try_number=1, max_tries=3).retry_delay

    assert delay is not None
    assert until_reset - 0.05 <= delay.total_seconds() <= until_reset + JITTER


@pytest.mark.parametrize("marketo_emulator_options", [TEN_MINUTE_DAYS])
def test_the_quota_day_began_at_the_emulators_last_reset(marketo_emulator):
    last = EmulatorQuotaDay(marketo_emulator).last_reset()
    assert last.timestamp() == pytest.approx(marketo_emulator.next_quota_reset() - 600)


def test_an_emulator_without_compressed_days_is_refused(marketo_emulator):
    with pytest.raises(ValueError, match="quota_day_seconds"):
        EmulatorQuotaDay(marketo_emulator).last_reset()


def test_the_jitter_bound_is_the_helpers(marketo_emulator):
    resume = EmulatorQuotaDay(marketo_emulator, max_jitter_seconds=0).resume(max_jitter=dt.timedelta(hours=1))
    assert resume.resume_at == resume.resets_at


def test_testing_imports_no_operator_sensor_trigger_or_task_group_module(repo_root):
    """The helpers reach the lifecycle through daily_quota, never by patching an operator module."""
    probe = (
        "import json, sys\n"
        "import airflow_provider_marketo_pm.testing.quota_day\n"
        "import airflow_provider_marketo_pm.testing.pytest_plugin\n"
        "import airflow_provider_marketo_pm.testing.emulator.app\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=repo_root, capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    layers = {"operators", "sensors", "triggers", "task_groups"}
    ours = [name.split(".") for name in loaded if name.startswith("airflow_provider_marketo_pm.")]
    assert ["airflow_provider_marketo_pm", "testing", "quota_day"] in ours
    assert [".".join(name) for name in ours if name[1] in layers] == []
