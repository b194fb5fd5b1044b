"""Every page of the app in a real browser, on the shipped checkpoints: it renders its own content,
no exception box, no error box; one screenshot per page under ``test-artifacts/screenshots/``."""

from __future__ import annotations

import pytest

from harness.browser import UI
from harness.server import StreamlitServer

pytestmark = pytest.mark.browser

# (url path as defined in app/streamlit_app.py, h1, texts that only this page shows once computed)
PAGES = [
    ("", "Welcome to WAE Lab", ["Follow the seminar", "Join the room's live run"]),
    ("idea", "Wasserstein Auto-Encoders: the idea", ["The WAE objective", "What the paper reports"]),
    ("samples", "Samples", ["Resample", "Sharpness:", "True data (MNIST test"]),
    ("reconstructions", "Reconstructions", ["MNIST test images", "Mean MSE:", "Your own digits"]),
    ("latent", "Latent space", ["MMD²(Q_Z, P_Z)", "Download the embedding (CSV)"]),
    ("interpolation", "Interpolation", ["Linear", "Spherical (slerp)"]),
    ("explore", "Latent explorer", ["Random direction", "Latent arithmetic"]),
    ("mode-collapse", "Mode collapse", ["Classes covered", "KL to uniform"]),
    ("toy-lab", "Live toy training", ["Step 0", "Modes covered", "OT cost to real"]),
    ("train", "Train your own", ["Start training", "Subset (images, 0 = all)"]),
    ("results", "Results", []),
]


@pytest.mark.parametrize(("path", "heading", "texts"), PAGES, ids=[p or "welcome" for p, _, _ in PAGES])
def test_page_renders(ui: UI, path: str, heading: str, texts: list[str]) -> None:
    ui.open(path, heading)
    for text in texts:
        ui.page.get_by_text(text, exact=False).first.wait_for()
    ui.screenshot(path or "welcome")
    ui.assert_clean()
    assert not ui.errors(), f"error boxes on /{path}: {ui.errors()}"
    # (on a server still starting, the welcome page comes first and its sidebar a moment later)
    ui.page.locator("[data-testid='stSidebar']").get_by_text("Models to compare").first.wait_for()
    if path == "results":  # either the scores or the hint how to make them
        body = ui.main_text()
        assert "No results yet" in body or "FID here is computed on LeNet features" in body


def test_deep_link_is_first_request_on_fresh_server(page, tmp_path) -> None:  # noqa: ANN001
    """The first request a new server gets is a page URL: the page runs inside the entry
    (sidebar, navigation), not bare (the old ``app/pages`` folder made it ``ModuleNotFoundError``)."""
    server = StreamlitServer(tmp_path)
    try:
        ui = UI(page, server)
        ui.open("samples", "Samples")
        ui.page.get_by_text("Sharpness:").first.wait_for()
        ui.assert_clean()
        assert not ui.errors(), ui.errors()
        sidebar = ui.page.locator("[data-testid='stSidebar']")
        assert "Models to compare" in sidebar.inner_text()
        links = sidebar.locator("[data-testid='stSidebarNav'] a")
        assert links.count() == len(PAGES)
        assert "ModuleNotFoundError" not in ui.page.locator("body").inner_text()
    finally:
        server.stop()
    assert "ModuleNotFoundError" not in server.log_path.read_text(errors="replace")


def test_the_server_runs_on_uvloop_and_httptools(ui: UI) -> None:
    """requirements.txt's uvloop and httptools are what the running server's event loop and HTTP
    parser are (Streamlit and uvicorn take them when installed; each page element's message
    then costs less CPU: docs/speed.md, 2026-12-07, late night)."""
    ui.open("", "Welcome to WAE Lab")
    with open(f"/proc/{ui.server.proc.pid}/maps") as f:
        maps = f.read()
    assert "uvloop/loop." in maps and "httptools/parser/parser." in maps
