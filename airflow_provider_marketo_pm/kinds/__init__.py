"""The export kinds, one module each: a kind's data, its request builder and the filter rules only it has.

:mod:`~airflow_provider_marketo_pm.kinds.program_members` is Marketo's Bulk Program Member Extract. What
every kind is (:class:`~airflow_provider_marketo_pm.export_kind.ExportKind`) and the rules they share
(:mod:`~airflow_provider_marketo_pm.validation`) live below this package; the lifecycle written once for
all of them (operators, sensor, trigger, task group) lives above it.
"""
