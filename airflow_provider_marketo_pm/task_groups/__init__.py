"""Task groups that DAGs reuse: start -> wait -> download, mappable over export jobs."""

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
    "export_results",
    "program_member_export_group",
]
