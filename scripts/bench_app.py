"""Speed of the app against the app issue's targets: cold start, cached interaction, upload ->
reconstruction, t-SNE.

    .venv/bin/python scripts/bench_app.py [--repeats 5] [--tsne-points 1000 2000]

Starts the app (``python -m app.serve`` on a free 127.0.0.1 port, shipped checkpoints, as
``scripts/load_test.py`` does) and drives it over Streamlit's websocket protocol like a browser tab
(``load_test.WsSession``: request sent -> script run finished and its images fetched). Prints:

1. cold start (``python -m app.serve``, as ``make demo``): process start -> ``/_stcore/health``
   answers, -> the first page's first element arrives, -> the first page complete, for a tab that
   connects at once; and, on a second fresh server, the first page for a tab that connects once
   the server's warm-up is done;
2. a cached interaction: re-running the Samples page (same seed: every grid from the caches),
   median of ``--repeats``;
3. upload -> reconstruction: upload a PNG digit on Reconstructions and run the page (the HTTP PUT
   and the run with 4 models), median; and the library part alone (preprocess + 3 reconstructions);
4. t-SNE: the latent page's projection (:class:`wae_core.latent_map.LatentMap`, fitted on codes ∪ prior
   draws) of a shipped WAE's codes, for each ``--tsne-points`` n (n codes + n prior draws), and the
   latent page switched to t-SNE in the app, cold (3 models) and again (cached);
5. Mode collapse on Stacked MNIST (a new tab opened on ``?data=stacked-mnist``, its four shipped
   models, 10,000 samples each): the first visit and the same view again (from the caches).

Each figure is measured on this machine as it is: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import load_test as lt  # noqa: E402

TARGETS = {"cold": 5.0, "cached": 0.3, "upload": 0.2, "tsne": 4.0}


def verdict(seconds: float, target: float) -> str:
    return f"{'met' if seconds < target else 'MISSED'} (target < {target:g} s)"


async def app_figures(url: str, repeats: int, t_spawn: float, t_health: float) -> dict[str, float]:
    s = lt.WsSession(url, timeout=300)
    out: dict[str, float] = {"health": t_health - t_spawn}
    await s.open()
    try:
        res = await s.run(page="")
        out["first_page"] = time.perf_counter() - t_spawn
        out["first_content"] = (res.first_element_at or float("nan")) - t_spawn
        _check(res, "first page")

        res = await s.run(page=lt.SAMPLES)  # cold: models loaded, samples decoded
        _check(res, "samples")
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            _check(await s.run(page=lt.SAMPLES), "samples (cached)")
            times.append(time.perf_counter() - t0)
        out["cached"] = statistics.median(times)

        res = await s.run(page=lt.RECON)
        up = res.widget_id("recon_user_upload")
        if up is None:
            raise RuntimeError("no upload widget on the Reconstructions page")
        png, times = lt.digit_png(), []
        for i in range(repeats):
            t0 = time.perf_counter()
            state = await s.upload(up, f"digit{i}.png", png)
            res = await s.run(widgets=[state])
            times.append(time.perf_counter() - t0)
            _check(res, "upload", need="recon_user_download_0")
        out["upload"] = statistics.median(times)

        res = await s.run(page=lt.LATENT)
        radio = res.widget_id("latent_method")
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        tsne = WidgetState(id=radio, string_value="t-SNE")
        t0 = time.perf_counter()
        _check(await s.run(widgets=[tsne]), "latent t-SNE")
        out["tsne_app_cold"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        _check(await s.run(page=lt.LATENT), "latent t-SNE (cached)")
        out["tsne_app_cached"] = time.perf_counter() - t0
    finally:
        await s.close()
    out.update(await stacked_figures(url))
    return out


async def stacked_figures(url: str) -> dict[str, float]:
    """The Mode collapse page on Stacked MNIST in a new tab: first visit, then again (cached)."""
    s = lt.WsSession(url, timeout=600)
    await s.open()
    try:
        t0 = time.perf_counter()
        _check(await s.run(page="mode-collapse", query="data=stacked-mnist"), "stacked mode collapse")
        first = time.perf_counter() - t0
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            _check(await s.run(page="mode-collapse", query="data=stacked-mnist"), "stacked (cached)")
            times.append(time.perf_counter() - t0)
    finally:
        await s.close()
    return {"stacked_first": first, "stacked_cached": statistics.median(times)}


def _check(res: lt.RunResult, what: str, need: str | None = None) -> None:
    problems = res.problems() + ([f"no element {need!r}"] if need and not res.has(need) else [])
    if problems:
        raise RuntimeError(f"{what}: {problems}")


def library_figures(points: list[int], repeats: int) -> dict[str, float]:
    """Upload processing and t-SNE without the server (same functions the pages call)."""
    import numpy as np
    import streamlit.logger
    import torch

    streamlit.logger.set_log_level("error")  # app.cache imports streamlit outside a running app
    from wae_core import checkpoint
    from wae_core.data import load_mnist
    from wae_core.latent_map import LatentMap
    from wae_core.preprocess import preprocess_bytes

    torch.set_num_threads(1)  # as the app (WAE_LAB_THREADS=1)
    models = [checkpoint.load(ROOT / "checkpoints" / f"mnist-{k}.safetensors")
              for k in ("vae", "wae-mmd", "wae-gan")]
    png, times = lt.digit_png(), []
    for _ in range(repeats):
        t0 = time.perf_counter()
        x = torch.as_tensor(preprocess_bytes(png).image)
        with torch.no_grad():
            for m in models:
                m.reconstruct(x.reshape(1, 1, 28, 28))
        times.append(time.perf_counter() - t0)
    out = {"upload_lib": statistics.median(times)}
    import openTSNE  # noqa: F401 - imported by the server's warm-up, not part of a fit

    test = load_mnist("test")
    wae = models[1]
    for n in points:
        with torch.no_grad():
            codes = wae.encode(test.x[:n]).numpy()
        prior = np.random.default_rng(0).normal(size=codes.shape)
        t0 = time.perf_counter()
        LatentMap(codes, prior, test.y[:n].numpy(), np.arange(n), "t-SNE", seed=0)
        out[f"tsne_{n}"] = time.perf_counter() - t0
    return out


def warm_first_page(workdir: Path) -> dict[str, float]:
    """A fresh server, and a tab that connects once the warm-up is done (a lecturer opening the
    browser a few seconds after ``make demo``): seconds to warm, then to the first page."""
    t0 = time.perf_counter()
    server = lt.StreamlitServer(workdir)
    try:
        while "caches warm" not in server.log_path.read_text(errors="replace"):
            if time.perf_counter() - t0 > 120:
                raise RuntimeError("no 'caches warm' line in the server log within 120 s")
            time.sleep(0.1)
        warm = time.perf_counter() - t0

        async def first_page() -> float:
            s = lt.WsSession(server.url, timeout=300)
            await s.open()
            try:
                t1 = time.perf_counter()
                _check(await s.run(page=""), "first page (warm)")
                return time.perf_counter() - t1
            finally:
                await s.close()

        return {"warm": warm, "first_page": asyncio.run(first_page())}
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--tsne-points", type=int, nargs="+", default=[1000, 2000])
    a = p.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.2f} at the start")

    with tempfile.TemporaryDirectory(prefix="wae-bench-app-") as tmp:
        t_spawn = time.perf_counter()
        server = lt.StreamlitServer(Path(tmp))
        t_health = time.perf_counter()
        try:
            app = asyncio.run(app_figures(server.url, a.repeats, t_spawn, t_health))
        finally:
            server.stop()
        warm = warm_first_page(Path(tmp) / "warm")
    lib = library_figures(a.tsne_points, a.repeats)

    print(f"cold start: server answers after {app['health']:.2f} s, the first page's first content "
          f"after {app['first_content']:.2f} s, the page complete after {app['first_page']:.2f} s  "
          f"{verdict(app['first_page'], TARGETS['cold'])}")
    print(f"  a tab opened after the warm-up ({warm['warm']:.1f} s from the start): first page complete "
          f"after {warm['first_page']:.2f} s  {verdict(warm['first_page'], TARGETS['cold'])}")
    print(f"cached interaction (Samples page again, 4 models): {app['cached'] * 1000:.0f} ms  "
          f"{verdict(app['cached'], TARGETS['cached'])}")
    print(f"upload -> reconstruction in the app (PUT + page run, 4 models): {app['upload'] * 1000:.0f} ms  "
          f"{verdict(app['upload'], TARGETS['upload'])}")
    print(f"  of which preprocess + 3 reconstructions (library): {lib['upload_lib'] * 1000:.1f} ms")
    for n in a.tsne_points:
        t = lib[f"tsne_{n}"]
        print(f"t-SNE of {n:,} WAE-MMD codes + {n:,} prior draws ({2 * n:,} points): {t:.2f} s  "
              f"{verdict(t, TARGETS['tsne'])}")
    print(f"latent page switched to t-SNE (3 models, its default 1,000 codes + 1,000 prior each): "
          f"{app['tsne_app_cold']:.1f} s cold, {app['tsne_app_cached'] * 1000:.0f} ms cached")
    print(f"Mode collapse on Stacked MNIST (4 models, 10,000 samples each): first visit "
          f"{app['stacked_first']:.1f} s, again {app['stacked_cached'] * 1000:.0f} ms  "
          f"{verdict(app['stacked_cached'], 1.0)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
