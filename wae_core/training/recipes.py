"""Named training recipes: the one place where a shipped or offered model's learning rate, λ,
widths, encoder kind, epochs and time cap are written.

A recipe is a frozen preset: a name, one line saying what it is for, a data set, a
:class:`~wae_core.models.config.ModelConfig` and a :class:`~wae_core.models.config.TrainConfig` (whose
``max_seconds`` is the time cap, 0 for none). Users::

    python -m wae_core.train --recipe mnist-wae-mmd --out checkpoints/mnist-wae-mmd.safetensors
    recipe = recipes.get("ring-wae-gan")          # a fresh copy: edit its configs freely
    model = build_model(recipe.model)

``scripts/make_checkpoints.sh`` trains the shipped checkpoints by name (``mnist-*``,
``mnist-*-z2``, ``ring-*``, ``grid-*``), ``python -m wae_core.training.bench`` times the ``mnist-*`` nets,
the Train-your-own page starts from ``own-<kind>`` and the Live toy page offers
:data:`LIVE_PRESETS` (its default :data:`DEFAULT_LIVE_PRESET` is the shipped toy recipe).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

from wae_core.models.config import MODEL_KINDS, ModelConfig, TrainConfig


@dataclass(frozen=True)
class Recipe:
    """A named preset: what to build (``model``), how to fit it (``train``) and on what."""

    name: str
    description: str
    dataset: str
    model: ModelConfig
    train: TrainConfig


RECIPES: dict[str, Recipe] = {}


def _add(recipe: Recipe) -> None:
    RECIPES[recipe.name] = recipe


def checkpoint_name(prefix: str, kind: str) -> str:
    """The name of a model of ``kind`` in a family (``mnist``, ``fashion``, ``stacked``, ``ring``,
    ``own``...): its recipe's name and its checkpoint's stem, checkpoints/<name>.safetensors."""
    return f"{prefix}-{kind}"


def get(name: str) -> Recipe:
    """A fresh copy of the recipe ``name`` (its configs may be edited without touching the
    registry); ValueError naming the known recipes otherwise."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose from {', '.join(RECIPES)}")
    return copy.deepcopy(RECIPES[name])


def names() -> list[str]:
    return list(RECIPES)


# --- the shipped MNIST nets ------------------------------------------------------------------------
# The small conv family widened to an encoder 32-64-128 and a decoder 64-32 (the small decoder's own
# reconstructions were too blurry to show the WAE's sharpness).
MNIST_CHANNELS, MNIST_DEC_CHANNELS = (32, 64, 128), (64, 32)
GAN_LR = 2e-4  # the GANs' (DCGAN's) learning rate, for generator and discriminator alike

# The three auto-encoders get the same epochs and about the same CPU time: the VAE and the WAE-MMD
# trained side by side with a third training for MNIST_AE_MINUTES of wall clock (3 trainings on 2
# cores: ~33 CPU-minutes each, 28,178 and 28,060 steps, 46 epochs), the WAE-GAN for their
# MNIST_WAE_GAN_STEPS (34 minutes of one core beside one other training; its time cap is only a
# guard), one thread each; a cosine learning rate reaches 0 when the steps or the time run out.
# The code has MNIST_Z_DIM = 16 dimensions, not the paper's 8: in 6-minute WAE-MMD pilots
# (docs/experiments.md) z = 8 kept the digit of 85 % of non-MNIST uploads and reconstructed at
# sharpness 0.051, z = 16 kept 97 % at 0.094; augmenting the encoder's input (``--augment``,
# wae_core.data.augment) kept 88 % at z = 8 but blurred every reconstruction. The WAE-GAN's λ is 1:
# at z = 16 the paper's λ = 10 adversary overruled the reconstruction (FID 151, class kept 81 % / 72
# % against 63, 92 % / 83 % at λ = 1, on the same budget). Its λ ramps up over the first quarter of
# the steps and its adversary learns at 2e-4, not the paper's 5e-4: at 46 epochs that kept the class
# of 90.5 % of the uploads at FID 60, against 86.8 % at 93 with neither (docs/results.md: the runs
# and their seeds).
MNIST_Z_DIM = 16
MNIST_AE_MINUTES = {"vae": 50, "wae-mmd": 50, "wae-gan": 80}
MNIST_AE_LAM = {"vae": 10.0, "wae-mmd": 10.0, "wae-gan": 1.0}  # the VAE ignores λ
MNIST_AE_EPOCHS = 200  # an upper bound: on a CPU the time cap (or the WAE-GAN's steps) ends the run
MNIST_WAE_GAN_STEPS = 28_100
MNIST_AE_TRAIN = {"vae": {}, "wae-mmd": {},
                  "wae-gan": {"max_steps": MNIST_WAE_GAN_STEPS, "lr_adv": 2e-4,
                              "lam_warmup_steps": 7_000}}  # about a quarter of the steps
