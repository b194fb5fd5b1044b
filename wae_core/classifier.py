"""Train the LeNet whose features FID and the mode counts read (the net:
:mod:`wae_core.evaluation.lenet`).

    python -m wae_core.classifier --out checkpoints/lenet-mnist.safetensors
    python -m wae_core.classifier --dataset fashion-mnist --out checkpoints/lenet-fashion-mnist.safetensors
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import torch

from wae_core.evaluation.lenet import CLASSIFIER_DATASETS, save_classifier, train_classifier


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m wae_core.classifier",
                                description="Train the LeNet used by the metrics (MNIST or Fashion-MNIST).")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--dataset", choices=CLASSIFIER_DATASETS, default="mnist",
                   help="the data set to classify (default: mnist)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    net, acc = train_classifier(a.epochs, a.seed, dataset=a.dataset)
    save_classifier(net, a.out, {"test_accuracy": acc, "dataset": a.dataset, "epochs": a.epochs,
                                 "seed": a.seed,
                                 "command": "python -m wae_core.classifier " + shlex.join(argv)})
    print(f"saved {a.out}: test accuracy {acc:.4f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
