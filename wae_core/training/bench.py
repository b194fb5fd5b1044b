"""Training throughput (images/s) per model at batch 100 on the current device, or with
``--profile`` where one training step's time goes.

    python -m wae_core.training.bench [--archs small shipped paper] [--kinds vae wae-mmd gan]
                                      [--threads 2]
    python -m wae_core.training.bench --profile --archs shipped [--disc-hidden 512 128 64] [--threads 1]

"shipped" is the net of the shipped MNIST checkpoint of each kind (its recipe
``mnist-<kind>`` in :mod:`wae_core.training.recipes`: the small family, wider). Each row times full optimiser
steps (adversary step included) through the real Trainer on MNIST tensors already on the device,
after warm-up steps, and reports images per second. ``--disc-hidden`` times the WAE-GAN once per
latent adversary width given (the paper's 4 x 512 holds most of its parameters).

``--profile`` splits one step of the Trainer into its parts (:data:`PARTS`), in the Trainer's order,
each timed with ``time.perf_counter`` (CUDA synchronised first), the median over the timed steps;
the forward pass is the model's own ``loss``, timed by forward hooks (:func:`split_loss`). Beside
the parts' sum, ``Trainer.train_step`` timed whole.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable

import torch

from wae_core.data.datasets import load_mnist
from wae_core.models.config import MODEL_KINDS, ModelConfig, TrainConfig
from wae_core.models.generative import GenerativeModel, Losses, build_model
from wae_core.training import recipes
from wae_core.training.trainer import Trainer, resolve_device

BENCH_ARCHS = ("small", "own", "shipped", "paper")
RECIPE_ARCHS = {"own": "own-{kind}", "shipped": "mnist-{kind}"}  # bench rows read from a recipe
BATCH = 100
# One training step's parts, in the Trainer's order (an adversary's step comes first).
PARTS = {
    "data": "data (batch indexing)",
    "adversary": "adversary step (forward, backward, Adam)",
    "encoder": "encoder forward",
    "decoder": "decoder forward",
    "losses": "reconstruction cost and penalty (MMD / KL / adversary forward)",
    "backward": "backward",
    "optimiser": "optimiser (zero_grad, Adam step)",
    "bookkeeping": "schedules, finiteness check, logs",
}


def bench_config(kind: str, arch: str, disc_hidden: int | None = None) -> ModelConfig:
    """The model config for a bench row: a named arch, or "shipped" / "own" (the net of the shipped
    recipe ``mnist-<kind>`` / of Train your own's ``own-<kind>``); ``disc_hidden`` replaces the
    latent adversary's width."""
    cfg = (recipes.get(RECIPE_ARCHS[arch].format(kind=kind)).model if arch in RECIPE_ARCHS
           else ModelConfig(kind=kind, arch=arch))
    return dataclasses.replace(cfg, disc_hidden=disc_hidden) if disc_hidden else cfg


def _setup(cfg: ModelConfig, device: str, n_batches: int) -> tuple[Trainer, torch.Tensor]:
    """A Trainer on ``n_batches`` batches of MNIST already on the device, and those images."""
    data = load_mnist("train").subset(BATCH * n_batches)
    torch.manual_seed(0)
    trainer = Trainer(build_model(cfg), data, TrainConfig(batch_size=BATCH, device=device))
    return trainer, trainer.data.x


def _sync(trainer: Trainer) -> None:
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()


def throughput(kind: str, arch: str, device: str = "auto", batch: int = BATCH, steps: int = 30,
               warmup: int = 3, disc_hidden: int | None = None) -> tuple[float, int]:
    """(images per second, parameter count) of ``kind`` / ``arch`` training steps."""
    data = load_mnist("train").subset(batch * (steps + warmup))
    torch.manual_seed(0)
    model = build_model(bench_config(kind, arch, disc_hidden))
    trainer = Trainer(model, data, TrainConfig(batch_size=batch, device=device))
    batches = list(data.to(trainer.device).batches(batch, 0, 0))
    for x in batches[:warmup]:
        trainer.train_step(x)
    _sync(trainer)
    t0 = time.perf_counter()
    for x in batches[warmup:warmup + steps]:
        trainer.train_step(x)
    _sync(trainer)
    return steps * batch / (time.perf_counter() - t0), sum(p.numel() for p in model.parameters())


# --- the per-step profile ------------------------------------------------------------------------
def split_loss(model: GenerativeModel, x: torch.Tensor, lap: Callable[[str], None]) -> Losses:
    """``model.loss(x)`` itself, timed in parts: forward hooks call ``lap("encoder")`` and
    ``lap("decoder")`` as the encoder's and the decoder's net end; the rest of the loss (the
    reconstruction cost and the penalty: MMD, KL or the adversary's forward) is ``"losses"``."""
    hooks = [model.encoder.register_forward_hook(lambda *_: lap("encoder"))] if model.has_encoder else []
    decoder_net = getattr(model.decoder, "net", model.decoder)  # the conv stack logits() ends with
    hooks.append(decoder_net.register_forward_hook(lambda *_: lap("decoder")))
    try:
        out = model.loss(x)
    finally:
        for h in hooks:
            h.remove()
    lap("losses")
    return out


def profiled_step(trainer: Trainer, x_all: torch.Tensor, idx: torch.Tensor) -> dict[str, float]:
    """One step of ``Trainer.train_batch`` on the batch ``x_all[idx]``, seconds per part."""
    times: dict[str, float] = defaultdict(float)
    t = [time.perf_counter()]

    def lap(part: str) -> None:
        _sync(trainer)
        now = time.perf_counter()
        times[part] += now - t[0]
        t[0] = now

    x = x_all[idx]
    lap("data")
    trainer.apply_schedules()
    lap("bookkeeping")
    logs: dict[str, torch.Tensor] = {}
    if trainer.opt_adv is not None:  # Trainer.train_step's adversary branch, whole
        trainer.opt_adv.zero_grad(set_to_none=True)
        out = trainer.net(x, part="adversary")
        out["total"].backward()
        trainer._check_finite(out)
        trainer.opt_adv.step()
        logs.update({k: v for k, v in out.items() if k != "total"})
        lap("adversary")
    trainer.opt.zero_grad(set_to_none=True)
    lap("optimiser")
    out = split_loss(trainer.model, x, lap)
    out["total"].backward()
    lap("backward")
    trainer._check_finite(out)
    lap("bookkeeping")
    trainer.opt.step()
    lap("optimiser")
    logs.update(out)
    trainer.last_logs = {k: float(v.detach()) for k, v in logs.items()}  # the Trainer's logs
    trainer.step += 1
    lap("bookkeeping")
    return dict(times)


def profile(cfg: ModelConfig, device: str = "auto", steps: int = 30, warmup: int = 3
            ) -> dict[str, float]:
    """Median milliseconds per step of each part (absent parts 0), their sum ("sum") and the
    median of whole ``Trainer.train_step`` calls ("train_step"), each timed right after a
    profiled step on the same batch, so that both see the same machine."""
    trainer, x_all = _setup(cfg, device, steps + warmup)
    trainer.model.train()
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(x_all), generator=g).to(x_all.device)
    runs, whole = [], []
    for i in range(steps + warmup):
        idx = perm[i * BATCH:(i + 1) * BATCH]
        runs.append(profiled_step(trainer, x_all, idx))
        x = x_all[idx]
        _sync(trainer)
        t0 = time.perf_counter()
        trainer.train_step(x)
        _sync(trainer)
        whole.append(time.perf_counter() - t0)
    ms = {p: 1e3 * statistics.median(r.get(p, 0.0) for r in runs[warmup:]) for p in PARTS}
    ms["sum"] = sum(ms[p] for p in PARTS)
    ms["train_step"] = 1e3 * statistics.median(whole[warmup:])
    ms["params"] = sum(p.numel() for p in trainer.model.parameters())
    ms["adversary_params"] = sum(p.numel() for p in trainer.model.adversary_parameters())
    return ms


