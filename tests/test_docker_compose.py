"""docker-compose.yaml and Dockerfile, checked statically (no Docker daemon needed).

They are what a user runs first, so a broken service name, a version drift from constraints.txt or a
connection that is not valid JSON would only show up after a long image build: catch it here.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from compose_settings import (
    ADDRESS_SETTINGS,
    CLUSTER_SETTINGS,
    COMPOSE,
    DOCKERFILE,
    ROOT,
    WORKER_SERVICE,
    celery_test_environment,
    dockerfile_base_image,
    service_environment,
    with_compose_defaults,
)
from packaging.specifiers import SpecifierSet
from packaging.version import Version

# The Compose Specification's JSON schema, vendored unchanged from github.com/compose-spec/compose-spec
# (schema/compose-spec.json at commit 170098ba07d9f53c383a41bfd4c5166b0a4529a6, 2026-06-23; the schema
# carries no version number of its own; Apache-2.0). Docker Compose v2 validates against the same file.
COMPOSE_SCHEMA = Path(__file__).resolve().parent / "schemas" / "compose-spec.json"

AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}
REQUIRED_SERVICES = {"postgres", "redis", "airflow-init", "marketo-emulator", "minio", "minio-init"} | set(
    AIRFLOW_SERVICES
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return DOCKERFILE.read_text()


def base_image() -> tuple[Version, Version]:
    """(Airflow version, Python version) of the Dockerfile's apache/airflow base image."""
    airflow, python = dockerfile_base_image()
    return Version(airflow), Version(python)


