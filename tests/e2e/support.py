"""Helpers of the browser tests (imported by ``conftest.py`` and the test modules) and of
``scripts/load_test.py``: a Streamlit server on a free loopback port, stopped by PID, and
:class:`UI`, the waits a Streamlit page needs."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
START_TIMEOUT_S = 60.0
MAX_SHOT_PX = 8000
PAGE_TIMEOUT_MS = 90_000  # a cold page (models load, caches fill) on a busy 2-core box


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health_latency(url: str, timeout: float = 5.0) -> float | None:
    """Seconds ``/_stcore/health`` took to answer 200, or None (no answer within ``timeout``)."""
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as r:
            r.read()
            return time.perf_counter() - t0 if r.status == 200 else None
    except OSError:
        return None


def digit_png() -> bytes:
    """A white "7" on black, 28x28: an MNIST-style PNG (the upload of the benchmarks)."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (112, 112), 0)
    ImageDraw.Draw(img).line([(25, 20), (88, 20), (45, 95)], fill=255, width=11, joint="curve")
    buf = io.BytesIO()
    img.resize((28, 28), Image.Resampling.LANCZOS).save(buf, "PNG")
    return buf.getvalue()


class StreamlitServer:
    """``python -m app.serve`` (``streamlit run`` with the cache warm-up, as ``make demo``) on
    127.0.0.1:<free port>; stopped by PID."""

    def __init__(self, workdir: Path, *, runs_dir: Path | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runs_dir = runs_dir or workdir / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"streamlit-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("WAE_LAB_")}
        env.update({
            "WAE_LAB_THREADS": "1",
            "WAE_LAB_RUNS_DIR": str(self.runs_dir),
            "WAE_LAB_CHECKPOINT_DIRS": os.pathsep.join([str(ROOT / "checkpoints"), str(self.runs_dir)]),
            "PYTHONUNBUFFERED": "1",
        })
        env.update(extra_env or {})
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.serve",
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log_tail()}")
            if health_latency(self.url, timeout=2) is not None:
                return
            time.sleep(0.2)
        raise RuntimeError(f"streamlit did not answer /_stcore/health in {START_TIMEOUT_S:.0f} s:\n"
                           f"{self.log_tail()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, n: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-n:]

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self._log.close()


class UI:
    """The test's Playwright ``page`` on the app, with the waits a Streamlit page needs."""

    def __init__(self, page, server: StreamlitServer) -> None:  # noqa: ANN001 - playwright Page
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
        busy = ("[data-testid='stStatusWidget'], [data-testid='stSkeleton'], "
                "[data-testid='stSpinner']")
        deadline = time.monotonic() + timeout_s
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if self.page.locator(busy).count():
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
