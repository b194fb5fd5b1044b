"""Evaluate the shipped checkpoints: the seed's results table, measured on MNIST (the protocol:
:mod:`wae_core.evaluation.protocol`).

    python -m wae_core.evaluate                      # -> results/results.json + results/results.md
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from wae_core.data.datasets import REPO_ROOT
from wae_core.evaluation.protocol import CKPT_DIR, evaluate
from wae_core.evaluation.report import to_markdown
from wae_core.models.checkpoint import atomic_write_bytes


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m wae_core.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoints", type=Path, default=CKPT_DIR)
    p.add_argument("--n", type=int, default=10_000, help="samples per model (and test images)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=REPO_ROOT / "results")
    p.add_argument("--no-toys", action="store_true")
    p.add_argument("--no-stacked", action="store_true", help="skip Stacked MNIST (~10 minutes)")
    p.add_argument("--no-fashion", action="store_true", help="skip Fashion-MNIST")
    a = p.parse_args(argv)
    cmd = " ".join(["python -m wae_core.evaluate", shlex.join(argv)]).strip()
    res = evaluate(a.checkpoints, None, a.n, a.seed, not a.no_toys, cmd, stacked=not a.no_stacked,
                   fashion=not a.no_fashion)
    atomic_write_bytes(a.out / "results.json", json.dumps(res, indent=1).encode())
    md = to_markdown(res)
    atomic_write_bytes(a.out / "results.md", md.encode())
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
