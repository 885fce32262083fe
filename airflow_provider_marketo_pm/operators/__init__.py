"""Operators that start a program member export and download its verified file."""

from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)

__all__ = ["MarketoDownloadProgramMemberExportOperator", "MarketoStartProgramMemberExportOperator"]
