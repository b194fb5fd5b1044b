"""Live training for the app, without Streamlit: 2-D toy runs stepped by a background thread, and
background training of image models with progress published to a thread-safe object.

Toys (the "live toy training" page)::

    src = ToySource.builtin("ring")
    group = LiveGroup(src, [LiveConfig(kind="gan", lr=2e-4, lr_adv=2e-4), LiveConfig(kind="wae-mmd")])
    group.start()            # one daemon thread steps every run of the group in lockstep
    snap = group.snapshot()  # thread-safe copies for plotting: points, codes, loss curves, metrics
    group.pause(); group.step(10); group.reset(); group.close()

Each :class:`LiveRun` owns a model and a :class:`~wae_core.train.Trainer` whose ``train_step`` does
the optimisation (adversary first), so the maths lives in ``wae_core.models`` only. Runs of one
group advance together (GAN and WAE at the same step count), one thread per group keeps a 2-core
machine from oversubscription, and the process caps the number of runs training at once.

Image models (the "train your own" page)::

    job = BackgroundTraining(model_cfg, train_cfg, data, "runs/mine.safetensors")
    job.start(); job.progress(); job.cancel()   # cancel -> the trainer saves a usable checkpoint
"""

from __future__ import annotations

import csv
import io
import math
import re
import shutil
import stat
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import divergences as D
from .config import MODEL_KINDS, ModelConfig, TrainConfig
from .data import IMAGE_SUFFIXES, TOY_STD, TensorData, sample_toy, toy_modes
from .errors import UserFacingError
from .metrics import toy_quality
from .models import GenerativeModel, build_model
from .train import Callback, OutputNotWritableError, Trainer, TrainingDiverged

# --- limits ----------------------------------------------------------------------------------
MAX_RUNNING_RUNS = 8  # toy runs training at the same time in this process (all sessions)
MAX_BACKGROUND_TRAININGS = 2  # image trainings at the same time in this process
MAX_HISTORY_POINTS = 600  # loss-curve points kept per run (older ones are thinned, not dropped)
IDLE_PAUSE_SECONDS = 120.0  # a toy group nobody looked at for this long pauses itself
MAX_CSV_POINTS = 100_000
MAX_MODES_FROM_POINTS = 64  # up to this many points are mode centres; more are the data itself
# Torch threads of a background worker. One: on 2 cores that are busy (another worker, another
# session, a training) a 2-thread OpenMP team waits for descheduled threads at every op; measured
# here: a 256x128 @ 128x128 matmul took 16 ms with 2 threads vs 0.3 ms with 1 (50x slower).
# torch.set_num_threads is called in the worker thread: it sets that thread's team and the default
# of threads created afterwards (PyTorch keeps one global value), not of running threads.
WORKER_THREADS = 1


class TooManyRunsError(UserFacingError, RuntimeError):
    """The process already trains as many runs as it allows; the message says so plainly."""


class BadPointsError(UserFacingError, ValueError):
    """An uploaded or drawn set of 2-D points cannot be used (message for the user)."""


class BadArchiveError(UserFacingError, ValueError):
    """An uploaded zip of images is unsafe or unusable (message for the user)."""


_warm_lock = threading.Lock()
_warm_thread: threading.Thread | None = None


def warm_up() -> threading.Thread:
    """Import what the first optimiser needs (``torch._dynamo``, ~5 s on 2 busy cores) in a
    daemon thread, once per process, so the first live run or training starts without that wait."""
    global _warm_thread
    with _warm_lock:
        if _warm_thread is None:
            def _imp() -> None:
                import torch._dynamo  # noqa: F401

            _warm_thread = threading.Thread(target=_imp, name="wae-warm-up", daemon=True)
            _warm_thread.start()
        return _warm_thread


# --- toy data --------------------------------------------------------------------------------
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
        """The ring of 8 or the grid of 25 Gaussians (``wae_core.data``)."""
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


