"""Deprecations fail the tests, ours and those of the Airflow APIs we call; named third-party ones pass."""

from __future__ import annotations

import importlib
import tomllib
import warnings

import pytest

from airflow_provider_marketo_pm.hooks import call_retries

AIRFLOW_DEPRECATIONS = [
    ("airflow.exceptions", "RemovedInAirflow4Warning"),
    ("airflow.exceptions", "AirflowProviderDeprecationWarning"),
    ("airflow.sdk.exceptions", "RemovedInAirflow4Warning"),
    ("airflow.utils.deprecation_tools", "DeprecatedImportWarning"),  # a moved import path (a FutureWarning)
]
ERRORS = ["error::DeprecationWarning", "error::PendingDeprecationWarning", "error::FutureWarning"]


def filters(repo_root) -> list[str]:
    config = tomllib.loads((repo_root / "pyproject.toml").read_text())
    return config["tool"]["pytest"]["ini_options"]["filterwarnings"]


def test_a_deprecation_from_our_code_fails_the_test():
    with pytest.raises(DeprecationWarning, match="CallRetries"):
        call_retries.RetryPolicy  # noqa: B018  # an old name, used without pytest.warns


@pytest.mark.parametrize(("module", "name"), AIRFLOW_DEPRECATIONS, ids=".".join)
def test_airflows_own_deprecation_warnings_fail_the_test(module, name):
    category = getattr(importlib.import_module(module), name, None)
    if category is None:
        pytest.skip(f"this Airflow has no {module}.{name}")
    assert issubclass(category, DeprecationWarning | FutureWarning)  # so an error:: filter covers it

    with pytest.raises(category):
        warnings.warn(category("an Airflow API we call is deprecated"), stacklevel=1)


def test_pending_deprecations_fail_too():
    with pytest.raises(PendingDeprecationWarning):
        warnings.warn("will be deprecated", PendingDeprecationWarning, stacklevel=1)


def test_every_ignored_deprecation_is_named_by_message_and_module(repo_root):
    configured = filters(repo_root)
    assert configured[: len(ERRORS)] == ERRORS
    for entry in configured[len(ERRORS) :]:
        action, message, category, module = (entry.split(":") + [""] * 4)[:4]
        assert action == "ignore", entry
        assert message, f"{entry!r} must name the warning (its message)"
        assert module, f"{entry!r} must name the third-party module raising it"
        assert category in {"DeprecationWarning", "PendingDeprecationWarning", "FutureWarning"}, entry
        assert not module.startswith("airflow_provider_marketo_pm"), "fix our code instead"
