"""VAE, WAE-MMD, WAE-GAN and a plain GAN behind one interface.

Every model has ``encode / decode / sample / reconstruct / interpolate`` and ``loss(x) -> dict``
of named terms (always ``total``). Adversarial models also have ``adversary_loss(x)`` and a
separate parameter group for the adversary's optimiser. Capabilities are flags, not crashes:
``has_encoder`` is False for the GAN, whose ``encode`` raises :class:`NoEncoderError`.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from wae_core.errors import UserFacingError
from wae_core.models import divergences as D
from wae_core.models.config import ModelConfig
from wae_core.models.nets import (
    build_decoder,
    build_encoder,
    build_image_discriminator,
    build_latent_discriminator,
)

Losses = dict[str, torch.Tensor]


class NoEncoderError(UserFacingError, RuntimeError):
    """Raised by ``encode`` on a model that has no encoder (the plain GAN)."""


class GenerativeModel(nn.Module):
    """Shared interface. Subclasses set ``kind`` and implement ``loss``."""

    kind: ClassVar[str] = ""
    has_encoder: ClassVar[bool] = True
    has_adversary: ClassVar[bool] = False

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.decoder = build_decoder(cfg)
        # The trainer's factor on lambda (TrainConfig.lam_warmup_steps); 1 outside a warm-up.
        self.lam_scale = 1.0

    # --- the prior P_Z -------------------------------------------------------------------
    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        r"""$$z \sim P_Z = \mathcal N(0, \sigma_z^2 I_{d_z})$$"""
        dev = self.device
        z = torch.randn(n, self.cfg.z_dim, generator=generator,
                        device="cpu" if generator is not None else dev)
        return (z * self.cfg.sigma_z).to(dev)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def adversary_logits(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The adversary's logits for two batches. One pass over their concatenation (half the
        per-op overhead: ~1.3x the steps/s of the toy MLPs), except for an adversary with batch
        norm, whose batch statistics must not mix the two batches (DCGAN practice)."""
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.adversary.modules()):
            return self.adversary(a), self.adversary(b)
        out = self.adversary(torch.cat([a, b]))
        return out[: len(a)], out[len(a):]

    # --- encoder / decoder ---------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes of ``x`` (the posterior mean for stochastic encoders)."""
        raise NotImplementedError

    def encode_sample(self, x: torch.Tensor) -> torch.Tensor:
        """A draw from Q(Z|X=x); for deterministic encoders the code itself. Codes of a data
        batch drawn this way are a sample of the aggregate posterior Q_Z."""
        return self.encode(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] (or points) from codes: G(z)."""
        return self.decoder(z)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws from P_G: decode samples of the prior."""
        return self.decode(self.sample_prior(n, generator))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @torch.no_grad()
    def interpolate(self, a: torch.Tensor, b: torch.Tensor, steps: int = 10,
                    mode: str = "linear", inputs_are_codes: bool = False) -> torch.Tensor:
        """Decode a path from ``a`` to ``b`` (images, or codes when ``inputs_are_codes``).

        ``a`` and ``b`` are single items (no batch dimension) or batches of one; the result has
        ``steps`` rows. ``mode`` is "linear" or "slerp" (see :func:`interpolate_codes`).
        """
        za, zb = (a, b) if inputs_are_codes else (self.encode(_batch1(a)), self.encode(_batch1(b)))
        return self.decode(interpolate_codes(za.reshape(-1), zb.reshape(-1), steps, mode))

    # --- training -------------------------------------------------------------------------
    def loss(self, x: torch.Tensor, x_in: torch.Tensor | None = None) -> Losses:
        """The named loss terms of a batch ``x`` ("total" is optimised). ``x_in``: what the
        encoder reads instead of ``x`` (an augmented copy, :mod:`wae_core.data.augment`); the
        reconstruction is still compared with ``x``. For a WAE this keeps the paper's objective:
        Q(Z|X=x) becomes the law of E(aug(x)), a random encoder, which the WAE allows."""
        raise NotImplementedError

    def main_parameters(self) -> list[nn.Parameter]:
        """Parameters of the encoder/decoder (or generator): the main optimiser's."""
        return [p for n, p in self.named_parameters() if not n.startswith("adversary.")]

    def adversary_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if n.startswith("adversary.")]

    def forward(self, x: torch.Tensor, part: str = "main", x_in: torch.Tensor | None = None) -> Losses:
        """``part="main"``: :meth:`loss`; ``"adversary"``: :meth:`adversary_loss` (for DDP)."""
        return self.loss(x, x_in) if part == "main" else self.adversary_loss(x, x_in)

    def adversary_loss(self, x: torch.Tensor, x_in: torch.Tensor | None = None) -> Losses:
        raise NotImplementedError(f"{self.kind} has no adversary")

    def cost(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        r"""Reconstruction cost per item: the paper's scaled squared L2 (p = 2), or another power.

        $$c(x, y) = \gamma\,\lVert x - y \rVert_2^{\,p},\qquad \gamma = 0.05,\ p = 2
        \text{ on MNIST}$$
        """
        d2 = (x - y).pow(2).flatten(1).sum(1)
        p = self.cfg.cost_power
        # (the epsilon keeps the gradient of ||.||^p finite at a perfect reconstruction, p < 2)
        return self.cfg.recon_scale * (d2 if p == 2 else (d2 + 1e-12).pow(p / 2))

    @property
    def lam(self) -> float:
        """The weight of D_Z at this step: the configured lambda times the warm-up factor."""
        return self.cfg.lam * self.lam_scale

    def latent_mmd(self, codes: torch.Tensor) -> torch.Tensor:
        """MMD(Q_Z, P_Z) of a batch of codes against as many fresh prior samples."""
        prior = self.sample_prior(codes.shape[0])
        return D.mmd(codes, prior, self.cfg.kernel,
                     D.kernel_constants(self.cfg.z_dim, self.cfg.sigma_z, self.cfg.kernel_scales))


def _batch1(x: torch.Tensor) -> torch.Tensor:
    return x if x.dim() in (2, 4) and x.shape[0] == 1 else x.unsqueeze(0)


def interpolate_codes(za: torch.Tensor, zb: torch.Tensor, steps: int,
                      mode: str = "linear") -> torch.Tensor:
    r"""Codes on a path from ``za`` to ``zb`` (1-D tensors), ``steps`` of them, ends included.

    $$z_t = (1-t)\,z_a + t\,z_b \quad\text{(linear)},\qquad
    z_t = \frac{\sin((1-t)\Omega)}{\sin\Omega} z_a + \frac{\sin(t\Omega)}{\sin\Omega} z_b
    \quad\text{(slerp)},\ \cos\Omega = \frac{z_a\cdot z_b}{\lVert z_a\rVert\lVert z_b\rVert}$$

    Spherical interpolation keeps the path at the radius where a Gaussian prior puts its mass;
    with nearly parallel ends it falls back to the linear path.
    """
    if steps < 2:
        raise ValueError("interpolation needs at least 2 steps")
    t = torch.linspace(0.0, 1.0, steps, device=za.device).unsqueeze(1)
    if mode == "linear":
        return (1 - t) * za + t * zb
    if mode != "slerp":
        raise ValueError(f"unknown interpolation mode {mode!r}; use 'linear' or 'slerp'")
    cos = torch.dot(za, zb) / (za.norm() * zb.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < 1e-4 or (math.pi - omega.abs()) < 1e-4:
        return (1 - t) * za + t * zb
    so = torch.sin(omega)
    return torch.sin((1 - t) * omega) / so * za + torch.sin(t * omega) / so * zb


class VAE(GenerativeModel):
    r"""Variational auto-encoder: Gaussian encoder, reparameterisation, closed-form KL.

    $$\mathcal L_{VAE} = \mathbb E_{P_X}\Big[-\mathbb E_{Q(Z|X)} \log p_G(X|Z)
    + \mathrm{KL}\big(Q(Z|X)\,\Vert\,P_Z\big)\Big]$$

    Every single posterior Q(Z|X=x) is pushed towards P_Z: the source of the blur.
    """

    kind = "vae"

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        self.encoder = build_encoder(cfg, 2 * cfg.z_dim)

    def encode_dist(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of Q(Z|X=x); logvar is clamped to keep exp() finite."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_dist(x)[0]

    def encode_sample(self, x: torch.Tensor) -> torch.Tensor:
        return self.reparameterize(*self.encode_dist(x))

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        r"""$$z = \mu + \sigma \odot \varepsilon,\quad \varepsilon \sim \mathcal N(0, I)$$"""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def neg_log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """-log p_G(x|z) per item, up to a constant: Bernoulli on images (from logits, stable),
        else Gaussian with variance 1 / (2 recon_scale), i.e. :meth:`cost`."""
        if self.cfg.is_image and self.cfg.vae_likelihood == "bernoulli":
            logits = self.decoder.logits(z)
            return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        return self.cfg.recon_scale * (x - self.decode(z)).pow(2).flatten(1).sum(1)

    def loss(self, x: torch.Tensor, x_in: torch.Tensor | None = None) -> Losses:
        mu, logvar = self.encode_dist(x if x_in is None else x_in)
        z = self.reparameterize(mu, logvar)
        recon = self.neg_log_likelihood(x, z).mean()
        kl = D.kl_normal(mu, logvar, self.cfg.sigma_z).mean()
        return {"total": recon + kl, "recon": recon, "kl": kl}


class _WAE(GenerativeModel):
    r"""Wasserstein auto-encoder: penalise only the aggregate posterior Q_Z.

    $$D_{WAE}(P_X, P_G) = \inf_{Q(Z|X)} \mathbb E_{P_X}\mathbb E_{Q(Z|X)}\big[c(X, G(Z))\big]
    + \lambda\, \mathcal D_Z(Q_Z, P_Z)$$
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        out = 2 * cfg.z_dim if cfg.stochastic_encoder else cfg.z_dim
        self.encoder = build_encoder(cfg, out)

    def encode_sample(self, x: torch.Tensor) -> torch.Tensor:
        """A draw from Q(Z|X=x): the code itself for a deterministic encoder."""
        h = self.encoder(x)
        if not self.cfg.stochastic_encoder:
            return h
        mu, logvar = h.chunk(2, dim=1)
        return VAE.reparameterize(mu, logvar.clamp(self.cfg.logvar_min, 8.0))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        return h.chunk(2, dim=1)[0] if self.cfg.stochastic_encoder else h


class WAEMMD(_WAE):
    r"""WAE with an MMD penalty in the latent space (IMQ kernel, multi-scale, unbiased).

    $$\mathcal L = \frac1n \sum_i c\big(x_i, G(\tilde z_i)\big)
    + \lambda\, \widehat{\mathrm{MMD}}^2_k\big(\{\tilde z_i\}, \{z_i\}\big),
    \quad \tilde z_i \sim Q(Z|x_i),\ z_i \sim P_Z$$
    """

    kind = "wae-mmd"

    def loss(self, x: torch.Tensor, x_in: torch.Tensor | None = None) -> Losses:
        codes = self.encode_sample(x if x_in is None else x_in)
        recon = self.cost(x, self.decode(codes)).mean()
        mmd = self.latent_mmd(codes)
        return {"total": recon + self.lam * mmd, "recon": recon, "mmd": mmd}


class WAEGAN(_WAE):
    r"""WAE with a latent adversary: a discriminator on Z estimates D_JS(Q_Z, P_Z).

    $$\mathcal L = \frac1n \sum_i c\big(x_i, G(\tilde z_i)\big)
    - \lambda \frac1n \sum_i \log D(\tilde z_i)$$
    """

    kind = "wae-gan"
    has_adversary = True

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        self.adversary = build_latent_discriminator(cfg)

    def loss(self, x: torch.Tensor, x_in: torch.Tensor | None = None) -> Losses:
        codes = self.encode_sample(x if x_in is None else x_in)
        recon = self.cost(x, self.decode(codes)).mean()
        adv = D.fooling_loss(self.adversary(codes))
        return {"total": recon + self.lam * adv, "recon": recon, "adv": adv}

    def adversary_loss(self, x: torch.Tensor, x_in: torch.Tensor | None = None) -> Losses:
        with torch.no_grad():
            codes = self.encode_sample(x if x_in is None else x_in)
        prior = self.sample_prior(codes.shape[0])
        d = D.adversary_loss(*self.adversary_logits(prior, codes))
        # Scaled by lambda as in the official code, so the two players move at matched speeds.
        return {"total": self.lam * d, "disc": d}


class GAN(GenerativeModel):
    r"""Plain (DCGAN-style) GAN on data space with the non-saturating loss. No encoder.

    $$\min_G \max_D\ \mathbb E_{P_X}\log D(X) + \mathbb E_{P_Z}\log\big(1 - D(G(Z))\big)$$
    """

    kind = "gan"
    has_encoder = False
    has_adversary = True

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        self.adversary = build_image_discriminator(cfg)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NoEncoderError("a GAN has no encoder: it cannot map data to a latent code")

    def loss(self, x: torch.Tensor, x_in: torch.Tensor | None = None) -> Losses:
        fake = self.decode(self.sample_prior(x.shape[0]))
        g = D.fooling_loss(self.adversary(fake))
        return {"total": g, "gen": g}

    def adversary_loss(self, x: torch.Tensor, x_in: torch.Tensor | None = None) -> Losses:
        with torch.no_grad():
            fake = self.decode(self.sample_prior(x.shape[0]))
        d = D.adversary_loss(*self.adversary_logits(x, fake))
        return {"total": d, "disc": d}


MODEL_CLASSES: dict[str, type[GenerativeModel]] = {
    c.kind: c for c in (VAE, WAEMMD, WAEGAN, GAN)
}


def build_model(cfg: ModelConfig) -> GenerativeModel:
    """Instantiate the model class named by ``cfg.kind``."""
    return MODEL_CLASSES[cfg.kind](cfg)
