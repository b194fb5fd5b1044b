"""Speed of the app in a real browser against the app issues' targets: cold start, a warm rerun of
every non-live page, a cached interaction, upload -> reconstruction, t-SNE, Stacked MNIST.

    .venv/bin/python scripts/bench_app.py [--starts 5] [--drop-caches] [--repeats 5]
        [--tsne-points 1000 2000] [--only cold pages interactions library]

Each server is ``python -m app.serve`` (as ``make demo``) on a free 127.0.0.1 port with the shipped
checkpoints (``harness.server.StreamlitServer``); each tab is a headless Debian chromium
(``/usr/bin/chromium``, never ``playwright install``). A *run* is timed from the action (page load,
click, key press, upload) to the page complete: the script run finished (the ``script_finished``
message on the tab's own websocket) and everything drawn (every image loaded, every Plotly chart
drawn, no spinner, skeleton or stale element left). Prints:

1. ``cold``: ``--starts`` cold starts, each a fresh server: process start -> the server answers, ->
   the first page's script finished, -> the first page complete, for a tab that asks at once
   (chromium is started before the server, and the tab retries until the server answers). Every
   tab has a browser context of its own, so nothing is cached in the browser: a first visit.
   ``--drop-caches`` empties the OS file cache before the first start (root only: said plainly
   otherwise). Then a tab opened once a fresh server's warm-up is done (its log's "caches warm");
2. ``pages``: in one tab, every page but the live ones opened from the sidebar (its first visit),
   then rerun ``--repeats`` times with the "r" key (every cache warm): median;
3. ``interactions``: upload a PNG digit on Reconstructions; the latent page switched to t-SNE
   (cold, then again); Mode collapse on Stacked MNIST in a new tab (first visit, then again);
4. ``library``: the same upload and t-SNE without the server (the functions the pages call).

Each figure is measured on this machine as it is: run it on an idle machine (check ``uptime``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from app import PAGE_SPECS  # noqa: E402  (a list of names: imports nothing heavy)

# The server and browser of the browser tests: one copy of how the app is started.
from harness.browser import CHROMIUM, launch  # noqa: E402
from harness.images import digit_png  # noqa: E402
from harness.server import StreamlitServer  # noqa: E402

TARGETS = {"cold": 3.0, "cached": 0.3, "upload": 0.2, "tsne": 4.0, "stacked": 1.0}
LIVE_PAGES = ("toy-lab", "train")  # their fragments rerun on timers: not a page rerun to time
TIMEOUT_S = 180.0
VIEWPORT = {"width": 1400, "height": 1000}
# True once the page is complete: a title, every image loaded, every Plotly chart drawn, and no
# spinner, loading skeleton or stale (greyed, from the previous run) element left.
COMPLETE_JS = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  if (!main || !main.querySelector("h1")) return false;
  if (document.querySelector("[data-testid='stSkeleton'], [data-testid='stSpinner'], "
                             + "[data-stale='true']")) return false;
  for (const img of document.querySelectorAll("[data-testid='stAppViewContainer'] img"))
    if (!img.complete || !img.naturalWidth) return false;
  for (const c of main.querySelectorAll("[data-testid='stPlotlyChart']"))
    if (!c.querySelector(".main-svg")) return false;
  return true;
}"""


class Server(StreamlitServer):
    """The browser tests' server, returned as soon as the process is started (not once healthy):
    the cold start is timed by the tab, which asks until the server answers."""

    def _wait_healthy(self) -> None:
        pass


def verdict(seconds: float, target: float) -> str:
    return f"{'met' if seconds <= target else 'MISSED'} (target ≤ {target:g} s)"


def drop_caches() -> str:
    """Empty the OS file cache (``sync; echo 3 > /proc/sys/vm/drop_caches``): '' when done, else
    why not (it needs root)."""
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return ""
    except OSError as e:
        return f"could not drop the OS file cache ({e.strerror or e}; it needs root)"


