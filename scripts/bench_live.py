"""Benchmark of the live toy engine: training steps/s per model and the toy page's refresh cost.

    .venv/bin/python scripts/bench_live.py [--threads 1] [--seconds 5] [--preset "as shipped"] [--batch N]
        [--parallel N] [--malloc-default]

Prints, for each model kind, steps/s in the calling thread (wall clock and CPU time: the CPU-time
rate is what an idle core would give), then the rate of a GAN + WAE-MMD pair stepped by the
background thread, and the time to build one refresh of the toy page's figures (snapshot + Plotly
figures + JSON, i.e. what a 0.2 s fragment rerun costs), as frames per second, and the CPU time
of drawing one frame's PNGs alone (what each app process pays per frame of a run it shows). ``--parallel N``
instead trains N GAN + WAE-MMD pairs at once, each in a process of its own as the room's hub does
(:class:`wae_core.live.process_group.ProcessGroup`), and prints each pair's steps/s against one
pair alone: whether the cores slow each other. Like a run's process, it keeps freed memory
(:mod:`wae_core.malloc`); ``--malloc-default`` measures glibc's default instead (not with
``--parallel``: each run's process sets its own).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dataclasses import replace  # noqa: E402

import torch  # noqa: E402

from wae_core import live  # noqa: E402
from wae_core.malloc import keep_freed_memory  # noqa: E402
from wae_core.training import recipes  # noqa: E402


def bench_steps(src: live.ToySource, cfg: recipes.Recipe, seconds: float) -> tuple[float, float]:
    run = live.LiveRun(src, cfg, metrics_every=10**9)
    for _ in range(10):
        run.step()
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        run.step()
        n += 1
    return n / (time.perf_counter() - t0), n / max(time.process_time() - c0, 1e-9)


def parallel_rates(src: live.ToySource, pair: list, n: int, seconds: float) -> list[float]:
    """Steps/s of each of ``n`` pairs trained at once, each in a process of its own."""
    from wae_core.live.process_group import ProcessGroup, prepare

    prepare()
    groups = [ProcessGroup(src, pair) for _ in range(n)]
    try:
        for g in groups:
            g.start()
        time.sleep(2.0)  # past the first steps
        s0, t0 = [g.step_count for g in groups], time.perf_counter()
        time.sleep(seconds)
        return [(g.step_count - s) / (time.perf_counter() - t0) for g, s in zip(groups, s0)]
    finally:
        for g in groups:
            g.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--preset", choices=list(recipes.LIVE_PRESETS), default=recipes.DEFAULT_LIVE_PRESET,
                   help="the live page's preset (wae_core.training.recipes)")
    p.add_argument("--batch", type=int, help="batch size (default: the preset's)")
    p.add_argument("--kinds", nargs="+", default=["gan", "wae-mmd", "wae-gan", "vae"])
    p.add_argument("--parallel", type=int, help="train this many pairs at once, a process each")
    p.add_argument("--malloc-default", action="store_true",
                   help="glibc's default thresholds, not wae_core.malloc's (the steps' page faults)")
    a = p.parse_args()
    kept = not a.malloc_default and keep_freed_memory()
    torch.set_num_threads(a.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    def recipe(kind: str) -> recipes.Recipe:
        r = recipes.live_recipe(a.preset, kind)
        return replace(r, train=replace(r.train, batch_size=a.batch or r.train.batch_size))

    m, t = recipe("wae-mmd").model, recipe("wae-mmd").train
    print(f"torch {torch.__version__}, {a.threads} thread(s), {os.cpu_count()} CPUs, "
          f"load average {load:.2f}; preset {a.preset!r}: MLPs {m.depth} x {m.hidden}, batch {t.batch_size}; "
          f"freed memory {'kept (wae_core.malloc)' if kept else 'returned (glibc default)'}")
    src = live.ToySource.builtin("ring")
    if a.parallel:
        pairs = [recipe("gan"), recipe("wae-mmd")]
        for n in (1, a.parallel):
            print(f"  {n} pair(s) at once, a process each: "
                  f"{', '.join(f'{r:.1f}' for r in parallel_rates(src, pairs, n, a.seconds))} steps/s")
        return 0
    for kind in a.kinds:
        wall, cpu = bench_steps(src, recipe(kind), a.seconds)
        print(f"  {kind:8s} one model: {wall:7.1f} steps/s (wall)   {cpu:7.1f} steps/s (CPU time)")

    group = live.LiveGroup(src, [recipe("gan"), recipe("wae-mmd")])
    group.start()
    time.sleep(1.0)
    s0, t0 = group.step_count, time.perf_counter()
    time.sleep(a.seconds)
    pair_rate = (group.step_count - s0) / (time.perf_counter() - t0)
    print(f"  background thread, GAN + WAE-MMD in lockstep: {pair_rate:.1f} steps/s per model")

    # One refresh of the page while training runs: snapshot, figures, JSON (what Streamlit sends).
    import streamlit.logger

    streamlit.logger.set_log_level("error")  # app.figures imports streamlit's app outside a running app
    from app import figures

    modes = src.modes.numpy()
    times, n_figs = [], 0
    for _ in range(15):
        t = time.perf_counter()
        snap = group.snapshot()
        n_figs = len(figures.toy_view_images(snap, modes, 3.0))
        times.append(time.perf_counter() - t)
    curves = []
    for _ in range(5):
        t = time.perf_counter()
        snap = group.snapshot()
        figs = [figures.losses_figure(r.history) for r in snap.runs] + [figures.metrics_figure(snap.runs)]
        for f in figs:
            f.to_json()
        curves.append(time.perf_counter() - t)
    group.close()
    # The drawing alone, training stopped (CPU time, the last snapshot): what each app process
    # pays per frame of a run it shows.
    t = time.process_time()
    for _ in range(20):
        figures.toy_view_images(snap, modes, 3.0)
    draw_ms = 1000 * (time.process_time() - t) / 20
    med = sorted(times)[len(times) // 2]
    print(f"  refresh of the points view ({n_figs} PNG plots, while training): "
          f"{1000 * med:.0f} ms median -> {1 / med:.1f} fps possible; drawing its PNGs alone "
          f"{draw_ms:.1f} ms of CPU")
    print(f"  refresh of the curves (3 figures): {1000 * sorted(curves)[2]:.0f} ms median")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