for _kind in ("vae", "wae-mmd", "wae-gan"):
    _add(Recipe(
        checkpoint_name("mnist", _kind), f"the shipped MNIST {_kind}", "mnist",
        ModelConfig(kind=_kind, z_dim=MNIST_Z_DIM, lam=MNIST_AE_LAM[_kind], channels=MNIST_CHANNELS,
                    dec_channels=MNIST_DEC_CHANNELS),
        TrainConfig(epochs=MNIST_AE_EPOCHS, lr_schedule="cosine-budget", lr_milestones=(),
                    lr_factors=(), max_seconds=MNIST_AE_MINUTES[_kind] * 60, **MNIST_AE_TRAIN[_kind])))

# The GAN: 16 epochs (what ~11 minutes of one thread gave), the learning rate halved at epoch 10
# and divided by 5 at 13; the 15-minute cap stops it on a busier machine.
_add(Recipe(
    "mnist-gan", "the shipped MNIST gan (checkpoints/mnist-gan.safetensors)", "mnist",
    ModelConfig(kind="gan", channels=MNIST_CHANNELS, dec_channels=MNIST_DEC_CHANNELS),
    TrainConfig(epochs=16, lr_milestones=(10, 13), lr_factors=(0.5, 0.2), max_seconds=15 * 60,
                lr=GAN_LR, lr_adv=GAN_LR)))


def _gan_rates(kind: str) -> dict[str, float]:
    return {"lr": GAN_LR, "lr_adv": GAN_LR} if kind == "gan" else {}


# A 2-D latent space, for the deck's figure of per-image posteriors vs the aggregate Q_Z.
for _kind in ("vae", "wae-mmd"):
    _add(Recipe(f"mnist-{_kind}-z2", f"the shipped MNIST {_kind} with z = 2 (the idea page's figure)",
                "mnist", ModelConfig(kind=_kind, z_dim=2),
                TrainConfig(epochs=5, lr_milestones=(), lr_factors=())))


# --- Fashion-MNIST: the shipped MNIST nets on clothes, a shorter schedule, no time cap ------------
# (issue 34: a cap of 10 minutes stopped them after 3-5 of their epochs on a shared machine).
FASHION_SCHEDULE = {"vae": (12, (8, 10)), "wae-mmd": (12, (8, 10)), "wae-gan": (9, (6, 8)),
                    "gan": (8, (5, 7))}
for _kind in MODEL_KINDS:
    _epochs, _milestones = FASHION_SCHEDULE[_kind]
    _add(Recipe(
        checkpoint_name("fashion", _kind), f"the shipped Fashion-MNIST {_kind}",
        "fashion-mnist", ModelConfig(kind=_kind, channels=MNIST_CHANNELS, dec_channels=MNIST_DEC_CHANNELS),
        TrainConfig(epochs=_epochs, lr_milestones=_milestones, lr_factors=(0.5, 0.2),
                    **_gan_rates(_kind))))


# --- Stacked MNIST (1,000 modes) ------------------------------------------------------------------
# The WAEs and the VAE: the shipped MNIST nets with 3 image channels and a code of STACKED_Z_DIM
# (three digits' worth of the MNIST code; a 6-minute pilot gave KL 0.132 at z = 24, 0.187 at 16).
# The GAN baseline is the published setting where a DCGAN collapses: the Unrolled-GAN experiments'
# nets with the discriminator 1/4 of the generator (PacGAN, Lin et al. 2018, Table 3: 30.6 ± 20.7
# modes of 1,000), Adam beta (0.5, 0.99), generator 1e-4, discriminator 2e-4, batch 128, z of 256.
# Published: 500,000 steps; here STACKED_GAN_STEPS (what a CPU affords; docs/results.md, Stacked MNIST).
STACKED_Z_DIM = 24
STACKED_SCHEDULE = {"vae": (12, (8, 10)), "wae-mmd": (12, (8, 10)), "wae-gan": (12, (8, 10))}
STACKED_MAX_SECONDS = 30 * 60
STACKED_GAN_STEPS = 6_000
for _kind, (_epochs, _milestones) in STACKED_SCHEDULE.items():
    _add(Recipe(
        checkpoint_name("stacked", _kind), f"the shipped Stacked-MNIST {_kind}",
        "stacked-mnist", ModelConfig(kind=_kind, img_channels=3, z_dim=STACKED_Z_DIM,
                                     channels=MNIST_CHANNELS, dec_channels=MNIST_DEC_CHANNELS),
        TrainConfig(epochs=_epochs, lr_milestones=_milestones, lr_factors=(0.5, 0.2),
                    max_seconds=STACKED_MAX_SECONDS)))
