"""Provider metadata read by Airflow's ProvidersManager through the ``apache_airflow_provider`` entry point.

Airflow imports this while it is still loading its configuration: keep it free of Airflow imports.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_marketo_pm import __version__

PACKAGE = "airflow_provider_marketo_pm"
INTEGRATION = "Marketo"
DOC_URL = (
    "https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/bulk-extract/"
    "bulk-program-member-extract"
)

CONNECTION_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    # Port stays visible, though Marketo needs none: Airflow 3.3.1 and 3.3.2 answer the UI's Test button
    # with 400 for a connection without a port (apache/airflow#73298).
    "hidden-fields": ["schema"],
    "relabeling": {
        "host": "REST base URL or Munchkin ID",
        "login": "Client ID",
        "password": "Client Secret",
    },
    "placeholders": {
        "host": "https://123-ABC-456.mktorest.com (or 123-ABC-456)",
        "login": "LaunchPoint API-only user's client id",
        "password": "LaunchPoint API-only user's client secret",
        "port": "443 (optional; Airflow 3.3's Test button needs it)",
    },
}

CONNECTION_FIELDS: dict[str, Any] = {
    "identity_url": {
        "label": "Identity URL",
        "description": "Only if it differs from <REST base URL>/identity (Admin > Web Services).",
        "schema": {"type": ["string", "null"]},
    },
    "timeout": {
        "label": "HTTP timeout (seconds)",
        "description": "Connect and read time-out of each call.",
        "schema": {"type": ["number", "null"], "default": 60},
    },
    "max_retries": {
        "label": "Max retries",
        "description": "Retries of a transient error (604, 606, 608, 611, 615, 713, HTTP 5xx, network).",
        "schema": {"type": ["integer", "null"], "default": 5},
    },
    "retry_min_wait": {
        "label": "First retry wait (seconds)",
        "description": "Backoff before the first retry; it doubles each time (plus jitter).",
        "schema": {"type": ["number", "null"], "default": 1},
    },
    "retry_max_wait": {
        "label": "Longest retry wait (seconds)",
        "description": "Cap of a single backoff wait; not shorter than the first retry wait.",
        "schema": {"type": ["number", "null"], "default": 30},
    },
    "retry_max_time": {
        "label": "Max retry time (seconds)",
        "description": "Give up retrying a call after this long.",
        "schema": {"type": ["number", "null"], "default": 300},
    },
    "daily_export_budget_mb": {
        "label": "Daily export budget (MB)",
        "description": (
            "Program member exports this API user allows itself per quota day; the start operator waits for "
            "the reset once they are reached. Empty: no budget."
        ),
        "schema": {"type": ["number", "null"], "default": None},
    },
    "max_concurrent_calls": {
        "label": "Max concurrent calls",
        "description": (
            "Calls in flight at once from one process (1 to 10): Marketo allows 10 per instance, Adobe "
            "advises at most 5 per integration."
        ),
        "schema": {"type": ["integer", "null"], "default": 5, "minimum": 1, "maximum": 10},
    },
    "calls_per_20s": {
        "label": "Calls per 20 s",
        "description": (
            "Calls one process makes in any 20 s (1 to 100); more wait. Marketo allows 100 per instance, "
            "shared by every integration; Adobe advises at most 50."
        ),
        "schema": {"type": ["integer", "null"], "default": 50, "minimum": 1, "maximum": 100},
    },
}


def get_provider_info() -> dict[str, Any]:
    """Describe the provider: its package, hook, connection type and the modules Airflow should index."""
    return {
        "package-name": "airflow-provider-marketo-pm",
        "name": "Marketo Program Members",
        "description": (
            "Apache Airflow provider for Marketo's Bulk Program Member Extract API: start, watch "
            "(deferrable) and download program member exports."
        ),
        "state": "ready",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": DOC_URL,
                "tags": ["marketing"],
            }
        ],
        "connection-types": [
            {
                "connection-type": "marketo",
                "hook-class-name": f"{PACKAGE}.hooks.marketo.MarketoHook",
                "hook-name": "Marketo",
                "ui-field-behaviour": CONNECTION_UI_FIELD_BEHAVIOUR,
                "conn-fields": CONNECTION_FIELDS,
            }
        ],
        "hooks": [{"integration-name": INTEGRATION, "python-modules": [f"{PACKAGE}.hooks.marketo"]}],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    f"{PACKAGE}.operators.activities",
                    f"{PACKAGE}.operators.bulk_export",
                    f"{PACKAGE}.operators.custom_objects",
                    f"{PACKAGE}.operators.leads",
                    f"{PACKAGE}.operators.parquet",
                    f"{PACKAGE}.operators.plan_approval",
                    f"{PACKAGE}.operators.postgres",
                    f"{PACKAGE}.operators.program_members",
                    f"{PACKAGE}.operators.removed_memberships",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    f"{PACKAGE}.sensors.activities",
                    f"{PACKAGE}.sensors.bulk_export",
                    f"{PACKAGE}.sensors.custom_objects",
                    f"{PACKAGE}.sensors.leads",
                    f"{PACKAGE}.sensors.program_members",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [f"{PACKAGE}.triggers.bulk_export", f"{PACKAGE}.triggers.program_members"],
            }
        ],
    }
