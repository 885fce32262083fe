"""The bulk export lifecycle as operators, written once for every export kind.

:class:`MarketoStartExportOperator` creates a job from an :class:`~airflow_provider_marketo_pm.export_kind.
ExportRequest`, enqueues it (waiting while Marketo's shared queue is full, or for the daily quota's reset),
re-attaches a retried task to its earlier job, and optionally waits until it is Completed: one state machine
with one way back from every deferral, :meth:`MarketoStartExportOperator.resume`.
:class:`MarketoDownloadExportOperator` streams a Completed job's file into object storage, verified. A kind
subclasses them, naming its :class:`~airflow_provider_marketo_pm.export_kind.ExportKind` and declaring its
request arguments (program members: :mod:`airflow_provider_marketo_pm.operators.program_members`); every
lifecycle argument is documented here, once.

The shared queue, the pool and the task state store are explained once, in the docs ("Pacing and pools").
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any, ClassVar, Literal, NoReturn

import pendulum
from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import Asset, AssetAlias, BaseOperator, Context

from airflow_provider_marketo_pm import arguments, daily_quota, export_budget, lifecycle
from airflow_provider_marketo_pm._compat import moved_names
from airflow_provider_marketo_pm.destination import checked_destination, destination_url, object_storage_path
from airflow_provider_marketo_pm.exceptions import (
    MarketoApiError,
    MarketoAuthError,
    MarketoError,
    MarketoExportEventError,
    MarketoExportNotCompletedError,
    MarketoExportQuotaError,
    MarketoMalformedAnswerError,
    MarketoQueueFullError,
    MarketoRequestError,
    MarketoTransientError,
    describe_quota_reset,
)
from airflow_provider_marketo_pm.export_kind import ExportKind, ExportRequest
from airflow_provider_marketo_pm.export_status import (
    COMPLETED,
    CREATED,
    MARKETO_STATUS_REFRESH_SECONDS,
    PENDING_STATUSES,
    REATTACHABLE_STATUSES,
    REENQUEUE_AFTER_CREATED_POLLS,
    ExportState,
    deferral_timeout,
    read_export_status,
    still_created_event,
)
from airflow_provider_marketo_pm.hooks.error_classification import SHARED_QUEUE
from airflow_provider_marketo_pm.hooks.exports_across_kinds import list_exports_across_kinds
from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.hooks.marketo_responses import read_export_record
from airflow_provider_marketo_pm.lifecycle import ExportWait
from airflow_provider_marketo_pm.triggers.bulk_export import (
    ENQUEUE_RETRY_EVENT,
    QUOTA_RESET_EVENT,
    MarketoExportTimerTrigger,
)
from airflow_provider_marketo_pm.verified_download import VerifiedDownload, expected_file, public_uri

__all__ = ["MarketoDownloadExportOperator", "MarketoStartExportOperator"]


FILE_AVAILABLE_TIMEOUT = timedelta(minutes=5)
"""
How long a download keeps asking for a Completed job's file that answers 404 (tap-marketo met files that
appear a while after the job reads Completed), with the connection's retry waits; an expired file (kept 7
days) fails once it is spent.
"""

ON_QUOTA_EXCEEDED = ("wait", "fail")
"""What a start does when Marketo's daily export quota (or the budget) is used up."""