# --- one live run ------------------------------------------------------------------------------
@dataclass
class LiveConfig:
    """One toy model: MLPs of ``depth`` x ``hidden`` units, as in ``make checkpoints``' toys.

    ``kernel_scale`` is the s of a single-scale kernel C = 2 d_z s (the paper's multi-scale
    sum costs ~4x more per step); ``lam``, ``kernel``, ``kernel_scale`` and the learning rates
    can change while the run trains (:meth:`LiveRun.update`); the rest needs a reset.
    """

    kind: str = "wae-mmd"
    z_dim: int = 2
    lam: float = 10.0
    kernel: str = "imq"
    kernel_scale: float = 1.0
    lr: float = 1e-3
    lr_adv: float = 5e-4
    batch_size: int = 128  # 256 costs ~2x per step; coverage on the ring is the same (measured)
    hidden: int = 64  # 4 x 64 MLPs: ~2x the steps/s of 4 x 128 on one core
    depth: int = 4
    disc_hidden: int = 128  # the WAE-GAN's latent adversary (512 in the paper: 10x slower here)
    seed: int = 0

    LIVE_FIELDS = ("lam", "kernel", "kernel_scale", "lr", "lr_adv")

    def model_config(self) -> ModelConfig:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"unknown model kind {self.kind!r}; choose from {MODEL_KINDS}")
        # Points: the plain squared distance as the cost (as the CLI does for toys); the VAE's
        # Gaussian decoder then has sigma^2 = 1/2, so give it recon_scale 50 (sigma = 0.1).
        return ModelConfig(kind=self.kind, arch="mlp", z_dim=self.z_dim, lam=self.lam,
                           kernel=self.kernel, kernel_scales=(self.kernel_scale,),
                           recon_scale=50.0 if self.kind == "vae" else 1.0,
                           hidden=self.hidden, depth=self.depth, disc_hidden=self.disc_hidden)


@dataclass
class RunSnapshot:
    """A consistent copy of one run for plotting (numpy arrays, plain lists)."""

    label: str
    kind: str
    step: int
    real: np.ndarray  # (m, 2) fixed real points
    fake: np.ndarray  # (m, 2) G(z) for fixed prior draws z
    codes: np.ndarray | None  # (m, d_z) Q_Z: codes of the real points (None without encoder)
    prior: np.ndarray  # (m, d_z) the fixed prior draws (P_Z)
    history: dict[str, list[float]]  # "step" and one list per loss term, same length
    metrics: dict[str, list[float]]  # "step", "modes_covered", "high_quality_share", "ot"
    n_modes: int | None
    error: str


