"""The trainer: callbacks, checkpoints, exact resume, NaN stop, DDP (its command line:
:mod:`wae_core.train`)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from wae_core.data.augment import augment_digits
from wae_core.data.datasets import TensorData
from wae_core.errors import UserFacingError
from wae_core.models import checkpoint as ckpt
from wae_core.models.config import TrainConfig
from wae_core.models.generative import GenerativeModel
from wae_core.training.fits import check_data_fits


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the kept checkpoint."""


class OutputNotWritableError(UserFacingError, RuntimeError):
    """The output folder cannot hold a checkpoint (missing rights or disk space)."""


class Callback:
    """Hooks the trainer calls; override what you need. ``trainer.request_stop()`` cancels."""

    def on_train_start(self, trainer: Trainer) -> None: ...
    def on_step(self, trainer: Trainer, logs: dict[str, float]) -> None: ...
    def on_epoch(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None: ...
    def on_train_end(self, trainer: Trainer) -> None: ...


def resolve_device(name: str = "auto") -> torch.device:
    """cuda -> mps -> cpu for "auto"; otherwise the named device."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def check_output_writable(path: Path, needed_bytes: int) -> None:
    """Fail before training, not after it, when a checkpoint could not be written."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-") as f:
            f.write(b"0" * 1024)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise OutputNotWritableError(f"cannot write checkpoints to {folder}: {e.strerror or e}") from e
    free = shutil.disk_usage(folder).free
    if free < 2 * needed_bytes:
        raise OutputNotWritableError(
            f"not enough disk space in {folder}: {free / 2**20:.1f} MiB free, a checkpoint needs "
            f"about {needed_bytes / 2**20:.1f} MiB (twice that during an atomic write)")


def _dist_info() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