class Tab:
    """A chromium tab (its own browser context: one app session) that times runs."""

    def __init__(self, browser) -> None:  # noqa: ANN001 - playwright Browser
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.ctx = browser.new_context(viewport=VIEWPORT)
        self.page = self.ctx.new_page()
        self.page.set_default_timeout(TIMEOUT_S * 1000)
        self.finished: list[tuple[int, float]] = []  # (status, perf_counter) of script_finished

        def frame(payload: bytes | str) -> None:
            if isinstance(payload, bytes):
                msg = ForwardMsg()
                msg.ParseFromString(payload)
                if msg.WhichOneof("type") == "script_finished":
                    self.finished.append((msg.script_finished, time.perf_counter()))

        self.page.on("websocket", lambda ws: ws.on("framereceived", frame))

    def close(self) -> None:
        self.ctx.close()

    def goto_when_up(self, url: str, proc: subprocess.Popen, t0: float) -> float:
        """Load ``url``, retrying until the server answers; seconds from ``t0`` to the answer."""
        from playwright.sync_api import Error

        while True:
            try:
                self.page.goto(url, wait_until="commit", timeout=5000)
                return time.perf_counter() - t0
            except Error:
                if proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {proc.returncode}") from None
                if time.perf_counter() - t0 > TIMEOUT_S:
                    raise RuntimeError(f"the server did not answer within {TIMEOUT_S:.0f} s") from None
                time.sleep(0.05)

    def wait_run(self, t0: float, since: int = 0) -> tuple[float, float]:
        """After an action started at ``t0``: seconds to the script run finished (successfully;
        a run cut short by a rerun or a fragment's run does not count), then to the page complete."""
        deadline = t0 + TIMEOUT_S
        while not any(s == 0 for s, _ in self.finished[since:]):
            if any(s == 1 for s, _ in self.finished[since:]):
                raise RuntimeError("the script has a compile error")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"no finished script run within {TIMEOUT_S:.0f} s")
            self.page.wait_for_timeout(10)
        t_fin = next(t for s, t in self.finished[since:] if s == 0)
        while not self.page.evaluate(COMPLETE_JS):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the page was not complete within {TIMEOUT_S:.0f} s")
            self.page.wait_for_timeout(10)
        self.check()
        return t_fin - t0, time.perf_counter() - t0

    def timed(self, action) -> tuple[float, float]:  # noqa: ANN001 - a callable
        """Do ``action()`` and time the run it starts (see :meth:`wait_run`)."""
        since = len(self.finished)
        t0 = time.perf_counter()
        action()
        return self.wait_run(t0, since)

    def rerun(self) -> tuple[float, float]:
        """Rerun the page as its "r" key does (focus on the page's title, not a widget)."""
        self.page.locator("[data-testid='stMain'] h1").first.click()
        return self.timed(lambda: self.page.keyboard.press("r"))

    def check(self) -> None:
        boxes = self.page.locator("[data-testid='stException'], [data-testid='stAlertContentError']")
        if boxes.count():
            raise RuntimeError(f"error on the page: {boxes.first.inner_text()[:300]}")


def log_note(server: StreamlitServer) -> str:
    lines = [ln for ln in server.log_tail(20000).splitlines() if ln.startswith("WAE Lab:")]
    return "; ".join(ln.removeprefix("WAE Lab: ") for ln in lines)


def cold_starts(browser, workdir: Path, starts: int, drop: bool) -> None:  # noqa: ANN001
    print(f"cold start, {starts} fresh servers (process start -> server answers / first page's "
          f"script finished / first page complete in chromium):", flush=True)
    totals = []
    for i in range(starts):
        note = ""
        if drop and i == 0:
            note = drop_caches() or "OS file cache dropped"
        tab = Tab(browser)
        t0 = time.perf_counter()
        server = Server(workdir / f"cold-{i}")
        try:
            answer = tab.goto_when_up(server.url, server.proc, t0)
            fin, done = tab.wait_run(t0)
            time.sleep(0.3)  # the warm-up's log line, when it is that far
            note = "; ".join(n for n in (note, log_note(server)) if n)
        finally:
            tab.close()
            server.stop()
        totals.append(done)
        print(f"  start {i + 1}: {answer:5.2f} / {fin:5.2f} / {done:5.2f} s  "
              f"{verdict(done, TARGETS['cold'])}{f'  ({note})' if note else ''}", flush=True)
    print(f"  worst {max(totals):.2f} s, median {statistics.median(totals):.2f} s  "
          f"{verdict(max(totals), TARGETS['cold'])} on every start", flush=True)
    t0 = time.perf_counter()
    server = StreamlitServer(workdir / "warm")
    tab = Tab(browser)
    try:
        server.wait_warm(TIMEOUT_S)
        warm = time.perf_counter() - t0
        fin, done = tab.timed(lambda: tab.page.goto(server.url, wait_until="commit"))
    finally:
        tab.close()
        server.stop()
    print(f"  a tab opened once the warm-up is done ({warm:.1f} s after the start): first page "
          f"complete after {done:.2f} s (script {fin:.2f} s)", flush=True)


def pages(browser, url: str, repeats: int) -> None:  # noqa: ANN001
    print(f"pages (one tab; first visit from the sidebar, then a warm rerun, median of {repeats}; "
          "script finished / page complete):", flush=True)
    tab = Tab(browser)
    try:
        first = tab.timed(lambda: tab.page.goto(url, wait_until="commit"))  # the default page
        for i, (_, title, _, path) in enumerate(PAGE_SPECS):
            if path in LIVE_PAGES:
                continue
            if i:
                link = tab.page.locator(f"[data-testid='stSidebarNav'] a[href$='/{path}']").first
                first = tab.timed(link.click)
            runs = [tab.rerun() for _ in range(repeats)]
            fin = statistics.median(r[0] for r in runs)
            done = statistics.median(r[1] for r in runs)
            print(f"  {title:<18} first visit {first[1]:6.2f} s   rerun {fin * 1000:5.0f} / "
                  f"{done * 1000:5.0f} ms", flush=True)
    finally:
        tab.close()