class LiveRun:
    """A toy model, its Trainer (for ``train_step``) and a bounded history. Not thread-safe on
    its own: :class:`LiveGroup` serialises access with its lock."""

    def __init__(self, source: ToySource, cfg: LiveConfig, label: str | None = None,
                 view_points: int = 1000, metrics_every: int = 100, metric_samples: int = 2000,
                 log_every: int = 10) -> None:
        self.source, self.cfg = source, cfg
        self.label = label or cfg.kind.upper()
        self.view_points, self.metric_samples = view_points, metric_samples
        self.base_log_every, self.base_metrics_every = log_every, metrics_every
        self.reset()

    def reset(self, cfg: LiveConfig | None = None) -> None:
        """Fresh weights and optimisers (with ``cfg`` if given), empty history."""
        if cfg is not None:
            self.cfg = cfg
        c = self.cfg
        torch.manual_seed(c.seed)
        model = build_model(c.model_config())
        tcfg = TrainConfig(batch_size=c.batch_size, lr=c.lr, lr_adv=c.lr_adv, seed=c.seed,
                           device="cpu", lr_milestones=(), lr_factors=())
        data = TensorData(self.source.points, torch.zeros(len(self.source.points), dtype=torch.long),
                          self.source.name)
        self.trainer = Trainer(model, data, tcfg)
        self.model: GenerativeModel = self.trainer.model
        self.model.train()
        self.gen = torch.Generator().manual_seed(c.seed + 1)
        view = torch.Generator().manual_seed(12_345)
        m = self.view_points
        self.view_real = self.source.batch(m, view)
        self.view_z = torch.randn(m, c.z_dim, generator=view) * self.model.cfg.sigma_z
        self.metric_z = torch.randn(self.metric_samples, c.z_dim, generator=view)
        self.ot_real = self.source.batch(256, view)
        self.step_count = 0
        self.error = ""
        self.log_every, self.metrics_every = self.base_log_every, self.base_metrics_every
        self.history: dict[str, list[float]] = {"step": []}
        self.metrics: dict[str, list[float]] = {"step": [], "modes_covered": [],
                                                "high_quality_share": [], "ot": []}
        self._sums: dict[str, float] = {}
        self._n = 0
        self.record_metrics()

    def update(self, **changes: Any) -> None:
        """Change ``LiveConfig.LIVE_FIELDS`` on the fly (the next step uses them)."""
        bad = set(changes) - set(LiveConfig.LIVE_FIELDS)
        if bad:
            raise ValueError(f"{sorted(bad)} cannot change during training: reset the run")
        self.cfg = replace(self.cfg, **changes)
        mc = self.model.cfg
        mc.lam, mc.kernel, mc.kernel_scales = self.cfg.lam, self.cfg.kernel, (self.cfg.kernel_scale,)
        for g in self.trainer.opt.param_groups:
            g["lr"] = self.cfg.lr
        if self.trainer.opt_adv is not None:
            for g in self.trainer.opt_adv.param_groups:
                g["lr"] = self.cfg.lr_adv

    def step(self) -> dict[str, float]:
        """One optimiser step (adversary first) on a fresh batch; raises TrainingDiverged."""
        x = self.source.batch(self.cfg.batch_size, self.gen)
        self.trainer.step = self.step_count
        logs = self.trainer.train_step(x)
        self.step_count += 1
        for k, v in logs.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
        self._n += 1
        if self.step_count % self.log_every == 0:
            self._flush_logs()
        if self.step_count % self.metrics_every == 0:
            self.record_metrics()
        return logs

    def _flush_logs(self) -> None:
        if not self._n:
            return
        h = self.history
        h["step"].append(float(self.step_count))
        for k, v in self._sums.items():
            h.setdefault(k, [math.nan] * (len(h["step"]) - 1)).append(v / self._n)
        self._sums, self._n = {}, 0
        if len(h["step"]) > MAX_HISTORY_POINTS:  # thin: halve the resolution, keep the span
            for k in h:
                h[k] = h[k][1::2]
            self.log_every *= 2

    @torch.no_grad()
    def record_metrics(self) -> None:
        """Mode coverage / high-quality share (mixtures) and the exact OT cost to a real batch."""
        fake = self.model.decode(self.metric_z * self.model.cfg.sigma_z)
        m = self.metrics
        m["step"].append(float(self.step_count))
        if self.source.modes is not None and self.source.std is not None:
            q = toy_quality(fake, self.source.modes, self.source.std)
            m["modes_covered"].append(float(q.modes_covered))
            m["high_quality_share"].append(q.high_quality_share)
        else:
            m["modes_covered"].append(math.nan)
            m["high_quality_share"].append(math.nan)
        m["ot"].append(D.optimal_transport(self.ot_real, fake[:len(self.ot_real)])[0])
        if len(m["step"]) > MAX_HISTORY_POINTS:
            for k in m:
                m[k] = m[k][1::2]
            self.metrics_every *= 2

    @torch.no_grad()
    def snapshot(self) -> RunSnapshot:
        model = self.model
        fake = model.decode(self.view_z).numpy()
        codes = model.encode_sample(self.view_real).numpy() if model.has_encoder else None
        return RunSnapshot(
            self.label, self.cfg.kind, self.step_count, self.view_real.numpy().copy(), fake,
            codes, self.view_z.numpy().copy(), {k: list(v) for k, v in self.history.items()},
            {k: list(v) for k, v in self.metrics.items()},
            None if self.source.modes is None else len(self.source.modes), self.error)


# --- a group of runs, stepped by one thread ----------------------------------------------------
_registry_lock = threading.Lock()
_running: dict[int, int] = {}  # id(group) -> number of runs it trains


def running_runs() -> int:
    """How many toy runs train right now in this process (all sessions)."""
    with _registry_lock:
        return sum(_running.values())


@dataclass
class GroupSnapshot:
    runs: list[RunSnapshot]
    step: int
    running: bool
    steps_per_second: float
    status: str  # "" or why the group paused itself (error, idle, step limit)
    source: str
    elapsed: float = 0.0  # seconds spent training (background thread only)


