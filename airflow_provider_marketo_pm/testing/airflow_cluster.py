"""A real Airflow (api-server, scheduler, dag-processor, triggerer; LocalExecutor) run from a test.

With ``celery_workers`` it is a CeleryExecutor deployment instead: each named worker is an
``airflow celery worker`` of its own, reporting its name as the hostname of the tasks it runs.

Everything lives under one throw-away AIRFLOW_HOME and listens on loopback only. Each component is a
subprocess in its own process group with its own log file, so a test can SIGKILL one (the triggerer,
a task's process) and start it again, and teardown can always kill every process it started.

The system tests, the backfill pacing benchmark (bench/) and ``make airflow`` (scripts/local_airflow.py)
share this module::

    with AirflowCluster(dags_folder, env=emulator.connection_env()) as cluster:
        run_id = cluster.trigger("marketo_program_members_backfill", conf={...})
        assert cluster.wait("marketo_program_members_backfill", run_id) == "success"

``cluster.cli("backfill", "create", ...)`` and ``cluster.dag_runs(dag_id)`` serve a backfill.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import psutil
import requests

ADMIN_USER = "admin"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
WORKER_NAME_VARIABLE = "AIRFLOW_CLUSTER_WORKER_NAME"
FINISHED_RUN_STATES = frozenset({"success", "failed"})
T = TypeVar("T")


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the Celery workers: their name, so tests see which one ran a task.

    All workers of a test run on one machine, where the default (the FQDN) would be the same for all.
    """
    return os.environ.get(WORKER_NAME_VARIABLE) or socket.getfqdn()


class ClusterError(RuntimeError):
    """The cluster did not do what a test waited for; the message carries the components' log tails."""


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on loopback right now (the OS picks them)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))  # held open until all are picked, so the ports differ
        return [int(sock.getsockname()[1]) for sock in sockets]


def poll(
    check: Callable[[], T | None], *, timeout: float, interval: float = 0.5, what: str = "condition"
) -> T:
    """Call ``check`` until it returns something other than None; raise TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Component:
    """One Airflow process started by the cluster, with the log file it writes to."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal the whole process group: Airflow components fork workers and supervisors."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)