class Trainer:
    """Fits a :class:`GenerativeModel` on a :class:`TensorData` set, epoch by epoch.

    The data order of each epoch depends only on (seed, epoch) and the RNG and optimiser states
    are checkpointed, so a resumed run continues exactly as an uninterrupted one (on the CPU).
    """

    def __init__(self, model: GenerativeModel, data: TensorData, cfg: TrainConfig,
                 out: Path | str | None = None, callbacks: list[Callback] | tuple = (),
                 meta: dict[str, Any] | None = None) -> None:
        self.cfg = cfg
        check_data_fits(model, data)
        self.rank, self.world = _dist_info()
        if self.world > 1 and not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() and cfg.device != "cpu" else "gloo"
            dist.init_process_group(backend)
        self.device = resolve_device(cfg.device)
        if self.device.type == "cuda" and self.world > 1:
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        self.model = model.to(self.device)
        if model.cfg.is_image and self.device.type == "cpu":
            # oneDNN's convolutions are ~15 % faster in NHWC on the CPU (measured, see docs/speed.md).
            self.model = self.model.to(memory_format=torch.channels_last)
        self.data = data.to(self.device)
        self.out = Path(out) if out is not None else None
        self.callbacks = list(callbacks)
        self.meta = dict(meta or {})
        # Fused Adam: one kernel for all parameters instead of ~10 small ops per tensor; the
        # same update rule, ~1.5x the steps/s of the small toy MLPs (measured, see docs/speed.md).
        fused = self.device.type in ("cpu", "cuda")
        if not cfg.train_decoder:  # the encoder refit: P_G = G#P_Z stays as it was
            model.decoder.requires_grad_(False)
        learned = [p for p in model.main_parameters() if p.requires_grad]
        self.opt = torch.optim.Adam(learned, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                                    fused=fused)
        self.opt_adv = (torch.optim.Adam(model.adversary_parameters(), lr=cfg.lr_adv,
                                         betas=(cfg.beta1, cfg.beta2), fused=fused)
                        if model.has_adversary else None)
        self.net: torch.nn.Module = model
        if self.world > 1:
            self.net = DistributedDataParallel(
                model, find_unused_parameters=model.has_adversary,
                device_ids=[self.device.index] if self.device.type == "cuda" else None)
        torch.manual_seed(cfg.seed * 7919 + self.rank)  # independent noise per rank
        self.epoch = 0  # epochs completed
        self.batch_in_epoch = 0  # batches of the current epoch done (mid-epoch checkpoints)
        self.step = 0
        self.history: list[dict[str, float]] = []
        self.partial_epoch: dict[str, Any] = {"n": 0, "sums": {}}  # the current epoch's loss sums
        self.last_logs: dict[str, float] = {}
        self.stop_requested = False
        self.stop_reason = ""
        self.started = 0.0  # this session's start; ``max_seconds`` counts from here
        # Training seconds of the finished epochs of earlier sessions (a resumed run): the history's
        # "seconds" are the run's total, not this session's.
        self.seconds_before = 0.0

    # --- control ------------------------------------------------------------------------
    def request_stop(self, reason: str = "stopped by request") -> None:
        """Stop after the current step; a checkpoint is written first."""
        self.stop_requested, self.stop_reason = True, reason

    @property
    def steps_per_epoch(self) -> int:
        return self.data.steps_per_epoch(self.cfg.batch_size, self.world)

    @property
    def total_steps(self) -> int:
        total = self.cfg.epochs * self.steps_per_epoch
        return min(total, self.cfg.max_steps) if self.cfg.max_steps else total

    @property
    def training_seconds(self) -> float:
        """Seconds of training so far, earlier sessions' included (0 outside :meth:`fit`)."""
        return self.seconds_before + (time.time() - self.started if self.started else 0.0)

    def set_learning_rates(self, lr: float, lr_adv: float | None = None) -> None:
        """Set the main optimiser's learning rate (and the adversary's, if it has one)."""
        for g in self.opt.param_groups:
            g["lr"] = lr
        if self.opt_adv is not None and lr_adv is not None:
            for g in self.opt_adv.param_groups:
                g["lr"] = lr_adv

    # --- one step -----------------------------------------------------------------------
    def train_batch(self, x: torch.Tensor) -> dict[str, float]:
        """One optimiser step on the batch ``x`` outside :meth:`fit` (the live toy runs): counts
        it in ``step``; no callbacks, no checkpoint, no epoch bookkeeping."""
        self.apply_schedules()
        cfg = self.cfg
        x_in = (augment_digits(x, cfg.augment_share, cfg.augment_uploads)
                if cfg.augment and self.model.cfg.is_image else None)
        logs = self.train_step(x, x_in)
        self.step += 1
        self.last_logs = logs
        return logs

    def apply_schedules(self) -> None:
        """Set this step's learning rates (a cosine schedule moves every step; the milestones
        move per epoch) and lambda's warm-up factor."""
        cfg = self.cfg
        mult = cfg.lr_multiplier(self.epoch, self.step, self.total_steps, self.training_seconds)
        self.set_learning_rates(cfg.lr * mult, cfg.lr_adv * mult)
        self.model.lam_scale = cfg.lam_multiplier(self.step)

    def train_step(self, x: torch.Tensor, x_in: torch.Tensor | None = None) -> dict[str, float]:
        """The optimisation of one batch (adversary first); ``x_in``: what the encoder reads
        (an augmented ``x``, see GenerativeModel.loss). Raises TrainingDiverged."""
        logs: dict[str, torch.Tensor] = {}
        if self.opt_adv is not None:
            self.opt_adv.zero_grad(set_to_none=True)
            out = self.net(x, part="adversary", x_in=x_in)
            out["total"].backward()
            self._check_finite(out)
            self.opt_adv.step()
            logs.update({k: v for k, v in out.items() if k != "total"})
        self.opt.zero_grad(set_to_none=True)
        out = self.net(x, part="main", x_in=x_in)
        out["total"].backward()
        self._check_finite(out)
        self.opt.step()
        logs.update(out)
        return {k: float(v.detach()) for k, v in logs.items()}

    def _check_finite(self, out: dict[str, torch.Tensor]) -> None:
        vals = torch.stack([v.detach().float() for v in out.values()])
        if not torch.isfinite(vals).all():
            bad = {k: float(v.detach()) for k, v in out.items()}
            kept = (f"the last good checkpoint {self.out} was kept"
                    if self.out is not None and self.out.exists() else "no checkpoint was written")
            raise TrainingDiverged(
                f"loss is not finite at step {self.step + 1} (epoch {self.epoch + 1}): "
                f"{bad}; training stopped and {kept}. Try a lower learning rate or lambda.")

    # --- the loop -----------------------------------------------------------------------
    def fit(self) -> GenerativeModel:
        cfg = self.cfg
        if self.out is not None and self.rank == 0:
            n_bytes = sum(p.numel() * p.element_size() for p in self.model.parameters())
            check_output_writable(self.out, 4 * n_bytes)
        self.started = time.time()
        self.model.train()
        if not cfg.train_decoder:  # frozen means its batch norms' running statistics too
            self.model.decoder.eval()
        for cb in self.callbacks:
            cb.on_train_start(self)
        try:
            while self.epoch < cfg.epochs and not self._should_stop():
                self._run_epoch()
        finally:
            self.model.eval()
            for cb in self.callbacks:
                cb.on_train_end(self)
        return self.model

    def _should_stop(self) -> bool:
        return self.stop_requested or (self.cfg.max_steps > 0 and self.step >= self.cfg.max_steps)

    def _run_epoch(self) -> None:
        cfg = self.cfg
        # The epoch's running loss sums survive a mid-epoch checkpoint (see save / resume), so a
        # resumed run logs the same epoch averages as an uninterrupted one.
        sums: dict[str, float] = defaultdict(float, self.partial_epoch["sums"])
        n = int(self.partial_epoch["n"])
        batches = self.data.batches(cfg.batch_size, self.epoch, cfg.seed, self.rank, self.world)
        for i, x in enumerate(batches):
            if i < self.batch_in_epoch:
                continue  # resuming mid-epoch: these batches were already trained on
            logs = self.train_batch(x)
            self.batch_in_epoch = i + 1
            for k, v in logs.items():
                sums[k] += v
            n += 1
            self.partial_epoch = {"n": n, "sums": dict(sums)}
            for cb in self.callbacks:
                cb.on_step(self, logs)
            every = cfg.checkpoint_every_steps
            if every and self.step % every == 0:
                self.save()
            if cfg.max_seconds and time.time() - self.started > cfg.max_seconds:
                self.request_stop(f"time limit of {cfg.max_seconds:.0f} s reached")
            if self._should_stop():
                self.save()
                return
        self.epoch += 1
        self.batch_in_epoch = 0
        self.partial_epoch = {"n": 0, "sums": {}}
        epoch_logs = {k: v / max(n, 1) for k, v in sums.items()}
        self.history.append({"epoch": self.epoch, "step": self.step,
                             "seconds": round(self.training_seconds, 2),
                             **epoch_logs})
        self.save()
        for cb in self.callbacks:
            cb.on_epoch(self, self.epoch, epoch_logs)

    # --- checkpoints --------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        t: dict[str, torch.Tensor] = {
            "counters": torch.tensor([self.epoch, self.batch_in_epoch, self.step]),
            "rng_cpu": torch.get_rng_state(),
        }
        if self.device.type == "cuda":
            t["rng_cuda"] = torch.cuda.get_rng_state(self.device)
        for name, opt in (("opt", self.opt), ("opt_adv", self.opt_adv)):
            if opt is None:
                continue
            for idx, st in opt.state_dict()["state"].items():
                for k, v in st.items():
                    t[f"{name}.{idx}.{k}"] = torch.as_tensor(v)
        return t

    def load_state_tensors(self, t: dict[str, torch.Tensor]) -> None:
        self.epoch, self.batch_in_epoch, self.step = (int(v) for v in t["counters"])
        torch.set_rng_state(t["rng_cpu"])
        if "rng_cuda" in t and self.device.type == "cuda":
            torch.cuda.set_rng_state(t["rng_cuda"], self.device)
        for name, opt in (("opt", self.opt), ("opt_adv", self.opt_adv)):
            if opt is None:
                continue
            params = [p for g in opt.param_groups for p in g["params"]]
            state: dict[int, dict[str, torch.Tensor]] = defaultdict(dict)
            for key, v in t.items():
                parts = key.split(".")
                if parts[0] == name and len(parts) == 3:
                    i, k = int(parts[1]), parts[2]
                    # Moments in their parameter's memory layout (channels-last convs): the fused
                    # kernel walks param, grad and moments as flat memory, so the strides must match.
                    state[i][k] = v if k == "step" else torch.empty_like(params[i]).copy_(v)
            sd = opt.state_dict()
            sd["state"] = dict(state)
            opt.load_state_dict(sd)

    def save(self, path: Path | str | None = None) -> None:
        """Atomically write weights, training state and metadata (rank 0 only)."""
        path = Path(path) if path is not None else self.out
        if path is None or self.rank != 0:
            return
        meta = {**self.meta, "train_config": self.cfg.to_dict(), "epochs_done": self.epoch,
                "step": self.step, "history": self.history, "partial_epoch": self.partial_epoch,
                "saved": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "torch": torch.__version__, "device": str(self.device), "world_size": self.world}
        ckpt.save(self.model, path, meta, self.state_tensors())

    @classmethod
    def resume(cls, path: Path | str, data: TensorData, callbacks: list[Callback] | tuple = (),
               out: Path | str | None = None, **overrides: Any) -> Trainer:
        """Continue the run saved in ``path`` (``overrides`` change TrainConfig fields, e.g. epochs)."""
        meta, weights, state = ckpt.read(path)
        if "counters" not in state:
            raise ckpt.IncompatibleCheckpointError(
                f"{Path(path).name} holds no training state (an exported model): cannot resume")
        model = ckpt.model_from(meta, weights, Path(path).name)
        cfg = TrainConfig.from_dict({**meta["train_config"], **overrides})
        keep = {k: v for k, v in meta.items()
                if k not in ("format", "version", "kind", "config", "train_config", "history",
                             "partial_epoch")}
        trainer = cls(model, data, cfg, out if out is not None else path, callbacks, keep)
        trainer.load_state_tensors(state)
        trainer.history = list(meta.get("history", []))
        trainer.seconds_before = float(trainer.history[-1].get("seconds", 0.0)) if trainer.history else 0.0
        trainer.partial_epoch = meta.get("partial_epoch") or {"n": 0, "sums": {}}
        return trainer


class TqdmCallback(Callback):
    """A progress bar over all steps with the latest losses (rank 0 only)."""

    def on_train_start(self, trainer: Trainer) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=trainer.total_steps, initial=trainer.step, unit="step",
                        disable=trainer.rank != 0, dynamic_ncols=True)

    def on_step(self, trainer: Trainer, logs: dict[str, float]) -> None:
        self.bar.update(1)
        if trainer.step % 20 == 0:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)

    def on_epoch(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        self.bar.write(f"epoch {epoch}: " + ", ".join(f"{k}={v:.4g}" for k, v in logs.items()))

    def on_train_end(self, trainer: Trainer) -> None:
        self.bar.close()


__all__ = ["Callback", "Trainer", "TrainingDiverged", "OutputNotWritableError", "TqdmCallback",
           "resolve_device"]