class LiveGroup:
    """Runs on one data source, trained side by side by one background thread.

    ``start`` / ``pause`` / ``step(n)`` / ``reset`` / ``update`` / ``snapshot`` are safe from any
    thread. The worker takes the lock for one step of every run at a time and yields between
    steps, so UI calls wait at most a few milliseconds. ``steps_per_tick`` steps are done per
    ``tick_seconds`` at most (the speed control; 0 = as fast as possible). A group that nobody
    snapshots for ``idle_pause`` seconds (a closed browser tab) pauses itself, and at
    ``max_steps`` it stops.
    """

    def __init__(self, source: ToySource, configs: Sequence[LiveConfig],
                 labels: Sequence[str] | None = None, steps_per_tick: int = 0,
                 tick_seconds: float = 0.2, idle_pause: float = IDLE_PAUSE_SECONDS,
                 max_steps: int = 200_000, max_running: int | None = None,
                 threads: int = WORKER_THREADS, **run_kw: Any) -> None:
        if not configs:
            raise ValueError("a live group needs at least one run")
        labels = list(labels) if labels is not None else [None] * len(configs)
        self.source = source
        self.runs = [LiveRun(source, c, lab, **run_kw) for c, lab in zip(configs, labels)]
        self.steps_per_tick, self.tick_seconds = steps_per_tick, tick_seconds
        self.idle_pause, self.max_steps = idle_pause, max_steps
        self.max_running = MAX_RUNNING_RUNS if max_running is None else max_running
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

    def start(self) -> None:
        """Train in the background until :meth:`pause`; raises TooManyRunsError at the cap."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this live group was closed")
            if self._want_run:
                return
            if any(r.error for r in self.runs):
                raise RuntimeError("a run diverged: reset before starting again")
            with _registry_lock:
                busy = sum(v for k, v in _running.items() if k != id(self))
                if busy + len(self.runs) > self.max_running:
                    raise TooManyRunsError(
                        f"{busy} toy runs are already training on this server (at most "
                        f"{self.max_running} at a time, so that every session stays responsive). "
                        "Pause a run in another tab or try again in a minute.")
                _running[id(self)] = len(self.runs)
            self._want_run, self.status = True, ""
            self._last_seen = time.monotonic()
            if self._thread is None:  # the worker exits when paused: start a fresh one
                self._thread = threading.Thread(target=self._loop, name="wae-live", daemon=True)
                self._thread.start()

    def pause(self, status: str = "") -> None:
        with self._lock:
            self._want_run = False
            self.status = status
            with _registry_lock:
                _running.pop(id(self), None)
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

    def reset(self, configs: Sequence[LiveConfig] | None = None) -> None:
        """Pause, then fresh weights for every run (new configs if given, one per run)."""
        self.pause()
        with self._lock:
            for i, r in enumerate(self.runs):
                r.reset(None if configs is None else configs[i])
            self._rate, self._train_seconds, self.status = 0.0, 0.0, ""

    def update(self, index: int, **changes: Any) -> None:
        """Live-editable settings of run ``index`` (see ``LiveConfig.LIVE_FIELDS``)."""
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
                                 self.source.name, self._train_seconds)

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


# --- background training of image models -------------------------------------------------------
_jobs_lock = threading.Lock()
_active_jobs: set[int] = set()


@dataclass
class TrainingProgress:
    state: str  # "starting" | "running" | "finished" | "cancelled" | "failed"
    step: int
    total_steps: int
    epoch: int
    epochs: int
    elapsed: float
    eta: float | None  # seconds left, None before the first steps
    steps_per_second: float
    last_logs: dict[str, float]
    history: dict[str, list[float]]  # "step" and one list per loss term
    error: str
    out: str

    @property
    def fraction(self) -> float:
        return min(self.step / self.total_steps, 1.0) if self.total_steps else 0.0

    @property
    def done(self) -> bool:
        return self.state in ("finished", "cancelled", "failed")


class ProgressCallback(Callback):
    """Publishes step / total / ETA / losses to a lock-protected dict the UI reads."""

    def __init__(self, log_every: int = 5) -> None:
        self.lock = threading.Lock()
        self.log_every = log_every
        self.total = 0
        self.epochs = 0
        self.step = 0
        self.epoch = 0
        self.start_step = 0
        self.t0 = time.monotonic()
        self.t_end: float | None = None
        self.last_logs: dict[str, float] = {}
        self.history: dict[str, list[float]] = {"step": []}
        self._sums: dict[str, float] = {}
        self._n = 0

    def on_train_start(self, trainer: Trainer) -> None:
        with self.lock:
            self.total, self.epochs = trainer.total_steps, trainer.cfg.epochs
            self.step = self.start_step = trainer.step
            self.t0 = time.monotonic()

    def on_step(self, trainer: Trainer, logs: dict[str, float]) -> None:
        with self.lock:
            self.step, self.epoch, self.last_logs = trainer.step, trainer.epoch, dict(logs)
            for k, v in logs.items():
                self._sums[k] = self._sums.get(k, 0.0) + v
            self._n += 1
            if self._n >= self.log_every:
                h = self.history
                h["step"].append(float(self.step))
                for k, v in self._sums.items():
                    h.setdefault(k, [math.nan] * (len(h["step"]) - 1)).append(v / self._n)
                self._sums, self._n = {}, 0
                if len(h["step"]) > MAX_HISTORY_POINTS:
                    for k in h:
                        h[k] = h[k][1::2]
                    self.log_every *= 2

    def on_epoch(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        with self.lock:
            self.epoch = epoch

    def on_train_end(self, trainer: Trainer) -> None:
        with self.lock:
            self.t_end = time.monotonic()

    def read(self) -> dict[str, Any]:
        with self.lock:
            now = self.t_end if self.t_end is not None else time.monotonic()
            elapsed = now - self.t0
            done = self.step - self.start_step
            rate = done / elapsed if elapsed > 0 and done else 0.0
            eta = (self.total - self.step) / rate if rate > 0 else None
            return {"step": self.step, "total_steps": self.total, "epoch": self.epoch,
                    "epochs": self.epochs, "elapsed": elapsed, "eta": eta,
                    "steps_per_second": rate, "last_logs": dict(self.last_logs),
                    "history": {k: list(v) for k, v in self.history.items()}}


def active_trainings() -> int:
    with _jobs_lock:
        return len(_active_jobs)


class BackgroundTraining:
    """``Trainer.fit`` in a daemon thread; :meth:`progress` is a thread-safe snapshot.

    The checkpoint is written atomically by the trainer at every epoch end and when cancelled,
    so ``out`` always holds a usable model once the first epoch (or a cancel) is through.
    """

    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, data: TensorData,
                 out: Path | str, meta: dict[str, Any] | None = None,
                 max_active: int = MAX_BACKGROUND_TRAININGS, threads: int = WORKER_THREADS) -> None:
        self.model_cfg, self.train_cfg, self.data = model_cfg, train_cfg, data
        self.out = Path(out)
        self.meta = dict(meta or {})
        self.max_active = max_active
        self.threads = threads  # torch threads of the worker (0: leave torch's setting)
        self.callback = ProgressCallback()
        self.trainer: Trainer | None = None
        self.state = "starting"
        self.error = ""
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()

    def start(self) -> None:
        with _jobs_lock:
            if len(_active_jobs) >= self.max_active:
                raise TooManyRunsError(
                    f"{len(_active_jobs)} trainings already run on this server (at most "
                    f"{self.max_active} at a time on this CPU). Wait for one to finish.")
            _active_jobs.add(id(self))
        self._thread = threading.Thread(target=self._run, name="wae-train", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            if self.threads > 0:
                torch.set_num_threads(self.threads)
            model = build_model(self.model_cfg)
            self.trainer = Trainer(model, self.data, self.train_cfg, self.out, [self.callback],
                                   self.meta)
            if self._cancel.is_set():
                self.trainer.request_stop("cancelled")
            self.state = "running"
            self.trainer.fit()
            self.state = "cancelled" if self.trainer.stop_reason == "cancelled" else "finished"
        except TrainingDiverged as e:
            self.state, self.error = "failed", str(e)
        except OutputNotWritableError as e:
            self.state, self.error = "failed", str(e)
        except Exception as e:  # shown to the user; the thread must not die silently
            self.state, self.error = "failed", f"{type(e).__name__}: {e}"
        finally:
            self.callback.on_train_end(self.trainer)  # type: ignore[arg-type]
            with _jobs_lock:
                _active_jobs.discard(id(self))

    def cancel(self) -> None:
        """Stop after the current step; the trainer saves a usable checkpoint first."""
        self._cancel.set()
        if self.trainer is not None:
            self.trainer.request_stop("cancelled")

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def progress(self) -> TrainingProgress:
        return TrainingProgress(state=self.state, error=self.error, out=str(self.out),
                                **self.callback.read())


# --- uploads -----------------------------------------------------------------------------------
def safe_run_name(name: str, max_len: int = 60) -> str:
    """A file-name-safe run name: letters, digits, ``-``, ``_`` and ``.``; never empty."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip(".-_")[:max_len]
    return s or "run"


