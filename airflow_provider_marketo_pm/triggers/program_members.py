"""The status trigger of program member exports (its class path is what deferred tasks have stored).

The trigger itself is written once for every export kind, in
:mod:`airflow_provider_marketo_pm.triggers.bulk_export`.
"""

from __future__ import annotations

from airflow_provider_marketo_pm.export_status import (  # noqa: F401 - older imports from this module
    ExportState,
    ExportStatusVerdict,
    jittered_interval,
    judge_export_status,
)
from airflow_provider_marketo_pm.triggers.bulk_export import (
    MarketoExportEnqueueRetryTrigger,
    MarketoExportStatusTrigger,
)
from airflow_provider_marketo_pm.version_compat import TRIGGER_ON_KILL_SUPPORTED  # noqa: F401

__all__ = ["MarketoExportEnqueueRetryTrigger", "MarketoProgramMemberExportTrigger"]


class MarketoProgramMemberExportTrigger(MarketoExportStatusTrigger):
    """Poll a program member export's status until it is terminal (:class:`MarketoExportStatusTrigger`)."""
