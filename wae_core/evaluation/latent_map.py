"""Q_Z against P_Z on a plane: codes of data and prior draws of one model projected to 2-D (PCA or
t-SNE), with new codes (an uploaded digit) placed on the same map. The latent-space page draws it;
``scripts/bench_app.py`` times it."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

PROJECTIONS = ("PCA", "t-SNE")
TSNE_JOBS = min(2, os.cpu_count() or 1)


class LatentMap:
    """Codes of test images (Q_Z) and prior draws (P_Z) of one model, in 2-D.

    ``codes`` / ``prior`` are the raw latent vectors; ``codes_xy`` / ``prior_xy`` their 2-D
    positions (raw plane for z_dim = 2, else PCA or t-SNE fitted on codes ∪ prior);
    ``labels`` / ``indices`` the digit class and test-set index of each code.
    :meth:`place` puts new codes (an uploaded digit) on the same map.
    """

    def __init__(self, codes: np.ndarray, prior: np.ndarray, labels: np.ndarray,
                 indices: np.ndarray, method: str, seed: int) -> None:
        self.codes, self.prior, self.labels, self.indices = codes, prior, labels, indices
        self.z_dim = codes.shape[1]
        self.method = "raw" if self.z_dim == 2 else method
        both = np.concatenate([codes, prior]).astype(np.float64)
        self._projector: Any = None
        if self.method == "raw":
            xy = both
        elif self.method == "PCA":
            from sklearn.decomposition import PCA

            self._projector = PCA(n_components=2, random_state=seed).fit(both)
            xy = self._projector.transform(both)
        elif self.method == "t-SNE":
            from openTSNE import TSNE

            # Barnes-Hut on both cores (openTSNE's FFT variant is 3x slower at these sizes here),
            # exact neighbours (faster than Annoy below ~5,000 points), theta 0.8 and 150 + 300
            # iterations instead of 250 + 500: for 1,000 codes + 1,000 prior draws the fit drops
            # from 4.7 s (openTSNE's defaults but BH) to 2.1 s, final KL divergence within 1 %.
            tsne = TSNE(n_components=2, perplexity=30, negative_gradient_method="bh", theta=0.8,
                        neighbors="exact", n_jobs=TSNE_JOBS, early_exaggeration_iter=150, n_iter=300,
                        random_state=seed, verbose=False)
            self._projector = tsne.fit(both)
            xy = np.asarray(self._projector)
        else:
            raise ValueError(f"unknown projection {method!r}; use one of {PROJECTIONS}")
        n = len(codes)
        self.codes_xy, self.prior_xy = np.asarray(xy[:n]), np.asarray(xy[n:])

    def place(self, new_codes: np.ndarray) -> np.ndarray:
        """2-D positions of new codes (k, z_dim) on this map."""
        z = np.asarray(new_codes, dtype=np.float64).reshape(-1, self.z_dim)
        if self.method == "raw":
            return z
        return np.asarray(self._projector.transform(z))

    @property
    def axis_names(self) -> tuple[str, str]:
        return {"raw": ("z₁", "z₂"), "PCA": ("PC 1", "PC 2")}.get(self.method, ("t-SNE 1", "t-SNE 2"))
