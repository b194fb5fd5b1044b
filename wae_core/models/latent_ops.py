"""Arithmetic on latent codes: class-mean codes, shifting a code along a difference of codes
("x + t·(mean(b) − mean(a))", the analogy "a : b :: x : ?"), random unit directions for the
latent explorer, the grid a 2-D latent space is walked on, the prior's density drawn under it and
a posterior's standard deviation. Pure tensor maths; the models only encode the inputs and decode
the results.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

ARITHMETIC_STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _t(a: torch.Tensor | np.ndarray | Sequence[float]) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.detach().float()
    return torch.as_tensor(np.asarray(a, dtype=np.float32))


def class_means(codes: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray,
                n_classes: int | None = None) -> torch.Tensor:
    r"""The mean code of each class: row ``c`` is the average of the codes labelled ``c``.

    $$\bar z_c = \frac{1}{n_c} \sum_{i:\ y_i = c} z_i,\qquad n_c = \lvert\{i : y_i = c\}\rvert$$

    ``codes`` (n, d), ``labels`` (n,) integers in [0, n_classes); ``n_classes`` defaults to
    ``max(labels) + 1``. A class without codes gets a row of NaN. Returns (n_classes, d).
    """
    z = _t(codes)
    y = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
    if z.dim() != 2 or z.shape[0] != y.shape[0]:
        raise ValueError(f"codes (n, d) and labels (n,) must match; got {tuple(z.shape)} and "
                         f"{tuple(y.shape)}")
    if y.numel() and int(y.min()) < 0:
        raise ValueError("labels must be non-negative")
    n = int(n_classes) if n_classes is not None else (int(y.max()) + 1 if y.numel() else 0)
    if y.numel() and int(y.max()) >= n:
        raise ValueError(f"a label is >= n_classes = {n}")
    sums = torch.zeros(n, z.shape[1], dtype=torch.float64).index_add_(0, y, z.double())
    counts = torch.bincount(y, minlength=n).double().unsqueeze(1)
    return (sums / counts).float()  # 0 / 0 = NaN for an empty class


def arithmetic_path(z: torch.Tensor | np.ndarray, z_from: torch.Tensor | np.ndarray,
                    z_to: torch.Tensor | np.ndarray,
                    ts: Sequence[float] = ARITHMETIC_STEPS) -> torch.Tensor:
    r"""Shift the code ``z`` by fractions of the difference ``z_to − z_from``: one row per t.

    $$z_t = z + t\,(z_{\mathrm{to}} - z_{\mathrm{from}}),\qquad t \in \{0, \tfrac14, \tfrac12,
    \tfrac34, 1\}$$

    With class means, $z_{\mathrm{from}} = \bar z_a$ and $z_{\mathrm{to}} = \bar z_b$ turn a
    digit "from a towards b"; with two codes it completes the analogy
    "from : to :: x : ?" at t = 1. All three are 1-D codes of the same length d; returns (len(ts), d).
    """
    zx, za, zb = (_t(v).reshape(-1) for v in (z, z_from, z_to))
    if not zx.shape == za.shape == zb.shape:
        raise ValueError(f"codes of different sizes: {zx.shape[0]}, {za.shape[0]}, {zb.shape[0]}")
    t = _t(ts).reshape(-1, 1)
    return zx + t * (zb - za)


def random_direction(dim: int, seed: int) -> torch.Tensor:
    r"""A random unit vector in the d-dimensional latent space, reproducible from ``seed``:
    uniform on the sphere.

    $$u = \frac{g}{\lVert g \rVert_2},\qquad g \sim \mathcal N(0, I_d)$$
    """
    if dim < 1:
        raise ValueError("dim must be positive")
    g = torch.randn(int(dim), generator=torch.Generator().manual_seed(int(seed)))
    return g / g.norm().clamp_min(1e-12)


def move(z: torch.Tensor | np.ndarray, offsets: torch.Tensor | np.ndarray | Sequence[float],
         direction: torch.Tensor | np.ndarray | None = None, step: float = 0.0,
         scale: float = 1.0) -> torch.Tensor:
    r"""The latent explorer's code: the start code moved by one offset per coordinate and a step
    along a direction, both in units of ``scale`` (the prior's sigma_z: an offset of 3 is the edge
    of the prior's bulk).

    $$z' = z + \sigma\,(\Delta + s\,u)$$

    ``z`` (d,); ``offsets`` Δ: the first d are used (a model with a smaller latent space ignores
    the rest), missing ones are 0; ``direction`` u (d,) or None; ``step`` s. Returns (d,).
    """
    zx = _t(z).reshape(-1)
    d = zx.shape[0]
    move_ = torch.zeros(d)
    off = _t(offsets).reshape(-1)[:d]
    move_[: off.shape[0]] = off
    if direction is not None and step:
        u = _t(direction).reshape(-1)
        if u.shape[0] != d:
            raise ValueError(f"direction has {u.shape[0]} coordinates, the code {d}")
        move_ += float(step) * u
    return zx + float(scale) * move_


def grid_codes(n: int, extent: float) -> np.ndarray:
    """The codes of an n × n grid over [-extent, extent]² (a 2-D latent space's walk), row-major
    as an image reads: z₂ decreasing down the rows (top = +extent), z₁ increasing along a row.
    Returns (n², 2) float32."""
    v = np.linspace(-extent, extent, n, dtype=np.float32)
    z1, z2 = np.meshgrid(v, v[::-1])
    return np.stack([z1.ravel(), z2.ravel()], 1)


def prior_density(grid: np.ndarray, sigma_z: float = 1.0) -> np.ndarray:
    r"""The density of the 2-D prior P_Z = N(0, σ_z² I) at every point of the square grid
    ``grid`` × ``grid``: entry [i, j] is at (z₁, z₂) = (grid[j], grid[i]).

    $$p_Z(z) = \frac{1}{2\pi\sigma_z^2} \exp\Big(-\frac{\lVert z \rVert^2}{2\sigma_z^2}\Big)$$
    """
    g = np.asarray(grid, dtype=np.float64)
    r2 = g[None, :] ** 2 + g[:, None] ** 2
    return np.exp(-0.5 * r2 / sigma_z**2) / (2 * np.pi * sigma_z**2)


def posterior_std(logvar: torch.Tensor | np.ndarray) -> np.ndarray:
    r"""The standard deviation of a Gaussian posterior from its log-variance, σ = exp(½ log σ²)."""
    return np.exp(0.5 * np.asarray(logvar, dtype=np.float64)).astype(np.float32)
