"""What the Live toy page shows after 30 / 60 / 120 s: drive ``wae_core.live`` headless, as the page
does (one background thread trains a GAN and a WAE side by side), and score both on the protocol.

    .venv/bin/python scripts/probe_live.py [--preset "as shipped"] [--wae wae-mmd] [--toy ring]
                                           [--at 30 60 120 | --steps 2000 3000 4000] [--seeds 1]

At each checkpoint in time the group is paused, 2,500 fresh prior draws of each model are scored
(modes covered, share of samples within 3 sigma of a mode) and the group resumes; the pause is not
counted. ``--steps`` scores at step counts instead, the pair stepped in the calling thread: what
a run shows after N steps whatever the machine's speed (the room's load test reads the page at
60 s: docs/speed.md). Prints a markdown table (the live-toy table of docs/results.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from wae_core import live  # noqa: E402
from wae_core.data.datasets import TOY_STD, toy_modes  # noqa: E402
from wae_core.evaluation.metrics import toy_quality  # noqa: E402
from wae_core.malloc import keep_freed_memory  # noqa: E402
from wae_core.training import recipes  # noqa: E402

PROTOCOL_SAMPLES = 2500


def score(run: live.LiveRun, toy: str, seed: int) -> tuple[int, float]:
    g = torch.Generator().manual_seed(10_000 + seed)
    with torch.no_grad():
        q = toy_quality(run.model.sample(PROTOCOL_SAMPLES, g), toy_modes(toy), TOY_STD[toy])
    return q.modes_covered, q.high_quality_share


def probe(preset: str, wae: str, toy: str, at: list[float], seed: int, *, steps: bool = False) -> list[dict]:
    """Train the page's pair for ``max(at)`` seconds (or steps); rows of (time, steps, model,
    modes, hq)."""
    group = live.LiveGroup(live.ToySource.builtin(toy),
                           [recipes.live_recipe(preset, "gan"), recipes.live_recipe(preset, wae)],
                           idle_pause=10**9, metrics_every=10**9)
    rows, trained, t_start = [], 0.0, time.perf_counter()
    try:
        for target in sorted(at):
            if steps:
                group.step(int(target) - group.step_count)
            else:
                group.start()
                t0 = time.perf_counter()
                time.sleep(max(target - trained, 0.0))
                group.pause()
                trained += time.perf_counter() - t0
            for run in group.runs:
                modes, hq = score(run, toy, seed)
                rows.append({"seconds": None if steps else target, "steps": run.step_count,
                             "model": run.label, "modes": modes, "n_modes": len(toy_modes(toy)), "hq": hq})
    finally:
        group.close()
    print(f"<!-- seed {seed}: {time.perf_counter() - t_start:.0f} s wall -->", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", choices=list(recipes.LIVE_PRESETS), default=recipes.DEFAULT_LIVE_PRESET)
    p.add_argument("--wae", choices=["wae-mmd", "wae-gan"], default="wae-mmd")
    p.add_argument("--toy", choices=["ring", "grid"], default="ring")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--at", type=float, nargs="+", default=[30, 60, 120], help="seconds of training")
    when.add_argument("--steps", type=int, nargs="+", help="step counts instead of seconds")
    p.add_argument("--seeds", type=int, default=1, help="repeat with this many sampling seeds")
    a = p.parse_args(argv)
    keep_freed_memory()  # as a run's process does (wae_core.malloc)
    load = os.getloadavg()[0]
    print(f"preset {a.preset!r}, {a.toy}, GAN + {a.wae}, {os.cpu_count()} CPUs, load {load:.2f}")
    runs = [probe(a.preset, a.wae, a.toy, a.steps or a.at, s, steps=bool(a.steps)) for s in range(a.seeds)]
    print("| after | steps | model | modes covered | high-quality share |\n|---|---|---|---|---|")
    for i, row in enumerate(runs[0]):
        same = [r[i] for r in runs]
        hq = [r["hq"] for r in same]
        spread = f" ± {statistics.stdev(hq):.1%}" if len(hq) > 1 else ""
        after = f"{row['seconds']:.0f} s" if row["seconds"] is not None else f"{row['steps']:,} steps"
        print(f"| {after} | {row['steps']:,} | {row['model']} | "
              f"{statistics.mean(r['modes'] for r in same):.1f}/{row['n_modes']} | "
              f"{statistics.mean(hq):.1%}{spread} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
