"""Latency of the Latent explorer and the Samples page's memorisation check, measured on the
shipped checkpoints with the app's thread count (one, ``WAE_LAB_THREADS``):

* a slider change: move the code (``latent_ops.move``), decode one code per model, encode the PNG
  the page shows (``app.components.png_bytes``): per model and for all of them together;
* nearest training images: the one-off index (LeNet features of the 60,000 training images), then
  per grid of samples the LeNet features of the grid plus the exact 3-NN search;
* with ``--browser``: the whole round trip in chromium (``python -m app.serve`` on a free port,
  as the browser tests): a slider moved one step with the keyboard -> every model's image on the
  Latent explorer redrawn (the page's fragment re-run, the PNGs fetched and decoded); and the same
  on a bare Streamlit fragment with one slider and four PNGs, Streamlit's own floor.

    .venv/bin/python scripts/bench_explore.py [--threads 1] [--reps 50] [--browser]

Medians (and the worst of the repetitions) in milliseconds; the caches of the app are not
involved (every call computes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.components import png_bytes  # noqa: E402
from wae_core.data.datasets import load_mnist  # noqa: E402
from wae_core.evaluation.lenet import load_classifier  # noqa: E402
from wae_core.evaluation.neighbours import NeighbourIndex  # noqa: E402
from wae_core.models import checkpoint, latent_ops  # noqa: E402

MODELS = ("mnist-vae", "mnist-wae-mmd", "mnist-wae-gan", "mnist-gan")
GRIDS = (4, 8, 10)  # the Samples page's grid sizes (8 × 8 by default)
K = 3


def timed(fn: Callable[[], object], reps: int) -> tuple[float, float]:
    """(median, max) milliseconds of ``reps`` calls after one warm-up call."""
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts), max(ts)


def slider_latency(models: dict, reps: int) -> None:
    print("Slider change (move the code, decode it, PNG of the 28×28 image at 8×):")
    total = []
    for name, model in models.items():
        z0 = model.sample_prior(1, torch.Generator().manual_seed(0))[0]
        u = latent_ops.random_direction(model.cfg.z_dim, 0)
        offsets = [0.5] * model.cfg.z_dim

        def step(model=model, z0=z0, u=u, offsets=offsets) -> bytes:
            with torch.inference_mode():
                z = latent_ops.move(z0, offsets, u, 1.0, scale=model.cfg.sigma_z)
                img = model.decode(z[None]).numpy()
            return png_bytes(img[0, 0], 8)

        def decode_only(model=model, z0=z0) -> None:
            with torch.inference_mode():
                model.decode(z0[None])

        med, worst = timed(step, reps)
        dmed, _ = timed(decode_only, reps)
        total.append(med)
        print(f"  {name:15s} decode {dmed:6.2f} ms   decode + move + PNG {med:6.2f} ms (max {worst:.2f})")
    print(f"  all {len(models)} models side by side: {sum(total):.2f} ms per slider change "
          "(target < 100 ms)")


def neighbour_latency(models: dict, reps: int, clf_path: Path) -> None:
    net = load_classifier(clf_path)
    train = load_mnist("train")
    t0 = time.perf_counter()
    with torch.inference_mode():
        feats = net.embed(train.x)[0]
    t_embed = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = NeighbourIndex().fit(feats)
    t_fit = time.perf_counter() - t0
    print(f"Nearest training images: index of {len(train):,} training images: LeNet features "
          f"{t_embed:.1f} s + fit {t_fit * 1e3:.0f} ms (once per classifier, cached by the app)")
    for side in GRIDS:
        n = side * side
        row = []
        for model in models.values():
            with torch.inference_mode():
                x = model.sample(n, torch.Generator().manual_seed(0))

            def search(x=x) -> None:
                with torch.inference_mode():
                    index.query(net.embed(x)[0], K)

            row.append(timed(search, reps))
        med = statistics.median(r[0] for r in row)
        worst = max(r[1] for r in row)
        with torch.inference_mode():
            q = net.embed(next(iter(models.values())).sample(n))[0]
        qmed, _ = timed(lambda q=q: index.query(q, K), reps)
        print(f"  grid {side:2d} × {side:<2d} ({n:3d} samples): features + {K}-NN search {med:6.1f} ms "
              f"per grid (max {worst:.1f}; search alone {qmed:.1f} ms; target < 200 ms)")


# Streamlit's own floor: a fragment with one slider and four 224 x 224 PNGs and nothing else.
FLOOR_APP = """
import io
import numpy as np
import streamlit as st
from PIL import Image

