"""The status trigger of program member exports (its class path is what deferred tasks have stored).

The trigger itself is written once for every export kind, in
:mod:`airflow_provider_marketo_pm.triggers.bulk_export`.
"""

from __future__ import annotations

from typing import ClassVar

from airflow_provider_marketo_pm._compat import moved_names
from airflow_provider_marketo_pm.export_kind import ExportKind
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.triggers.bulk_export import MarketoExportStatusTrigger

__all__ = ["MarketoProgramMemberExportTrigger"]


class MarketoProgramMemberExportTrigger(MarketoExportStatusTrigger):
    """Poll a program member export's status until it is terminal (:class:`MarketoExportStatusTrigger`)."""

    export_kind: ClassVar[ExportKind | None] = PROGRAM_MEMBERS


# Older names (the enqueue timer of tasks deferred by 0.1.0, the status words once read from here) warn
# and keep working.
__getattr__ = moved_names(__name__)
