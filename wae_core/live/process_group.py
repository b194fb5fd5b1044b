"""A :class:`~wae_core.live.groups.LiveGroup` in a process of its own, driven over a pipe::

    group = ProcessGroup(source, configs, labels)   # a child process holds it once it trains
    group.start(); snap = group.snapshot(); group.nice(19); group.close()

Why: Python runs one thread of a process at a time. The room's hub trains every run of the room;
as threads of the hub, two runs on a 2-core host shared one core (measured under the room's load
test: the hub at 0.9 core with two runs training, the shared run at 48 % of its solo speed). In
processes of their own each run has a core, and a session of its own: the hub weights it
against the pages and the room's run (:meth:`nice`, :mod:`cpu_share`).

The child is forked from a ``forkserver`` that imported torch once (:func:`prepare`), so a new
run starts in tens of milliseconds, not the seconds of importing torch again; and no child is a
fork of the hub with its threads (a fork of a threaded process may inherit held locks).
Same methods and properties as :class:`LiveGroup`; an exception raised in the child is raised
again in the caller.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import threading
from collections.abc import Sequence
from typing import Any

import torch

from wae_core.malloc import keep_freed_memory
from wae_core.training.recipes import Recipe

from . import cpu_share
from .groups import GroupSnapshot, LiveGroup
from .runs import LiveConfig
from .toys import ToySource
from .workers import WORKER_THREADS

_CONTEXT = "forkserver"
# What every child needs, imported once by the fork server: torch and the trainer, torch._dynamo
# (the first optimiser imports it) and scipy.optimize (a run's first metrics: the OT cost). Left
# to each child, they took 1.5 s on an idle machine and 10-20 s under the room's burst, while
# the run's page waited; now a child is ready in ~0.06 s.
_PRELOAD = ["wae_core.live.groups", "torch._dynamo", "scipy.optimize"]


def _ready() -> None:
    """A child that does nothing: :func:`prepare` waits for it."""


def _context() -> Any:
    ctx = mp.get_context(_CONTEXT)
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def prepare() -> None:
    """Start the fork server now and wait until it has imported :data:`_PRELOAD` (seconds), so
    that the first run's page does not wait for it."""
    child = _context().Process(target=_ready, name="wae-live-ready", daemon=True)
    child.start()
    child.join()


def _dispatch(group: LiveGroup, name: str, args: tuple, kwargs: dict[str, Any]) -> Any:
    """One call of :class:`ProcessGroup`'s on ``group``."""
    if name == "_get":
        return getattr(group, args[0])
    if name == "_set":
        return setattr(group, args[0], args[1])
    return getattr(group, name)(*args, **kwargs)


def _serve(conn: Any, source: ToySource, configs: Sequence[Recipe | LiveConfig],
           labels: Sequence[str] | None, kw: dict[str, Any]) -> None:
    """The child: one LiveGroup, and a loop that answers the parent's calls in order."""
    cpu_share.own_session()  # its share of the CPU is set apart from the hub's (cpu_share)
    keep_freed_memory()  # a step without page faults (wae_core.malloc): the pair +18 % steps/s
    # This thread answers the calls and takes the snapshots (the views' forward passes): on one
    # torch thread, as the training does. With torch's default (a thread per core) every snapshot
    # woke a second OpenMP thread, which then spun on the CPU this run has: under the room's burst
    # the two serving threads took 0.14-0.17 of its 0.38 core, the training 0.21 (from /proc).
    # Set before the group is built: building it on the default already starts the OpenMP team.
    torch.set_num_threads(kw.get("threads", WORKER_THREADS) or torch.get_num_threads())
    group = LiveGroup(source, configs, labels, **kw)
    while True:
        try:
            name, args, kwargs = conn.recv()
        except (EOFError, OSError):  # the hub is gone
            group.close()
            return
        try:
            conn.send(("ok", _dispatch(group, name, args, kwargs)))
        except Exception as e:  # noqa: BLE001 - raised again in the parent
            conn.send(("err", e))
        if name == "close":
            return


