"""The statistics behind the suite's training tests, in one place.

The tests assert bounds on these numbers; ``scripts/sweep_stochastic_tests.py`` measures the same
functions over seeds and torch thread counts, so every bound is set from a measured sweep with a
stated margin (the table is in the sweep script's docstring), not from one machine's float order.
"""

from __future__ import annotations

from functools import cache

import torch

from wae_core import ModelConfig, TrainConfig, Trainer, build_model
from wae_core.data.datasets import REPO_ROOT, load_dataset, load_mnist, toy_modes
from wae_core.evaluation.lenet import load_classifier
from wae_core.evaluation.metrics import fid
from wae_core.training import recipes

KINDS = ("vae", "wae-mmd", "wae-gan", "gan")

# --- the ring: generated points move onto the modes -----------------------------------------------
RING_EPOCHS = 50  # x 20 steps of 200 points. At 8 epochs the WAE-GAN (then at lambda 10) moved its
# points only by half (ratio 0.44-0.53 over machines); at 25 epochs a GAN at lr 1e-3 still swung
# between 0.38 and 1.41 (measured, 5 seeds). With the lambda and rates below, 50 epochs.


def ring_config(kind: str) -> tuple[ModelConfig, dict[str, float]]:
    """The toy nets of this test, fixed here (not a recipe, so retuning the shipped toys does not move
    the test's statistic): 2-D latent MLPs 4 x 128 with a deterministic encoder and the paper's
    squared cost; lambda 10 (WAE-GAN 1, as the shipped toys) and a 4 x 128 latent adversary (the
    shipped toys' width: the paper's 4 x 512 made this one test 28 s of the suite, 5.7 s now); the
    GAN at its DCGAN rate 2e-4. The VAE's Gaussian decoder has sigma = 0.1 (recon_scale 50)."""
    model = ModelConfig(kind=kind, arch="mlp", z_dim=2, recon_scale=50.0 if kind == "vae" else 1.0,
                        lam=1.0 if kind == "wae-gan" else 10.0, disc_hidden=128)
    rates = {"lr": 2e-4, "lr_adv": 2e-4} if kind == "gan" else {"lr": 1e-3, "lr_adv": 5e-4}
    return model, rates


def ring_spread(model) -> float:
    """Mean distance from 2,000 generated points (fixed prior draws) to their nearest ring mode."""
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        return float(torch.cdist(model.sample(2000, g), toy_modes("ring")).min(1).values.mean())


def ring_learning(kind: str, seed: int = 0, epochs: int = RING_EPOCHS) -> dict[str, float]:
    """Train on 4,000 ring points; ``spread_ratio`` = spread after / before training (lower is
    better), ``recon_ratio`` = last / first logged reconstruction loss (encoder models)."""
    torch.manual_seed(seed)
    data = load_dataset("ring", "train").subset(4000)
    model_cfg, rates = ring_config(kind)
    model = build_model(model_cfg)
    before = ring_spread(model)
    t = Trainer(model, data, TrainConfig(epochs=epochs, batch_size=200, lr_milestones=(),
                                         lr_factors=(), seed=seed, **rates))
    t.fit()
    out = {"spread_ratio": ring_spread(t.model) / before}
    if kind != "gan":
        out["recon_ratio"] = t.history[-1]["recon"] / t.history[0]["recon"]
    return out


# --- MNIST: the loss falls, the GAN's samples move towards the data --------------------------------
MNIST_EPOCHS = 8  # x 20 steps of 50 images (1,000 training images)


@cache
def _mnist_small():
    return load_mnist("train").subset(1000)


@cache
def _reference_images():
    return load_mnist("test").subset(1000).x


@cache
def _lenet():
    return load_classifier(REPO_ROOT / "checkpoints" / "lenet-mnist.safetensors")


def sample_fid(model, n: int = 1000) -> float:
    """FID (our LeNet's features) of ``n`` samples (fixed draws) against 1,000 test images."""
    g = torch.Generator().manual_seed(4321)
    with torch.no_grad():
        samples = model.eval().sample(n, g)
    return fid(samples, _reference_images(), _lenet())


