"""Three ways to start the emulator (context manager, pytest fixture, CLI), and its option checks."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from airflow_provider_marketo_pm.testing import EmulatorOptionError, MarketoEmulator

MODULE = "airflow_provider_marketo_pm.testing.emulator"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"token_ttl": 0}, "token_ttl"),
        ({"processing_seconds": "fast"}, "processing_seconds"),
        ({"max_processing": 2.5}, "max_processing"),
        ({"max_queued": 1}, "max_queued"),
        ({"updated_at_filter": "no"}, "updated_at_filter"),
        ({"large_file_mb": -1}, "large_file_mb"),
        ({"port": 70000}, "port"),
        ({"programs": 10}, "programs"),
        ({"client_secret": ""}, "client_secret"),
        ({"data_until": "2026-13-01"}, "data_until"),
        ({"data_until": "2026-11-01T00:00:00Z"}, "data_until"),
        ({"data_until": 20261101}, "data_until"),
        ({"procesing_seconds": 1}, "procesing_seconds"),
        ({"dataset": "documentd"}, "dataset"),
        ({"line_ending": "\r"}, "line_ending"),
        ({"final_newline": "yes"}, "final_newline"),
        ({"utf8_bom": 1}, "utf8_bom"),
        ({"lead_custom_fields": ("bad name",)}, "lead_custom_fields"),
        ({"lead_custom_fields": ("email",)}, "lead_custom_fields"),
        ({"cancelled_spelling": "cancelled"}, "cancelled_spelling"),
        ({"start_at": "2026-03-07T12:00:00"}, "start_at"),
        ({"quota_day_seconds": 0}, "quota_day_seconds"),
    ],
)
def test_bad_options_fail_with_an_error_naming_the_option(options, named):
    with pytest.raises(EmulatorOptionError, match=named):
        MarketoEmulator(**options)


def test_the_context_manager_serves_on_loopback_and_gives_a_ready_connection():
    with MarketoEmulator(client_id="cid", client_secret="s3cret") as emulator:
        assert emulator.base_url.startswith("http://127.0.0.1:")
        connection = json.loads(emulator.connection_json())
        env = emulator.connection_env("marketo_test")
        base_url = emulator.base_url
        response = requests.get(f"{base_url}/rest/v1/programs/members/describe.json")
    assert connection == {
        "conn_type": "marketo",
        "host": base_url,
        "login": "cid",
        "password": "s3cret",
    }
    assert json.loads(env["AIRFLOW_CONN_MARKETO_TEST"]) == connection
    assert env["AIRFLOW_VAR_MARKETO_PM_POLL_INTERVAL"] == "1", "the test pace: a status check a second"
    assert set(env) == {"AIRFLOW_CONN_MARKETO_TEST", "AIRFLOW_VAR_MARKETO_PM_POLL_INTERVAL"}
    assert response.json()["errors"][0]["code"] == "600"
    with pytest.raises(RuntimeError, match="not running"):
        emulator.requests  # noqa: B018


@pytest.mark.parametrize(
    ("options", "chosen", "variable"),
    [
        ({}, None, "1"),  # jobs finish in well under a second: poll every second
        ({"status_refresh_seconds": 60.0}, None, "60"),  # Marketo's pace (--realistic): no sooner than it
        ({}, 0.25, "0.25"),
        ({}, 60, "60"),
    ],
)
def test_connection_env_sets_the_poll_interval_variable_at_the_emulators_pace(options, chosen, variable):
    emulator = MarketoEmulator(**options)

    with emulator:
        env = emulator.connection_env(poll_interval=chosen)

    assert env["AIRFLOW_VAR_MARKETO_PM_POLL_INTERVAL"] == variable
    assert float(variable) == (chosen or emulator.poll_interval)


@pytest.mark.parametrize("bad", [0, -1, True, "1", float("nan")])
def test_connection_env_refuses_a_poll_interval_that_is_not_a_positive_number(bad):
    with MarketoEmulator() as emulator, pytest.raises(ValueError, match="poll_interval"):
        emulator.connection_env(poll_interval=bad)


def test_two_emulators_run_side_by_side_with_their_own_state():
    with MarketoEmulator() as first, MarketoEmulator() as second:
        assert first.base_url != second.base_url
        assert first.client_secret != second.client_secret


def test_the_pytest_fixture_is_a_running_emulator(marketo_emulator):
    response = requests.get(f"{marketo_emulator.base_url}/rest/v1/programs/members/describe.json")

    assert response.status_code == 200


class TestFixtureOptions:
    @pytest.fixture
    def marketo_emulator_options(self):
        return {"max_queued": 3, "updated_at_filter": False}

    def test_options_can_be_overridden_per_module_or_class(self, marketo_emulator):
        assert marketo_emulator.options.max_queued == 3
        assert marketo_emulator.options.updated_at_filter is False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_cli_serves_the_api_with_the_given_credentials():
    port = free_port()
    command = [
        sys.executable,
        "-m",
        MODULE,
        "--port",
        str(port),
        "--client-id",
        "demo",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env={"MARKETO_EMULATOR_CLIENT_SECRET": "demo-secret", "PATH": ""})
    try:
        url = f"http://127.0.0.1:{port}/identity/oauth/token"
        form = {"grant_type": "client_credentials", "client_id": "demo", "client_secret": "demo-secret"}
        for _ in range(300):
            try:
                response = requests.post(url, data=form, timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("the CLI emulator never started listening")
        assert response.status_code == 200
        assert response.json()["token_type"] == "bearer"
    finally:
        process.terminate()
        process.wait(timeout=10)


def start_cli(tmp_path: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    """The CLI without --data-dir, its temporary folder made under ``tmp_path``; returns once it serves,
    with its banner."""
    env = {"PATH": "", "TMPDIR": str(tmp_path), "MARKETO_EMULATOR_CLIENT_SECRET": "s"}
    command = [sys.executable, "-m", MODULE, "--port", "0", "--log-level", "warning", *options]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    banner = process.stdout.readline()  # printed once the instance (and its folder) exists
    assert banner.startswith("Marketo emulator on http://127.0.0.1:"), banner + process.stderr.read()
    url = banner.split()[3]
    for _ in range(300):
        try:
            requests.get(f"{url}/rest/v1/programs/members/describe.json", timeout=5)
            return process, banner
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    pytest.fail("the CLI emulator never started listening")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_the_cli_removes_its_temporary_folder_whichever_signal_stops_it(tmp_path, signum):
    process, _ = start_cli(tmp_path)
    try:
        (folder,) = tmp_path.glob("marketo-emulator-*")
        (folder / "an-export.csv").write_text("leadId\n1")  # a folder with files in it goes too
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=20)
    finally:
        process.kill()

    assert process.returncode == 128 + signum
    assert "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == [], "the temporary data folder outlived the emulator"


def test_the_cli_banner_states_the_days_its_data_spans(tmp_path):
    process, banner = start_cli(tmp_path, "--data-until", "2026-11-01")
    process.terminate()
    process.communicate(timeout=20)

    assert banner.rstrip().endswith("; memberships updated 2022-01-02 to 2026-10-31 (UTC)")


def test_the_cli_keeps_a_data_dir_it_was_given(tmp_path):
    data_dir = tmp_path / "exports"
    command = [
        sys.executable,
        "-m",
        MODULE,
        "--port",
        "0",
        "--log-level",
        "warning",
        "--data-dir",
        str(data_dir),
    ]
    process = subprocess.Popen(command, env={"PATH": ""}, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("Marketo emulator on")
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        process.kill()

    assert process.returncode == 128 + signal.SIGTERM
    assert data_dir.is_dir(), "a folder the user named is theirs: never removed"


def test_the_cli_reports_a_busy_port_before_any_banner_and_exits_3():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", MODULE, "--port", str(port)], capture_output=True, text=True, timeout=60
        )

    assert result.returncode == 3
    assert result.stdout == ""  # no "Marketo emulator on ..." banner
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr


def test_the_cli_help_gives_every_options_default_and_meaning():
    from airflow_provider_marketo_pm.testing.emulator.__main__ import build_parser

    result = subprocess.run(
        [sys.executable, "-m", MODULE, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "", "COLUMNS": "400", "MARKETO_EMULATOR_CLIENT_SECRET": "do-not-print-me"},
    )
    options = [action for action in build_parser()._actions if action.dest != "help"]

    assert result.returncode == 0
    assert len(options) >= 20
    for action in options:
        assert action.help
        assert action.help.endswith("]"), f"--{action.dest} does not end with its [default]"
    assert "'emulator-client'" in result.stdout
    assert "'emulator-secret'" in result.stdout
    assert "--realistic keeps it" in result.stdout
    assert "do-not-print-me" not in result.stdout


def test_the_cli_serves_the_documented_dataset_with_crlf():
    from airflow_provider_marketo_pm.testing.emulator.__main__ import options_from, parse_args

    options = options_from(
        parse_args(["--dataset", "documented", "--line-ending", "crlf", "--lead-custom-field", "acmeScore"])
    )

    assert (options.dataset, options.line_ending, options.lead_custom_fields) == (
        "documented",
        "\r\n",
        ("acmeScore",),
    )
    assert (options.client_id, options.final_newline) == ("emulator-client", False)


def test_the_cli_answers_1035_for_the_filters_a_subscription_lacks_when_told():
    from airflow_provider_marketo_pm.testing.emulator.__main__ import options_from, parse_args

    lacking = options_from(parse_args(["--no-updated-at-filter", "--no-smart-list-filter"]))
    default = options_from(parse_args([]))

    assert (lacking.updated_at_filter, lacking.smart_list_filter) == (False, False)
    assert (default.updated_at_filter, default.smart_list_filter) == (True, True)


def test_the_cli_rejects_bad_options_by_name():
    result = subprocess.run(
        [sys.executable, "-m", MODULE, "--token-ttl", "0"], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 2
    assert "token_ttl" in result.stderr


class TestPythonControls:
    def test_job_returns_the_status_record_and_unknown_ids_are_key_errors(self, api, marketo_emulator):
        export_id = api.create_job()

        assert marketo_emulator.job(export_id) == api.status(export_id)["result"][0]
        assert marketo_emulator.file_path(export_id).suffix == ".csv"
        with pytest.raises(KeyError, match="not found"):
            marketo_emulator.job("nope")

    def test_cancel_job_refuses_finished_jobs(self, api, marketo_emulator):
        export_id = api.create_job()
        api.enqueue(export_id)
        api.wait_for(export_id, "Completed")

        with pytest.raises(ValueError, match="can no longer be cancelled"):
            marketo_emulator.cancel_job(export_id)

    @pytest.mark.parametrize(
        ("control", "args"),
        [
            ("advance", (-1,)),
            ("drop_download_after", (-5,)),
            ("stall_download_after", (-5, 1.0)),
            ("stall_download_after", (5, 0)),
            ("stall_download_after", (5, 1.0, 0)),
            ("occupy_queue", (11,)),
        ],
    )
    def test_controls_reject_bad_arguments(self, marketo_emulator, control, args):
        with pytest.raises(ValueError, match=control.split("_")[0]):
            getattr(marketo_emulator, control)(*args)
