"""A pytest plugin: with ``WAE_NO_SKIPS=1`` (``make test`` sets it) a skipped test fails.

``make test`` installs everything the suite needs (the venv, Debian's chromium), so a skip there
means the set-up is broken, not that a dependency is optional: it must turn the run red instead of
quietly testing less. Expected failures (xfail) are not skips and are left alone.
"""

import os

import pytest

ENV = "WAE_NO_SKIPS"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get(ENV) == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (f"skipped under {ENV}=1 (make test installs every dependency, so a "
                           f"skip means the set-up is broken): {reason}")