class ProcessGroup:
    """:class:`LiveGroup`'s interface, the group itself in a child process once it trains.

    Until its first Start or Step the group lives here, idle: every session that opens the live
    page has a run, and a room's watchers never train theirs, so a process per page would cost
    each of them a fork and its memory for nothing (the watchers' first look took 4-8 s under
    the room's burst when each made one). The child is then built from the group's current
    recipes, which give the same weights (a recipe seeds its initialisation)."""

    def __init__(self, source: ToySource, configs: Sequence[Recipe | LiveConfig],
                 labels: Sequence[str] | None = None, **kw: Any) -> None:
        self._source, self._kw = source, kw
        self._local: LiveGroup | None = LiveGroup(source, configs, labels, **kw)
        self._proc: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()  # one call at a time: answers come back in order
        self._closed = False
        self._niceness: int | None = None  # set on the child's process (nice)

    @property
    def pid(self) -> int | None:
        """The child's process id; None while the group has not trained yet."""
        return None if self._proc is None else self._proc.pid

    def _spawn(self) -> None:
        """(under the lock) Move the group into a child process."""
        local = self._local
        kw = {**self._kw, "steps_per_tick": local.steps_per_tick, "tick_seconds": local.tick_seconds}
        ctx = _context()
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, name="wae-live-run", daemon=True, args=(
            child, self._source, [r.recipe for r in local.runs], [r.label for r in local.runs], kw))
        self._proc.start()
        child.close()
        self._local = None
        local.close()

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self._closed:
                raise RuntimeError("this live group was closed")
            if self._local is not None:
                if name not in ("start", "step"):
                    return _dispatch(self._local, name, args, kwargs)
                self._spawn()
            try:
                self._conn.send((name, args, kwargs))
                status, value = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError) as e:
                self._closed = True
                raise RuntimeError(f"the run's process ended (exit code {self._proc.exitcode})") from e
        if status == "err":
            raise value
        return value

    # --- LiveGroup's interface ----------------------------------------------------------------
    def start(self) -> None:
        self._call("start")

    def pause(self, status: str = "") -> None:
        self._call("pause", status)

    def step(self, n: int = 1) -> int:
        return self._call("step", n)

    def reset(self, configs: Sequence[Recipe | LiveConfig] | None = None) -> None:
        self._call("reset", None if configs is None else list(configs))

    def update(self, index: int, **changes: Any) -> None:
        self._call("update", index, **changes)

    def set_speed(self, steps_per_tick: int, tick_seconds: float) -> None:
        self._call("set_speed", steps_per_tick, tick_seconds)

    def snapshot(self) -> GroupSnapshot:
        return self._call("snapshot")

    def brief(self) -> tuple[int, bool, str]:
        return self._call("brief")

    @property
    def running(self) -> bool:
        return self._call("_get", "running")

    @property
    def step_count(self) -> int:
        return self._call("_get", "step_count")

    @property
    def status(self) -> str:
        return self._call("_get", "status")

    @status.setter
    def status(self, value: str) -> None:
        self._call("_set", "status", value)

    @property
    def errors(self) -> list[str]:
        return self._call("_get", "errors")

    def nice(self, value: int) -> None:
        """The run's share of the CPU (:mod:`cpu_share`): its niceness, set on its process from
        here, not by a call the child must answer (a busy hub must not wait for a process it has
        just made slower). Call again until it takes: a new child sets up its session first, and
        the kernel takes one change per 0.1 s."""
        pid = self.pid  # (no lock: a call to a starved child may hold it)
        if pid is not None and value != self._niceness and cpu_share.set_share(pid, value):
            self._niceness = value

    def close(self) -> None:
        """Stop for good: the child (if any) closes its group and exits."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._local is not None:
                self._local.close()
                return
            with contextlib.suppress(EOFError, OSError):
                self._conn.send(("close", (), {}))
                self._conn.recv()
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout=5)
        self._conn.close()
