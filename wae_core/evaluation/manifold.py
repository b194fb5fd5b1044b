"""Fidelity and diversity on features: precision / recall (Kynkäänniemi et al. 2019), density /
coverage (Naeem et al. 2020) and KID (Bińkowski et al. 2018), each in row blocks so 10,000 x 10,000
distances never sit in memory at once.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
import torch

from wae_core.models.divergences import sq_dists

# Pairwise distances are computed in row blocks of at most this many float64 entries (32 MiB):
# 10,000 x 10,000 features never sit in memory as one matrix.
CHUNK_ENTRIES = 2**22


def _rows_per_chunk(n_cols: int, chunk_rows: int | None) -> int:
    return chunk_rows or max(1, CHUNK_ENTRIES // max(n_cols, 1))


def _f64(x: torch.Tensor) -> torch.Tensor:
    return x.detach().cpu().double().flatten(1)


def knn_radii(feats: torch.Tensor, k: int, chunk_rows: int | None = None) -> torch.Tensor:
    r"""Distance of every row to its k-th nearest neighbour among the *other* rows (the point
    itself does not count; a duplicate does, at distance 0), float64, in row blocks.

    $$r_k(x_i) = \lVert x_i - \mathrm{NN}_k(x_i) \rVert_2, \qquad
    \mathrm{NN}_k(x_i) \text{ the k-th nearest of } \{x_j : j \ne i\}$$
    """
    return _knn_sq_radii(_f64(feats), (k,), chunk_rows)[k].sqrt()


def _knn_sq_radii(x: torch.Tensor, ks: tuple[int, ...], chunk_rows: int | None
                  ) -> dict[int, torch.Tensor]:
    """Squared k-NN radii for each k in ``ks`` from one pass over the pairwise distances."""
    n, kmax = len(x), max(ks)
    if min(ks) < 1 or kmax >= n:
        raise ValueError(f"k must be in 1..{n - 1} for {n} points, got {ks}")
    rows = _rows_per_chunk(n, chunk_rows)
    out = []
    for i in range(0, n, rows):
        d = sq_dists(x[i:i + rows], x)
        own = torch.arange(d.shape[0])
        d[own, own + i] = math.inf  # the point itself is not its own neighbour
        out.append(d.topk(kmax, dim=1, largest=False).values)  # sorted ascending
    nn = torch.cat(out)
    return {k: nn[:, k - 1] for k in ks}


class PrecisionRecall(NamedTuple):
    precision: float
    recall: float


class DensityCoverage(NamedTuple):
    density: float
    coverage: float


def precision_recall(real_feats: torch.Tensor, fake_feats: torch.Tensor, k: int = 3,
                     chunk_rows: int | None = None) -> PrecisionRecall:
    r"""Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019): each set's manifold
    is the union of balls around its points, of radius the distance to the point's k-th nearest
    neighbour in its own set (itself not counted). Precision is the share of fake samples inside
    the real manifold, recall the share of real samples inside the fake one:

    $$\mathrm{precision} = \frac{1}{M}\sum_{j=1}^{M}
      \big[\exists\, i:\ \lVert y_j - x_i\rVert_2 \le r_k(x_i)\big],\qquad
      \mathrm{recall} = \frac{1}{N}\sum_{i=1}^{N}
      \big[\exists\, j:\ \lVert x_i - y_j\rVert_2 \le r_k(y_j)\big]$$

    with real features $x_1..x_N$, fake $y_1..y_M$ and $r_k$ as in :func:`knn_radii`. Low
    precision: samples off the data (blur, artefacts); low recall: data the model never makes
    (mode collapse). Distances in float64, computed in row blocks (``CHUNK_ENTRIES``).
    """
    p = _manifold_scores(_f64(real_feats), _f64(fake_feats), k, None, chunk_rows)
    return PrecisionRecall(p["precision"], p["recall"])


def density_coverage(real_feats: torch.Tensor, fake_feats: torch.Tensor, k: int = 5,
                     chunk_rows: int | None = None) -> DensityCoverage:
    r"""Density and coverage (Naeem et al., ICML 2020), from the k-NN balls of the *real*
    samples only (an outlier among the fakes cannot inflate them):

    $$\mathrm{density} = \frac{1}{kM}\sum_{j=1}^{M}\sum_{i=1}^{N}
      \big[\lVert y_j - x_i\rVert_2 \le r_k(x_i)\big],\qquad
      \mathrm{coverage} = \frac{1}{N}\sum_{i=1}^{N}
      \big[\min_j \lVert x_i - y_j\rVert_2 \le r_k(x_i)\big]$$

    Density is about 1 for samples from the data distribution and can exceed 1 (samples packed
    where the data is dense); coverage is the share of real balls holding at least one sample,
    $1 - 2^{-k}$ in expectation for a second real set of the same size.
    """
    p = _manifold_scores(_f64(real_feats), _f64(fake_feats), None, k, chunk_rows)
    return DensityCoverage(p["density"], p["coverage"])


@dataclass
class PRDC:
    """Precision / recall (k = ``k_pr``) and density / coverage (k = ``k_dc``) of one sample set."""

    precision: float
    recall: float
    density: float
    coverage: float
    k_pr: int
    k_dc: int

    def as_dict(self) -> dict:
        return asdict(self)


def prdc(real_feats: torch.Tensor, fake_feats: torch.Tensor, k_pr: int = 3, k_dc: int = 5,
         chunk_rows: int | None = None) -> PRDC:
    """:func:`precision_recall` (k = ``k_pr``) and :func:`density_coverage` (k = ``k_dc``) from
    three passes over the pairwise distances instead of five (the same numbers)."""
    p = _manifold_scores(_f64(real_feats), _f64(fake_feats), k_pr, k_dc, chunk_rows)
    return PRDC(p["precision"], p["recall"], p["density"], p["coverage"], k_pr, k_dc)


def _manifold_scores(real: torch.Tensor, fake: torch.Tensor, k_pr: int | None, k_dc: int | None,
                     chunk_rows: int | None) -> dict[str, float]:
    """Precision / recall for ``k_pr`` and density / coverage for ``k_dc`` (either may be None),
    comparing squared distances with squared radii, in blocks of fake rows."""
    ks = tuple(k for k in (k_pr, k_dc) if k is not None)
    r_real = _knn_sq_radii(real, ks, chunk_rows)
    r_fake = _knn_sq_radii(fake, (k_pr,), chunk_rows)[k_pr] if k_pr is not None else None
    n, m = len(real), len(fake)
    in_real = torch.zeros(m, dtype=torch.bool)  # precision: fake j inside some real ball
    density = torch.zeros(m, dtype=torch.float64)  # real balls holding fake j
    recalled = torch.zeros(n, dtype=torch.bool)  # recall: real i inside some fake ball
    nearest_fake = torch.full((n,), math.inf, dtype=torch.float64)  # coverage
    rows = _rows_per_chunk(n, chunk_rows)
    for j in range(0, m, rows):
        d = sq_dists(fake[j:j + rows], real)  # (fake block, real)
        if k_pr is not None:
            in_real[j:j + rows] = (d <= r_real[k_pr][None, :]).any(1)
            recalled |= (d <= r_fake[j:j + rows, None]).any(0)
        if k_dc is not None:
            density[j:j + rows] = (d <= r_real[k_dc][None, :]).sum(1).double()
            nearest_fake = torch.minimum(nearest_fake, d.min(0).values)
    out = {}
    if k_pr is not None:
        out.update(precision=float(in_real.double().mean()), recall=float(recalled.double().mean()))
    if k_dc is not None:
        out.update(density=float(density.sum()) / (k_dc * m),
                   coverage=float((nearest_fake <= r_real[k_dc]).double().mean()))
    return out


class KID(NamedTuple):
    """Kernel Inception Distance's estimate: mean and standard deviation over subsets."""

    mean: float
    std: float
    subsets: int
    subset_size: int


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The cubic polynomial kernel of KID, $k(x, y) = (x^\top y / d + 1)^3$, d the feature size."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def polynomial_mmd2(x: torch.Tensor, y: torch.Tensor) -> float:
    r"""Unbiased MMD² between two feature sets with :func:`polynomial_kernel` (the diagonals
    $k(x_i, x_i)$, $k(y_i, y_i)$ are left out):

    $$\widehat{\mathrm{MMD}}^2_u = \frac{1}{m(m-1)}\sum_{i \ne j} k(x_i, x_j)
      + \frac{1}{n(n-1)}\sum_{i \ne j} k(y_i, y_j) - \frac{2}{mn}\sum_{i,j} k(x_i, y_j)$$
    """
    x, y = _f64(x), _f64(y)
    m, n = len(x), len(y)
    kxx, kyy = polynomial_kernel(x, x), polynomial_kernel(y, y)
    xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2.0 * polynomial_kernel(x, y).mean())


