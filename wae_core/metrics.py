"""Metrics: FID on LeNet features, sharpness, mode coverage (digits and 2-D toys), latent MMD,
reconstruction error. Each is tested against a straightforward reference in tests/unit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import divergences as D
from .classifier import LeNet
from .models import GenerativeModel

LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def sharpness(images: torch.Tensor) -> float:
    r"""Sharpness as in the paper: the variance of the Laplace-filtered image, averaged over images.

    $$\mathrm{sharpness}(x) = \operatorname{Var}\big(x * L\big),\qquad
    L = \begin{pmatrix}0&1&0\\1&-4&1\\0&1&0\end{pmatrix}$$

    Images (N, 1, H, W) in [0, 1]; the filter is applied without padding ("valid" region) so
    borders add nothing. Noise and checkerboard artefacts raise it too: read it with an FID.
    """
    x = images.detach().float().cpu()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    resp = F.conv2d(x, LAPLACIAN.view(1, 1, 3, 3))
    return float(resp.flatten(1).var(dim=1, unbiased=False).mean())


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    r"""Fréchet distance between two Gaussians N(mu1, S1) and N(mu2, S2).

    $$d^2 = \lVert \mu_1 - \mu_2 \rVert_2^2
    + \operatorname{Tr}\big(\Sigma_1 + \Sigma_2 - 2\,(\Sigma_1 \Sigma_2)^{1/2}\big)$$

    The trace of the matrix square root is computed as
    $\operatorname{Tr}\big((\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2})^{1/2}\big)$, a symmetric PSD
    matrix whose eigenvalues are real and non-negative: stabler than a general ``sqrtm``.
    """
    w, v = np.linalg.eigh(s1)
    r1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = r1 @ s2 @ r1
    ev = np.linalg.eigvalsh((m + m.T) / 2)
    tr_sqrt = float(np.sqrt(np.clip(ev, 0, None)).sum())
    d = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)
    return max(d, 0.0)


def gaussian_stats(features: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    f = features.double().cpu().numpy()
    return f.mean(0), np.cov(f, rowvar=False)


def fid_from_features(f1: torch.Tensor, f2: torch.Tensor) -> float:
    """FID between two feature sets (rows are items)."""
    return frechet_distance(*gaussian_stats(f1), *gaussian_stats(f2))


def fid(images1: torch.Tensor, images2: torch.Tensor, classifier: LeNet) -> float:
    """"FID (LeNet features)": the Fréchet distance in the feature space of our MNIST classifier
    (``classifier.FEATURE_DIM`` wide). Not the Inception FID of papers; only compare numbers made
    with one classifier."""
    return fid_from_features(classifier.embed(images1)[0], classifier.embed(images2)[0])


@dataclass
class Coverage:
    """Class histogram of generated samples judged by the classifier."""

    counts: list[int]
    classes_covered: int
    kl_to_uniform: float
    confident_share: float
    n: int

    def as_dict(self) -> dict:
        return asdict(self)


MIN_SHARE_OF_UNIFORM = 0.2  # a class is covered from this fraction of a uniform generator's share
CONFIDENT = 0.9  # a prediction is confident from this top-class probability
HIGH_QUALITY_STDS = 3.0  # toys: a sample is high quality this many mode stds from its mode


def mode_coverage(probs: torch.Tensor, min_share_of_uniform: float = MIN_SHARE_OF_UNIFORM,
                  confident: float = CONFIDENT) -> Coverage:
    r"""Mode coverage from class probabilities (N, K).

    A class counts as covered when it gets at least ``min_share_of_uniform`` of the share a
    uniform generator would give it (``MIN_SHARE_OF_UNIFORM`` by default): with thousands of
    samples, classifier mistakes alone put a few samples in every class.

    $$\mathrm{KL}(\hat p \,\Vert\, U) = \sum_k \hat p_k \log (K \hat p_k)$$
    """
    k = probs.shape[1]
    pred = probs.argmax(1)
    counts = torch.bincount(pred, minlength=k)
    p = counts.double() / max(len(pred), 1)
    nz = p > 0
    kl = float((p[nz] * torch.log(p[nz] * k)).sum())
    covered = int((p >= min_share_of_uniform / k).sum())
    conf = float((probs.max(1).values >= confident).double().mean())
    return Coverage(counts.tolist(), covered, kl, conf, int(len(pred)))


@dataclass
class ToyQuality:
    modes_covered: int
    n_modes: int
    high_quality_share: float
    per_mode: list[int]

    def as_dict(self) -> dict:
        return asdict(self)


def toy_quality(samples: torch.Tensor, modes: torch.Tensor, std: float) -> ToyQuality:
    r"""The standard protocol for mixtures of Gaussians (VEEGAN, PacGAN): a sample is *high
    quality* when within ``HIGH_QUALITY_STDS`` standard deviations of its nearest mode; a mode is
    *covered* when at least one high-quality sample is assigned to it.

    $$\mathrm{hq}(x) = \big[\min_j \lVert x - \mu_j \rVert_2 \le 3\sigma\big]$$
    """
    d = torch.cdist(samples.double(), modes.double())
    dmin, nearest = d.min(1)
    hq = dmin <= HIGH_QUALITY_STDS * std
    per_mode = torch.bincount(nearest[hq], minlength=len(modes))
    return ToyQuality(int((per_mode > 0).sum()), len(modes), float(hq.double().mean()),
                      per_mode.tolist())


@torch.no_grad()
def latent_mmd(model: GenerativeModel, x: torch.Tensor, batch_size: int = 1000,
               seed: int = 0) -> float:
    r"""MMD(Q_Z, P_Z) on held-out data: the unbiased estimate (the model's kernel) between codes
    drawn from Q(Z|X) for ``x`` and as many prior samples, averaged over batches.

    NaN for a model without an encoder. Negative values are possible (unbiased estimator):
    they mean "indistinguishable at this sample size".
    """
    if not model.has_encoder:
        return math.nan
    g = torch.Generator().manual_seed(seed)
    consts = D.kernel_constants(model.cfg.z_dim, model.cfg.sigma_z, model.cfg.kernel_scales)
    vals = []
    # A stochastic encoder draws its codes from the global RNG: seed it too (then restore it), or
    # the same seed gives another value on every call.
    cuda = [model.device.index or 0] if model.device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        for i in range(0, x.shape[0] - 1, batch_size):
            xb = x[i:i + batch_size].to(model.device)
            codes = model.encode_sample(xb)
            prior = model.sample_prior(codes.shape[0], g)
            vals.append(float(D.mmd(codes, prior, model.cfg.kernel, consts)))
    return float(np.mean(vals))


@torch.no_grad()
def reconstructions(model: GenerativeModel, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """``model.reconstruct(x)`` in batches, on the CPU (the model needs an encoder)."""
    return torch.cat([model.reconstruct(x[i:i + batch_size].to(model.device)).cpu()
                      for i in range(0, x.shape[0], batch_size)])


def squared_error_per_item(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each image (or point) over its pixels (coordinates), in float64:
    one number per item, whose mean is :func:`mean_squared_error`."""
    return (x_hat.detach().cpu().double() - x.detach().cpu().double()).pow(2).flatten(1).mean(1)


def mean_squared_error(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    """Mean squared error per pixel (or coordinate) between reconstructions and their inputs."""
    return float((x_hat.cpu() - x.cpu()).pow(2).mean())


def reconstruction_mse(model: GenerativeModel, x: torch.Tensor, batch_size: int = 1000) -> float:
    """Mean squared error per pixel (or coordinate) of ``reconstruct`` (NaN without encoder)."""
    if not model.has_encoder:
        return math.nan
    return mean_squared_error(reconstructions(model, x, batch_size), x)


@torch.no_grad()
def generate(model: GenerativeModel, n: int, seed: int = 0, batch_size: int = 1000) -> torch.Tensor:
    """n samples of P_G with a fixed seed, batched, on the CPU."""
    g = torch.Generator().manual_seed(seed)
    return torch.cat([model.decode(model.sample_prior(min(batch_size, n - i), g)).cpu()
                      for i in range(0, n, batch_size)])
