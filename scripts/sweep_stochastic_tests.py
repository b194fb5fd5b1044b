"""Measure the statistics that the suite's training tests bound, over seeds and torch threads.

    .venv/bin/python scripts/sweep_stochastic_tests.py [--stats ring mnist] [--seeds 5] [--threads 1 2]

Prints one markdown row per (statistic, model, threads): min, mean, max over the seeds, and the
bound the test asserts, so a bound can be read against its measured margin. The statistics are
the functions in ``harness/stochastic.py`` that the tests themselves call.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import stochastic as S  # noqa: E402

SWEEPS = {"ring": S.ring_learning, "mnist": S.mnist_learning, "live": S.live_ring}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1].strip())
    p.add_argument("--stats", nargs="+", choices=list(SWEEPS), default=list(SWEEPS))
    p.add_argument("--kinds", nargs="+", choices=S.KINDS, default=list(S.KINDS))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    a = p.parse_args(argv)
    print("| sweep | model | threads | statistic | min | mean | max | test bound |")
    print("|---|---|---|---|---|---|---|---|")
    for name in a.stats:
        for kind in a.kinds:
            for threads in a.threads:
                torch.set_num_threads(threads)
                t0 = time.time()
                runs = [SWEEPS[name](kind, seed) for seed in range(a.seeds)]
                for stat in runs[0]:
                    vals = [r[stat] for r in runs]
                    bound = S.BOUNDS.get((name, stat), "")
                    print(f"| {name} | {kind} | {threads} | {stat} | {min(vals):.3f} | "
                          f"{statistics.mean(vals):.3f} | {max(vals):.3f} | {bound} |", flush=True)
                print(f"<!-- {name} {kind} threads {threads}: {time.time() - t0:.0f} s -->", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
