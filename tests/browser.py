"""Headless Chromium for the UI tests: Debian's chromium and chromedriver, installed by apt-get if missing.

Outside root (or without apt-get) the UI tests are skipped with the reason, except under ``CI=true``, where
they must run, so they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _browser_installed() -> bool:
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


def install_browser() -> str | None:
    """Install Debian's chromium and chromium-driver when missing; the reason it cannot, or None."""
    if _browser_installed():
        return None
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "chromium is not installed and apt-get (as root) is not available to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"]
    for command in (["apt-get", "update", "-q"], install):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            return f"{' '.join(command)} failed: {done.stderr[-500:]}"
    return None if _browser_installed() else "chromium or chromedriver still missing after apt-get install"


def headless_chromium(window_size: str = "1280,900") -> Iterator[Any]:
    """A headless Chromium WebDriver (a fixture's body: yields the driver, quits it after)."""
    reason = install_browser()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={window_size}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(10)
    yield driver
    driver.quit()


def button(
    driver: Any, *, text: str | None = None, label: str | None = None, within: str = "", timeout: float = 15
) -> Any:
    """The button with this text or aria-label (inside CSS selector ``within``), once the UI rendered it."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    selector = f"{within} button".strip()
    deadline = time.monotonic() + timeout  # the React UI renders (and re-renders) after its API calls return
    while time.monotonic() < deadline:
        try:
            for found in driver.find_elements(By.CSS_SELECTOR, selector):
                if (text is not None and found.text.strip() == text) or (
                    label is not None and found.get_attribute("aria-label") == label
                ):
                    return found
        except StaleElementReferenceException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"no button {text or label!r} on {driver.current_url}")
