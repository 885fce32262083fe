"""A real peer client reads the emulator: singer-io's tap-marketo, in discover and sync mode.

tap-marketo (PyPI ``tap-marketo``) exports leads and activities with Marketo's bulk extracts: it discovers
leads from ``/rest/v1/leads/describe.json`` and one stream per activity type from
``/rest/v1/activities/types.json``, reads ``/rest/v1/stats/usage.json``, probes the ``updatedAt`` lead
filter with a one-second export it cancels, then creates, enqueues (when it reads Created), polls and
downloads 30-day exports, and parses each file with a CSV reader (activity ``attributes`` as JSON). If it
cannot read the emulator, the emulator is wrong.

The test installs it with pip into its own venv under a temporary directory (it pins its own
dependencies, ``pendulum==1.2.0`` among them, which builds on Python 3.11). The one change to the tap:
it builds every URL as ``https://<munchkin id>.mktorest.com/<path>``, so a small runner points its
``Client.get_url`` at the emulator before calling the tap's own ``main()``; nothing else is touched.
Without a reachable package index the test skips, except in CI (``CI=true``), where it is required.
"""

from __future__ import annotations

import json
import os
import subprocess
import venv
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_marketo_pm.testing import MarketoEmulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]  # pip may build the tap's pins from source

PACKAGE = "tap-marketo"
RUNNER = """\
import os
import sys

import tap_marketo
from tap_marketo import client

BASE_URL = os.environ["MARKETO_EMULATOR_URL"]
# tap-marketo writes https://<munchkin id>.mktorest.com/<path>: send the same path to the emulator instead
client.Client.get_url = lambda self, url: "{}/{}".format(BASE_URL, url)
sys.exit(tap_marketo.main())
"""
ACTIVITY_STREAMS = {  # stream name -> activity type id
    "activities_change_data_value": 13,
    "activities_change_status_in_progression": 104,
}


def _index_unreachable(python: Path) -> str | None:
    """Why the package index cannot be used (None if it can): ``pip download`` of the package alone."""
    probe = subprocess.run(
        [str(python), "-m", "pip", "download", "--no-deps", "--dest", str(python.parent / "probe"), PACKAGE],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if probe.returncode == 0:
        return None
    return (probe.stderr.strip().splitlines() or [f"pip exited with {probe.returncode}"])[-1]


@pytest.fixture(scope="module")
def tap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with tap-marketo from the package index, and the runner script; the runner's path."""
    home = tmp_path_factory.mktemp("tap-marketo")
    venv.create(home / "venv", with_pip=True)
    python = home / "venv" / "bin" / "python"
    reason = _index_unreachable(python)
    if reason is not None:
        message = f"no package index reachable to install {PACKAGE}: {reason}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (required in CI)")
        pytest.skip(message)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", PACKAGE], capture_output=True, text=True, timeout=900
    )
    assert install.returncode == 0, f"pip install {PACKAGE} failed:\n{install.stdout[-3000:]}{install.stderr}"
    runner = home / "run_tap.py"
    runner.write_text(RUNNER)
    return runner


def _run_tap(runner: Path, emulator: MarketoEmulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MARKETO_EMULATOR_URL": emulator.base_url}
    result = subprocess.run(
        [str(runner.parent / "venv" / "bin" / "python"), str(runner), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=runner.parent,
    )
    assert result.returncode == 0, f"tap-marketo {' '.join(args)} failed:\n{result.stderr[-6000:]}"
    return result


def _select(catalog: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    """Select the ``wanted`` streams and every one of their properties, as a Singer user would."""
    for stream in catalog["streams"]:
        chosen = stream["tap_stream_id"] in wanted
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == [] or chosen:
                entry["metadata"]["selected"] = chosen
    return catalog


def test_tap_marketo_discovers_and_syncs_leads_and_activities(tap, tmp_path):
    with MarketoEmulator(client_id="tap-client", client_secret="tap-secret") as emulator:
        start = datetime.fromtimestamp(emulator.now(), UTC) - timedelta(days=75)
        config = {
            "endpoint": "https://123-ABC-456.mktorest.com/rest",
            "identity": "https://123-ABC-456.mktoidentity.com/identity",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "poll_interval": 0.2,  # the tap sleeps 5 minutes between status polls by default
            "job_timeout": 300,
        }
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps(config))

        discovered = json.loads(_run_tap(tap, emulator, "--config", str(config_path), "--discover").stdout)
        streams = {stream["tap_stream_id"]: stream for stream in discovered["streams"]}
        catalog_path = tmp_path / "catalog.json"
        catalog_path.write_text(json.dumps(_select(discovered, {"leads", *ACTIVITY_STREAMS})))
        synced = _run_tap(tap, emulator, "--config", str(config_path), "--properties", str(catalog_path))

        records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for line in synced.stdout.splitlines():
            message = json.loads(line)
            if message["type"] == "RECORD":
                records[message["stream"]].append(message["record"])
        lead_ids = {lead.id for lead in emulator.instance.records.leads.leads}
        created = Counter(call.kind for call in emulator.calls("create"))
        downloads = Counter(call.kind for call in emulator.calls("file") if call.status in (200, 206))

    assert {"leads", *ACTIVITY_STREAMS} <= set(streams)
    assert {"email", "leadCustomField01", "updatedAt"} <= set(streams["leads"]["schema"]["properties"])
    assert "new_status" in streams["activities_change_status_in_progression"]["schema"]["properties"]
    assert records["leads"], "tap-marketo read no lead"
    assert {record["id"] for record in records["leads"]} <= lead_ids
    assert all(record["updatedAt"] for record in records["leads"])
    for stream, type_id in ACTIVITY_STREAMS.items():
        assert records[stream], f"tap-marketo read no activity of {stream}"
        assert {record["activityTypeId"] for record in records[stream]} == {type_id}
        assert {record["leadId"] for record in records[stream]} <= lead_ids
    progressions = records["activities_change_status_in_progression"]
    assert all(isinstance(record["new_status"], str) for record in progressions)  # attributes JSON, flattened
    assert created["leads"] >= 2  # the updatedAt probe and at least one window
    assert created["activities"] >= 2
    assert downloads["leads"]
    assert downloads["activities"]