def _variants(kinds: list[str], disc_hidden: list[int] | None) -> list[tuple[str, int | None]]:
    """(kind, adversary width) per row or column: the WAE-GAN once per ``disc_hidden`` width."""
    out: list[tuple[str, int | None]] = []
    for kind in kinds:
        widths = disc_hidden if kind == "wae-gan" and disc_hidden else [None]
        out += [(kind, w) for w in widths]
    return out


def _label(kind: str, cfg: ModelConfig, disc_hidden: int | None) -> str:
    return f"{kind} (D {cfg.disc_depth} × {cfg.disc_hidden})" if disc_hidden else kind


def profile_table(arch: str, kinds: list[str], disc_hidden: list[int] | None, device: str,
                  steps: int) -> str:
    """The markdown table of :func:`profile` for every kind (and WAE-GAN adversary width)."""
    cols, data = [], []
    for kind, w in _variants(kinds, disc_hidden):
        cfg = bench_config(kind, arch, w)
        cols.append(_label(kind, cfg, w))
        data.append(profile(cfg, device, steps))
    lines = [f"| part ({arch}, ms per step of {BATCH}) | " + " | ".join(cols) + " |",
             "|---|" + "---|" * len(cols)]
    for p, label in PARTS.items():
        cells = [f"{d[p]:.2f} ({100 * d[p] / d['sum']:.0f} %)" if d[p] else "–" for d in data]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| **sum of the parts** | " + " | ".join(f"**{d['sum']:.2f}**" for d in data) + " |")
    lines.append("| Trainer.train_step, whole | " + " | ".join(f"{d['train_step']:.2f}" for d in data) + " |")
    lines.append("| images/s (sum of the parts) | "
                 + " | ".join(f"{BATCH / d['sum'] * 1e3:,.0f}" for d in data) + " |")
    lines.append("| parameters (adversary's) | " + " | ".join(
        f"{d['params'] / 1e6:.2f} M ({d['adversary_params'] / 1e6:.2f} M)" for d in data) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wae_core.training.bench", description=__doc__.split("\n")[0])
    p.add_argument("--archs", nargs="+", choices=BENCH_ARCHS, default=list(BENCH_ARCHS))
    p.add_argument("--kinds", nargs="+", choices=MODEL_KINDS, default=list(MODEL_KINDS))
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--steps", type=int, default=30, help="timed steps (the paper net uses 1/10)")
    p.add_argument("--profile", action="store_true", help="split one step into its parts (a table per arch)")
    p.add_argument("--disc-hidden", type=int, nargs="+", metavar="N",
                   help="time the WAE-GAN with these latent adversary widths (default: the config's)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = resolve_device(a.device)
    one, five, _ = os.getloadavg()
    print(f"device {dev}, {torch.get_num_threads()} CPU threads, torch {torch.__version__}, batch {BATCH}, "
          f"load average {one:.2f} (1 min) / {five:.2f} (5 min) on {os.cpu_count()} CPUs")
    for arch in a.archs if a.profile else []:
        steps = a.steps if arch != "paper" or dev.type == "cuda" else max(3, a.steps // 10)
        print("\n" + profile_table(arch, a.kinds, a.disc_hidden, a.device, steps), flush=True)
    if a.profile:
        return 0
    print("| model | arch | parameters | images/s |\n|---|---|---|---|")
    for arch in a.archs:
        for kind, w in _variants(a.kinds, a.disc_hidden):
            steps = a.steps if arch != "paper" or dev.type == "cuda" else max(3, a.steps // 10)
            ips, n = throughput(kind, arch, a.device, steps=steps, disc_hidden=w)
            label = _label(kind, bench_config(kind, arch, w), w)
            print(f"| {label} | {arch} | {n / 1e6:.2f} M | {ips:,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
