"""Debian's chromium (``/usr/bin/chromium``, never ``playwright install``) and :class:`UI`, a
Playwright page on the app with the waits a Streamlit page needs; readers of the live page."""

from __future__ import annotations

import re
import time
from pathlib import Path

from harness import ARTIFACTS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
SCREENSHOTS = ARTIFACTS / "screenshots"
MAX_SHOT_PX = 8000
PAGE_TIMEOUT_MS = 90_000  # a cold page (models load, caches fill) on a busy 2-core box
# Shown while a script runs: the status widget ("Running…"), loading skeletons, spinners.
BUSY = "[data-testid='stStatusWidget'], [data-testid='stSkeleton'], [data-testid='stSpinner']"
STALE = "[data-testid='stMain'] [data-stale='true']"  # greyed elements of the previous run
TOY_STEP_RE = re.compile(r"^Step ([\d,]+)$")


def launch_args() -> dict:
    """Playwright's ``launch`` arguments for Debian's chromium, headless."""
    return {"executable_path": str(CHROMIUM), "args": list(CHROMIUM_ARGS)}


def launch(browser_type):  # noqa: ANN001, ANN201 - a (sync or async) playwright BrowserType
    """Launch Debian's chromium: a Browser (sync API) or an awaitable of one (async API)."""
    return browser_type.launch(**launch_args())


class UI:
    """The test's Playwright ``page`` on the app, with the waits a Streamlit page needs."""

    def __init__(self, page, server) -> None:  # noqa: ANN001 - playwright Page; anything with .url
        self.page, self.server = page, server
        page.set_default_timeout(PAGE_TIMEOUT_MS)

    def open(self, path: str = "", heading: str | None = None) -> None:
        """Load ``/<path>`` (a fresh session), wait for the app, its ``h1`` and a quiet page."""
        self.page.goto(f"{self.server.url}/{path.lstrip('/')}")
        self.page.wait_for_selector("[data-testid='stApp']")
        h1 = self.page.locator("[data-testid='stMain'] h1").first
        h1.wait_for()
        if heading is not None:
            self.page.locator("[data-testid='stMain'] h1", has_text=heading).first.wait_for()
        self.settle()

    def settle(self, quiet_s: float = 0.6, timeout_s: float = PAGE_TIMEOUT_MS / 1000) -> None:
        """Wait until the status widget ("Running…") and loading skeletons have been gone for
        ``quiet_s`` in a row (the widget shows up a moment after a run starts)."""
        deadline = time.monotonic() + timeout_s
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if self.page.locator(BUSY).count():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_s:
                return
            self.page.wait_for_timeout(100)
        raise AssertionError(f"the app was still running after {timeout_s:.0f} s")

    def key(self, key: str):  # noqa: ANN201 - playwright Locator
        """The element container of the widget / element with this ``key`` (current, not stale)."""
        return self.page.locator(f".st-key-{key}:not([data-stale='true'])")

    def click(self, key: str, timeout_s: float = 30.0) -> None:
        """One click on the button ``key``, once one live copy of it is on the page (while a run
        moves an element, the browser briefly holds the old copy and the new one). The first
        button: one with ``help`` also holds a hidden twin that sizes it."""
        box = self.key(key)
        deadline = time.monotonic() + timeout_s
        while box.count() != 1 and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        box.locator("button").first.click()

    def main_text(self) -> str:
        return self.page.locator("[data-testid='stMain']").inner_text()

    def exceptions(self) -> list[str]:
        return self.page.locator("[data-testid='stException']").all_inner_texts()

    def errors(self) -> list[str]:
        return self.page.locator("[data-testid='stAlertContentError']").all_inner_texts()

    def assert_clean(self) -> None:
        """No exception box and no traceback text on the page."""
        exc = self.exceptions()
        assert not exc, f"exception box(es) on the page: {exc}"
        body = self.page.locator("body").inner_text()
        assert "Traceback (most recent call last)" not in body

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        # The app scrolls inside its main container, so a "full page" shot is one viewport: make
        # the viewport as tall as the content (capped) for the shot, then put it back.
        size = self.page.viewport_size or {"width": 1400, "height": 1000}
        height = self.page.evaluate(
            "() => Math.max(window.innerHeight, ...Array.from(document.querySelectorAll("
            "\"[data-testid='stMain'], [data-testid='stAppViewContainer'], "
            "[data-testid='stAppScrollToBottomContainer']\"), e => e.scrollHeight))")
        self.page.set_viewport_size({"width": size["width"], "height": min(int(height), MAX_SHOT_PX)})
        try:
            self.page.wait_for_timeout(300)
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            self.page.set_viewport_size(size)
        return path


# --- the live page (/toy-lab) ----------------------------------------------------------------
def toy_step(ui: UI) -> int:
    """The "**Step N**" counter of the toy lab (the current one, not a stale copy)."""
    strong = ui.page.locator("[data-testid='stMain'] [data-testid='stElementContainer']"
                             ":not([data-stale='true']) [data-testid='stMarkdownContainer'] strong",
                             has_text=TOY_STEP_RE)
    text = strong.first.inner_text().strip()
    m = TOY_STEP_RE.match(text)
    assert m, text
    return int(m.group(1).replace(",", ""))


def toy_points(ui: UI) -> str:
    """The GAN's points plot: the address of its current PNG (a new image on every redraw)."""
    return ui.key("toy_points_0").locator("img").first.get_attribute("src") or ""