@dataclass
class AirflowCluster:
    """
    Start and drive a LocalExecutor Airflow on loopback, with SQLite or a given database URL.

    :param dags_folder: folder the dag-processor parses.
    :param env: extra environment for every component (connections, variables, AIRFLOW__* overrides).
    :param sql_alchemy_conn: metadata DB URL; default SQLite in the home (fine for LocalExecutor on
        Airflow 3, which dropped the "no SQLite with LocalExecutor" rule).
    :param home: AIRFLOW_HOME; default a temporary folder removed by ``stop()``.
    :param parallelism: LocalExecutor worker processes (small: the suites run on 2 cores).
    :param celery_workers: names of Celery workers to start; set ``AIRFLOW__CORE__EXECUTOR``,
        the broker and the result backend in ``env`` to go with them.
    :param worker_concurrency: task slots of each Celery worker.
    :param port: the api-server's port; 0 picks a free one.
    :param admin_password: sign-in instead of "everyone is admin": SimpleAuthManager's user ``admin``
        (role admin) with this password, which the REST calls of :meth:`api` use too.
    """

    dags_folder: Path
    env: Mapping[str, str] = field(default_factory=dict)
    sql_alchemy_conn: str | None = None
    home: Path | None = None
    parallelism: int = 4
    startup_timeout: float = 180.0
    celery_workers: tuple[str, ...] = ()
    worker_concurrency: int = 2
    port: int = 0
    admin_password: str | None = field(default=None, repr=False)
    components: dict[str, Component] = field(default_factory=dict, init=False)
    log_server_ports: tuple[int, int] = field(default=(0, 0), init=False)
    _scheduler_health_port: int = field(default=0, init=False)
    _own_home: bool = field(default=False, init=False)
    _process_groups: set[int] = field(default_factory=set, init=False)
    _token: str | None = field(default=None, init=False, repr=False)
    _session: requests.Session = field(default_factory=requests.Session, init=False, repr=False)

    # ----------------------------------------------------------------- lifecycle
    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, Exception):  # not on Ctrl-C: nothing failed
            sys.stderr.write(self.log_tails())
        self.stop()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Migrate the DB, start the four components and wait until the api-server reports them healthy."""
        if self.home is None:
            self.home = Path(tempfile.mkdtemp(prefix="marketo-pm-airflow-"))
            self._own_home = True
        self.home.mkdir(parents=True, exist_ok=True)
        # The worker and triggerer log servers default to 8793/8794: another Airflow on this machine
        # (a developer's, a concurrent test run) would make ours fail to bind.
        any_port, worker_logs, trigger_logs, scheduler_health = free_ports(4)
        self.port = self.port or any_port
        self.log_server_ports = (worker_logs, trigger_logs)
        self._scheduler_health_port = scheduler_health
        if self.admin_password is not None:
            # SimpleAuthManager generates a password only for a user missing from this file.
            self._passwords_file.write_text(json.dumps({ADMIN_USER: self.admin_password}))
        try:
            self.cli("db", "migrate", timeout=self.startup_timeout)
            for name in (*COMPONENTS, *self.celery_workers):
                self.start_component(name)
            self.wait_healthy(COMPONENTS, timeout=self.startup_timeout)
            for name in self.celery_workers:
                self.wait_for_worker(name, timeout=self.startup_timeout)
        except BaseException as err:
            if isinstance(err, Exception):
                sys.stderr.write(self.log_tails())
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill every component (process groups, SIGTERM then SIGKILL) and remove a temporary home."""
        for component in self.components.values():
            component.kill(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for component in self.components.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                component.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            component.kill(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                component.process.wait(timeout=5)
        self._kill_strays()
        self.components.clear()
        self._session.close()
        if self._own_home and self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)

    @property
    def _passwords_file(self) -> Path:
        assert self.home is not None
        return self.home / "simple_auth_manager_passwords.json"

    def _kill_strays(self) -> None:
        """Kill processes that left their group (none expected) but still run under this home."""
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                proc.kill()
                proc.wait(timeout=5)

    def processes(self) -> list[psutil.Process]:
        """Live processes of this cluster: in a component's process group, or with this AIRFLOW_HOME.

        Both tests are needed: setproctitle overwrites /proc/<pid>/environ of the titled workers, and
        a process may leave its group.
        """
        home, found = str(self.home), []
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error, OSError):
                if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                if os.getpgid(proc.pid) in self._process_groups or proc.environ().get("AIRFLOW_HOME") == home:
                    found.append(proc)
        return found

    # ----------------------------------------------------------------- environment and processes
    def environment(self, component: str | None = None) -> dict[str, str]:
        """The environment of a component: no AIRFLOW* inherited from the test session."""
        assert self.home is not None
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
        sql = self.sql_alchemy_conn or f"sqlite:///{self.home / 'airflow.db'}"
        base.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                # As docker-compose.yaml: export waits in the triggerer (Airflow ships false).
                "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": str(self.admin_password is None),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self._passwords_file),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql,
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.api_url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret(),
                # Notice new files and changes within seconds, not minutes.
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "2",
                # Heartbeat often and declare a SIGKILLed triggerer dead after 10 s, so that its
                # triggers are reassigned to the next triggerer quickly.
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "2",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
                "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_server_ports[0]),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.log_server_ports[1]),
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(self._scheduler_health_port),
                "PYTHONUNBUFFERED": "1",
            }
        )
        base.update(self.env)
        if component in self.celery_workers:
            base["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = f"{__name__}.worker_hostname"
            base[WORKER_NAME_VARIABLE] = component
        return base

    def _jwt_secret(self) -> str:
        """One secret for all components (they verify each other's tokens), fixed per home."""
        assert self.home is not None
        path = self.home / "jwt_secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
        return path.read_text()

    def start_component(self, name: str) -> Component:
        """Start ``airflow <name>`` (again), logging to ``<home>/<name>-<n>.log``."""
        assert self.home is not None
        if name in self.components and self.components[name].alive():
            raise ClusterError(f"{name} is already running")
        attempt = sum(1 for p in self.home.glob(f"{name}-*.log")) + 1
        log_path = self.home / f"{name}-{attempt}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*self._airflow(), *self._arguments(name)],
                env=self.environment(name),
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._process_groups.add(process.pid)
        component = Component(name, process, log_path)
        self.components[name] = component
        return component

    def _arguments(self, name: str) -> list[str]:
        if name == "api-server":
            return [name, "--port", str(self.port), "--host", "127.0.0.1"]
        if name in self.celery_workers:
            assert self.home is not None
            # Task logs are read from the shared home, so no log server (two would fight over a port);
            # a pid file of its own, or the second worker would think the first one is itself.
            return [
                "celery",
                "worker",
                "--celery-hostname",
                f"{name}@%h",
                "--concurrency",
                str(self.worker_concurrency),
                "--skip-serve-logs",
                "--pid",
                str(self.home / f"{name}.pid"),
            ]
        return [name]

    def wait_for_worker(self, name: str, *, timeout: float = 120.0) -> None:
        """Wait until a Celery worker has connected to the broker and says it is ready."""

        def ready() -> bool | None:
            self.check_alive((name,))
            log = self.components[name].log_path.read_text(errors="replace")
            return True if f"{name}@" in log and " ready." in log else None

        self._wait(ready, timeout=timeout, what=f"Celery worker {name} to be ready", interval=1.0)

    def kill_component(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal a component's process group and wait for its main process to exit."""
        component = self.components[name]
        component.kill(sig)
        component.process.wait(timeout=30)

    @staticmethod
    def _airflow() -> list[str]:
        return [sys.executable, "-m", "airflow"]

    def cli(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run an ``airflow`` CLI command against this cluster's DB; raise with its output if it fails."""
        result = subprocess.run(
            [*self._airflow(), *args],
            env=self.environment(),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError(
                f"airflow {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    # ----------------------------------------------------------------- REST API
    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the public REST API (``/api/v2`` + path) with an all-admins token; return the JSON."""
        response = self._session.request(
            method,
            f"{self.api_url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=30,
            **kwargs,
        )
        if response.status_code >= 400:
            raise ClusterError(f"{method} {path} answered {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def token(self) -> str:
        """A JWT of the api-server: the admin's, or the everyone-is-admin token (also the UI's ``_token``)."""
        if self._token is None:
            if self.admin_password is None:
                answer = self._session.get(f"{self.api_url}/auth/token", timeout=30)
            else:
                login = {"username": ADMIN_USER, "password": self.admin_password}
                answer = self._session.post(f"{self.api_url}/auth/token", json=login, timeout=30)
            answer.raise_for_status()
            self._token = str(answer.json()["access_token"])
        return self._token

    def health(self) -> dict[str, Any]:
        response = self._session.get(f"{self.api_url}/api/v2/monitor/health", timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def wait_healthy(self, names: Iterable[str] = COMPONENTS, *, timeout: float = 120.0) -> None:
        """Wait until the api-server answers and reports a fresh heartbeat of each named component."""
        keys = {"scheduler": "scheduler", "triggerer": "triggerer", "dag-processor": "dag_processor"}
        wanted = [keys[n] for n in names if n in keys]

        def healthy() -> bool | None:
            self.check_alive(names)
            try:
                report = self.health()
            except requests.RequestException:
                return None
            ok = all((report.get(key) or {}).get("status") == "healthy" for key in wanted)
            return True if ok else None

        self._wait(healthy, timeout=timeout, what=f"healthy {', '.join(names)}", interval=1.0)

    def check_alive(self, names: Iterable[str] = COMPONENTS) -> None:
        """Raise ClusterError if one of the named components has exited."""
        for name in names:
            component = self.components.get(name)
            if component is not None and not component.alive():
                raise ClusterError(f"{name} exited with {component.process.returncode}")

    def set_connection(self, conn_id: str, conn_type: str, **fields: Any) -> None:
        """Create or replace a connection in the metadata DB (tests swap emulators on a running cluster)."""
        with contextlib.suppress(ClusterError):
            self.api("DELETE", f"/connections/{conn_id}")
        self.api("POST", "/connections", json={"connection_id": conn_id, "conn_type": conn_type, **fields})

    # ----------------------------------------------------------------- DAGs and runs
    def wait_for_dag(self, dag_id: str, *, timeout: float = 120.0) -> dict[str, Any]:
        """Wait until the dag-processor has serialized ``dag_id``; fail early on its import error."""

        def parsed() -> dict[str, Any] | None:
            self.check_alive()
            errors = self.api("GET", "/importErrors")["import_errors"]
            if errors:
                raise ClusterError(f"DAG import errors: {errors}")
            try:
                dag: dict[str, Any] = self.api("GET", f"/dags/{dag_id}")
            except ClusterError:
                return None
            return dag

        return self._wait(parsed, timeout=timeout, what=f"DAG {dag_id} to be parsed", interval=1.0)

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None, *, timeout: float = 120.0) -> str:
        """Wait for the DAG, unpause it, create a manual run now and return its run_id."""
        self.wait_for_dag(dag_id, timeout=timeout)
        self.unpause(dag_id)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = {"logical_date": now, "conf": dict(conf or {})}
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)
        return str(run["dag_run_id"])

    def create_pool(self, name: str, slots: int, *, include_deferred: bool = False) -> None:
        self.api("POST", "/pools", json={"name": name, "slots": slots, "include_deferred": include_deferred})

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of a DAG (manual, scheduled and backfill), oldest first."""
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "run_after", "limit": 1000})
        runs: list[dict[str, Any]] = answer["dag_runs"]
        return runs

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
        return result

    def wait(self, dag_id: str, run_id: str, *, timeout: float = 180.0) -> str:
        """Wait until the run is finished and return its state ("success" or "failed")."""

        def finished() -> str | None:
            self.check_alive(("api-server", "scheduler"))
            state = str(self.dag_run(dag_id, run_id)["state"])
            return state if state in FINISHED_RUN_STATES else None

        return self._wait(finished, timeout=timeout, what=f"run {run_id} of {dag_id} to finish")

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        """Task instances of a run by task_id (map index -1 only)."""
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti for ti in answer["task_instances"] if ti.get("map_index", -1) == -1}

    def wait_for_task(
        self, dag_id: str, run_id: str, task_id: str, states: Iterable[str], *, timeout: float = 120.0
    ) -> dict[str, Any]:
        """Wait until a task instance is in one of ``states``; return it."""
        wanted = set(states)

        def reached() -> dict[str, Any] | None:
            self.check_alive(("api-server", "scheduler"))
            ti = self.task_instances(dag_id, run_id).get(task_id)
            return ti if ti is not None and ti.get("state") in wanted else None

        return self._wait(reached, timeout=timeout, what=f"{task_id} in {sorted(wanted)}")

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """A task try's log as text, read from the log folder (no log server needed)."""
        assert self.home is not None
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        path = folder / f"attempt={try_number}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def task_process(self, ti_id: str) -> psutil.Process | None:
        """The process running a task instance: its runner is titled ``airflow worker -- <ti id>``."""
        # setproctitle rewrites argv in place: /proc may show the title split differently or padded with
        # empty fields, so compare words, not the raw joined string.
        title = f"airflow worker -- {ti_id}".split()
        for proc in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.Error):
                if " ".join(proc.info["cmdline"] or ()).split() == title:
                    return proc
        return None

    def _wait(self, check: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.5) -> T:
        try:
            return poll(check, timeout=timeout, interval=interval, what=what)
        except TimeoutError as err:
            raise ClusterError(f"{err}\n{self.log_tails()}") from err

    # ----------------------------------------------------------------- diagnostics
    def log_tails(self, lines: int = 60, task_logs: int = 6) -> str:
        """The last lines of every component log and of the newest task logs, for a failure report."""
        if self.home is None:
            return ""
        newest_task_logs = sorted(
            (self.home / "logs").glob("dag_id=*/**/*.log"), key=lambda p: p.stat().st_mtime
        )[-task_logs:]
        parts = []
        for path in [*sorted(self.home.glob("*.log")), *newest_task_logs]:
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            name = path.relative_to(self.home)
            parts.append(f"----- {name} (last {len(tail)} lines) -----\n" + "\n".join(tail))
        return "\n".join(parts) + "\n"
