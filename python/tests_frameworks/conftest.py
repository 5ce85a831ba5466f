"""These tests import torch and jax at the top of their file: where either is missing the
file fails to collect (it is never skipped). Under CI (CI set and not 'false'/'0') a test
skipped for another reason is a failure too, as in python/tests."""

import os

import pytest

CI = os.environ.get("CI", "") not in ("", "0", "false")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if CI and rep.skipped and not hasattr(rep, "wasxfail"):
        rep.outcome = "failed"
        rep.longrepr = f"skipped under CI, which counts as a failure: {rep.longrepr}"
