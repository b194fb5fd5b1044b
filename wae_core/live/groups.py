"""A group of live toy runs on one data source, trained side by side by one background thread::

    group = LiveGroup(ToySource.builtin("ring"), [recipes.live_recipe("as shipped", "gan"),
                                                  recipes.live_recipe("as shipped", "wae-mmd")])
    group.start()            # one daemon thread steps every run of the group in lockstep
    snap = group.snapshot()  # thread-safe copies for plotting: points, codes, loss curves, metrics
    group.pause(); group.step(10); group.reset(); group.close()

Runs of one group advance together (GAN and WAE at the same step count) on one thread, so a
group needs one core; how many groups train at once is the hub's business
(:mod:`~wae_core.live.hub`, :mod:`~wae_core.live.slots`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from wae_core.training.recipes import Recipe
from wae_core.training.trainer import TrainingDiverged

from .runs import LiveConfig, LiveRun, RunSnapshot
from .toys import ToySource
from .workers import WORKER_THREADS

IDLE_PAUSE_SECONDS = 120.0  # a toy group nobody looked at for this long pauses itself


@dataclass
class GroupSnapshot:
    runs: list[RunSnapshot]
    step: int
    running: bool
    steps_per_second: float
    status: str  # "" or why the group paused itself (error, idle, step limit)
    source: str
    elapsed: float = 0.0  # seconds spent training (background thread only)
    modes: np.ndarray | None = None  # (K, 2) the mixture's centres, for the plots
    extent: float = 1.0  # half the side of a square that holds the data, for the plots


class LiveGroup:
    """Runs on one data source, trained side by side by one background thread.

    ``start`` / ``pause`` / ``step(n)`` / ``reset`` / ``update`` / ``snapshot`` are safe from any
    thread. The worker takes the lock for one step of every run at a time and yields between
    steps, so UI calls wait at most a few milliseconds. ``steps_per_tick`` steps are done per
    ``tick_seconds`` at most (the speed control; 0 = as fast as possible). A group that nobody
    snapshots for ``idle_pause`` seconds (a closed browser tab) pauses itself, and at
    ``max_steps`` it stops.
    """

    def __init__(self, source: ToySource, configs: Sequence[Recipe | LiveConfig],
                 labels: Sequence[str] | None = None, steps_per_tick: int = 0,
                 tick_seconds: float = 0.2, idle_pause: float = IDLE_PAUSE_SECONDS,
                 max_steps: int = 200_000, threads: int = WORKER_THREADS, **run_kw: Any) -> None:
        if not configs:
            raise ValueError("a live group needs at least one run")
        labels = list(labels) if labels is not None else [None] * len(configs)
        self.source = source
        self.runs = [LiveRun(source, c, lab, **run_kw) for c, lab in zip(configs, labels)]
        self.modes = None if source.modes is None else source.modes.numpy().copy()
        self.extent = max(1.0, 1.3 * float(source.points.abs().max()))
        self.steps_per_tick, self.tick_seconds = steps_per_tick, tick_seconds
        self.idle_pause, self.max_steps = idle_pause, max_steps
        self.threads = threads  # torch threads of the worker (0: leave torch's setting)
        self._lock = threading.RLock()
        self._wake = threading.Event()  # set by pause(): cut a speed-limit wait short
        self._thread: threading.Thread | None = None
        self._want_run = False
        self._closed = False
        self.status = ""
        self._rate = 0.0
        self._last_seen = time.monotonic()
        self._train_seconds = 0.0

    # --- control ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._want_run

    @property
    def step_count(self) -> int:
        return min(r.step_count for r in self.runs)

    def brief(self) -> tuple[int, bool, str]:
        """(step count, running, status): what a page shows besides the plots."""
        return self.step_count, self._want_run, self.status

    @property
    def errors(self) -> list[str]:
        """Each run's error ("" while it trains fine)."""
        return [r.error for r in self.runs]

    def start(self) -> None:
        """Train in the background until :meth:`pause`."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this live group was closed")
            if self._want_run:
                return
            if any(r.error for r in self.runs):
                raise RuntimeError("a run diverged: reset before starting again")
            self._want_run, self.status = True, ""
            self._last_seen = time.monotonic()
            if self._thread is None:  # the worker exits when paused: start a fresh one
                self._thread = threading.Thread(target=self._loop, name="wae-live", daemon=True)
                self._thread.start()

    def pause(self, status: str = "") -> None:
        with self._lock:
            self._want_run = False
            self.status = status
        self._wake.set()

    def step(self, n: int = 1) -> int:
        """``n`` synchronous steps of every run in the calling thread (pauses the background
        training first; uses ``threads`` torch threads like the worker)."""
        self.pause()
        if self.threads > 0 and torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        for _ in range(max(int(n), 1)):
            with self._lock:
                if not self._step_all():
                    break
        return self.step_count

    def reset(self, configs: Sequence[Recipe | LiveConfig] | None = None) -> None:
        """Pause, then fresh weights for every run (new configs if given, one per run)."""
        self.pause()
        with self._lock:
            for i, r in enumerate(self.runs):
                r.reset(None if configs is None else configs[i])
            self._rate, self._train_seconds, self.status = 0.0, 0.0, ""

    def set_speed(self, steps_per_tick: int, tick_seconds: float) -> None:
        """At most ``steps_per_tick`` steps per ``tick_seconds`` (0: as fast as possible)."""
        self.steps_per_tick, self.tick_seconds = int(steps_per_tick), float(tick_seconds)

    def update(self, index: int, **changes: Any) -> None:
        """Live-editable settings of run ``index`` (see :meth:`LiveRun.update`)."""
        with self._lock:
            self.runs[index].update(**changes)

    def close(self) -> None:
        """Stop for good (the group can no longer start); waits for the worker to exit."""
        with self._lock:
            self._closed = True
            t = self._thread
        self.pause()
        if t is not None and t is not threading.current_thread():
            t.join(timeout=5)

    @property
    def worker_alive(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    def touch(self) -> None:
        """Someone is watching: postpone the idle pause."""
        self._last_seen = time.monotonic()

    def snapshot(self) -> GroupSnapshot:
        self.touch()
        with self._lock:
            runs = [r.snapshot() for r in self.runs]
            return GroupSnapshot(runs, self.step_count, self._want_run, self._rate, self.status,
                                 self.source.name, self._train_seconds, self.modes, self.extent)

    # --- the worker ---------------------------------------------------------------------
    def _step_all(self) -> bool:
        """One step of every run, under the lock. False (and paused) on error or at the limit."""
        for r in self.runs:
            try:
                r.step()
            except TrainingDiverged as e:
                r.error = str(e)
                self.pause(f"{r.label} diverged: {e}")
                return False
        if self.step_count >= self.max_steps:
            self.pause(f"stopped at the limit of {self.max_steps:,} steps: reset to train again")
            return False
        return True

    def _loop(self) -> None:
        """Train while wanted; exit (dropping ``_thread`` under the lock) once paused."""
        if self.threads > 0:
            torch.set_num_threads(self.threads)
        while True:
            with self._lock:
                if not self._want_run or self._closed:
                    self._thread = None
                    return
            if time.monotonic() - self._last_seen > self.idle_pause:
                self.pause(f"paused after {self.idle_pause:.0f} s without a viewer")
                continue
            t0 = time.perf_counter()
            done = 0
            budget = self.steps_per_tick if self.steps_per_tick > 0 else 10**9
            while done < budget:
                with self._lock:
                    if not self._want_run or not self._step_all():
                        break
                done += 1
                time.sleep(0)  # let the server's other threads (other sessions) run
                if self.steps_per_tick <= 0 and time.perf_counter() - t0 >= self.tick_seconds:
                    break
            dt = time.perf_counter() - t0
            if done:
                self._train_seconds += dt
                inst = done / max(dt, 1e-9)
                self._rate = inst if self._rate == 0 else 0.7 * self._rate + 0.3 * inst
            if self.steps_per_tick > 0 and dt < self.tick_seconds and self._want_run:
                self._wake.wait(timeout=self.tick_seconds - dt)
                self._wake.clear()


