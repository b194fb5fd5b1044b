"""Background training of image models (the Train-your-own page): ``Trainer.fit`` in a daemon
thread, its progress published to a thread-safe object::

    job = BackgroundTraining(model_cfg, train_cfg, data, "runs/mine.safetensors")
    job.start(); job.progress(); job.cancel()   # cancel -> the trainer saves a usable checkpoint

The page asks the hub for a place first (:meth:`~wae_core.live.hub.Hub.reserve`, the queue the
live runs wait in) and starts the job once granted; the job keeps that place with a
:class:`Heartbeat` and gives it back when it ends (``on_exit``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from wae_core.data.datasets import TensorData
from wae_core.models.config import ModelConfig, TrainConfig
from wae_core.models.generative import build_model
from wae_core.training.trainer import Callback, OutputNotWritableError, Trainer, TrainingDiverged

from .curves import Curves
from .slots import host_slots
from .workers import WORKER_THREADS, TooManyRunsError

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
    """Publishes step / total / ETA / losses to a lock-protected object the UI reads."""

    def __init__(self, log_every: int = 5) -> None:
        self.lock = threading.Lock()
        self.losses = Curves(log_every)
        self.total = 0
        self.epochs = 0
        self.step = 0
        self.epoch = 0
        self.start_step = 0
        self.t0 = time.monotonic()
        self.t_end: float | None = None
        self.last_logs: dict[str, float] = {}

    def on_train_start(self, trainer: Trainer) -> None:
        with self.lock:
            self.total, self.epochs = trainer.total_steps, trainer.cfg.epochs
            self.step = self.start_step = trainer.step
            self.t0 = time.monotonic()

    def on_step(self, trainer: Trainer, logs: dict[str, float]) -> None:
        with self.lock:
            self.step, self.epoch, self.last_logs = trainer.step, trainer.epoch, dict(logs)
            self.losses.add(self.step, logs)

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
                    "history": self.losses.copy()}


class Heartbeat(Callback):
    """Calls ``beat(seconds_left)`` every ``every_s`` seconds of training (from the training
    thread): the job keeps its place in the hub's queue, and says when it will free it, even
    when its browser tab is closed."""

    def __init__(self, beat: Callable[[float | None], Any], progress: ProgressCallback,
                 every_s: float = 2.0) -> None:
        self.beat, self.progress, self.every_s = beat, progress, every_s
        self.last = -float("inf")

    def on_step(self, trainer: Trainer, logs: dict[str, float]) -> None:
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            # The hub's bookkeeping never stops a training (a lost beat: the hub frees the place).
            with contextlib.suppress(Exception):
                self.beat(self.progress.read()["eta"])


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
                 max_active: int | None = None, threads: int = WORKER_THREADS,
                 heartbeat: Callable[[float | None], Any] | None = None,
                 on_exit: Callable[[], Any] | None = None) -> None:
        self.model_cfg, self.train_cfg, self.data = model_cfg, train_cfg, data
        self.out = Path(out)
        self.meta = dict(meta or {})
        # A last guard in this process (the hub's queue comes first): one training per core.
        self.max_active = host_slots() if max_active is None else max_active
        self.on_exit = on_exit
        self.threads = threads  # torch threads of the worker (0: leave torch's setting)
        self.callback = ProgressCallback()
        self.callbacks: list[Callback] = [self.callback]
        if heartbeat is not None:
            self.callbacks.append(Heartbeat(heartbeat, self.callback))
        self.trainer: Trainer | None = None
        self.state = "starting"
        self.error = ""
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()

    def start(self) -> None:
        with _jobs_lock:
            if len(_active_jobs) >= self.max_active:
                raise TooManyRunsError(f"{len(_active_jobs)} trainings already run here (at most "
                                       f"{self.max_active} at a time)")
            _active_jobs.add(id(self))
        self._thread = threading.Thread(target=self._run, name="wae-train", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            if self.threads > 0:
                torch.set_num_threads(self.threads)
            model = build_model(self.model_cfg)
            self.trainer = Trainer(model, self.data, self.train_cfg, self.out, self.callbacks,
                                   self.meta)
            if self._cancel.is_set():
                self.trainer.request_stop("cancelled")
            self.state = "running"
            self.trainer.fit()
            self.state = "cancelled" if self.trainer.stop_reason == "cancelled" else "finished"
        except (TrainingDiverged, OutputNotWritableError) as e:
            self.state, self.error = "failed", str(e)
        except Exception as e:  # shown to the user; the thread must not die silently
            self.state, self.error = "failed", f"{type(e).__name__}: {e}"
        finally:
            self.callback.on_train_end(self.trainer)  # type: ignore[arg-type]
            with _jobs_lock:
                _active_jobs.discard(id(self))
            if self.on_exit is not None:
                with contextlib.suppress(Exception):  # the hub frees a silent place by itself
                    self.on_exit()

    def cancel(self) -> None:
        """Stop after the current step; the trainer saves a usable checkpoint first."""
        self._cancel.set()
        if self.trainer is not None:
            self.trainer.request_stop("cancelled")

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def progress(self) -> TrainingProgress:
        return TrainingProgress(state=self.state, error=self.error, out=str(self.out),
                                **self.callback.read())


# --- uploads -----------------------------------------------------------------------------------
