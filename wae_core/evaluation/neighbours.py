"""Exact nearest-neighbour search in a feature space (the memorisation check of the Samples page:
is a sharp sample a copy of a training image?).

:class:`NeighbourIndex` holds the reference features (e.g. the LeNet features of the 60,000
MNIST training images) and answers ``query(feats, k)`` with the ``k`` nearest by Euclidean
distance, exactly, a chunk of reference rows at a time (memory stays ``n_query × chunk``).

    index = NeighbourIndex().fit(train_features)          # (N, D)
    dist, idx = index.query(sample_features, k=3)         # (n, k) each, nearest first
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

DEFAULT_CHUNK = 16_384
# Candidates found through the expanded form that are re-measured directly: a margin over k so
# that rounding in ||a||² + ||b||² - 2 a·b cannot push a true neighbour out.
RERANK_MARGIN = 8


class NeighbourIndex:
    r"""Exact k-nearest-neighbour search by Euclidean distance.

    $$d(q, x_j) = \lVert q - x_j \rVert_2,\qquad
    \mathrm{kNN}_k(q) = \operatorname{arg\,min}^{(k)}_{j} d(q, x_j)$$

    Candidates come from the expanded form
    $\lVert q\rVert^2 + \lVert x_j\rVert^2 - 2\,q\cdot x_j$ (one matrix product per chunk of
    reference rows); the best ``k + RERANK_MARGIN`` are then re-measured as
    $\lVert q - x_j\rVert_2$ directly, so an exact copy is at distance 0, not at a rounding error.
    """

    def __init__(self, chunk_size: int = DEFAULT_CHUNK) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        self.chunk_size = int(chunk_size)
        self._x: torch.Tensor | None = None
        self._sq: torch.Tensor | None = None

    def fit(self, feats: torch.Tensor | np.ndarray) -> NeighbourIndex:
        """Keep the reference features (N, D) (as float32); returns ``self``."""
        x = torch.as_tensor(feats, dtype=torch.float32).detach().cpu()
        if x.dim() != 2 or x.shape[0] == 0:
            raise ValueError(f"expected reference features of shape (N, D), N > 0; got {tuple(x.shape)}")
        self._x = x.contiguous()
        self._sq = self._x.pow(2).sum(1)
        return self

    def save(self, path: Path | str) -> None:
        """Write the reference features to ``path`` (``.npy``), atomically (a temp file renamed)."""
        if self._x is None:
            raise RuntimeError("NeighbourIndex.fit has not been called")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, self._x.numpy())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | str, chunk_size: int = DEFAULT_CHUNK) -> NeighbourIndex:
        """An index fitted on the features saved by :meth:`save` (no pickles)."""
        return cls(chunk_size).fit(np.load(path, allow_pickle=False))

    def __len__(self) -> int:
        return 0 if self._x is None else self._x.shape[0]

    @property
    def dim(self) -> int:
        """The feature dimension D."""
        if self._x is None:
            raise RuntimeError("NeighbourIndex.fit has not been called")
        return self._x.shape[1]

    @torch.no_grad()
    def query(self, feats: torch.Tensor | np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest reference rows of each query row: (distances (n, k) float32,
        indices (n, k) int64), nearest first."""
        if self._x is None or self._sq is None:
            raise RuntimeError("NeighbourIndex.fit has not been called")
        q = torch.as_tensor(feats, dtype=torch.float32).detach().cpu()
        if q.dim() != 2 or q.shape[1] != self.dim:
            raise ValueError(f"expected query features of shape (n, {self.dim}); got {tuple(q.shape)}")
        n_ref = len(self)
        if not 1 <= k <= n_ref:
            raise ValueError(f"k must be in [1, {n_ref}]; got {k}")
        m = min(k + RERANK_MARGIN, n_ref)
        q_sq = q.pow(2).sum(1, keepdim=True)
        best_d = torch.empty(q.shape[0], 0)
        best_i = torch.empty(q.shape[0], 0, dtype=torch.long)
        for start in range(0, n_ref, self.chunk_size):
            xs = self._x[start:start + self.chunk_size]
            d2 = q_sq + self._sq[start:start + self.chunk_size] - 2.0 * (q @ xs.T)
            mc = min(m, xs.shape[0])
            cd, ci = torch.topk(d2, mc, dim=1, largest=False)
            best_d, order = torch.topk(torch.cat([best_d, cd], 1), min(m, best_d.shape[1] + mc),
                                       dim=1, largest=False)
            best_i = torch.cat([best_i, ci + start], 1).gather(1, order)
        # Re-measure the candidates directly and keep the k nearest.
        exact = (q.unsqueeze(1) - self._x[best_i]).pow(2).sum(2).sqrt()
        dist, order = torch.topk(exact, k, dim=1, largest=False)
        return dist.numpy(), best_i.gather(1, order).numpy()
