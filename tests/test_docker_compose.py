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

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"

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
_COMPOSE_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::-(?P<default>[^}]*))?\}")


def with_compose_defaults(text: str) -> str:
    """Substitute ``${VAR:-default}`` the way compose does when no .env sets VAR."""
    return _COMPOSE_VARIABLE.sub(lambda m: m.group("default") or "", text).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return DOCKERFILE.read_text()


def base_image(dockerfile: str) -> tuple[Version, Version]:
    """(Airflow version, Python version) of the Dockerfile's apache/airflow base image."""
    match = re.search(
        r"^FROM apache/airflow:(?P<airflow>[\d.]+)-python(?P<python>[\d.]+)\s*$", dockerfile, re.M
    )
    assert match, "the Dockerfile must build FROM apache/airflow:<version>-python<version>"
    return Version(match["airflow"]), Version(match["python"])


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

    def test_base_image_airflow_matches_constraints_and_pyproject(self, dockerfile):
        airflow, python = base_image(dockerfile)
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
