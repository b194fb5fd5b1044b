"""One live toy run: a model on 2-D data, trained step by step through the Trainer's public
single-step API, with bounded loss and score curves and snapshots for plotting.

A run trains a :class:`~wae_core.training.recipes.Recipe` (a ModelConfig and a TrainConfig); the live page
takes one from :func:`wae_core.training.recipes.live_recipe`. :class:`LiveConfig` is the same thing as
flat fields (scripts and tests), with the "deterministic encoder" preset as its defaults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from wae_core.data.datasets import TensorData
from wae_core.evaluation.metrics import toy_quality
from wae_core.models import divergences as div
from wae_core.models.config import KIND_LABELS, MODEL_KINDS
from wae_core.models.generative import GenerativeModel, build_model
from wae_core.training import recipes
from wae_core.training.recipes import Recipe
from wae_core.training.trainer import Trainer

from .curves import Curves
from .toys import ToySource

# The mixtures' scoring protocol (VEEGAN, PacGAN): 2,500 samples per evaluation.
PROTOCOL_SAMPLES = 2500
# Settings a run takes while it trains (the next step uses them); anything else needs a reset.
LIVE_MODEL_FIELDS = ("lam", "kernel", "kernel_scales")
LIVE_TRAIN_FIELDS = ("lr", "lr_adv")
_FLAT = recipes.get("live-toy-wae-mmd")  # LiveConfig's defaults: the deterministic-encoder preset


@dataclass
class LiveConfig:
    """One toy run as flat fields: MLPs of ``depth`` x ``hidden`` units, a single-scale kernel
    C = 2 d_z s with s = ``kernel_scale``. :meth:`recipe` gives the configs a run trains."""

    kind: str = _FLAT.model.kind
    z_dim: int = _FLAT.model.z_dim
    lam: float = _FLAT.model.lam
    kernel: str = _FLAT.model.kernel
    kernel_scale: float = _FLAT.model.kernel_scales[0]
    lr: float = _FLAT.train.lr
    lr_adv: float = _FLAT.train.lr_adv
    batch_size: int = _FLAT.train.batch_size
    hidden: int = _FLAT.model.hidden
    depth: int = _FLAT.model.depth
    disc_hidden: int = _FLAT.model.disc_hidden
    seed: int = _FLAT.train.seed

    def recipe(self) -> Recipe:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"unknown model kind {self.kind!r}; choose from {MODEL_KINDS}")
        base = recipes.get(f"live-toy-{self.kind}")  # the kind's cost scale (recipes._toy_model)
        model = replace(base.model, z_dim=self.z_dim, lam=self.lam, kernel=self.kernel,
                        kernel_scales=(self.kernel_scale,), hidden=self.hidden, depth=self.depth,
                        disc_hidden=self.disc_hidden)
        train = replace(base.train, lr=self.lr, lr_adv=self.lr_adv, batch_size=self.batch_size,
                        seed=self.seed)
        return replace(base, name="custom", model=model, train=train)


def as_recipe(spec: Recipe | LiveConfig) -> Recipe:
    return spec.recipe() if isinstance(spec, LiveConfig) else spec


@dataclass
class RunSnapshot:
    """A consistent copy of one run for plotting (numpy arrays, plain lists)."""

    label: str
    kind: str
    step: int
    real: np.ndarray  # (m, 2) fixed real points
    fake: np.ndarray  # (m, 2) G(z) for fixed prior draws z
    codes: np.ndarray | None  # (m, d_z) Q_Z: codes of the real points (None without encoder)
    prior: np.ndarray  # (m, d_z) the fixed prior draws (P_Z)
    history: dict[str, list[float]]  # "step" and one list per loss term, same length
    metrics: dict[str, list[float]]  # "step", "modes_covered", "high_quality_share", "ot"
    n_modes: int | None
    error: str
    per_mode: list[int] | None = None  # high-quality samples per mode at the last evaluation


class LiveRun:
    """A toy model, its Trainer and bounded curves. Not thread-safe on its own:
    :class:`~wae_core.live.groups.LiveGroup` serialises access with its lock."""

    def __init__(self, source: ToySource, spec: Recipe | LiveConfig, label: str | None = None,
                 view_points: int = 1000, metrics_every: int = 100,
                 metric_samples: int = PROTOCOL_SAMPLES,
                 log_every: int = 10) -> None:
        self.source, self.recipe = source, as_recipe(spec)
        self.label = label or KIND_LABELS[self.recipe.model.kind]
        self.view_points, self.metric_samples = view_points, metric_samples
        self.base_log_every, self.base_metrics_every = log_every, metrics_every
        self.reset()

    def reset(self, spec: Recipe | LiveConfig | None = None) -> None:
        """Fresh weights and optimisers (with ``spec`` if given), empty history."""
        if spec is not None:
            self.recipe = as_recipe(spec)
        mc, tc = self.recipe.model, self.recipe.train
        torch.manual_seed(tc.seed)
        data = TensorData(self.source.points, torch.zeros(len(self.source.points), dtype=torch.long),
                          self.source.name)
        # A live run has no end, so no learning-rate schedule: a cosine decay tied to a recipe's
        # step budget would freeze the run once the budget is spent. lambda's warm-up stays.
        self.trainer = Trainer(build_model(replace(mc)), data,
                               replace(tc, device="cpu", lr_schedule="step", lr_milestones=(),
                                       lr_factors=()))
        self.model: GenerativeModel = self.trainer.model
        self.model.train()
        self.gen = torch.Generator().manual_seed(tc.seed + 1)
        view = torch.Generator().manual_seed(12_345)
        m = self.view_points
        self.view_real = self.source.batch(m, view)
        self.view_z = torch.randn(m, mc.z_dim, generator=view) * mc.sigma_z
        self.metric_z = torch.randn(self.metric_samples, mc.z_dim, generator=view)
        self.ot_real = self.source.batch(256, view)
        self.error = ""
        self.losses = Curves(self.base_log_every)
        self.scores = Curves(self.base_metrics_every,
                             ("modes_covered", "high_quality_share", "ot"))
        self.record_metrics()

    # The curves as plain dicts, and their current intervals (they double when thinned).
    @property
    def history(self) -> dict[str, list[float]]:
        return self.losses.data

    @property
    def metrics(self) -> dict[str, list[float]]:
        return self.scores.data

    @property
    def log_every(self) -> int:
        return self.losses.every

    @property
    def metrics_every(self) -> int:
        return self.scores.every

    @property
    def step_count(self) -> int:
        return self.trainer.step

    def update(self, **changes: Any) -> None:
        """Change live settings (``lam``, ``kernel``, ``kernel_scale(s)``, ``lr``, ``lr_adv``)."""
        if "kernel_scale" in changes:
            changes["kernel_scales"] = (changes.pop("kernel_scale"),)
        bad = set(changes) - set(LIVE_MODEL_FIELDS) - set(LIVE_TRAIN_FIELDS)
        if bad:
            raise ValueError(f"{sorted(bad)} cannot change during training: reset the run")
        model_kw = {k: v for k, v in changes.items() if k in LIVE_MODEL_FIELDS}
        train_kw = {k: v for k, v in changes.items() if k in LIVE_TRAIN_FIELDS}
        self.recipe = replace(self.recipe, model=replace(self.recipe.model, **model_kw),
                              train=replace(self.recipe.train, **train_kw))
        for k in LIVE_MODEL_FIELDS:  # the model reads its config at every step
            setattr(self.model.cfg, k, getattr(self.recipe.model, k))
        # The trainer sets its rates from its config at every step: change them there.
        self.trainer.cfg = replace(self.trainer.cfg, **train_kw)
        self.trainer.set_learning_rates(self.trainer.cfg.lr, self.trainer.cfg.lr_adv)

    def step(self) -> dict[str, float]:
        """One optimiser step (adversary first) on a fresh batch; raises TrainingDiverged."""
        x = self.source.batch(self.recipe.train.batch_size, self.gen)
        logs = self.trainer.train_batch(x)
        self.losses.add(self.step_count, logs)
        if self.step_count % self.scores.every == 0:
            self.record_metrics()
        return logs

    @torch.no_grad()
    def record_metrics(self) -> None:
        """Mode coverage / high-quality share (mixtures) and the exact OT cost to a real batch."""
        fake = self.model.decode(self.metric_z * self.model.cfg.sigma_z)
        if self.source.modes is not None and self.source.std is not None:
            q = toy_quality(fake, self.source.modes, self.source.std)
            covered, share, self.per_mode = float(q.modes_covered), q.high_quality_share, q.per_mode
        else:
            covered = share = math.nan
            self.per_mode = None
        ot = div.optimal_transport(self.ot_real, fake[:len(self.ot_real)])[0]
        self.scores.append(self.step_count, {"modes_covered": covered, "high_quality_share": share,
                                             "ot": ot})

    @torch.no_grad()
    def snapshot(self) -> RunSnapshot:
        model = self.model
        fake = model.decode(self.view_z).numpy()
        codes = model.encode_sample(self.view_real).numpy() if model.has_encoder else None
        return RunSnapshot(
            self.label, self.recipe.model.kind, self.step_count, self.view_real.numpy().copy(), fake,
            codes, self.view_z.numpy().copy(), self.losses.copy(), self.scores.copy(),
            None if self.source.modes is None else len(self.source.modes), self.error,
            None if self.per_mode is None else list(self.per_mode))
