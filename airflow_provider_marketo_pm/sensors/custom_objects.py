"""Sensor that waits for a Marketo custom object export to complete.

The wait and every argument of it are written once for every export kind, in
:mod:`airflow_provider_marketo_pm.sensors.bulk_export`; the generic status trigger polls the job on the
path of the sensor's ``api_name``.
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_marketo_pm.kinds.custom_objects import CUSTOM_OBJECTS
from airflow_provider_marketo_pm.sensors.bulk_export import MarketoExportSensor
from airflow_provider_marketo_pm.task_arguments import ApiNameArgument

__all__ = ["MarketoCustomObjectExportSensor"]


class MarketoCustomObjectExportSensor(ApiNameArgument, MarketoExportSensor):
    """
    Wait until a custom object export is Completed and return its status record
    (:class:`~airflow_provider_marketo_pm.sensors.bulk_export.MarketoExportSensor`, whose arguments it takes).

    :param api_name: the object's API name (templated), the one its start was given.
    """

    export_kind = CUSTOM_OBJECTS

    template_fields: Sequence[str] = ("api_name", *MarketoExportSensor.template_fields)