def mnist_learning(kind: str, seed: int = 0, epochs: int = MNIST_EPOCHS) -> dict[str, float]:
    """A few hundred steps on 1,000 MNIST images. ``recon_ratio`` = last / first reconstruction
    loss (encoder models); ``fid_ratio`` = sample FID after / before training (every model)."""
    torch.manual_seed(seed)
    model = build_model(ModelConfig(kind=kind))
    before = sample_fid(model)
    lr = 2e-4 if kind == "gan" else 1e-3
    t = Trainer(model.train(), _mnist_small(),
                TrainConfig(epochs=epochs, batch_size=50, lr=lr, lr_adv=lr, lr_milestones=(),
                            lr_factors=(), seed=seed))
    t.fit()
    out = {"fid_ratio": sample_fid(t.model) / before}
    if kind != "gan":
        out["recon_ratio"] = t.history[-1]["recon"] / t.history[0]["recon"]
    return out


# --- the bounds the tests assert --------------------------------------------------------------------
# Each is the worst value of `scripts/sweep_stochastic_tests.py` (5 seeds x 1 and 2 threads; the
# table is in the README, Tests) with a stated margin. Lower is better for every ratio.
RING_SPREAD_RATIO_BOUND = 0.5  # worst measured 0.367 (GAN): 27 % margin
RING_RECON_RATIO_BOUND = 0.1  # worst 0.052 (WAE-GAN): 1.9x
MNIST_RECON_RATIO_BOUND = 0.5  # worst 0.348 (VAE): 30 % margin
# worst 0.729 (VAE): 14 % margin. The GAN learns more slowly at its DCGAN rate (worst 0.833): its
# bound is 0.95, 14 % above that and still 5 % below an untrained generator's 1.0.
MNIST_FID_RATIO_BOUND = {"vae": 0.85, "wae-mmd": 0.85, "wae-gan": 0.85, "gan": 0.95}
# Higher is better here: the default live preset's share on a mode after LIVE_STEPS steps; worst
# 0.365 over the sweep (8/8 modes on every seed), bound 0.30 (18 % margin). The former
# deterministic-encoder defaults put 1-2 % of their samples on a mode.
LIVE_HQ_BOUND = 0.30
BOUNDS: dict[tuple[str, str], str] = {
    ("live", "modes_covered"): "= 8",
    ("live", "hq_share"): f"> {LIVE_HQ_BOUND}",
    ("ring", "spread_ratio"): f"< {RING_SPREAD_RATIO_BOUND}",
    ("ring", "recon_ratio"): f"< {RING_RECON_RATIO_BOUND}",
    ("mnist", "recon_ratio"): f"< {MNIST_RECON_RATIO_BOUND}",
    ("mnist", "fid_ratio"): "< " + " / ".join(f"{v}" for v in MNIST_FID_RATIO_BOUND.values()),
}


# --- the live page's default preset on the ring -----------------------------------------------------
LIVE_STEPS = 2500  # steps of the default preset's WAE (the page's first ~minute beside a GAN)


def live_ring(kind: str = "wae-mmd", seed: int = 0, steps: int = LIVE_STEPS) -> dict[str, float]:
    """A live run of the page's default preset (wae_core.training.recipes.DEFAULT_LIVE_PRESET), trained
    ``steps`` steps; modes covered and high-quality share of 2,500 prior draws (the protocol)."""
    from dataclasses import replace as _replace

    from wae_core import live
    from wae_core.evaluation.metrics import toy_quality

    recipe = recipes.live_recipe(recipes.DEFAULT_LIVE_PRESET, kind)
    recipe = _replace(recipe, train=_replace(recipe.train, seed=seed))
    run = live.LiveRun(live.ToySource.builtin("ring"), recipe, metrics_every=10**9)
    for _ in range(steps):
        run.step()
    with torch.no_grad():
        q = toy_quality(run.model.sample(2500, torch.Generator().manual_seed(100 + seed)),
                        toy_modes("ring"), run.source.std)
    return {"modes_covered": float(q.modes_covered), "hq_share": q.high_quality_share}
