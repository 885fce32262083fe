"""The public API the README documents, pinned: class and argument names, module paths, old import paths."""

from __future__ import annotations

import importlib
import inspect

import pytest

import airflow_provider_marketo_pm.exceptions as exceptions

DOCUMENTED = {
    "airflow_provider_marketo_pm.hooks.marketo": ["MarketoHook"],
    "airflow_provider_marketo_pm.operators.program_members": [
        "MarketoStartProgramMemberExportOperator",
        "MarketoDownloadProgramMemberExportOperator",
    ],
    "airflow_provider_marketo_pm.sensors.program_members": ["MarketoProgramMemberExportSensor"],
    "airflow_provider_marketo_pm.triggers.program_members": ["MarketoProgramMemberExportTrigger"],
    "airflow_provider_marketo_pm.task_groups": [
        "program_member_export_group",
        "ProgramMemberExportSettings",
        "DEFAULT_PROGRAM_MEMBER_FIELDS",
        "MARKETO_BULK_EXPORT_POOL",
    ],
    "airflow_provider_marketo_pm.windows": [
        "split_updated_at",
        "batch_program_ids",
        "plan_updated_at",
        "plan_last_days",
        "ExportPlan",
        "DEFAULT_EXPORT_PATH",
    ],
    "airflow_provider_marketo_pm.rows": ["read_export_rows"],
    "airflow_provider_marketo_pm.operators.parquet": ["MarketoExportToParquetOperator"],
    "airflow_provider_marketo_pm.operators.postgres": ["MarketoExportToPostgresOperator"],
    "airflow_provider_marketo_pm.operators.removed_memberships": ["MarketoRemovedMembershipsOperator"],
    "airflow_provider_marketo_pm.kind_tables": ["KindTable", "kind_table"],
    "airflow_provider_marketo_pm.export_kind": ["ExportKind", "ExportRequest"],
    "airflow_provider_marketo_pm.kinds.program_members": ["PROGRAM_MEMBERS", "PROGRAM_MEMBER_TABLE"],
    # Another export kind: the lifecycle written once, and the rules kinds share.
    "airflow_provider_marketo_pm.operators.bulk_export": [
        "MarketoStartExportOperator",
        "MarketoDownloadExportOperator",
    ],
    "airflow_provider_marketo_pm.sensors.bulk_export": ["MarketoExportSensor"],
    "airflow_provider_marketo_pm.triggers.bulk_export": [
        "MarketoExportStatusTrigger",
        "MarketoExportTimerTrigger",
    ],
    "airflow_provider_marketo_pm.task_groups.bulk_export": ["export_tasks"],
    "airflow_provider_marketo_pm.validation": [
        "parse_fields",
        "parse_format",
        "parse_column_header_names",
        "parse_instant",
        "parse_date_window",
    ],
    "airflow_provider_marketo_pm.program_selection": ["parse_program_selection", "resolve_program_ids"],
    "airflow_provider_marketo_pm.testing.quota_day": ["compressed_quota_day"],
    "airflow_provider_marketo_pm.daily_quota": ["QuotaDay", "next_quota_reset", "last_quota_reset"],
    "airflow_provider_marketo_pm.hooks.call_retries": ["CallRetries"],
    # Moved names keep working through _compat.MOVED, with a DeprecationWarning (tests/test_compat.py).
}


@pytest.mark.parametrize(("module", "name"), [(m, n) for m, names in DOCUMENTED.items() for n in names])
def test_documented_names_import(module, name):
    assert hasattr(importlib.import_module(module.strip()), name)


NARROW = [
    "airflow_provider_marketo_pm.export_kind",
    "airflow_provider_marketo_pm.kinds.program_members",
    "airflow_provider_marketo_pm.kind_tables",
    "airflow_provider_marketo_pm.validation",
    "airflow_provider_marketo_pm.operators.bulk_export",
    "airflow_provider_marketo_pm.operators.program_members",
    "airflow_provider_marketo_pm.sensors.bulk_export",
    "airflow_provider_marketo_pm.sensors.program_members",
    "airflow_provider_marketo_pm.triggers.bulk_export",
    "airflow_provider_marketo_pm.triggers.program_members",
    "airflow_provider_marketo_pm.task_groups.bulk_export",
]
UNDOCUMENTED = [
    "airflow_provider_marketo_pm.export_status",
    "airflow_provider_marketo_pm.lifecycle",
    "airflow_provider_marketo_pm.hooks.field_suggestions",
]


@pytest.mark.parametrize("module", NARROW + UNDOCUMENTED)
def test_a_kind_or_lifecycle_module_makes_public_only_what_the_readme_documents(module):
    assert set(importlib.import_module(module).__all__) == set(DOCUMENTED.get(module, []))


def test_the_window_helpers_are_the_modules_public_names():
    import airflow_provider_marketo_pm.windows as windows

    assert set(DOCUMENTED["airflow_provider_marketo_pm.windows"]) <= set(windows.__all__)


def test_exception_names():
    assert {
        "MarketoError",
        "MarketoConnectionConfigError",
        "MarketoRequestError",
        "MarketoApiError",
        "MarketoTransientError",
        "MarketoAuthError",
        "MarketoQueueFullError",
        "MarketoExportQuotaError",
        "MarketoApiQuotaError",
        "MarketoFileNotAvailableError",
        "MarketoExportIntegrityError",
    } <= set(exceptions.__all__)


def parameters(cls) -> set[str]:
    return {
        name
        for cls_ in cls.__mro__
        if "__init__" in vars(cls_)
        for name in inspect.signature(cls_).parameters
    }


def test_argument_names():
    from airflow_provider_marketo_pm.operators.program_members import (
        MarketoDownloadProgramMemberExportOperator,
        MarketoStartProgramMemberExportOperator,
    )
    from airflow_provider_marketo_pm.sensors.program_members import MarketoProgramMemberExportSensor

    assert {
        "fields", "filter", "format", "column_header_names", "marketo_conn_id", "queue_full_retries",
        "queue_full_wait", "wait_for_completion", "poll_interval", "timeout", "deferrable",
        "on_quota_exceeded", "quota_waits", "daily_export_budget_mb",
    } <= parameters(MarketoStartProgramMemberExportOperator)  # fmt: skip
    assert {
        "export_id", "destination", "marketo_conn_id", "dest_conn_id", "overwrite", "compression",
        "chunk_size", "max_resumes", "progress_interval", "program_ids",
    } <= parameters(MarketoDownloadProgramMemberExportOperator)  # fmt: skip
    assert {
        "export_id", "marketo_conn_id", "poll_interval", "timeout", "deferrable", "cancel_on_timeout",
        "cancel_on_kill",
    } <= parameters(MarketoProgramMemberExportSensor)  # fmt: skip


def test_the_hook_is_an_http_hook_whose_calls_are_made_for_marketo():
    from airflow.providers.http.hooks.http import HttpHook

    from airflow_provider_marketo_pm.hooks.marketo import MarketoHook

    assert issubclass(MarketoHook, HttpHook)
    for name in ("get_conn", "run", "run_and_check", "check_response", "run_with_advanced_retry"):
        assert name in vars(MarketoHook), f"{name} is HttpHook's, not made for Marketo"
    assert MarketoHook.conn_type == "marketo"
