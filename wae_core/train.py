"""The trainer's command line (the trainer itself: :mod:`wae_core.training.trainer`).

    python -m wae_core.train --model wae-mmd --dataset mnist --epochs 10 --out runs/wae.safetensors
    python -m wae_core.train --recipe mnist-wae-mmd --out checkpoints/mnist-wae-mmd.safetensors

Multi-process (CPU gloo or CUDA nccl) with torchrun:

    torchrun --nproc_per_node=2 -m wae_core.train --model wae-mmd --dataset mnist ...
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from wae_core import cli
from wae_core.data.datasets import DatasetUnavailableError, load_dataset
from wae_core.malloc import keep_freed_memory
from wae_core.models import checkpoint as ckpt
from wae_core.models.config import ModelConfig, TrainConfig
from wae_core.models.generative import build_model
from wae_core.training import recipes
from wae_core.training.fits import data_config
from wae_core.training.trainer import OutputNotWritableError, TqdmCallback, Trainer, TrainingDiverged

# --- command line ---------------------------------------------------------------------------
# Flags are derived from the config dataclasses (wae_core.cli), so a default lives in config.py or
# in a recipe only. Help text for the fields whose name does not say enough:
HELP = {
    "kind": "the objective (required without --recipe)", "arch": "small for images, mlp for toys",
    "lam": "lambda, the weight of D_Z", "kernel_scales": "s values, C = 2 d_z sigma^2 s",
    "recon_scale": "gamma in c(x,y) = gamma ||x-y||^2 (toys: 1)",
    "channels": "encoder conv widths, e.g. 32 64 128", "dec_channels": "decoder widths, e.g. 64 32",
    "hidden": "MLP width (toys)", "depth": "MLP depth (toys)",
    "device": "auto (cuda, mps, cpu), cpu, cuda, cuda:1...", "threads": "CPU threads (0: torch's default)",
    "max_seconds": "stop (and save) after this many minutes",
    "checkpoint_every_steps": "also save every N steps",
}
FLAGS = {"kind": "--model", "max_seconds": "--max-minutes", "checkpoint_every_steps": "--checkpoint-every"}
MODEL_FLAGS_SKIPPED = ("img_channels", "img_size", "x_dim", "batchnorm")
TOY_DATASETS = ("ring", "grid")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m wae_core.train",
        description="Train a VAE, WAE-MMD, WAE-GAN or GAN and save a safetensors checkpoint. "
                    "Start from a named recipe (--recipe) or from the defaults; flags override.")
    p.add_argument("--recipe", choices=recipes.names(), metavar="NAME",
                   help="a named recipe of wae_core.training.recipes: " + ", ".join(recipes.names()))
    p.add_argument("--dataset", help="mnist (embedded, offline; the default without a recipe), "
                   "fashion-mnist (Debian package), mnist-download / fashion-mnist-download "
                   "(torchvision, online), ring, grid (2-D toys), folder:PATH (images)")
    p.add_argument("--out", type=Path, required=True, help="checkpoint path (.safetensors)")
    cli.add_config_arguments(p, ModelConfig, HELP, FLAGS, skip=MODEL_FLAGS_SKIPPED,
                             hide_default=("kind", "arch"))
    cli.add_config_arguments(p, TrainConfig, HELP, FLAGS)
    p.add_argument("--subset", type=int, default=0, help="train on the first N items only")
    p.add_argument("--resume", action="store_true", help="continue the run saved at --out")
    p.add_argument("--init", type=Path, metavar="CKPT",
                   help="start from this checkpoint's weights and net (the model flags are not used), "
                        "e.g. the encoder refit: --init CKPT --no-train-decoder --augment --augment-uploads")
    return p


def configs_from_args(a: argparse.Namespace) -> tuple[str, ModelConfig, TrainConfig]:
    """(data set, model config, train config): the recipe's (or the defaults), then the flags."""
    given = {k: v for k, v in vars(a).items() if v is not None}
    if "max_seconds" in given:
        given["max_seconds"] *= 60  # the flag is in minutes
    if a.recipe:
        r = recipes.get(a.recipe)
        dataset, model_kw, train_kw = r.dataset, r.model.to_dict(), r.train.to_dict()
    else:
        if a.kind is None:
            raise SystemExit("python -m wae_core.train: error: give --recipe NAME or --model KIND")
        dataset, model_kw, train_kw = a.dataset or "mnist", {}, {}
        if dataset in TOY_DATASETS:
            model_kw = {"arch": "mlp", "recon_scale": 1.0}  # points: the plain squared distance
    dataset = a.dataset or dataset
    model_kw.update(cli.fields_of(ModelConfig, given))
    train_kw.update(cli.fields_of(TrainConfig, given))
    return dataset, ModelConfig.from_dict(model_kw), TrainConfig.from_dict(train_kw)


def init_record(path: Path, meta: dict) -> dict:
    """What a run started with ``--init`` keeps of the checkpoint it started from: its file, its
    command, configs and history (a two-stage model's first stage)."""
    keys = ("recipe", "command", "train_config", "epochs_done", "step", "history", "init")
    return {"file": path.name, **{k: meta[k] for k in keys if k in meta}}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    a = build_parser().parse_args(argv)
    keep_freed_memory()  # this process only trains (wae_core.malloc)
    dataset, mcfg, tcfg = configs_from_args(a)
    try:
        data = load_dataset(dataset, "train", tcfg.seed)
    except DatasetUnavailableError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.subset:
        data = data.subset(a.subset)
    mcfg = data_config(mcfg, data)
    try:
        cbs = [TqdmCallback()]
        if a.resume and a.out.exists():
            trainer = Trainer.resume(a.out, data, cbs, epochs=tcfg.epochs, max_steps=tcfg.max_steps,
                                     max_seconds=tcfg.max_seconds, device=tcfg.device)
            print(f"resuming {a.out} at epoch {trainer.epoch}, step {trainer.step}", file=sys.stderr)
        else:
            meta = {"dataset": dataset, "subset": a.subset,
                    "command": "python -m wae_core.train " + shlex.join(argv)}
            if a.recipe:
                meta["recipe"] = a.recipe
            torch.manual_seed(tcfg.seed)  # initial weights (DDP then broadcasts rank 0's to all ranks)
            if a.init:
                model = ckpt.load(a.init)
                meta["init"] = init_record(a.init, model.meta)
            else:
                model = build_model(mcfg)
            trainer = Trainer(model, data, tcfg, a.out, cbs, meta)
    except ValueError as e:  # the data does not fit the model (channels, shape)
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        trainer.fit()
    except (TrainingDiverged, OutputNotWritableError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if trainer.rank == 0:
        why = f" ({trainer.stop_reason})" if trainer.stop_reason else ""
        print(f"saved {a.out}: {trainer.epoch} epochs, {trainer.step} steps, "
              f"{time.time() - trainer.started:.0f} s{why}", file=sys.stderr)
    if dist.is_initialized():
        # A rank that tears gloo down while another still talks to it can abort ("terminate
        # called without an active exception", seen once in the DDP test): meet first.
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
