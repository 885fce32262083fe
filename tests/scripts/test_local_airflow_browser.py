"""`make airflow` as a user meets it: started, signed in, a backfill triggered in the UI, stopped by Ctrl-C.

Runs ``scripts/local_airflow.py`` (what ``make airflow`` runs) in a process of its own, reads the address and
the sign-in it prints, and drives the UI in headless Chromium: sign in, Trigger the backfill DAG with small
params, wait until the UI shows the run succeeded, and take the screenshots the docs show (the grid, a
download's log). They are written to the test's temporary folder; ``MARKETO_PM_UPDATE_SCREENSHOTS=1`` copies
them into docs/images/. Then SIGINT, as Ctrl-C sends it: every process stops, and the script says how long
it took.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from browser import button, headless_chromium

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "local_airflow.py"
DOCS_IMAGES = REPO_ROOT / "docs" / "images"
DAG_ID = "marketo_program_members_backfill"
UP = re.compile(
    r"Airflow is up after (?P<seconds>[\d.]+) s: (?P<url>http://\S+)\n\s+sign in as '(?P<user>\w+)', "
    r"password '(?P<password>[^']+)'"
)


class LocalAirflowProcess:
    """``scripts/local_airflow.py`` in its own process, its output collected in a file."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.output = home.parent / f"{home.name}.out"
        with self.output.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(SCRIPT), "--home", str(home), "--port", "0"],
                env={
                    **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
                    "PYTHONPATH": str(REPO_ROOT),
                },
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.began = time.monotonic()

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_until_up(self, timeout: float = 300) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = UP.search(self.text())
            if found:
                return found
            assert self.process.poll() is None, f"local_airflow.py exited:\n{self.text()[-5000:]}"
            time.sleep(0.5)
        raise AssertionError(f"Airflow was not up after {timeout:.0f} s:\n{self.text()[-5000:]}")

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        for proc in [*self.descendants(), psutil.Process(self.process.pid)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from headless_chromium(window_size="1400,900")


@pytest.fixture(scope="module")
def local_airflow(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LocalAirflowProcess, re.Match[str]]]:
    started = LocalAirflowProcess(tmp_path_factory.mktemp("local-airflow") / "home")
    try:
        yield started, started.wait_until_up()
    finally:
        if started.process.poll() is None:
            started.kill()


def wait_for(check: Any, *, timeout: float, what: str, driver: Any) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what} on {driver.current_url}")


def sign_in(driver: Any, url: str, user: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(password)
    button(driver, text="Sign in").click()
    wait_for(lambda: "/auth/login" not in driver.current_url, timeout=30, what="the sign-in", driver=driver)


def trigger_from_the_ui(driver: Any, url: str) -> str:
    """Press Trigger on the DAG's page, give two months of two programs, submit; the new run's id."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{url}/dags/{DAG_ID}")
    button(driver, label="Trigger Dag").click()
    end = driver.find_element(By.ID, "element_end")
    end.send_keys(Keys.CONTROL, "a")
    end.send_keys(Keys.BACKSPACE, "2024-03-01")
    assert end.get_attribute("value") == "2024-03-01"
    driver.find_element(By.ID, "element_program_ids").send_keys("[1001, 1002]")
    button(driver, text="Trigger", within="[role=dialog]").click()
    wait_for(lambda: "/runs/" in driver.current_url, timeout=30, what="the new run's page", driver=driver)
    return urllib.parse.unquote(driver.current_url.split("/runs/")[1].split("/")[0])


def run_shows_success(driver: Any, url: str, run_id: str) -> bool:
    """Whether the DAG's run list shows ``run_id`` as Success (reloading it); fails on a failed run."""
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/dags/{DAG_ID}/runs")
    time.sleep(1)
    rows = driver.find_elements(By.XPATH, f"//tr[td[contains(normalize-space(), {run_id!r})]]")
    text = " ".join(row.text for row in rows)
    assert "Failed" not in text, text
    return "Success" in text


def test_a_user_triggers_the_backfill_in_the_ui_and_sees_it_succeed_then_ctrl_c_stops_all(
    browser, local_airflow, tmp_path
):
    from selenium.webdriver.common.by import By

    started, up = local_airflow
    url, driver = up["url"], browser
    print(f"make airflow: up after {up['seconds']} s (load {os.getloadavg()[0]:.1f})")
    assert (
        "pool 'marketo_bulk_export' (4 slots, deferred counted); default_deferrable = True" in started.text()
    )

    sign_in(driver, url, up["user"], up["password"])
    run_id = trigger_from_the_ui(driver, url)
    wait_for(
        lambda: run_shows_success(driver, url, run_id),
        timeout=600,
        what=f"{run_id} to succeed",
        driver=driver,
    )

    files = sorted(
        p.relative_to(started.home / "exports").as_posix() for p in (started.home / "exports").rglob("*.csv")
    )
    assert files == [
        f"backfill/updated_from={lower}/updated_to={upper}/batch=00.csv"
        for lower, upper in (("2024-01-01", "2024-02-01"), ("2024-02-01", "2024-03-01"))
    ]

    run_page = f"{url}/dags/{DAG_ID}/runs/{urllib.parse.quote(run_id)}"
    driver.get(run_page)
    driver.find_element(By.XPATH, "//*[normalize-space()='export_job [ ]']")  # the grid is drawn
    button(driver, label="Expand all task groups", timeout=60).click()
    driver.find_element(By.XPATH, "//*[normalize-space()='download_export [ ]']")
    time.sleep(1)
    driver.save_screenshot(str(tmp_path / "local-airflow-grid.png"))
    driver.get(f"{run_page}/tasks/export_job.download_export/mapped/0")
    published = driver.find_element(By.XPATH, "//*[contains(text(), 'Published file://')]")
    assert "sha256" in published.text
    driver.save_screenshot(str(tmp_path / "local-airflow-download-log.png"))
    if os.environ.get("MARKETO_PM_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(exist_ok=True)
        for shot in tmp_path.glob("local-airflow-*.png"):
            shutil.copy(shot, DOCS_IMAGES / shot.name)

    children = started.descendants()
    assert len(children) >= 4  # the four components, and what they started
    started.process.send_signal(signal.SIGINT)
    assert started.process.wait(timeout=60) == 0
    stopped = re.search(r"Stopped in ([\d.]+) s\.", started.text())
    assert stopped, started.text()[-3000:]
    print(f"make airflow: stopped in {stopped[1]} s (load {os.getloadavg()[0]:.1f})")
    assert not [proc for proc in children if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE]
