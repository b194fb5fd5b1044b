"""2-D data for the live toy runs: the built-in mixtures, points a user draws, and CSV uploads."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from wae_core.data.datasets import TOY_STD, sample_toy, toy_modes
from wae_core.errors import UserFacingError

MAX_CSV_POINTS = 100_000
MAX_MODES_FROM_POINTS = 64  # up to this many points are mode centres; more are the data itself


class BadPointsError(UserFacingError, ValueError):
    """An uploaded or drawn set of 2-D points cannot be used (message for the user)."""


@dataclass
class ToySource:
    """A 2-D data distribution: a fixed training sample, and its modes when it is a mixture."""

    name: str
    points: torch.Tensor  # (N, 2) float32, the training sample
    modes: torch.Tensor | None = None  # (K, 2) mixture centres, for metrics.toy_quality
    std: float | None = None  # mixture std, for metrics.toy_quality
    jitter: float = 0.0  # Gaussian noise added to each batch (a smooth version of few points)

    @classmethod
    def builtin(cls, name: str, n: int = 20_000, seed: int = 0) -> ToySource:
        """The ring of 8 or the grid of 25 Gaussians (``wae_core.data.datasets``)."""
        g = torch.Generator().manual_seed(seed)
        return cls(name, sample_toy(name, n, g).x, toy_modes(name), TOY_STD[name])

    @classmethod
    def from_points(cls, points: Any, name: str = "custom", n: int = 20_000, std: float = 0.05,
                    seed: int = 0) -> ToySource:
        """User points (drawn or uploaded), centred and scaled to radius ~2 like the ring.

        Up to ``MAX_MODES_FROM_POINTS`` points become the centres of a mixture of Gaussians of
        width ``std`` (so mode coverage is measurable); more points (a drawn stroke, a CSV
        sample) are the data themselves, each batch jittered by ``std / 2``.
        """
        p = torch.as_tensor(np.asarray(points, dtype=np.float32)).reshape(-1, 2)
        if p.shape[0] == 0:
            raise BadPointsError("no points: draw a few dots (or upload a CSV of x,y rows) first")
        if not torch.isfinite(p).all():
            raise BadPointsError("the points contain NaN or infinite values")
        p = normalize_points(p)
        g = torch.Generator().manual_seed(seed)
        if p.shape[0] <= MAX_MODES_FROM_POINTS:
            modes = torch.unique(p, dim=0)
            y = torch.randint(len(modes), (n,), generator=g)
            x = modes[y] + std * torch.randn(n, 2, generator=g)
            return cls(name, x, modes, std)
        return cls(name, p, None, None, jitter=std / 2)

    def batch(self, n: int, generator: torch.Generator) -> torch.Tensor:
        idx = torch.randint(self.points.shape[0], (n,), generator=generator)
        x = self.points[idx]
        return x + self.jitter * torch.randn(n, 2, generator=generator) if self.jitter else x


def normalize_points(p: torch.Tensor, radius: float = 2.0) -> torch.Tensor:
    """Centre at the mean and scale so the farthest point lies at ``radius``.

    Image-style coordinates (y pointing down, as on a canvas) are the caller's to flip.
    """
    p = p - p.mean(0, keepdim=True)
    r = float(p.norm(dim=1).max())
    return p * (radius / r) if r > 1e-9 else p


def parse_points_csv(data: bytes | str, max_points: int = MAX_CSV_POINTS) -> torch.Tensor:
    """Rows of ``x,y`` (a header row and extra columns are allowed; ``;`` or tabs too)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise BadPointsError("the CSV is not UTF-8 text") from e
    try:
        dialect = csv.Sniffer().sniff(data[:4096], delimiters=",;\t ")
    except csv.Error:
        dialect = csv.excel
    rows: list[tuple[float, float]] = []
    for i, row in enumerate(csv.reader(io.StringIO(data), dialect)):
        cells = [c.strip() for c in row if c.strip()]
        if not cells:
            continue
        if len(cells) < 2:
            raise BadPointsError(f"row {i + 1} has {len(cells)} value(s); each row needs x and y")
        try:
            x, y = float(cells[0]), float(cells[1])
        except ValueError:
            if not rows and i == 0:
                continue  # a header row
            raise BadPointsError(f"row {i + 1}: {cells[0]!r}, {cells[1]!r} are not numbers") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise BadPointsError(f"row {i + 1} holds a NaN or infinite value")
        rows.append((x, y))
        if len(rows) > max_points:
            raise BadPointsError(f"more than {max_points:,} points: upload a smaller sample")
    if len(rows) < 2:
        raise BadPointsError("the CSV needs at least 2 rows of x,y numbers")
    return torch.tensor(rows, dtype=torch.float32)