def extract_image_zip(data: bytes, dest: Path | str, max_files: int = 20_000,
                      max_total_bytes: int = 200 * 2**20, max_file_bytes: int = 10 * 2**20,
                      max_zip_bytes: int = 100 * 2**20) -> int:
    """Extract the images of a zip safely into ``dest``; returns how many were written.

    Only image files (by suffix) are extracted, keeping one level of folder as the class
    label. Absolute paths, ``..``, links and device files are refused, as are archives over the
    count / size limits (checked on the declared sizes and again while reading, so a zip bomb
    that lies about its sizes stops at the limit).
    """
    if len(data) > max_zip_bytes:
        raise BadArchiveError(f"the zip is {len(data) / 2**20:.0f} MiB, over the "
                              f"{max_zip_bytes / 2**20:.0f} MiB limit")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as e:
        raise BadArchiveError(f"not a readable zip file: {e}") from e
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written, total = 0, 0
    with zf:
        infos = zf.infolist()
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
                raise BadArchiveError(f"unsafe path in the zip: {info.filename!r}")
            ftype = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip records no type
            if ftype and ftype not in (stat.S_IFREG, stat.S_IFDIR):
                raise BadArchiveError(f"the zip holds a link or special file: {info.filename!r}")
        images = [i for i in infos if not i.is_dir()
                  and Path(i.filename).suffix.lower() in IMAGE_SUFFIXES
                  and not any(p.startswith(".") or p == "__MACOSX"
                              for p in i.filename.replace("\\", "/").split("/"))]
        if not images:
            raise BadArchiveError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in the zip")
        if len(images) > max_files:
            raise BadArchiveError(f"the zip holds {len(images):,} images, over the limit of {max_files:,}")
        if sum(i.file_size for i in images) > max_total_bytes:
            raise BadArchiveError(f"the images unpack to more than {max_total_bytes / 2**20:.0f} MiB")
        for i, info in enumerate(images):
            parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
            label = parts[-2] if len(parts) >= 2 else "images"
            label = safe_run_name(label, 40)
            target = dest / label / f"{i:06d}{Path(parts[-1]).suffix.lower()}"
            target.parent.mkdir(parents=True, exist_ok=True)
            size = 0
            with zf.open(info) as src, open(target, "wb") as out:
                while chunk := src.read(1 << 16):
                    size += len(chunk)
                    total += len(chunk)
                    if size > max_file_bytes or total > max_total_bytes:
                        out.close()
                        shutil.rmtree(dest, ignore_errors=True)
                        raise BadArchiveError("an image in the zip unpacks beyond the size limit")
                    out.write(chunk)
            written += 1
    return written


__all__ = [
    "BackgroundTraining", "BadArchiveError", "BadPointsError", "GroupSnapshot", "LiveConfig",
    "LiveGroup", "LiveRun", "MAX_BACKGROUND_TRAININGS", "MAX_RUNNING_RUNS", "ProgressCallback",
    "RunSnapshot", "ToySource", "TooManyRunsError", "TrainingProgress", "active_trainings",
    "extract_image_zip", "normalize_points", "parse_points_csv", "running_runs", "safe_run_name",
    "warm_up",
]
