"""Arguments a kind's tasks declare, written once: the create request's four, a custom object's api_name.

Program members, leads, activities and custom objects all take Marketo's create request as ``fields``,
``filter``, ``format`` and ``column_header_names`` (templated, nested values included); the start reads them
by the names of its kind's request builder (:meth:`MarketoStartExportOperator.export_request
<airflow_provider_marketo_pm.operators.bulk_export.MarketoStartExportOperator.export_request>`). A custom
object's start, sensor and download all take the object's ``api_name``. Each is a class mixed in before the
lifecycle's class (a ``BaseOperator``, so that Airflow applies its defaults to its ``__init__``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_marketo_pm.kinds.custom_objects import api_name_argument

__all__: list[str] = []

REQUEST_TEMPLATE_FIELDS: tuple[str, ...] = ("fields", "filter", "format", "column_header_names")
"""The templated request arguments, listed first in a kind's start ``template_fields``."""


class CreateRequestArguments(BaseOperator):
    """
    Mixed in before :class:`~airflow_provider_marketo_pm.operators.bulk_export.MarketoStartExportOperator`:
    keeps the create request's arguments as attributes of the builder's parameter names.

    :param fields: REST API names of the columns.
    :param filter: Marketo's create filter.
    :param format: ``CSV`` (default), ``TSV`` or ``SSV``.
    :param column_header_names: map from field name to the header written for it.
    """

    template_fields_renderers = {"filter": "json", "column_header_names": "json", "fields": "json"}

    def __init__(
        self,
        *,
        fields: Sequence[str] | None,
        filter: dict[str, Any],
        format: str = "CSV",
        column_header_names: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.fields = fields
        self.filter = filter
        self.format = format
        self.column_header_names = column_header_names


class ApiNameArgument(BaseOperator):
    """
    The ``api_name`` argument of a custom object task (templated: the task lists it in ``template_fields``),
    mixed in before the lifecycle's class: the object whose jobs the task starts, watches or downloads. The
    kind is bound to it when the task runs (:attr:`ExportKind.path_arguments
    <airflow_provider_marketo_pm.export_kind.ExportKind.path_arguments>`).
    """

    def __init__(self, *, api_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_name = api_name_argument(api_name)