class MarketoStartExportOperator(ExportWait):
    """
    Create and enqueue a bulk export job of :attr:`export_kind`; the XCom return value is its ``exportId``.

    A kind's class sets :attr:`export_kind` and declares its request arguments: the parameters of the kind's
    request builder, kept as attributes of the same names (templated if the class lists them in
    ``template_fields``) and validated once, into an :class:`~airflow_provider_marketo_pm.export_kind.
    ExportRequest`, before any call is made. Everything else is this class's, documented here.

    When the shared bulk queue is full (1029 "Too many jobs in queue"; README, "Pacing and pools") the
    operator waits and retries the enqueue up to ``queue_full_retries`` times, ``queue_full_wait`` apart:
    deferred on a timer (no worker slot), or on the worker with ``deferrable=False``.

    When Marketo's daily export quota is used up (1029 "Export daily quota ... exceeded" on create or
    enqueue), the start by default defers until just after the reset (12:00 AM US Central, plus a jitter
    of up to 5 minutes per task instance) and tries again, keeping the Created job (no second export), up
    to ``quota_waits`` resets in a row; then it fails naming the quota and the reset time. With
    ``daily_export_budget_mb`` it first sums this API user's exports of every kind in the current quota
    day (each kind's list endpoint, and each custom object type's: one quota meters them all) and, when the
    budget is spent, waits for the reset the same way before creating the job. The docs' "Large
    backfills" has the arithmetic and what the budget cannot see (other API users' exports).

    On Airflow 3.3+ the exportId is kept in the task state store (under the kind's ``state_key``), so a
    retried task re-attaches to its job instead of starting a second one (a Created job is enqueued, a
    Queued, Processing or Completed one is kept, a Failed or Cancelled one is replaced). Airflow < 3.3 has no
    task state store: there a retry starts a new export.

    With ``wait_for_completion=True`` the task also waits until the job is Completed (deferred to the kind's
    status trigger, or polling on the worker with ``deferrable=False``), failing on Failed/Cancelled as the
    sensor does, and still returns the exportId; the Completed status record is left under XCom key
    ``record``. Why one task from create to completion fits a pool: README, "Pacing and pools".

    Every deferral comes back to :meth:`resume`, which reads from the event which wait ended.

    :param marketo_conn_id: Airflow connection of the Marketo instance (templated).
    :param queue_full_retries: how many more enqueue attempts to make while the queue is full.
    :param queue_full_wait: wait between those attempts (seconds or timedelta).
    :param wait_for_completion: end only when the job is Completed (default: once it is enqueued).
    :param poll_interval: seconds between status checks while waiting (templated; Marketo refreshes
        status once a minute: below 60 against a real instance fails the start before create).
    :param timeout: how long to wait for completion (seconds or timedelta) before failing with
        AirflowSensorTimeout; the job is left running (a retry re-attaches to it on Airflow 3.3+).
    :param deferrable: wait in the triggerer instead of on a worker; defaults to
        ``[operators] default_deferrable``, True when unset. ``False`` never defers (the quota then
        fails at once: a worker must not sleep until the reset).
    :param on_quota_exceeded: ``"wait"`` (default) for the reset, or ``"fail"`` at once. The failure is
        final (AirflowFailException), except on a task with a ``retry_policy`` (e.g.
        ``MarketoRetryPolicy``, Airflow 3.3+): there it is the ``MarketoExportQuotaError`` itself, so that
        the policy retries just after the reset.
    :param quota_waits: how many quota resets in a row to wait for before failing (default 3).
    :param daily_export_budget_mb: MB of exports of every kind this API user allows itself per quota day
        (templated; default: the connection extra of the same name; none: no budget).
    :param reenqueue_after_polls: while waiting, when the job reads ``Created`` this many status reads in
        a row after it was enqueued (default 3), enqueue it again from the worker, at most 3 times (see the
        sensor's argument of the same name). ``None`` never enqueues again.
    :param destination: where the download will write the file (templated, optional): checked before
        the job is created, so that a URL without a scheme, a list rendered as text, ``..`` climbing out
        of the root or bucket, a file that exists without ``overwrite``, or a store that cannot be written
        (a probe is written and deleted: a missing bucket, a read-only directory) fails the start instead
        of the download (after the export used a queue slot and daily quota).
    :param dest_conn_id: Airflow connection of the destination store (templated); it must exist.
    :param overwrite: the download will replace an existing destination; without it an existing one is
        refused at start. Like ``wait_for_completion`` and ``deferrable``: True or False only.

    Durations are finite, at most 7 days; counts at most 1000 (README, "Argument values").
    """

    resume_method = "resume"

    template_fields: Sequence[str] = (
        "marketo_conn_id",
        "poll_interval",
        "daily_export_budget_mb",
        "destination",
        "dest_conn_id",
    )
    ui_color = "#5c4ee5"

    def __init__(
        self,
        *,
        marketo_conn_id: str = "marketo_default",
        queue_full_retries: int = 30,
        queue_full_wait: timedelta | float = timedelta(minutes=2),
        wait_for_completion: bool = False,
        poll_interval: float | str = MARKETO_STATUS_REFRESH_SECONDS,
        timeout: timedelta | float = timedelta(hours=24),
        deferrable: bool | None = None,
        on_quota_exceeded: Literal["wait", "fail"] = "wait",
        quota_waits: int = 3,
        daily_export_budget_mb: float | str | None = None,
        reenqueue_after_polls: int | None = REENQUEUE_AFTER_CREATED_POLLS,
        destination: str | None = None,
        dest_conn_id: str | None = None,
        overwrite: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if on_quota_exceeded not in ON_QUOTA_EXCEEDED:
            raise MarketoRequestError("on_quota_exceeded", on_quota_exceeded, "must be 'wait' or 'fail'")
        self.on_quota_exceeded = on_quota_exceeded
        self.quota_waits = arguments.whole_number("quota_waits", quota_waits, minimum=0)
        if not arguments.rendered_later(daily_export_budget_mb):
            export_budget.validate_daily_budget_mb(daily_export_budget_mb)
        self.daily_export_budget_mb: Any = daily_export_budget_mb
        #: Quota resets this task waited for so far (carried through the quota timer's event).
        self._quota_waits_done = 0
        if destination is not None and not arguments.rendered_later(destination):
            destination_url(destination)
        # Where the download will write: checked before create, so a bad one spends no queue slot or quota.
        self.destination = destination
        self.dest_conn_id = dest_conn_id
        self.overwrite = arguments.flag("overwrite", overwrite)
        self.wait_for_completion = arguments.flag("wait_for_completion", wait_for_completion)
        # A template or XComArg is checked once rendered, in execute(); a plain value now (parse time).
        self.poll_interval: Any = (
            poll_interval
            if arguments.rendered_later(poll_interval)
            else arguments.poll_interval_seconds(poll_interval)
        )
        self.timeout = arguments.duration_seconds("timeout", timeout)
        self.deferrable = lifecycle.deferrable_argument(deferrable)
        self.marketo_conn_id = marketo_conn_id
        self.queue_full_retries = arguments.whole_number("queue_full_retries", queue_full_retries, minimum=0)
        self.queue_full_wait = timedelta(
            seconds=arguments.duration_seconds("queue_full_wait", queue_full_wait)
        )
        self._started_export_id: str | None = None
        self.reenqueue_after_polls = (
            None
            if reenqueue_after_polls is None
            else arguments.whole_number("reenqueue_after_polls", reenqueue_after_polls, minimum=1)
        )

    def export_request(self) -> ExportRequest:
        """
        The validated create request, from the rendered request arguments: the parameters of the kind's
        request builder, read from this task's attributes of the same names. A kind may override it.
        """
        kind = self.job_kind()
        if kind.build_body is None:
            raise TypeError(f"the {kind.name} export kind has no request builder")
        names = inspect.signature(kind.build_body).parameters
        return kind.request(**{name: getattr(self, name) for name in names if hasattr(self, name)})

    @property
    def quota_day(self) -> daily_quota.QuotaDay:
        """
        When the quota day began and when a refused start calls again: Marketo's rule, unless a test
        replaced it (:func:`~airflow_provider_marketo_pm.daily_quota.use_quota_day`). Looked up when the
        task runs, never stored: nothing to serialise with the DAG, and a resumed task asks again.
        """
        return daily_quota.quota_day_in_use()

    # -- the state machine: execute, and one way back from every deferral ---------------------------------

    def execute(self, context: Context) -> str:
        request = self.export_request()
        if self.wait_for_completion:
            self.poll_interval = arguments.poll_interval_seconds(self.poll_interval)  # rendered by now
        self._check_before_create()
        # The rendered argument, checked before any call (the connection extra is read only without one).
        budget_arg = export_budget.validate_daily_budget_mb(self.daily_export_budget_mb)
        store = context.get("task_state_store")
        if store is None:
            self.log.info(
                "No task state store (Airflow < 3.3): if this try fails after the job is created, "
                "a retry starts a new export instead of re-attaching to it."
            )
        previous = self._reattachable_export(store, request)
        if previous is not None:
            export_id, record = previous
            self._started_export_id = export_id
            status = record.get("status")
            if status == COMPLETED:
                self.log.info("Re-attached to export %s, already Completed.", export_id)
                return self._completed(context, export_id, record)
            if status != CREATED:
                self.log.info("Re-attached to export %s (%s) started by an earlier try.", export_id, status)
                return self._wait_if_asked(context, export_id)
            self.log.info("Re-attached to export %s (Created); enqueueing it.", export_id)
        else:
            export_id = self._create(context, request, store, budget_arg)
        return self._enqueue(context, export_id, attempt=0)

    def resume(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """
        The one way back from every deferral of the start; the event says which wait ended: the queue-full
        timer (enqueue again), the quota-reset timer (enqueue the kept job, or create one), or the status
        trigger (the exportId once Completed, else the sensor's failure; a job still reading Created is
        enqueued again and the wait goes on until the same deadline).
        """
        status = event.get("status") if isinstance(event, dict) else None
        if isinstance(event, dict) and status == ENQUEUE_RETRY_EVENT:
            export_id, attempt = _timer_event(event, "attempt", "Enqueue retry timer")
            if export_id is None:
                raise MarketoExportEventError(f"Enqueue retry timer returned no usable event: {event!r}")
            self._started_export_id = export_id
            return self._enqueue(context, export_id, attempt)
        if isinstance(event, dict) and status == QUOTA_RESET_EVENT:
            export_id, self._quota_waits_done = _timer_event(
                {"quota_waits": 0, **event}, "quota_waits", "Quota reset timer"
            )
            return self._after_quota_reset(context, export_id)
        if still_created_event(event):
            self._started_export_id = str(event["export_id"])
        record = self.completed_record(event)
        return self._completed(context, str(record.get("exportId") or (event or {})["export_id"]), record)

    # The stored method names of tasks deferred by an earlier version: each is the one resume.
    resume_enqueue = resume_after_quota_reset = resume_after_completion = resume

    # -- create, or re-attach ------------------------------------------------------------------------------

    def _create(self, context: Context, request: ExportRequest, store: Any, budget_arg: float | None) -> str:
        """Create the job, unless the budget is spent or Marketo refuses for the quota: then wait."""
        self._wait_if_budget_spent(context, request.kind, budget_arg)
        try:
            record = self.hook.create_export(request)
        except MarketoExportQuotaError as err:
            self._wait_for_quota_reset(context, None, err, "No export was created")
        export_id = str(record["exportId"])
        self._started_export_id = export_id
        self.log.info("Created %s export %s.", request.kind.name, export_id)
        if store is not None:
            store.set(request.kind.state_key, {"export_id": export_id, "request": request.fingerprint})
        return export_id

    def _check_before_create(self) -> None:
        """
        Refuse what would only fail after the job used a queue slot and daily quota: a connection that is
        not Marketo's REST API (parsed here, before any call), a wait polling a real instance faster than
        its status refresh, a destination without a scheme, one that exists already without
        ``overwrite``, or one that cannot be written (missing bucket or directory, no permission, unknown
        ``dest_conn_id``: proven with a probe that is deleted again).
        """
        self.hook.settings  # noqa: B018 - parsing the connection refuses e.g. Marketo's web UI as host
        if self.wait_for_completion:
            lifecycle.check_poll_pace(arguments.poll_interval_seconds(self.poll_interval), self.hook)
        if self.destination is not None:
            checked_destination(self.destination, self.dest_conn_id, overwrite=self.overwrite)

    def _reattachable_export(self, store: Any, request: ExportRequest) -> tuple[str, dict[str, Any]] | None:
        """Return (exportId, status record) of an earlier try's job that can still serve this request."""
        saved = store.get(request.kind.state_key) if store is not None else None
        if not isinstance(saved, dict) or not saved.get("export_id"):
            return None
        export_id = str(saved["export_id"])
        if saved.get("request") != request.fingerprint:
            self.log.info(
                "Export %s of an earlier try asked for another request; starting afresh.", export_id
            )
            return None
        try:
            record = self.hook.get_export_status(request.kind, export_id)
        except (MarketoTransientError, MarketoAuthError, MarketoMalformedAnswerError):
            raise  # cannot tell what the job is: never spend a create on a guess
        except MarketoApiError as err:
            self.log.warning(
                "Export %s of an earlier try is unreadable (%s); starting afresh.", export_id, err
            )
            return None
        if record.get("status") in REATTACHABLE_STATUSES:
            return export_id, record
        self.log.info("Export %s of an earlier try is %s; starting afresh.", export_id, record.get("status"))
        return None

    # -- enqueue, waiting while Marketo has no room --------------------------------------------------------

    def _enqueue(self, context: Context, export_id: str, attempt: int) -> str:
        """Enqueue the job; while the queue is full, wait (see :meth:`_wait_before_enqueue`) and try again."""
        while True:
            try:
                record = self.hook.enqueue_export(self.job_kind(), export_id)
            except MarketoExportQuotaError as err:
                self._wait_for_quota_reset(context, export_id, err, f"Export {export_id} was not enqueued")
            except MarketoQueueFullError as err:
                if attempt >= self.queue_full_retries:
                    waited = self.queue_full_wait * attempt
                    raise MarketoQueueFullError(
                        f"Export {export_id} could not be enqueued: the queue was still full after "
                        f"{attempt + 1} attempts over {waited} (Marketo's {SHARED_QUEUE}). The job stays "
                        "Created; raise queue_full_retries/queue_full_wait or schedule exports apart.",
                        code=err.code,
                        endpoint="enqueue",
                    ) from err
                attempt += 1
                reason = (
                    f"Queue full for export {export_id} (Marketo's {SHARED_QUEUE}). "
                    f"Enqueue attempt {attempt + 1} of {self.queue_full_retries + 1} "
                    f"in {self.queue_full_wait}."
                )
                self._wait_before_enqueue(export_id, attempt, self.queue_full_wait, reason)
                continue
            self.log.info("Enqueued export %s (%s).", export_id, record.get("status"))
            return self._wait_if_asked(context, export_id)

    def _wait_before_enqueue(self, export_id: str, attempt: int, wait: timedelta, reason: str) -> None:
        """
        The one place a start waits before trying the enqueue again, whatever the reason (a full queue
        today): deferred on the timer (no worker slot; :meth:`resume` carries on), or, with
        ``deferrable=False``, asleep on the worker, returning when it is time.
        """
        self.log.info(reason)
        if not self.deferrable:
            time.sleep(wait.total_seconds())
            return
        self.defer(
            trigger=MarketoExportTimerTrigger.enqueue_retry(
                export_id, attempt, retry_at=time.time() + wait.total_seconds()
            ),
            method_name=self.resume_method,
            timeout=deferral_timeout(wait.total_seconds()),
        )

    # -- the daily export quota and the budget: wait for the reset -----------------------------------------

    def _wait_if_budget_spent(self, context: Context, kind: ExportKind, budget_arg: float | None) -> None:
        """
        With a daily budget (the argument, else the connection extra), sum this API user's exports of every
        kind in the current quota day (each kind's list endpoint, paged, and one per custom object type in
        use: Marketo meters them on one quota) and wait for the reset once it is spent.
        """
        budget_mb = budget_arg if budget_arg is not None else self.hook.settings.daily_export_budget_mb
        if budget_mb is None:
            return
        exports = list_exports_across_kinds(self.hook, "Completed")
        spent = exports.bytes_since(self.quota_day.last_reset())
        used = (
            f"{spent / export_budget.BYTES_PER_MB:.1f} MB of the {budget_mb:g} MB daily budget "
            "(exports of every kind)"
        )
        if not export_budget.budget_spent(spent, budget_mb):
            self.log.info("Daily export budget: %s used so far today.", used)
            return
        self._wait_for_quota_reset(context, None, None, f"No export was created ({used} are used)")

    def _wait_for_quota_reset(
        self, context: Context, export_id: str | None, err: MarketoExportQuotaError | None, what: str
    ) -> NoReturn:
        """
        The daily export quota (``err``) or the budget (``err`` None) is used up: defer until just after
        the reset and try again (the Created job ``export_id`` is kept: no second export), at most
        ``quota_waits`` times in a row; else fail. With ``on_quota_exceeded="fail"`` or ``deferrable=False``
        (a worker must not sleep for a day) fail at once.
        """
        resume = self.quota_day.resume(context)
        resets_at = err.resets_at if err is not None else resume.resets_at
        quota = "Marketo's bulk export daily quota" if err is not None else "The daily export budget"
        if self.on_quota_exceeded == "fail" or not self.deferrable:
            raise self._quota_failure(f"{what}: {quota} is used up", resets_at, err)
        if self._quota_waits_done >= self.quota_waits:
            raise self._quota_failure(
                f"{what}: {quota} is still used up after waiting for {self._quota_waits_done} reset(s) "
                f"(quota_waits={self.quota_waits})",
                resets_at,
                err,
            )
        resume_at = resume.resume_at.timestamp()
        wait = max(0.0, resume.wait.total_seconds())
        self.log.info(
            "%s: %s is used up; %s. Waiting for reset %d of at most %d, until %sZ%s.",
            what,
            quota,
            describe_quota_reset(resets_at),
            self._quota_waits_done + 1,
            self.quota_waits,
            resume.resume_at.format("YYYY-MM-DDTHH:mm:ss"),
            f" (export {export_id} stays Created)" if export_id else "",
        )
        self.defer(
            trigger=MarketoExportTimerTrigger.quota_reset(export_id, self._quota_waits_done + 1, resume_at),
            method_name=self.resume_method,
            timeout=deferral_timeout(wait),
        )

    def _quota_failure(
        self, what: str, resets_at: pendulum.DateTime, err: MarketoExportQuotaError | None
    ) -> AirflowFailException | MarketoExportQuotaError:
        """
        The final failure. A task with a ``retry_policy`` (e.g. MarketoRetryPolicy, Airflow 3.3+) gets the
        quota error itself, so the policy can retry at the reset; Airflow gives an AirflowFailException no
        retry and no policy. Without a policy the failure is final: a retry before the reset would only be
        refused again (and, before Airflow 3.3, start a second export).
        """
        message = f"{what}; {describe_quota_reset(resets_at)}."
        if getattr(self, "retry_policy", None) is not None:
            return MarketoExportQuotaError(
                message,
                resets_at=resets_at,
                code=err.code if err is not None else None,
                request_id=err.request_id if err is not None else None,
                endpoint=err.endpoint if err is not None else None,
            )
        return AirflowFailException(f"{message} Not retrying before then." + (f" ({err})" if err else ""))

    def _after_quota_reset(self, context: Context, export_id: str | None) -> str:
        """Just after the quota reset: enqueue the kept job, or create one (budget checked)."""
        if export_id is not None:
            self._started_export_id = export_id
            self.log.info("Quota reset passed: enqueueing export %s again.", export_id)
        else:
            self.log.info("Quota reset passed: creating the export.")
            request = self.export_request()
            self._check_before_create()  # a day later: the destination may have changed
            budget_arg = export_budget.validate_daily_budget_mb(self.daily_export_budget_mb)
            export_id = self._create(context, request, context.get("task_state_store"), budget_arg)
        return self._enqueue(context, export_id, attempt=0)

    # -- wait for completion ---------------------------------------------------------------------------------

    def _wait_if_asked(self, context: Context, export_id: str) -> str:
        """With ``wait_for_completion``, return only once the enqueued job is Completed."""
        if not self.wait_for_completion:
            return export_id
        if self.deferrable:
            self.defer_until_completed(export_id, end_time=time.time() + self.timeout)
        record = self.hook.wait_for_export(
            self.job_kind(),
            export_id,
            poll_interval=arguments.poll_interval_seconds(self.poll_interval),
            timeout=self.timeout,
            reenqueue_after_polls=self.reenqueue_after_polls,
        )
        return self._completed(context, export_id, record)

    def _completed(self, context: Context, export_id: str, record: Mapping[str, Any]) -> str:
        """Leave the Completed record under XCom key ``record`` (the download makes no status call)."""
        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push(key=lifecycle.RECORD_XCOM_KEY, value=dict(record))
        return export_id

    def on_kill(self) -> None:
        """Cancel the job this task started, unless it already completed (its file is paid for)."""
        export_id = self._started_export_id
        if export_id is None:
            return
        try:
            status = self.hook.get_export_status(self.job_kind(), export_id).get("status")
            if status in PENDING_STATUSES:
                self.hook.cancel_export(self.job_kind(), export_id)
                self.log.info("Cancelled Marketo export %s (was %s).", export_id, status)
        except MarketoError as err:
            self.log.warning("Could not cancel Marketo export %s: %s", export_id, err)


def _timer_event(event: Mapping[str, Any], count: str, timer: str) -> tuple[str | None, int]:
    """The job (or None) and the count of a timer's event, or the error of an event that is not one."""
    value = event.get(count)
    export_id = event.get("export_id")
    if isinstance(value, bool) or not isinstance(value, int) or not isinstance(export_id, str | None):
        raise MarketoExportEventError(f"{timer} returned no usable event: {dict(event)!r}")
    return (export_id or None), value


class MarketoDownloadExportOperator(BaseOperator):
    """
    Stream a Completed job's file of :attr:`export_kind` to any Airflow object store, verified before it is
    published.

    The file is streamed in fixed-size chunks (memory does not grow with its size) to a temporary
    sibling of the destination (``<dest>.<host>-<pid>-<token>.partial``, same store, owned by this try:
    two downloads to one destination never touch each other's), hashed with SHA-256 and counted on the
    way; on a local disk, a ``fileSize`` larger than the free space fails before the download. It is
    moved into place only when the byte count equals ``fileSize`` and the hash equals ``fileChecksum``;
    on any failure the temporary data is removed (an S3 multipart
    upload is aborted, not completed), so the destination never holds a partial or unverified file.
    A mismatch raises :class:`~airflow_provider_marketo_pm.exceptions.MarketoExportIntegrityError`,
    which the task's retries retry: bytes corrupted in transit come right with a fresh download.
    A dropped connection or a 5xx mid-stream resumes from the last byte with ``Range``, at most
    ``max_resumes`` times. (The copy itself is :class:`~airflow_provider_marketo_pm.verified_download.
    VerifiedDownload`; this operator checks its arguments and the job, and reports the result.)

    Returns ``{"uri", "bytes", "records", "sha256", "export_id"}`` (``bytes`` and ``sha256`` are the
    file as Marketo served it, also when gzipped). An ``Asset`` outlet receives the file's details
    as event extra; an ``AssetAlias`` outlet receives an event for ``Asset(uri)`` of the written
    file, which is how a templated destination feeds asset-scheduled DAGs.

    :param export_id: exportId of a Completed job (templated).
    :param destination: ObjectStoragePath URL of the file to write (templated): ``file://``,
        ``s3://``, ``gs://``, ``abfs://``... (with the store's filesystem installed).
    :param marketo_conn_id: Airflow connection of the Marketo instance (templated).
    :param dest_conn_id: Airflow connection of the destination store.
    :param overwrite: replace an existing destination; by default it is refused (True or False only).
    :param compression: ``None`` or ``"gzip"`` (the stored file is gzipped).
    :param chunk_size: bytes read and written per chunk (1 byte to 64 MiB).
    :param max_resumes: how many times a broken stream is resumed with ``Range`` (at most 1000).
    :param progress_interval: seconds between progress log lines (a finite number, at most 7 days).
    :param record: the job's Completed status record if already read (templated, e.g. the sensor's
        XCom): then no status call is made.
    :param verify_checksum: refuse a Completed record without ``fileChecksum`` (default: nothing
        unverified is published). ``False`` publishes such a file verified by its ``fileSize`` only, with a
        warning; a checksum that is there is always verified. A record without ``fileSize`` is verified by
        its checksum. Either way the log says which is missing.
    :param file_available_timeout: how long (seconds or timedelta, default 5 minutes) to keep asking
        for the file of a Completed job that answers 404, with the connection's retry waits; then the
        download fails with :class:`~airflow_provider_marketo_pm.exceptions.MarketoFileNotAvailableError`
        (an expired file too: files are kept 7 days).
    """

    #: The export kind of the jobs it downloads; a kind's class sets it.
    export_kind: ClassVar[ExportKind]

    template_fields: Sequence[str] = ("export_id", "destination", "dest_conn_id", "marketo_conn_id", "record")
    ui_color = "#5c4ee5"

    def __init__(
        self,
        *,
        export_id: Any,
        destination: str,
        marketo_conn_id: str = "marketo_default",
        dest_conn_id: str | None = None,
        overwrite: bool = False,
        compression: Literal["gzip"] | None = None,
        chunk_size: int = 1024 * 1024,
        max_resumes: int = 5,
        progress_interval: float = 30.0,
        record: Any = None,
        verify_checksum: bool = True,
        file_available_timeout: timedelta | float = FILE_AVAILABLE_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if compression not in (None, "gzip"):
            raise MarketoRequestError("compression", compression, "must be None or 'gzip'")
        self.chunk_size = arguments.chunk_size(chunk_size)
        self.max_resumes = arguments.whole_number("max_resumes", max_resumes, minimum=0)
        # Templated: literal values are checked now (DAG parse time), rendered ones again in execute().
        if not arguments.rendered_later(export_id):
            arguments.export_id(export_id)
        if not arguments.rendered_later(destination):
            destination_url(destination)
        self.export_id: Any = export_id  # an XComArg or template until rendered: a str in execute()
        self.destination = destination
        self.marketo_conn_id = marketo_conn_id
        self.dest_conn_id = dest_conn_id
        self.overwrite = arguments.flag("overwrite", overwrite)
        self.compression = compression
        self.progress_interval = arguments.duration_seconds("progress_interval", progress_interval)
        self.record: Any = record
        self.verify_checksum = arguments.flag("verify_checksum", verify_checksum)
        self.file_available_timeout = arguments.duration_seconds(
            "file_available_timeout", file_available_timeout
        )
        self._result: dict[str, Any] | None = None

    @cached_property
    def hook(self) -> MarketoHook:
        """One hook (one session, one token) per task."""
        return MarketoHook(marketo_conn_id=self.marketo_conn_id)

    def job_kind(self) -> ExportKind:
        """The kind of the job, its path bound (see :meth:`ExportWait.job_kind <airflow_provider_marketo_pm.
        lifecycle.ExportWait.job_kind>`)."""
        return self.export_kind.bound_for(self)

    def _completed_record(self, export_id: str) -> dict[str, Any]:
        """
        The job's Completed record: the one handed in (read as a status answer is: its numbers and checksum
        checked), else one status call.
        """
        given = self.record
        if isinstance(given, Mapping) and str(given.get("exportId")) == export_id:
            record = read_export_record(given, export_id=export_id)
        else:
            record = self.hook.get_export_status(self.job_kind(), export_id)
        status = read_export_status(record)
        if status.state is ExportState.ERROR:
            raise AirflowFailException(status.message)
        if status.state is not ExportState.DONE:
            raise MarketoExportNotCompletedError(
                f"{status.message} Only a Completed export has a file to download."
            )
        return record

    def execute(self, context: Context) -> dict[str, Any]:
        export_id = arguments.export_id(self.export_id)
        destination = object_storage_path(self.destination, self.dest_conn_id)
        # Every number and the checksum are checked here, before a byte is read: never after publishing.
        record = self._completed_record(export_id)
        expected_size, expected_sha256 = expected_file(
            record, verify_checksum=self.verify_checksum, log=self.log
        )
        records = record.get("numberOfRecords") or 0
        copier = VerifiedDownload(
            log=self.log,
            chunk_size=self.chunk_size,
            max_resumes=self.max_resumes,
            progress_interval=self.progress_interval,
            compression=self.compression,
            overwrite=self.overwrite,
            file_available_timeout=self.file_available_timeout,
        )
        sha256, received = copier.copy(
            self.hook,
            export_id,
            destination,
            expected_size=expected_size,
            expected_sha256=expected_sha256,
            kind=self.job_kind(),
        )
        self._result = {
            "uri": public_uri(destination),
            "bytes": received,
            "records": records,
            "sha256": sha256,
            "export_id": export_id,
        }
        self._emit_asset_events(context, self._result)
        return self._result

    def _emit_asset_events(self, context: Context, result: Mapping[str, Any]) -> None:
        extra = {key: result[key] for key in ("export_id", "records", "sha256", "bytes")}
        outlet_events = context.get("outlet_events")
        if outlet_events is None:
            return
        for outlet in self.outlets:
            if isinstance(outlet, AssetAlias):
                outlet_events[outlet].add(Asset(uri=result["uri"]), extra=extra)
            elif isinstance(outlet, Asset):
                outlet_events[outlet].extra.update(extra)


# default_deferrable, deferrable_argument, check_poll_pace and RECORD_XCOM_KEY, now in lifecycle.py (which the
# sensor imports too), warn and keep working.
__getattr__ = moved_names(__name__)
