"""Bounded training curves: the loss and score histories that the live runs and background
trainings publish for plotting."""

from __future__ import annotations

import math
from collections.abc import Mapping

MAX_HISTORY_POINTS = 600  # points kept per curve (older ones are thinned, not dropped)


class Curves:
    """``data``: "step" and one list per name, all of the same length.

    :meth:`add` averages the values of consecutive steps and appends their mean at every step
    that is a multiple of ``every``; :meth:`append` records one point as it is. Past
    ``MAX_HISTORY_POINTS`` every second point is dropped and ``every`` doubles, so a curve keeps
    its whole span at half the resolution instead of losing its start.
    """

    def __init__(self, every: int = 1, names: tuple[str, ...] = ()) -> None:
        self.every = every
        self.data: dict[str, list[float]] = {"step": [], **{n: [] for n in names}}
        self._sums: dict[str, float] = {}
        self._n = 0

    def add(self, step: int, values: Mapping[str, float]) -> None:
        for k, v in values.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
        self._n += 1
        if step % self.every == 0:
            self.append(step, {k: v / self._n for k, v in self._sums.items()})
            self._sums, self._n = {}, 0

    def append(self, step: int, values: Mapping[str, float]) -> None:
        d = self.data
        d["step"].append(float(step))
        for k, v in values.items():
            d.setdefault(k, [math.nan] * (len(d["step"]) - 1)).append(v)
        if len(d["step"]) > MAX_HISTORY_POINTS:
            for k in d:
                d[k] = d[k][1::2]
            self.every *= 2

    def copy(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self.data.items()}