_add(Recipe(
    "stacked-gan", "the Stacked-MNIST GAN baseline: the published DCGAN with D = 1/4 G "
    "(checkpoints/stacked-gan.safetensors)", "stacked-mnist",
    ModelConfig(kind="gan", arch="unrolled-dcgan", img_channels=3, z_dim=256),
    TrainConfig(epochs=10_000, max_steps=STACKED_GAN_STEPS, batch_size=128, lr=1e-4, lr_adv=2e-4,
                beta1=0.5, beta2=0.99, lr_milestones=(), lr_factors=(), max_seconds=STACKED_MAX_SECONDS)))


# --- 2-D toys ----------------------------------------------------------------------------------------
def _toy_model(kind: str, **kw: object) -> ModelConfig:
    """An MLP model for 2-D points. The cost is the plain squared distance (recon_scale 1); the
    VAE's Gaussian decoder gets sigma = 0.1 instead (recon_scale = 1 / (2 sigma^2) = 50): unit
    variance would swamp modes 0.02 wide and the VAE would learn nothing but the mean."""
    return ModelConfig(kind=kind, arch="mlp", z_dim=2, recon_scale=50.0 if kind == "vae" else 1.0,
                       **kw)  # type: ignore[arg-type]


# The shipped toys: every model 150 epochs (29,250 steps of 256 points) or 10 minutes. The WAEs
# (docs/experiments.md, toys: what was tried and what each change gave): a Gaussian encoder whose
# log-variance is floored at -4 (without a floor it collapsed on the grid, sigma = e^-6, and left
# holes in Q_Z), the W1 cost ||x - y|| (its optimal decoder is the posterior's median, so
# overlapping posteriors give sharp boundaries instead of points between modes), lambda warmed up
# over the first quarter of the steps (the W1 cost collapsed to the ring's centre without it) and a
# cosine learning rate to 0 (ring WAE-MMD: 83 % on a mode after 12,000 steps, 90 % after 24,000).
# The WAE-GAN keeps the shipped lambda of 1 and a 4 x 128 latent adversary: the paper's 4 x 512 ran
# at ~17 steps/s here and stopped at the time cap a third of the way through its schedule.
SHIPPED_TOY = {"vae": {}, "gan": {}}
TOY_WAE = {"stochastic_encoder": True, "logvar_min": -4.0, "cost_power": 1.0}
SHIPPED_TOY.update({"wae-mmd": {"lam": 10.0, **TOY_WAE},
                    "wae-gan": {"lam": 1.0, "disc_hidden": 128, **TOY_WAE}})
TOY_EPOCHS, TOY_WAE_WARMUP_STEPS = 150, 7300
TOY_MAX_SECONDS = 10 * 60


def _toy_train(kind: str) -> TrainConfig:
    if kind in ("wae-mmd", "wae-gan"):
        return TrainConfig(epochs=TOY_EPOCHS, batch_size=256, lr_schedule="cosine",
                           lam_warmup_steps=TOY_WAE_WARMUP_STEPS, lr_milestones=(), lr_factors=(),
                           max_seconds=TOY_MAX_SECONDS)
    return TrainConfig(epochs=TOY_EPOCHS, batch_size=256, lr_milestones=(), lr_factors=(),
                       max_seconds=TOY_MAX_SECONDS, **_gan_rates(kind))


for _toy in ("ring", "grid"):
    for _kind in MODEL_KINDS:
        _add(Recipe(
            checkpoint_name(_toy, _kind), f"the shipped {_toy} {_kind}",
            _toy, _toy_model(_kind, **SHIPPED_TOY[_kind]), _toy_train(_kind)))

# The paper's settings on a toy: deterministic encoder, the 7-scale IMQ kernel, λ 10, batch 100,
# Adam 1e-3 / adversary 5e-4, a 4 x 512 latent adversary (all ModelConfig / TrainConfig defaults).
# The paper trains no GAN: the GAN keeps the shipped one's rate.
for _kind in MODEL_KINDS:
    _add(Recipe(f"paper-toy-{_kind}", f"a {_kind} on 2-D points with the paper's MNIST settings", "ring",
                _toy_model(_kind), TrainConfig(lr_milestones=(), lr_factors=(), **_gan_rates(_kind))))

