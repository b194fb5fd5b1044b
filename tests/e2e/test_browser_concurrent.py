"""Five browser sessions at once on one server (``scripts/load_test.py`` goes to 20): each opens a
different page at the same moment, every one completes with its own content and no exception, and
each session keeps its own seed (read back from its URL) while the others run."""

from __future__ import annotations

import pytest

from harness.browser import UI
from harness.server import StreamlitServer

pytestmark = pytest.mark.browser

# (url path, h1, a text the page shows once computed)
SESSIONS = [
    ("samples", "Samples", "Sharpness:"),
    ("reconstructions", "Reconstructions", "Mean MSE:"),
    ("latent", "Latent space", "MMD²(Q_Z, P_Z)"),
    ("interpolation", "Interpolation", "Spherical (slerp)"),
    ("mode-collapse", "Mode collapse", "KL to uniform"),
]


def test_five_concurrent_sessions(browser, app_server: StreamlitServer) -> None:  # noqa: ANN001
    log_start = len(app_server.log_tail(10**9))
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in SESSIONS]
    try:
        pages = [c.new_page() for c in contexts]
        # Fire all five requests before waiting on any, so the server runs them side by side.
        for i, (page, (path, _, _)) in enumerate(zip(pages, SESSIONS)):
            page.goto(f"{app_server.url}/{path}?seed={10 + i}", wait_until="commit")
        uis = [UI(page, app_server) for page in pages]
        for ui, (_path, heading, text) in zip(uis, SESSIONS):
            ui.page.locator("[data-testid='stMain'] h1", has_text=heading).first.wait_for()
            ui.page.get_by_text(text, exact=False).first.wait_for()
        for i, (ui, (path, _, _)) in enumerate(zip(uis, SESSIONS)):
            ui.settle()
            ui.assert_clean()
            assert not ui.errors(), f"/{path}: {ui.errors()}"
            assert f"seed={10 + i}" in ui.page.url, (path, ui.page.url)  # sessions do not mix
    finally:
        for c in contexts:
            c.close()
    assert "Traceback" not in app_server.log_tail(10**9)[log_start:]
