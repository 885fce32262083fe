"""Task groups that DAGs reuse: start -> wait -> download, mappable over export jobs."""

from airflow_provider_marketo_pm.task_groups.activities import activity_export_group
from airflow_provider_marketo_pm.task_groups.custom_objects import custom_object_export_group
from airflow_provider_marketo_pm.task_groups.leads import lead_export_group
from airflow_provider_marketo_pm.task_groups.program_members import (
    DEFAULT_PROGRAM_MEMBER_FIELDS,
    MARKETO_BULK_EXPORT_POOL,
    ProgramMemberExportSettings,
    export_results,
    program_member_export_group,
)

__all__ = [
    "DEFAULT_PROGRAM_MEMBER_FIELDS",
    "MARKETO_BULK_EXPORT_POOL",
    "ProgramMemberExportSettings",
    "activity_export_group",
    "custom_object_export_group",
    "export_results",
    "lead_export_group",
    "program_member_export_group",
]
