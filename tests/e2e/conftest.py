"""Browser tests: a real app server (``python -m app.serve``) on a free loopback port, driven by Debian's
chromium through Playwright (pytest-playwright's ``page`` fixture; never ``playwright install``).

* ``app_server`` (session): the app on the shipped ``checkpoints/``; "Train your own" writes
  into a temp runs folder (``WAE_LAB_RUNS_DIR``, also listed as a checkpoint folder). Every
  ``WAE_LAB_*`` variable of the outer environment is dropped first (the AppTest fixtures set some
  for the whole pytest session). The server log is copied to ``test-artifacts/e2e-server.log``.
* ``ui``: a :class:`UI` around the test's ``page`` (open a page, wait for the app to settle,
  find widgets by key, take a screenshot into ``test-artifacts/screenshots/``).

Every test here is skipped, with the reason, when ``/usr/bin/chromium`` is missing (it fails
instead under CI=true).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from harness import ARTIFACTS
from harness.browser import CHROMIUM, UI, launch_args
from harness.server import StreamlitServer


@pytest.fixture(scope="session")
def base_url() -> None:
    """No base URL: each test goes to the full URL of the server it uses (this also replaces
    pytest-playwright's own fixture, whose definition pytest 9 warns about)."""
    return None


def _need_chromium() -> None:
    """Skip without chromium, except on CI (CI=true), where a skipped browser suite must fail."""
    if CHROMIUM.is_file():
        return
    msg = (f"{CHROMIUM} not found: install it with `make chromium` (apt-get install chromium); "
           "the browser tests never download a browser")
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright launches Debian's chromium (skip everything when it is missing)."""
    _need_chromium()
    return {**browser_type_launch_args, **launch_args()}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    _need_chromium()
    server = StreamlitServer(tmp_path_factory.mktemp("e2e_server"))
    try:
        yield server
    finally:
        server.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(server.log_path, ARTIFACTS / "e2e-server.log")


@pytest.fixture
def ui(page, app_server: StreamlitServer) -> UI:  # noqa: ANN001
    return UI(page, app_server)