@st.fragment
def frag():
    v = st.slider("Δz1", -3.0, 3.0, 0.0, 0.1)
    for j in range(4):
        with st.container(key=f"explore_decoded_{j}"):
            buf = io.BytesIO()
            Image.fromarray(np.full((224, 224), int((v + 3) * 40) % 256, np.uint8)).save(buf, format="PNG")
            st.image(buf.getvalue())

st.title("Latent explorer")
frag()
"""
SRCS = ("() => Array.from({length: 4}, (_, j) => document.querySelector("
        "`.st-key-explore_decoded_${j} img`)).map(i => i && i.complete ? i.src : '')")


def round_trips(page, reps: int) -> list[float]:  # noqa: ANN001 - playwright Page
    """Milliseconds from a key press on the Δz1 slider until all four images have new, loaded
    sources; ``reps`` of them after one warm-up."""
    thumb = page.locator("[data-testid='stSlider']", has_text="Δz1").locator("input[type='range']")
    thumb.focus()
    ts = []
    for i in range(reps + 1):
        before = page.evaluate(SRCS)
        t0 = time.perf_counter()
        thumb.press("ArrowRight" if i % 20 < 10 else "ArrowLeft")
        page.wait_for_function(f"b => ({SRCS})().every((s, j) => s && s !== b[j])", arg=before,
                               polling="raf")
        if i:
            ts.append((time.perf_counter() - t0) * 1e3)
    return ts


def browser_latency(reps: int) -> None:
    """The Latent explorer's slider round trip in chromium, and Streamlit's floor beside it."""
    import subprocess
    import tempfile

    from playwright.sync_api import sync_playwright

    from harness.browser import UI, launch
    from harness.server import StreamlitServer, free_port, health_latency
    from harness.waiting import wait_for

    work = Path(tempfile.mkdtemp())
    with sync_playwright() as p:
        browser = launch(p.chromium)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        server = StreamlitServer(work)
        try:
            ui = UI(page, server)
            ui.open("explore", "Latent explorer")
            page.get_by_text("Δz8").first.wait_for()
            ui.settle()
            ts = round_trips(page, reps)
        finally:
            server.stop()
        (work / "floor.py").write_text(FLOOR_APP)
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(work / "floor.py"), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--browser.gatherUsageStats", "false"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(lambda: health_latency(url, 2) is not None, 60, poll=0.2)
            page.goto(url)
            page.get_by_text("Latent explorer").first.wait_for()
            page.wait_for_timeout(1000)
            floor = round_trips(page, reps)
        finally:
            proc.terminate()
            proc.wait(10)
        browser.close()
    print(f"Browser round trip (chromium, key press on Δz1 -> 4 models' images redrawn): median "
          f"{statistics.median(ts):.0f} ms, max {max(ts):.0f} ms over {len(ts)} changes (target < 100 ms)")
    print(f"  Streamlit's floor (a fragment with one slider and 4 fixed-size PNGs, no model): median "
          f"{statistics.median(floor):.0f} ms, max {max(floor):.0f} ms")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1, help="torch threads (the app uses 1)")
    p.add_argument("--reps", type=int, default=50)
    p.add_argument("--checkpoints", type=Path, default=ROOT / "checkpoints")
    p.add_argument("--browser", action="store_true", help="also the round trip in chromium")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    models = {m: checkpoint.load(a.checkpoints / f"{m}.safetensors") for m in MODELS}
    print(f"torch {torch.__version__}, {a.threads} thread(s), {a.reps} repetitions, medians")
    slider_latency(models, a.reps)
    neighbour_latency(models, max(5, a.reps // 5), a.checkpoints / "lenet-mnist.safetensors")
    if a.browser:
        browser_latency(max(10, a.reps // 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
