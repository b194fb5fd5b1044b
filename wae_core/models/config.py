"""Dataclass configs: one for the model (what to build), one for training (how to fit it).

Both round-trip through plain JSON dicts so that a checkpoint can record exactly what made it.
The field defaults below follow the paper's MNIST set-up (Tolstikhin et al. 2018, appendix and
official code); each is written here only.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

VERSION = "0.1.0"
MODEL_KINDS = ("vae", "wae-mmd", "wae-gan", "gan")  # also the deck's order
# How every page, table and log names a kind (the one copy of this map).
KIND_LABELS = {"vae": "VAE", "wae-mmd": "WAE-MMD", "wae-gan": "WAE-GAN", "gan": "GAN"}
ARCHS = ("small", "paper", "mlp", "unrolled-dcgan")
KERNELS = ("imq", "rbf")
# How the image decoder doubles its map: a 4x4 stride-2 transposed conv (the paper's) or a nearest
# upsampling followed by a 3x3 conv (Odena et al. 2016: no uneven overlap, so no checkerboard).
UPSAMPLINGS = ("transpose", "resize")
LR_SCHEDULES = ("step", "cosine", "cosine-budget")
# Conv widths of each image arch when ``channels`` / ``dec_channels`` are not given. "small" is
# sized for thousands of img/s on 2 CPU cores (docs/speed.md); "paper" is the paper's MNIST net
# (decoder from a 7x7 map of PAPER_DEC_CHANNELS[0] channels), ~22 M parameters.
SMALL_CHANNELS, SMALL_DEC_CHANNELS = (16, 32, 64), (32, 16)
PAPER_CHANNELS, PAPER_DEC_CHANNELS = (128, 256, 512, 1024), (1024, 512, 256)
ARCH_CHANNELS = {"small": (SMALL_CHANNELS, SMALL_DEC_CHANNELS), "mlp": (SMALL_CHANNELS, SMALL_DEC_CHANNELS),
                 "paper": (PAPER_CHANNELS, PAPER_DEC_CHANNELS)}
# The Stacked-MNIST DCGAN of the Unrolled-GAN experiments (nets.UnrolledGenerator /
# UnrolledDiscriminator): generator 64-32-16-8 from a 4x4 map, discriminator 2-4-8 ("1/4 of G").
UNROLLED_CHANNELS, UNROLLED_DEC_CHANNELS = (2, 4, 8), (64, 32, 16, 8)
ARCH_CHANNELS["unrolled-dcgan"] = (UNROLLED_CHANNELS, UNROLLED_DEC_CHANNELS)
# The paper's multi-scale kernel: C = 2 * d_z * sigma_z^2 * s for each s below (official code).
PAPER_KERNEL_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def is_image_arch(arch: str) -> bool:
    """Conv nets for images; the "mlp" arch is for 2-D points."""
    return arch != "mlp"


@dataclass
class ModelConfig:
    """What to build. ``arch`` picks the network family; ``kind`` the objective."""

    kind: str = "wae-mmd"
    # small: fast CPU conv net; paper: the paper's conv net; mlp: 2-D toys; unrolled-dcgan: the
    # published Stacked-MNIST DCGAN (a GAN's generator and discriminator only)
    arch: str = "small"
    z_dim: int = 8
    # images
    img_channels: int = 1
    img_size: int = 28
    # Encoder / discriminator conv widths and decoder widths at 7x7, 14x14 (, 28x28); None: the
    # arch's own (ARCH_CHANNELS). Widths given explicitly are kept as given, for every arch.
    channels: tuple[int, ...] | None = None
    dec_channels: tuple[int, ...] | None = None
    batchnorm: bool = True
    upsample: str = "transpose"  # one of UPSAMPLINGS
    # 2-D points
    x_dim: int = 2
    hidden: int = 128
    depth: int = 4
    # objective
    lam: float = 10.0
    recon_scale: float = 0.05  # c(x, y) = recon_scale * ||x - y||^2 (summed over pixels)
    kernel: str = "imq"
    kernel_scales: tuple[float, ...] = PAPER_KERNEL_SCALES
    sigma_z: float = 1.0  # prior P_Z = N(0, sigma_z^2 I)
    stochastic_encoder: bool = False  # WAE only: Gaussian Q(Z|X) instead of a deterministic map
    # WAE only: the floor of a Gaussian encoder's log-variance. Without one the toys' encoders
    # collapsed to the clamp (sigma = e^-6) and left holes in Q_Z between the modes (docs/experiments.md).
    logvar_min: float = -12.0
    # WAE only: the cost's power p in c(x, y) = recon_scale * ||x - y||^p (2: the paper's squared
    # L2; 1: W1, whose optimal decoder is the posterior's median, not its mean).
    cost_power: float = 2.0
    vae_likelihood: str = "bernoulli"  # VAE decoder likelihood: bernoulli (images) or gaussian
    # latent / image adversary
    disc_hidden: int = 512
    disc_depth: int = 4

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"unknown model kind {self.kind!r}; choose from {MODEL_KINDS}")
        if self.arch not in ARCHS:
            raise ValueError(f"unknown arch {self.arch!r}; choose from {ARCHS}")
        if self.kernel not in KERNELS:
            raise ValueError(f"unknown kernel {self.kernel!r}; choose from {KERNELS}")
        if self.upsample not in UPSAMPLINGS:
            raise ValueError(f"unknown upsample {self.upsample!r}; choose from {UPSAMPLINGS}")
        if self.z_dim < 1:
            raise ValueError("z_dim must be >= 1")
        if self.cost_power <= 0:
            raise ValueError("cost_power must be > 0")
        enc, dec = ARCH_CHANNELS[self.arch]
        self.channels = tuple(int(c) for c in (enc if self.channels is None else self.channels))
        self.dec_channels = tuple(int(c) for c in (dec if self.dec_channels is None else self.dec_channels))
        self.kernel_scales = tuple(float(s) for s in self.kernel_scales)

    @property
    def is_image(self) -> bool:
        return is_image_arch(self.arch)

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        return _from_dict(cls, d)


@dataclass
class TrainConfig:
    """How to fit. Epoch-based; toy data sets are a fixed sample, so epochs mean the same there."""

    epochs: int = 10
    batch_size: int = 100
    lr: float = 1e-3
    beta1: float = 0.5
    beta2: float = 0.999
    lr_adv: float = 5e-4
    # Multiply the learning rates by lr_factors[i] from epoch lr_milestones[i] on (paper: 30, 50).
    lr_milestones: tuple[int, ...] = (30, 50)
    lr_factors: tuple[float, ...] = (0.5, 0.1)
    seed: int = 0
    device: str = "auto"
    checkpoint_every_steps: int = 0  # 0: at the end of every epoch only
    max_steps: int = 0  # 0: no limit (stop after ``epochs``)
    max_seconds: float = 0.0  # 0: no time limit; else stop (and save) once exceeded
    threads: int = 0  # torch CPU threads, 0: all cores
    # "step": lr_milestones / lr_factors per epoch; "cosine": from lr down to 0 over all steps;
    # "cosine-budget": the same, over whichever runs out first, the steps or ``max_seconds`` (a
    # run stopped by its time cap still ends at lr 0; its exact path then depends on the speed).
    lr_schedule: str = "step"
    # Ramp lambda linearly from 0 over this many steps (0: none). The W1-cost toys collapsed to
    # the ring's centre without it (the posterior became the prior before the decoder learned).
    lam_warmup_steps: int = 0
    # Images: the encoder reads each batch randomly shifted, rotated, scaled and thickened or
    # thinned (wae_core.data.augment); the cost compares the reconstruction with the original.
    augment: bool = False
    # With ``augment``: the share of each batch augmented; the rest is read as it is. Half, when the
    # decoder learns too: it cannot know the pose or stroke an augmented input lost, so every
    # augmented image pulls it towards the mean and blurs it (6-minute pilots: all augmented, recon.
    # sharpness 0.025 and FID 364 against 0.051 and 154 without; docs/experiments.md). And whether
    # the augmented images are also degraded as uploads are (lower resolution, blur, faint or
    # patchy ink: wae_core.data.augment.degrade).
    augment_share: float = 0.5
    augment_uploads: bool = False
    # False: the decoder is frozen and only the encoder (and a WAE-GAN's adversary) learns, so the
    # samples G(z), z ~ P_Z, stay exactly as they were: the encoder refit of a trained model.
    train_decoder: bool = True

    def __post_init__(self) -> None:
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}; choose from {LR_SCHEDULES}")

    def lr_multiplier(self, epoch: int, step: int = 0, total_steps: int = 0,
                      seconds: float = 0.0) -> float:
        r"""The factor on both learning rates. "step": the factor of the last milestone reached
        at ``epoch``; "cosine": $\tfrac12\,(1 + \cos(\pi\, t / T))$ at step t of T;
        "cosine-budget": the same at progress $\max(t / T,\ s / s_{max})$ after s seconds of
        training when ``max_seconds`` is set."""
        if self.lr_schedule in ("cosine", "cosine-budget"):
            progress = step / max(total_steps, 1)
            if self.lr_schedule == "cosine-budget" and self.max_seconds > 0:
                progress = max(progress, seconds / self.max_seconds)
            return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        m = 1.0
        for milestone, factor in zip(self.lr_milestones, self.lr_factors):
            if epoch >= milestone:
                m = factor
        return m

    def lam_multiplier(self, step: int) -> float:
        """The factor on lambda at ``step`` (0-based): a linear warm-up, then 1."""
        return min(1.0, (step + 1) / self.lam_warmup_steps) if self.lam_warmup_steps > 0 else 1.0

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        return _from_dict(cls, d)


def _to_jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


# Fields that older checkpoints record but that no longer exist (never used): ignored on reading.
_RETIRED_FIELDS = {"extra"}


def _from_dict(cls: type, d: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    d = {k: v for k, v in d.items() if k not in _RETIRED_FIELDS}
    unknown = set(d) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
