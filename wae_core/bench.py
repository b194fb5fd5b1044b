"""Training throughput (images/s) per model at batch 100 on the current device.

    python -m wae_core.bench [--archs small shipped paper] [--kinds vae wae-mmd wae-gan gan] [--threads 2]

"shipped" is the net of the shipped MNIST checkpoint of each kind (its recipe
``mnist-<kind>`` in :mod:`wae_core.recipes`: the small family, wider). Each row times full optimiser
steps (adversary step included) through the real Trainer on MNIST tensors already on the device,
after warm-up steps, and reports images per second.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from . import recipes
from .config import MODEL_KINDS, ModelConfig, TrainConfig
from .data import load_mnist
from .models import build_model
from .train import Trainer, resolve_device

BENCH_ARCHS = ("small", "shipped", "paper")


def bench_config(kind: str, arch: str) -> ModelConfig:
    """The model config for a bench row: a named arch, or "shipped" (the shipped recipe's)."""
    if arch == "shipped":
        return recipes.get(f"mnist-{kind}").model
    return ModelConfig(kind=kind, arch=arch)


def throughput(kind: str, arch: str, device: str = "auto", batch: int = 100, steps: int = 30,
               warmup: int = 3) -> tuple[float, int]:
    """(images per second, parameter count) of ``kind`` / ``arch`` training steps."""
    data = load_mnist("train").subset(batch * (steps + warmup))
    torch.manual_seed(0)
    model = build_model(bench_config(kind, arch))
    trainer = Trainer(model, data, TrainConfig(batch_size=batch, device=device))
    batches = list(data.to(trainer.device).batches(batch, 0, 0))
    for x in batches[:warmup]:
        trainer.train_step(x)
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for x in batches[warmup:warmup + steps]:
        trainer.train_step(x)
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0), sum(p.numel() for p in model.parameters())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wae_core.bench", description=__doc__.split("\n")[0])
    p.add_argument("--archs", nargs="+", choices=BENCH_ARCHS, default=list(BENCH_ARCHS))
    p.add_argument("--kinds", nargs="+", choices=MODEL_KINDS, default=list(MODEL_KINDS))
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--steps", type=int, default=30, help="timed steps (the paper net uses 1/10)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = resolve_device(a.device)
    print(f"device {dev}, {torch.get_num_threads()} CPU threads, torch {torch.__version__}, batch 100")
    print("| model | arch | parameters | images/s |\n|---|---|---|---|")
    for arch in a.archs:
        for kind in a.kinds:
            steps = a.steps if arch != "paper" or dev.type == "cuda" else max(3, a.steps // 10)
            ips, n = throughput(kind, arch, a.device, steps=steps)
            print(f"| {kind} | {arch} | {n / 1e6:.2f} M | {ips:,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