# What the live page trained before it used the shipped recipe: a deterministic encoder, one kernel
# scale (the 7-scale sum costs ~4x more per step), 4 x 64 MLPs (~2x the steps/s of 4 x 128 on one
# core), a 4 x 128 latent adversary (4 x 512 is ~10x slower here) and batch 128 (256 costs ~2x per
# step; the ring's coverage is the same, measured). Kept as the contrast the seminar shows.
for _kind in MODEL_KINDS:
    _add(Recipe(f"live-toy-{_kind}", f"a fast {_kind} on 2-D points, deterministic encoder", "ring",
                _toy_model(_kind, kernel_scales=(1.0,), hidden=64, disc_hidden=128),
                TrainConfig(batch_size=128, lr_milestones=(), lr_factors=(), **_gan_rates(_kind))))

# The shipped toys' WAE objective on the live page's fast nets (4 x 64, one kernel scale, batch
# 128): ~2x the steps per second of the shipped nets; lambda warmed up over 2,000 steps.
for _kind in MODEL_KINDS:
    _wae = _kind in ("wae-mmd", "wae-gan")
    _add(Recipe(f"fast-toy-{_kind}", f"a fast {_kind} on 2-D points with the shipped WAE objective",
                "ring", _toy_model(_kind, **{**(SHIPPED_TOY[_kind] if _wae else {}),
                                             "kernel_scales": (1.0,), "hidden": 64, "disc_hidden": 128}),
                TrainConfig(batch_size=128, lr_milestones=(), lr_factors=(),
                            lam_warmup_steps=2000 if _wae else 0, **_gan_rates(_kind))))

# The live toy page's presets: label -> prefix of one recipe per kind.
LIVE_PRESETS = {"as shipped": "ring", "fast": "fast-toy", "paper settings": "paper-toy",
                "deterministic encoder": "live-toy"}
DEFAULT_LIVE_PRESET = "as shipped"


def live_recipe(preset: str, kind: str) -> Recipe:
    """The recipe of ``kind`` in a live-page preset (see :data:`LIVE_PRESETS`)."""
    if preset not in LIVE_PRESETS:
        raise ValueError(f"unknown live preset {preset!r}; choose from {', '.join(LIVE_PRESETS)}")
    return get(checkpoint_name(LIVE_PRESETS[preset], kind))


# --- Train your own (the app's page) -----------------------------------------------------------------
# Quality per CPU-second (docs/speed.md: the race against pythae): pythae's small conv net
# (encoder 32-64, decoder 64-32: the same size as the nets the race runs pythae on), a latent
# adversary of OWN_DISC_DEPTH x OWN_DISC_HIDDEN instead of the paper's 4 x 512 (which is 77 % of
# the WAE-GAN's parameters and ~1/4 of its step), and a cosine learning rate that reaches 0 at the
# last epoch, or when ``max_seconds`` runs out. λ 1 for the WAE-GAN (a latent adversary's loss is
# on another scale than the MMD's).
# Learning rates from a 180 s sweep (docs/speed.md, the race's sweep table; FID on LeNet features, one
# seed each): the WAE-MMD at lr 2e-3 scored 133.7 against 157.1 at 1e-3 (3e-3: 136.3), the
# WAE-GAN's adversary at 1e-3 (pythae's rate) 206.2 against 359.3 at the paper's 5e-4 (2e-3: 284.1).
# Three seeds in the race confirm the WAE-MMD's gain (164.4 ± 2.3) but not the WAE-GAN's (370 ± 117:
# its spread between seeds at 3 minutes is larger than any change the sweep measured).
OWN_CHANNELS, OWN_DEC_CHANNELS = (32, 64), (64, 32)
OWN_DISC_HIDDEN, OWN_DISC_DEPTH = 64, 3
OWN_RATES = {"wae-mmd": {"lr": 2e-3}, "wae-gan": {"lr_adv": 1e-3}}
for _kind in MODEL_KINDS:
    _add(Recipe(f"own-{_kind}", f"the Train-your-own page's starting point for a {_kind}", "mnist",
                ModelConfig(kind=_kind, lam=1.0 if _kind == "wae-gan" else 10.0, channels=OWN_CHANNELS,
                            dec_channels=OWN_DEC_CHANNELS, disc_hidden=OWN_DISC_HIDDEN,
                            disc_depth=OWN_DISC_DEPTH),
                TrainConfig(epochs=3, lr_schedule="cosine-budget", lr_milestones=(), lr_factors=(),
                            **_gan_rates(_kind), **OWN_RATES.get(_kind, {}))))


def with_train(recipe: Recipe, **changes: object) -> Recipe:
    """The recipe with some TrainConfig fields changed (e.g. ``seed``, ``epochs``)."""
    return replace(recipe, train=replace(recipe.train, **changes))  # type: ignore[arg-type]


__all__ = ["DEFAULT_LIVE_PRESET", "LIVE_PRESETS", "RECIPES", "Recipe", "get", "live_recipe", "names",
           "with_train"]
