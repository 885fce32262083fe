"""Operators that start a Marketo lead export and download its verified file.

The lifecycle and every argument of it are written once, in
:mod:`airflow_provider_marketo_pm.operators.bulk_export`; these classes name the lead kind
(:data:`~airflow_provider_marketo_pm.kinds.leads.LEADS`) and declare its request arguments.
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_marketo_pm.kinds.leads import LEADS
from airflow_provider_marketo_pm.operators.bulk_export import (
    MarketoDownloadExportOperator,
    MarketoStartExportOperator,
)
from airflow_provider_marketo_pm.task_arguments import (
    REQUEST_TEMPLATE_FIELDS,
    CreateRequestArguments,
)

__all__ = ["MarketoDownloadLeadExportOperator", "MarketoStartLeadExportOperator"]


class MarketoStartLeadExportOperator(CreateRequestArguments, MarketoStartExportOperator):
    """
    Create and enqueue a lead export; the XCom return value is its ``exportId``.

    ``fields``, ``filter``, ``format`` and ``column_header_names`` are Marketo's create request (templated,
    nested values included), validated by
    :func:`~airflow_provider_marketo_pm.kinds.leads.build_lead_export_request` before any call. Every other
    argument is :class:`~airflow_provider_marketo_pm.operators.bulk_export.MarketoStartExportOperator`'s.

    :param fields: REST API names of lead fields (Describe Lead2), custom fields included.
    :param filter: exactly one of ``createdAt`` / ``updatedAt`` (``{"startAt", "endAt"}``, at most 31 days),
        ``staticListId`` / ``staticListName``, ``smartListId`` / ``smartListName``.
    :param format: ``CSV`` (default), ``TSV`` or ``SSV``.
    :param column_header_names: map from field name to the header written for it.
    """

    export_kind = LEADS

    template_fields: Sequence[str] = (*REQUEST_TEMPLATE_FIELDS, *MarketoStartExportOperator.template_fields)


class MarketoDownloadLeadExportOperator(MarketoDownloadExportOperator):
    """
    Stream a Completed lead export's file to any Airflow object store, verified before it is published
    (:class:`~airflow_provider_marketo_pm.operators.bulk_export.MarketoDownloadExportOperator`, whose
    arguments it takes).
    """

    export_kind = LEADS
