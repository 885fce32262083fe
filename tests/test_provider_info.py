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


def airflow_schema(name: str) -> dict:
    """A JSON schema shipped in the installed apache-airflow package."""
    import airflow

    return json.loads((Path(airflow.__file__).parent / name).read_text())


def test_provider_info_matches_airflow_schema():
    import jsonschema

    info = get_provider_info()
    jsonschema.validate(info, airflow_schema("provider_info.schema.json"))
    assert info["package-name"] == PACKAGE_NAME
    assert info["versions"] == [__version__]


class TestTheConnectionFormAsAirflowReadsIt:
    """
    conn-fields and ui-field-behaviour, checked by Airflow's own schemas: the connection-types entry of
    provider.yaml's (provider_info.schema.json leaves the entry open), the form's field behaviour
    (customized_form_field_behaviours.schema.json, which ProvidersManager applies), and each field's JSON
    schema. Airflow before 3.2 reads the form from the hook instead, and its schema has no conn-fields.
    """

    @pytest.fixture
    def connection_type(self) -> dict:
        (conn_type,) = get_provider_info()["connection-types"]
        return conn_type

    @pytest.fixture
    def entry_schema(self) -> dict:
        schema = airflow_schema("provider.yaml.schema.json")
        entry = schema["properties"]["connection-types"]
        if "conn-fields" not in entry["items"]["properties"]:
            pytest.skip("this Airflow's provider schema has no conn-fields (before Airflow 3.2)")
        return {key: value for key, value in schema.items() if key not in ("properties", "required")} | {
            "properties": {"connection-types": entry},
            "required": ["connection-types"],
        }

    def test_the_connection_type_entry_is_valid(self, connection_type, entry_schema):
        import jsonschema

        jsonschema.validate({"connection-types": [connection_type]}, entry_schema)

    def test_the_schema_would_catch_a_mistake(self, connection_type, entry_schema):
        import jsonschema

        for broken in (
            {"ui-field-behaviour": {**connection_type["ui-field-behaviour"], "hidden-fields": ["hots"]}},
            {"ui-field-behaviour": {"hidden_fields": ["schema"]}},  # the hook method's spelling
            {"conn-fields": {"timeout": {"label": "Timeout", "schema": {"type": "seconds"}}}},
        ):
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate({"connection-types": [{**connection_type, **broken}]}, entry_schema)

    def test_the_field_behaviour_is_what_providers_manager_accepts(self, connection_type):
        import jsonschema

        behaviour = connection_type["ui-field-behaviour"]
        as_the_manager_reads_it = {  # ProvidersManager turns the kebab-case keys into the hook's spelling
            "hidden_fields": behaviour.get("hidden-fields", []),
            "relabeling": behaviour.get("relabeling", {}),
            "placeholders": behaviour.get("placeholders", {}),
        }
        jsonschema.validate(
            as_the_manager_reads_it, airflow_schema("customized_form_field_behaviours.schema.json")
        )
        form_fields = {"description", "host", "port", "login", "password", "schema", "extra"}
        assert set(behaviour["relabeling"]) | set(behaviour["placeholders"]) <= form_fields

    def test_providers_manager_builds_the_form_from_it(self, connection_type, entry_schema):
        from airflow.providers_manager import ProvidersManager

        manager = ProvidersManager()
        behaviour = manager.field_behaviours["marketo"]
        widgets = {
            name.removeprefix("extra__marketo__"): widget
            for name, widget in manager.connection_form_widgets.items()
            if name.startswith("extra__marketo__")
        }

        assert behaviour["hidden_fields"] == connection_type["ui-field-behaviour"]["hidden-fields"]
        assert behaviour["relabeling"] == connection_type["ui-field-behaviour"]["relabeling"]
        assert set(widgets) == set(connection_type["conn-fields"])
        assert (
            widgets["timeout"].field["schema"]["title"] == connection_type["conn-fields"]["timeout"]["label"]
        )

    def test_every_field_schema_is_a_json_schema_its_default_satisfies(self, connection_type):
        import jsonschema

        for name, field in connection_type["conn-fields"].items():
            validator_class = jsonschema.validators.validator_for(
                field["schema"], default=jsonschema.Draft7Validator
            )
            validator_class.check_schema(field["schema"])
            if "default" in field["schema"]:
                assert validator_class(field["schema"]).is_valid(field["schema"]["default"]), name


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
        "max_concurrent_calls",
        "calls_per_20s",
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
        "max_concurrent_calls": connection_settings.DEFAULT_MAX_CONCURRENT_CALLS,
        "calls_per_20s": connection_settings.DEFAULT_CALLS_PER_20S,
    }


def test_module_lists_name_the_public_modules():
    info = get_provider_info()
    modules = {kind: [m for item in info[kind] for m in item["python-modules"]] for kind in
               ("hooks", "operators", "sensors", "triggers")}  # fmt: skip
    kinds = ("activities", "bulk_export", "custom_objects", "leads", "program_members")
    typed = ("activities", "bulk_export", "custom_objects", "leads", "parquet", "plan_approval", "postgres",
             "program_members", "removed_memberships")  # fmt: skip
    assert modules == {
        "hooks": ["airflow_provider_marketo_pm.hooks.marketo"],
        "operators": [f"airflow_provider_marketo_pm.operators.{name}" for name in typed],
        "sensors": [f"airflow_provider_marketo_pm.sensors.{name}" for name in kinds],
        # The new kinds defer to the generic trigger: only program members keep the classpath of 0.1.0.
        "triggers": [
            f"airflow_provider_marketo_pm.triggers.{name}" for name in ("bulk_export", "program_members")
        ],
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