def pinned_airflow() -> Version:
    match = re.search(r"^apache-airflow==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M)
    assert match, "constraints.txt pins apache-airflow"
    return Version(match[1])


def airflow_environment(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in service["environment"].items()}


class TestServices:
    def test_every_service_of_the_official_pattern_plus_emulator_and_minio(self, services):
        assert set(services) >= REQUIRED_SERVICES

    @pytest.mark.parametrize(("name", "command"), sorted(AIRFLOW_SERVICES.items()))
    def test_airflow_components_run_their_command_with_a_healthcheck(self, services, name, command):
        assert services[name]["command"] == command
        assert "healthcheck" in services[name]

    @pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
    def test_airflow_components_wait_for_init_and_backing_services(self, services, name):
        depends_on = services[name]["depends_on"]
        assert depends_on["airflow-init"]["condition"] == "service_completed_successfully"
        for backing in ("postgres", "redis", "marketo-emulator"):
            assert depends_on[backing]["condition"] == "service_healthy"
        assert depends_on["minio-init"]["condition"] == "service_completed_successfully"

    def test_init_migrates_creates_the_admin_and_the_pacing_pool(self, services):
        init = services["airflow-init"]
        assert init["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
        assert init["environment"]["_AIRFLOW_WWW_USER_CREATE"] == "true"
        script = "\n".join(init["command"])
        pool = re.search(r"airflow pools set (\S+) (\d+) .*--include-deferred", script)
        assert pool, "airflow-init creates the pool with --include-deferred so deferred sensors hold a slot"
        backfill_dag = (ROOT / "example_dags" / "marketo_program_members_backfill.py").read_text()
        assert f'"{pool[1]}"' in backfill_dag, (
            "the pool airflow-init creates is the one the backfill DAG uses"
        )

    def test_example_dags_are_mounted_as_the_dags_folder(self, services):
        for name in AIRFLOW_SERVICES:
            assert "./example_dags:/opt/airflow/dags" in services[name]["volumes"]


class TestCommonEnvironment:
    @pytest.mark.parametrize("name", sorted([*AIRFLOW_SERVICES, "airflow-init"]))
    def test_celery_executor_execution_api_and_one_jwt_secret(self, services, name):
        env = airflow_environment(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert with_compose_defaults(env["AIRFLOW__API_AUTH__JWT_SECRET"])

    def test_jwt_secret_is_identical_in_every_container(self, services):
        secrets = {
            airflow_environment(services[name])["AIRFLOW__API_AUTH__JWT_SECRET"] for name in AIRFLOW_SERVICES
        }
        assert len(secrets) == 1

    def test_marketo_connection_points_at_the_emulator_service(self, services):
        env = airflow_environment(services["airflow-worker"])
        connection = json.loads(with_compose_defaults(env["AIRFLOW_CONN_MARKETO_DEFAULT"]))
        assert connection["conn_type"] == "marketo"
        assert connection["login"]
        assert connection["password"]
        emulator_args = services["marketo-emulator"]["command"]
        port = emulator_args[emulator_args.index("--port") + 1]
        assert connection["host"] == f"http://marketo-emulator:{port}"
        emulator_env = services["marketo-emulator"]["environment"]
        assert connection["login"] == emulator_env["MARKETO_EMULATOR_CLIENT_ID"]
        assert connection["password"] == emulator_env["MARKETO_EMULATOR_CLIENT_SECRET"]
        # the hook refuses plain http to a non-loopback host unless the connection opts in
        assert connection["extra"] == {"allow_insecure_http": True}

    def test_the_hook_accepts_the_compose_connection_only_thanks_to_the_opt_in(self, services):
        from airflow_provider_marketo_pm.exceptions import MarketoConnectionConfigError
        from airflow_provider_marketo_pm.hooks.connection_settings import parse_connection_settings

        env = airflow_environment(services["airflow-worker"])
        connection = json.loads(with_compose_defaults(env["AIRFLOW_CONN_MARKETO_DEFAULT"]))
        fields = {"host": connection["host"], "schema": None, "port": None}
        fields |= {"login": connection["login"], "password": connection["password"]}
        parse_connection_settings("marketo_default", **fields, extra=connection["extra"])
        with pytest.raises(MarketoConnectionConfigError, match="http"):
            parse_connection_settings("marketo_default", **fields, extra={})

    def test_emulator_listens_on_every_interface_of_its_container(self, services):
        emulator = services["marketo-emulator"]
        assert emulator["entrypoint"][-1] == "airflow_provider_marketo_pm.testing.emulator"
        assert emulator["command"][emulator["command"].index("--host") + 1] == "0.0.0.0"

    def test_minio_connection_and_bucket_match_the_destination(self, services):
        env = airflow_environment(services["airflow-worker"])
        connection = json.loads(with_compose_defaults(env["AIRFLOW_CONN_MINIO_S3"]))
        assert connection["conn_type"] == "aws"
        assert connection["extra"]["endpoint_url"] == "http://minio:9000"
        assert env["AIRFLOW_VAR_MARKETO_PM_DEST_CONN_ID"] == "minio_s3"
        bucket = re.match(r"s3://([^/]+)/", env["AIRFLOW_VAR_MARKETO_PM_DESTINATION"])
        assert bucket
        assert f"local/{bucket[1]}" in services["minio-init"]["command"][-1]

    def test_the_docs_show_the_same_minio_connection_from_the_host(self, services):
        """The docs' S3 connection for MinIO or moto (docs/tasks.md) is compose's, reached at 127.0.0.1."""
        page = (ROOT / "docs" / "tasks.md").read_text()
        shown = re.search(r"export AIRFLOW_CONN_MINIO_S3='([^']+)'", page)
        assert shown, "docs/tasks.md shows an aws connection with endpoint_url for MinIO or moto"
        env = airflow_environment(services["airflow-worker"])
        compose_connection = json.loads(with_compose_defaults(env["AIRFLOW_CONN_MINIO_S3"]))
        compose_connection["extra"]["endpoint_url"] = "http://127.0.0.1:9000"
        assert json.loads(shown[1]) == compose_connection

    def test_program_ids_variable_is_a_json_list_of_integers(self, services):
        env = airflow_environment(services["airflow-worker"])
        program_ids = json.loads(env["AIRFLOW_VAR_MARKETO_PM_PROGRAM_IDS"])
        assert program_ids
        assert all(isinstance(i, int) for i in program_ids)


class TestImage:
    def test_airflow_services_build_this_repository(self, services):
        for name in [*AIRFLOW_SERVICES, "airflow-init", "marketo-emulator"]:
            assert services[name]["build"] == "."

    def test_provider_is_not_installed_at_container_start(self, services):
        for name, service in services.items():
            assert not service.get("environment", {}).get("_PIP_ADDITIONAL_REQUIREMENTS"), name

    def test_dockerfile_installs_the_provider_from_the_repository_source(self, dockerfile):
        copied = re.findall(r"^COPY .*?(\S+)\s*$", dockerfile, re.M)
        install = re.search(r'pip install[^\n]*(?:\\\n[^\n]*)*"(?P<src>/opt/[^"\[]+)\[', dockerfile)
        assert install, "pip installs the copied source directory (with extras)"
        assert any(dest.rstrip("/").startswith(install["src"]) for dest in copied)
        assert '"apache-airflow==${AIRFLOW_VERSION}"' in dockerfile, "pins Airflow to the image's own version"

    def test_base_image_airflow_matches_constraints_and_pyproject(self):
        airflow, python = base_image()
        assert airflow == pinned_airflow()
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        requirement = next(
            dep for dep in project["dependencies"] if re.match(r"apache-airflow\s*[<>=!~]", dep)
        )
        assert airflow in SpecifierSet(requirement.removeprefix("apache-airflow"))
        assert python in SpecifierSet(project["requires-python"])

    def test_dockerignore_keeps_what_the_build_copies(self):
        ignored = (ROOT / ".dockerignore").read_text().splitlines()
        for kept in ("pyproject.toml", "README.md", "airflow_provider_marketo_pm/"):
            assert f"!{kept}" in ignored


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    # The spec names draft 07 by an https URL jsonschema does not list: say which draft that is.
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    validator_class.check_schema(schema)
    return validator_class(schema)


class TestComposeSpecification:
    def test_the_compose_file_is_valid_compose(self, validator, compose):
        errors = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)
        ]
        assert errors == []

    @pytest.mark.parametrize(
        ("service", "key", "value"),
        [
            ("redis", "restart_policy", "always"),  # a misspelt key
            ("airflow-worker", "depends_on", "postgres"),  # a wrong type
            ("airflow-scheduler", "healthcheck", {"interval": "30s", "retry": 5}),  # a key nested too deep
        ],
    )
    def test_the_schema_catches_what_compose_would_refuse(self, validator, compose, service, key, value):
        broken = yaml.safe_load(COMPOSE.read_text())
        broken["services"][service][key] = value
        assert list(validator.iter_errors(broken))


@pytest.fixture(scope="module")
def celery_environment() -> dict[str, str]:
    return celery_test_environment(
        database="marketo_pm_test",
        postgres="postgres@127.0.0.1:5432",
        redis="127.0.0.1:6379",
        redis_db=9,
        marketo={"host": "http://127.0.0.1:8766", "login": "id", "password": "secret"},
        s3_endpoint="http://127.0.0.1:5000",
    )


class TestSameSettingsAsTheCeleryTest:
    """The Celery system test runs compose's own environment: only the places differ."""

    def test_every_airflow_service_runs_the_worker_environment(self, services):
        worker = service_environment(WORKER_SERVICE)
        for name in [*AIRFLOW_SERVICES, "airflow-init"]:
            env = service_environment(name)
            shared = {key: env.get(key) for key in worker if key != "DUMB_INIT_SETSID"}
            assert shared == {key: value for key, value in worker.items() if key != "DUMB_INIT_SETSID"}, name

    def test_the_test_changes_only_addresses_and_leaves_the_rest_to_its_cluster(self, celery_environment):
        compose = service_environment(WORKER_SERVICE)
        assert set(celery_environment) == set(compose) - set(CLUSTER_SETTINGS)
        unchanged = set(celery_environment) - set(ADDRESS_SETTINGS)
        assert {key: celery_environment[key] for key in unchanged} == {key: compose[key] for key in unchanged}
        # what the test proves includes the executor, the pool's DAG settings and every Variable
        assert celery_environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert {key for key in unchanged if key.startswith("AIRFLOW_VAR_")} >= {
            "AIRFLOW_VAR_MARKETO_PM_DESTINATION",
            "AIRFLOW_VAR_MARKETO_PM_DEST_CONN_ID",
            "AIRFLOW_VAR_MARKETO_PM_PROGRAM_IDS",
        }

    @pytest.mark.parametrize(
        "key",
        [
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            "AIRFLOW__CELERY__RESULT_BACKEND",
            "AIRFLOW__CELERY__BROKER_URL",
        ],
    )
    def test_database_broker_and_result_backend_keep_their_driver(self, celery_environment, key):
        compose_scheme = service_environment(WORKER_SERVICE)[key].split("://")[0]
        assert celery_environment[key].split("://")[0] == compose_scheme
        assert "+" in compose_scheme or compose_scheme == "redis", (
            "name the driver: SQLAlchemy's default changes"
        )

    @pytest.mark.parametrize("key", ["AIRFLOW_CONN_MARKETO_DEFAULT", "AIRFLOW_CONN_MINIO_S3"])
    def test_connections_keep_their_type_and_extras(self, celery_environment, key):
        compose, test = (
            json.loads(env[key]) for env in (service_environment(WORKER_SERVICE), celery_environment)
        )
        assert test["conn_type"] == compose["conn_type"]
        assert {k: v for k, v in test["extra"].items() if k != "endpoint_url"} == {
            k: v for k, v in compose["extra"].items() if k != "endpoint_url"
        }

    def test_celery_extra_is_pinned_where_the_database_backend_imports(self):
        """celery 5.7 dropped celery.backends.database.retry, which the celery provider imports."""
        extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
        pins = dict(
            line.split("==", 1)
            for line in (ROOT / "constraints.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")
        )
        for requirement in extras["celery"]:
            name = re.split(r"[<>=!~\[ ]", requirement, maxsplit=1)[0]
            assert name in pins, f"{name} of the celery extra is pinned in constraints.txt"
        assert Version(pins["celery"]) < Version("5.7")