def interactions(browser, url: str, repeats: int) -> None:  # noqa: ANN001
    tab = Tab(browser)
    try:
        tab.timed(lambda: tab.page.goto(f"{url}/reconstructions", wait_until="commit"))
        uploader = tab.page.locator(".st-key-recon_user_upload input[type='file']").first
        png, times = digit_png(), []
        for i in range(repeats):
            files = {"name": f"digit{i}.png", "mimeType": "image/png", "buffer": png}
            times.append(tab.timed(lambda f=files: uploader.set_input_files(f)))
            if not tab.page.locator(".st-key-recon_user_download_0").count():
                raise RuntimeError("no reconstruction of the upload")
        done = statistics.median(t[1] for t in times)
        print(f"upload -> reconstruction (4 models; script finished / page complete, median): "
              f"{statistics.median(t[0] for t in times) * 1000:.0f} / {done * 1000:.0f} ms  "
              f"{verdict(done, TARGETS['upload'])}", flush=True)
        tab.timed(lambda: tab.page.goto(f"{url}/latent", wait_until="commit"))
        radio = tab.page.locator(".st-key-latent_method label").filter(has_text="t-SNE").first
        cold = tab.timed(radio.click)
        again = tab.rerun()
        print(f"latent page switched to t-SNE (its default 1,000 codes + 1,000 prior per model): "
              f"{cold[1]:.1f} s cold, {again[1] * 1000:.0f} ms again", flush=True)
    finally:
        tab.close()
    tab = Tab(browser)
    try:
        first = tab.timed(lambda: tab.page.goto(f"{url}/mode-collapse?data=stacked-mnist",
                                                wait_until="commit"))
        again = statistics.median(tab.rerun()[1] for _ in range(3))
        print(f"Mode collapse on Stacked MNIST (4 models, 10,000 samples each): first visit "
              f"{first[1]:.1f} s, again {again * 1000:.0f} ms  {verdict(again, TARGETS['stacked'])}",
              flush=True)
    finally:
        tab.close()


def library(points: list[int], repeats: int) -> None:
    """Upload processing and t-SNE without the server (the functions the pages call)."""
    import numpy as np
    import torch

    from wae_core.data.datasets import load_mnist
    from wae_core.data.ingest import preprocess_bytes
    from wae_core.evaluation.latent_map import LatentMap
    from wae_core.models import checkpoint
    from wae_core.training.recipes import checkpoint_name

    torch.set_num_threads(1)  # as the app (WAE_LAB_THREADS=1)
    models = [checkpoint.load(ROOT / "checkpoints" / f"{checkpoint_name('mnist', k)}.safetensors")
              for k in ("vae", "wae-mmd", "wae-gan")]
    png, times = digit_png(), []
    for _ in range(repeats):
        t0 = time.perf_counter()
        x = torch.as_tensor(preprocess_bytes(png).image)
        with torch.no_grad():
            for m in models:
                m.reconstruct(x.reshape(1, 1, 28, 28))
        times.append(time.perf_counter() - t0)
    print(f"library: preprocess + 3 reconstructions {statistics.median(times) * 1000:.1f} ms", flush=True)
    import openTSNE  # noqa: F401 - imported by the server's warm-up, not part of a fit

    test = load_mnist("test")
    for n in points:
        with torch.no_grad():
            codes = models[1].encode(test.x[:n]).numpy()
        prior = np.random.default_rng(0).normal(size=codes.shape)
        t0 = time.perf_counter()
        LatentMap(codes, prior, test.y[:n].numpy(), np.arange(n), "t-SNE", seed=0)
        t = time.perf_counter() - t0
        print(f"library: t-SNE of {n:,} WAE-MMD codes + {n:,} prior draws: {t:.2f} s  "
              f"{verdict(t, TARGETS['tsne'])}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--starts", type=int, default=5, help="cold starts, each a fresh server")
    p.add_argument("--drop-caches", action="store_true",
                   help="empty the OS file cache before the first cold start (root only)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--tsne-points", type=int, nargs="+", default=[1000, 2000])
    parts = ("cold", "pages", "interactions", "library")
    p.add_argument("--only", nargs="+", choices=parts, default=list(parts))
    a = p.parse_args(argv)
    if not CHROMIUM.is_file() and set(a.only) - {"library"}:
        print(f"{CHROMIUM} not found: `make chromium` installs it", file=sys.stderr)
        return 2
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.2f} at the start", flush=True)
    if set(a.only) - {"library"}:
        from playwright.sync_api import sync_playwright

        with tempfile.TemporaryDirectory(prefix="wae-bench-app-") as tmp, sync_playwright() as pw:
            browser = launch(pw.chromium)
            try:
                if "cold" in a.only:
                    cold_starts(browser, Path(tmp), a.starts, a.drop_caches)
                if {"pages", "interactions"} & set(a.only):
                    server = StreamlitServer(Path(tmp) / "main")
                    try:
                        if "pages" in a.only:
                            pages(browser, server.url, a.repeats)
                        if "interactions" in a.only:
                            interactions(browser, server.url, a.repeats)
                    finally:
                        server.stop()
            finally:
                browser.close()
    if "library" in a.only:
        library(a.tsne_points, a.repeats)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
