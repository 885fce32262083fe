"""The bulk extract kinds besides program members: leads, activities and custom objects.

Each module holds one kind's create-request builder and filter rules, as pure functions (no network);
:mod:`~airflow_provider_marketo_pm.kinds.request_rules` holds the rules they share.
"""
