"""The export kinds, one module each: a kind's data, its request builder and the filter rules only it has.

:mod:`~airflow_provider_marketo_pm.kinds.program_members` is Marketo's Bulk Program Member Extract; the lead,
activity and custom object modules hold those kinds' create-request builders and filter rules (pure
functions, no network), and :mod:`~airflow_provider_marketo_pm.kinds.request_rules` the rules these three
share. What every kind is (:class:`~airflow_provider_marketo_pm.export_kind.ExportKind`) and the rules all
kinds share (:mod:`~airflow_provider_marketo_pm.validation`) live below this package; the lifecycle written
once for all of them (operators, sensor, trigger, task group) lives above it.
"""
