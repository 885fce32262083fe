"""Operators that start a bulk export of each kind and download its verified file."""

from airflow_provider_marketo_pm.operators.activities import (
    MarketoDownloadActivityExportOperator,
    MarketoStartActivityExportOperator,
)
from airflow_provider_marketo_pm.operators.custom_objects import (
    MarketoDownloadCustomObjectExportOperator,
    MarketoStartCustomObjectExportOperator,
)
from airflow_provider_marketo_pm.operators.leads import (
    MarketoDownloadLeadExportOperator,
    MarketoStartLeadExportOperator,
)
from airflow_provider_marketo_pm.operators.program_members import (
    MarketoDownloadProgramMemberExportOperator,
    MarketoStartProgramMemberExportOperator,
)

__all__ = [
    "MarketoDownloadActivityExportOperator",
    "MarketoDownloadCustomObjectExportOperator",
    "MarketoDownloadLeadExportOperator",
    "MarketoDownloadProgramMemberExportOperator",
    "MarketoStartActivityExportOperator",
    "MarketoStartCustomObjectExportOperator",
    "MarketoStartLeadExportOperator",
    "MarketoStartProgramMemberExportOperator",
]
