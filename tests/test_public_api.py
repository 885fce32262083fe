"""The public API the docs document, pinned: class and argument names, module paths, old import paths."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from functools import cached_property
from pathlib import Path

import pytest

import airflow_provider_marketo_pm.exceptions as exceptions

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
HOOK_PAGE = (Path(__file__).resolve().parents[1] / "docs" / "hook.md").read_text(encoding="utf-8")

DOCUMENTED = {
    "airflow_provider_marketo_pm.hooks.marketo": ["MarketoHook"],
    "airflow_provider_marketo_pm.operators.program_members": [
        "MarketoStartProgramMemberExportOperator",
        "MarketoDownloadProgramMemberExportOperator",
    ],
    "airflow_provider_marketo_pm.sensors.program_members": ["MarketoProgramMemberExportSensor"],
    "airflow_provider_marketo_pm.triggers.program_members": ["MarketoProgramMemberExportTrigger"],
    # The other three kinds, on the same lifecycle (docs/other-kinds.md).
    "airflow_provider_marketo_pm.operators.leads": [
        "MarketoStartLeadExportOperator",
        "MarketoDownloadLeadExportOperator",
    ],
    "airflow_provider_marketo_pm.sensors.leads": ["MarketoLeadExportSensor"],
    "airflow_provider_marketo_pm.task_groups.leads": ["lead_export_group"],
    "airflow_provider_marketo_pm.operators.activities": [
        "MarketoStartActivityExportOperator",
        "MarketoDownloadActivityExportOperator",
    ],
    "airflow_provider_marketo_pm.sensors.activities": ["MarketoActivityExportSensor"],
    "airflow_provider_marketo_pm.task_groups.activities": ["activity_export_group"],
    "airflow_provider_marketo_pm.operators.custom_objects": [
        "MarketoStartCustomObjectExportOperator",
        "MarketoDownloadCustomObjectExportOperator",
    ],
    "airflow_provider_marketo_pm.sensors.custom_objects": ["MarketoCustomObjectExportSensor"],
    "airflow_provider_marketo_pm.task_groups.custom_objects": ["custom_object_export_group"],
    "airflow_provider_marketo_pm.kinds.leads": ["LEADS", "LEAD_TABLE", "build_lead_export_request"],
    "airflow_provider_marketo_pm.kinds.activities": [
        "ACTIVITIES",
        "ACTIVITY_TABLE",
        "build_activity_export_request",
        "resolve_activity_type_ids",
    ],
    "airflow_provider_marketo_pm.kinds.custom_objects": [
        "CUSTOM_OBJECTS",
        "CUSTOM_OBJECT_TABLE",
        "build_custom_object_export_request",
    ],
    "airflow_provider_marketo_pm.task_groups": [
        "program_member_export_group",
        "lead_export_group",
        "activity_export_group",
        "custom_object_export_group",
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
    "airflow_provider_marketo_pm.backfill_plan": [
        "plan_backfill",
        "plan_recent_days",
        "BackfillPlan",
        "BackfillJob",
        "ORDERS",
    ],
    "airflow_provider_marketo_pm.backfill_runs": ["BackfillRuns", "plan_backfill_runs", "max_map_length"],
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
    "airflow_provider_marketo_pm.plan_summary": [
        "summarize_plan",
        "summarize_backfill_runs",
        "PlanSummary",
        "DEFAULT_MB_PER_JOB",
    ],
    "airflow_provider_marketo_pm.operators.plan_approval": ["MarketoPlanApprovalOperator"],
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
    "airflow_provider_marketo_pm.operators.leads",
    "airflow_provider_marketo_pm.operators.activities",
    "airflow_provider_marketo_pm.operators.custom_objects",
    "airflow_provider_marketo_pm.sensors.leads",
    "airflow_provider_marketo_pm.sensors.activities",
    "airflow_provider_marketo_pm.sensors.custom_objects",
    "airflow_provider_marketo_pm.task_groups.leads",
    "airflow_provider_marketo_pm.task_groups.activities",
    "airflow_provider_marketo_pm.task_groups.custom_objects",
    "airflow_provider_marketo_pm.sensors.bulk_export",
    "airflow_provider_marketo_pm.sensors.program_members",
    "airflow_provider_marketo_pm.triggers.bulk_export",
    "airflow_provider_marketo_pm.triggers.program_members",
    "airflow_provider_marketo_pm.task_groups.bulk_export",
]
UNDOCUMENTED = [
    "airflow_provider_marketo_pm.export_status",
    "airflow_provider_marketo_pm.lifecycle",
    "airflow_provider_marketo_pm.field_suggestions",
    "airflow_provider_marketo_pm.task_arguments",
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
        "MarketoPlanTooLargeError",
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


AIRFLOW_HOOK_API = {"get_conn", "test_connection", "get_ui_field_behaviour", "get_connection_form_widgets"}
"""What Airflow asks of a hook (the connection form, the session, the UI's Test button)."""


def test_the_hooks_public_methods_are_the_ones_the_readme_documents():
    """Airflow's and HttpHook's hook API, and the methods the docs' hook page names."""
    from airflow_provider_marketo_pm.hooks import marketo

    section = HOOK_PAGE
    methods = {
        name
        for name, value in vars(marketo.MarketoHook).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, classmethod | cached_property))
    }
    assert methods >= AIRFLOW_HOOK_API
    assert {"create_export", "run", "settings", "clear_token_cache"} <= methods  # the filter sees each kind
    named = {name for name in methods if re.search(rf"`(MarketoHook\.)?{name}[(`]", section)}
    assert methods - AIRFLOW_HOOK_API - named == set()


def test_the_hook_module_defines_one_public_name():
    from airflow_provider_marketo_pm.hooks import marketo

    tree = ast.parse(Path(marketo.__file__).read_text(encoding="utf-8"))
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)} | {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    assert {name for name in defined if not name.startswith("_")} == {"MarketoHook"}
    assert marketo.__all__ == ["MarketoHook"]