def kid(feats1: torch.Tensor, feats2: torch.Tensor, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> KID:
    r"""Kernel Inception Distance (Bińkowski et al., ICLR 2018), here on whatever features are
    given: :func:`polynomial_mmd2` on ``subsets`` pairs of random subsets of
    ``min(subset_size, N1, N2)`` rows each (drawn without replacement within a subset), with
    their mean and standard deviation (population, ``ddof = 0``, as in the paper's code and
    torch-fidelity; 100 subsets of 1,000 are also their defaults):

    $$\mathrm{KID} = \frac{1}{S}\sum_{s=1}^{S} \widehat{\mathrm{MMD}}^2_u\big(X_s, Y_s\big),
      \qquad k(x, y) = \Big(\frac{x^\top y}{d} + 1\Big)^3$$

    Subset s takes ``torch.randperm(N1)[:m]`` then ``torch.randperm(N2)[:m]`` from one generator
    seeded with ``seed``. Unbiased: about 0 for two independent samples of one distribution, and
    it can be slightly negative. ``kid(X, X)`` is below 0: its two subsets share rows, whose
    $k(x_i, x_i)$ enter the cross term but not the within-set terms.
    """
    x, y = _f64(feats1), _f64(feats2)
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise ValueError("KID needs at least 2 rows in each set")
    g = torch.Generator().manual_seed(seed)
    vals = []
    for _ in range(subsets):
        ix = torch.randperm(len(x), generator=g)[:m]
        iy = torch.randperm(len(y), generator=g)[:m]
        vals.append(polynomial_mmd2(x[ix], y[iy]))
    v = np.array(vals)
    return KID(float(v.mean()), float(v.std()), subsets, m)
