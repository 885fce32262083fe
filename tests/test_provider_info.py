"""Provider registration: the entry point, the metadata Airflow validates, and `airflow providers list`."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from airflow_provider_marketo_pm import __version__
from airflow_provider_marketo_pm.get_provider_info import get_provider_info
from airflow_provider_marketo_pm.hooks import connection_settings

PACKAGE_NAME = "airflow-provider-marketo-pm"


def test_entry_point_points_at_get_provider_info():
    (entry_point,) = [
        ep for ep in entry_points(group="apache_airflow_provider") if ep.dist.name == PACKAGE_NAME
    ]
    assert entry_point.load() is get_provider_info


def test_provider_info_matches_airflow_schema():
    import airflow
    import jsonschema

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == PACKAGE_NAME
    assert info["versions"] == [__version__]


def test_connection_type_and_hook():
    (conn_type,) = get_provider_info()["connection-types"]
    assert conn_type["connection-type"] == "marketo"
    module_name, class_name = conn_type["hook-class-name"].rsplit(".", 1)
    hook_class = getattr(importlib.import_module(module_name), class_name)
    assert hook_class.conn_type == "marketo"
    assert hook_class.default_conn_name == "marketo_default"
    behaviour = conn_type["ui-field-behaviour"]
    assert set(behaviour) == {"hidden-fields", "relabeling", "placeholders"}
    assert set(conn_type["conn-fields"]) == {
        "identity_url",
        "timeout",
        "max_retries",
        "retry_min_wait",
        "retry_max_wait",
        "retry_max_time",
        "daily_export_budget_mb",
    }
    for field in conn_type["conn-fields"].values():
        assert field["label"]
        assert "type" in field["schema"]


def test_conn_fields_are_the_extras_the_hook_accepts_with_its_defaults():
    """The form shows every user-facing extra (not the emulator-only opt-in) with the hook's own defaults."""
    (conn_type,) = get_provider_info()["connection-types"]
    fields = conn_type["conn-fields"]
    assert set(fields) == connection_settings.KNOWN_EXTRAS - {"allow_insecure_http"}
    defaults = {name: field["schema"].get("default") for name, field in fields.items()}
    assert defaults == {
        "identity_url": None,
        "timeout": connection_settings.DEFAULT_TIMEOUT,
        "max_retries": connection_settings.DEFAULT_MAX_RETRIES,
        "retry_min_wait": connection_settings.DEFAULT_RETRY_MIN_WAIT,
        "retry_max_wait": connection_settings.DEFAULT_RETRY_MAX_WAIT,
        "retry_max_time": connection_settings.DEFAULT_RETRY_MAX_TIME,
        "daily_export_budget_mb": None,
    }


def test_module_lists_name_the_public_modules():
    info = get_provider_info()
    modules = {kind: [m for item in info[kind] for m in item["python-modules"]] for kind in
               ("hooks", "operators", "sensors", "triggers")}  # fmt: skip
    lifecycle = ("bulk_export", "program_members")
    typed = ("bulk_export", "parquet", "postgres", "program_members", "removed_memberships")
    assert modules == {
        "hooks": ["airflow_provider_marketo_pm.hooks.marketo"],
        "operators": [f"airflow_provider_marketo_pm.operators.{name}" for name in typed],
        **{
            kind: [f"airflow_provider_marketo_pm.{kind}.{name}" for name in lifecycle]
            for kind in ("sensors", "triggers")
        },
    }


@pytest.mark.parametrize("kind", ["operators", "sensors", "triggers"])
def test_every_module_of_a_listed_kind_is_listed_and_imports(kind):
    package = importlib.import_module(f"airflow_provider_marketo_pm.{kind}")
    on_disk = {
        f"{package.__name__}.{path.stem}"
        for path in Path(package.__file__).parent.glob("*.py")
        if path.stem != "__init__"
    }
    (item,) = get_provider_info()[kind]
    assert set(item["python-modules"]) == on_disk
    for module in item["python-modules"]:
        importlib.import_module(module)


def airflow_providers_cli(tmp_path, command: str) -> list[dict]:
    """``airflow providers <command> --output json`` in a fresh Airflow home, parsed."""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", command, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout[result.stdout.index("[") :])


@pytest.mark.slow
def test_airflow_providers_list_shows_the_provider(tmp_path):
    providers = {p["package_name"]: p for p in airflow_providers_cli(tmp_path, "list")}
    assert providers[PACKAGE_NAME]["version"] == __version__


@pytest.mark.slow
def test_airflow_knows_the_marketo_connection_type(tmp_path):
    hooks = {h["connection_type"]: h for h in airflow_providers_cli(tmp_path, "hooks")}
    assert hooks["marketo"]["class"] == "airflow_provider_marketo_pm.hooks.marketo.MarketoHook"
    assert hooks["marketo"]["package_name"] == PACKAGE_NAME
    assert hooks["marketo"]["conn_id_attribute_name"] == "marketo_conn_id"
