"""Metrics: FID on LeNet features, sharpness, mode coverage (digits, Stacked MNIST and 2-D toys),
latent MMD, reconstruction error and class kept (precision / recall, density / coverage and KID on
features: :mod:`wae_core.evaluation.manifold`). Each is tested against a straightforward reference
in tests/unit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from wae_core.evaluation.lenet import LeNet
from wae_core.models import divergences as D
from wae_core.models.generative import GenerativeModel

LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def sharpness(images: torch.Tensor) -> float:
    r"""Sharpness as in the paper: the variance of the Laplace-filtered image, averaged over images.

    $$\mathrm{sharpness}(x) = \operatorname{Var}\big(x * L\big),\qquad
    L = \begin{pmatrix}0&1&0\\1&-4&1\\0&1&0\end{pmatrix}$$

    Images (N, C, H, W) in [0, 1]; with C > 1 (Stacked MNIST) each channel counts as one greyscale
    image. The filter is applied without padding ("valid" region) so borders add nothing. Noise
    and checkerboard artefacts raise it too: read it with an FID.
    """
    x = images.detach().float().cpu()
    x = x.reshape(-1, 1, *x.shape[-2:])  # (N, H, W) or (N, C, H, W): one greyscale image each
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
    # One BLAS thread: LAPACK's eigensolvers take ~10 ms for these 128-384-wide matrices on one
    # thread, but 1-2 s on numpy's two OpenBLAS threads once torch has run an op in the process
    # while the other core is busy (measured here: the threads' barriers spin; 2.4 s against 0.016 s).
    with threadpool_limits(1, user_api="blas"):
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


def kl_to_uniform(counts: torch.Tensor) -> float:
    r"""KL of the histogram ``counts`` (K bins) to the uniform distribution on its K bins.

    $$\mathrm{KL}(\hat p \,\Vert\, U_K) = \sum_k \hat p_k \log (K \hat p_k)$$
    """
    p = counts.double() / max(int(counts.sum()), 1)
    nz = p > 0
    return float((p[nz] * torch.log(p[nz] * len(counts))).sum())


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
    kl = kl_to_uniform(counts)
    p = counts.double() / max(len(pred), 1)
    covered = int((p >= min_share_of_uniform / k).sum())
    conf = float((probs.max(1).values >= confident).double().mean())
    return Coverage(counts.tolist(), covered, kl, conf, int(len(pred)))


STACKED_MODES = 1000  # Stacked MNIST: one digit per colour channel, 10 ** 3 triples


@torch.no_grad()
def stacked_features(images: torch.Tensor, classifier: LeNet) -> tuple[torch.Tensor, torch.Tensor]:
    """Stacked-MNIST images (N, 3, 28, 28), each channel embedded on its own as a 1-channel MNIST
    image by ``classifier.embed``: (features (N, 3 * FEATURE_DIM), the channels' features side by
    side; class probabilities (N, 3, 10))."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected Stacked-MNIST images (N, 3, H, W), got {tuple(images.shape)}")
    n, _, h, w = images.shape
    feats, probs = classifier.embed(images.reshape(n * 3, 1, h, w))  # sample i, channel c at 3 i + c
    return feats.reshape(n, -1), probs.view(n, 3, -1)


def classify_stacked(images: torch.Tensor, classifier: LeNet) -> torch.Tensor:
    """Class probabilities (N, 3, 10) of Stacked-MNIST images (see :func:`stacked_features`)."""
    return stacked_features(images, classifier)[1]


def stacked_mode_coverage(probs: torch.Tensor, min_count: int = 1,
                          confident: float = CONFIDENT) -> Coverage:
    r"""Mode coverage on Stacked MNIST, the protocol of VEEGAN (Srivastava et al. 2017) and
    PacGAN (Lin et al. 2018): the classifier's digits $(r, g, b)$ of the three channels of a
    sample give its mode $100\,r + 10\,g + b$, one of 1,000.

    A mode is covered when at least ``min_count`` samples fall in it: **1** in PacGAN's protocol
    (unlike :func:`mode_coverage`, which asks for a share of a uniform generator's count). The
    KL divergence of the model's mode histogram $\hat p$ to the uniform distribution:

    $$\mathrm{KL}(\hat p \,\Vert\, U_{1000}) = \sum_{m=0}^{999} \hat p_m \log (1000\, \hat p_m)$$

    ``probs`` (N, 3, 10) from :func:`classify_stacked`. ``classes_covered`` of the result counts
    modes, ``counts`` has 1,000 entries, ``confident_share`` is the share of samples whose three
    digits are all predicted with a top probability of at least ``confident``. With N samples a
    perfect generator's KL is not 0 but about $999 / (2N)$ (sampling noise).
    """
    if probs.dim() != 3 or probs.shape[1] != 3:
        raise ValueError(f"expected probabilities (N, 3, 10), got {tuple(probs.shape)}")
    digits = probs.argmax(2)
    modes = 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]
    counts = torch.bincount(modes, minlength=STACKED_MODES)
    kl = kl_to_uniform(counts)
    covered = int((counts >= min_count).sum())
    conf = float((probs.max(2).values >= confident).all(1).double().mean()) if len(probs) else 0.0
    return Coverage(counts.tolist(), covered, kl, conf, int(len(modes)))


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


@torch.no_grad()
def recognised(images: torch.Tensor, y: torch.Tensor, classifier: LeNet) -> torch.Tensor:
    """Per image: whether the classifier's top class (argmax) is the label ``y`` (bool, CPU)."""
    return classifier.embed(images)[1].argmax(1) == y.cpu()


def inputs_recognised(x: torch.Tensor, y: torch.Tensor, classifier: LeNet) -> float:
    """Share of images the classifier reads as their label: the ceiling of :func:`class_kept`
    (a perfect reconstruction keeps exactly the inputs' recognisable digits)."""
    return float(recognised(x, y, classifier).double().mean())


def class_kept(model: GenerativeModel, x: torch.Tensor, y: torch.Tensor, classifier: LeNet,
               batch_size: int = 1000) -> float:
    r"""Share of images whose reconstruction the classifier reads as the input's true label:

    $$\mathrm{class\ kept} = \frac1N \sum_i \big[\arg\max_k\, p_k\big(G(E(x_i))\big) = y_i\big]$$

    Does the auto-encoder keep *which digit* it was given? Pixel error cannot tell a blurred 3 from
    a crisp 8 drawn in its place. NaN for a model without an encoder.
    """
    if not model.has_encoder:
        return math.nan
    return inputs_recognised(reconstructions(model, x, batch_size), y, classifier)
