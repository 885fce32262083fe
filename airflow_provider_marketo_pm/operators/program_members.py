"""Operators that start a Marketo program member export and download its verified file.

The lifecycle (create, enqueue, re-attach, wait, verified download) and every argument of it are written
once, in :mod:`airflow_provider_marketo_pm.operators.bulk_export`; these classes name the program member
kind and declare its request arguments (and the download's lineage).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_marketo_pm.hooks.marketo import MarketoHook
from airflow_provider_marketo_pm.kinds.program_members import PROGRAM_MEMBERS
from airflow_provider_marketo_pm.operators.bulk_export import (
    MarketoDownloadExportOperator,
    MarketoStartExportOperator,
)
from airflow_provider_marketo_pm.task_arguments import (
    REQUEST_TEMPLATE_FIELDS,
    CreateRequestArguments,
)
from airflow_provider_marketo_pm.validation import parse_program_id

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

__all__ = ["MarketoDownloadProgramMemberExportOperator", "MarketoStartProgramMemberExportOperator"]


class MarketoStartProgramMemberExportOperator(CreateRequestArguments, MarketoStartExportOperator):
    """
    Create and enqueue a program member export; the XCom return value is its ``exportId``.

    ``fields``, ``filter``, ``format`` and ``column_header_names`` are Marketo's own create request
    (templated, nested values included, e.g. ``filter={"programId": 1044, "updatedAt": {"startAt":
    "{{ data_interval_start | ts }}", ...}}``) and are validated once, into an
    :class:`~airflow_provider_marketo_pm.export_kind.ExportRequest`, before any call is made. Every other
    argument (the queue, the daily quota, re-attaching, ``wait_for_completion``, the destination check) is
    :class:`~airflow_provider_marketo_pm.operators.bulk_export.MarketoStartExportOperator`'s.

    :param fields: REST API names of the columns (program member, lead and custom fields).
    :param filter: Marketo filter: ``programId`` or ``programIds`` plus optional ``isExhausted``,
        ``nurtureCadence``, ``statusNames`` and ``updatedAt`` (at most 31 days).
    :param format: ``CSV`` (default), ``TSV`` or ``SSV``.
    :param column_header_names: map from field name to the header written for it.
    """

    export_kind = PROGRAM_MEMBERS

    template_fields: Sequence[str] = (*REQUEST_TEMPLATE_FIELDS, *MarketoStartExportOperator.template_fields)


def openlineage_dataset_name(uri: str) -> tuple[str, str]:
    """
    ``(namespace, name)`` of a stored file by the OpenLineage dataset naming spec: ``file`` and the absolute
    path for local files; ``<scheme>://<bucket>`` and the object key for object stores (``s3://bucket``).
    """
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return "file", "/" + parts.path.lstrip("/")
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")


class MarketoDownloadProgramMemberExportOperator(MarketoDownloadExportOperator):
    """
    Stream a Completed program member export's file to any Airflow object store, verified before it is
    published (:class:`~airflow_provider_marketo_pm.operators.bulk_export.MarketoDownloadExportOperator`,
    whose arguments it takes), and report the export's programs as OpenLineage inputs.

    :param program_ids: Marketo program id(s) of the export (or its create filter), reported as lineage input.
    """

    export_kind = PROGRAM_MEMBERS

    template_fields: Sequence[str] = (*MarketoDownloadExportOperator.template_fields, "program_ids")

    def __init__(
        self, *, program_ids: int | Sequence[int] | Mapping[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.program_ids = program_ids

    def _program_ids(self) -> list[int]:
        """The lineage inputs, each id read by the filter's rule; a templated list may arrive as JSON text."""
        ids = self.program_ids
        if isinstance(ids, Mapping):  # the export's filter, as the task group passes it
            ids = ids.get("programIds") or ids.get("programId")
        if ids is None or ids == "":
            return []
        if isinstance(ids, str) and ids.lstrip().startswith("["):
            ids = json.loads(ids)
        if isinstance(ids, int | str):
            ids = [ids]
        return [parse_program_id("program_ids", pid) for pid in ids]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        """Report the Marketo program(s) as inputs and the written file as output (OpenLineage)."""
        try:
            from airflow.providers.common.compat.openlineage.facet import Dataset
            from airflow.providers.openlineage.extractors import OperatorLineage
        except ImportError:
            return None
        if self._result is None:
            return OperatorLineage()
        host = MarketoHook.get_connection(self.marketo_conn_id).host or "marketo"
        namespace = f"marketo://{host.split('://')[-1].rstrip('/')}"
        inputs = [Dataset(namespace=namespace, name=f"program/{pid}/members") for pid in self._program_ids()]
        namespace, name = openlineage_dataset_name(self._result["uri"])
        return OperatorLineage(inputs=inputs, outputs=[Dataset(namespace=namespace, name=name)])
