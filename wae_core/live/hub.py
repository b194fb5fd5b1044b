"""The room's hub: every live toy run of a server, its training slots, and the room codes that
let other sessions watch a run::

    hub = get_hub()                                  # this process's, or the room server's
    run = hub.create("session-1", source, [gan, wae], ["GAN", "WAE-MMD"])
    hub.start(run)                                   # trains now, or waits in the queue
    code = hub.share(run)                            # "K7QX2M": any session may now watch it
    frame = hub.frame(hub.find(code), "session-2")   # the same snapshot for every watcher

One hub serves a whole room. With one app process it lives in that process (``get_hub``); with
several behind the proxy (``python -m app.room``) it runs in a process of its own
(``python -m wae_core.live.hub``) and the app processes call it over authenticated sockets
(:mod:`~wae_core.live.remote`; ``WAE_LAB_HUB`` / ``WAE_LAB_HUB_KEY``), so a run started in one
process is watched from all of them. There each run trains in a process of its own
(:mod:`~wae_core.live.process_group`): on its own core, away from the GIL that the pages'
scripts share and from the other runs', and a student's run yields to the room's.

What it guarantees to a room:

* **one snapshot per update for all watchers**: a run's snapshot is taken at most every
  ``FRAME_SECONDS`` and handed to every viewer with a version number; callers that already hold
  that version get ``None`` back, and the app draws each version's images once per process;
* **no refusals**: Start takes a free slot (one per core, :mod:`~wae_core.live.slots`) or a place
  in a FIFO queue with an estimated start; a queued run starts by itself. Image trainings (Train
  your own) run in the app processes but take their places in the same queue (:meth:`reserve`);
* **a closed tab frees its place within seconds**: viewers poll while a run trains or waits
  (every half second); a run nobody polled for ``heartbeat_s`` is paused or leaves the queue.
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from wae_core.training.recipes import Recipe

from . import cpu_share, remote
from .groups import LiveGroup
from .hub_run import BRIEF_SECONDS, FRAME_SECONDS, HubRun  # noqa: F401 - also read as hub.*
from .process_group import ProcessGroup, prepare
from .room_state import (  # noqa: F401 - the hub's vocabulary, also read as hub.*
    CODE_ALPHABET,
    CODE_LENGTH,
    Frame,
    RoomError,
    RunState,
    Ticket,
    normalize_code,
)
from .runs import LiveConfig
from .slots import LEASE_SECONDS, Slots, host_slots
from .toys import ToySource

HEARTBEAT_SECONDS = 8.0  # a run or a place in the queue nobody polled for this long is let go
FORGET_SECONDS = 900.0  # a paused run nobody looked at for this long is closed (its memory freed)
TICK_SECONDS = 0.25  # how often the hub moves the queue and checks heartbeats


def _note(text: str) -> None:
    """One line in the hub's log (``app.room --logs`` keeps it; the room's tests copy it to
    test-artifacts): what a run that never moved left behind."""
    print(f"{time.strftime('%H:%M:%S')} WAE Lab hub: {text}", file=sys.stderr, flush=True)


class Hub:
    """Live toy runs, their slots and room codes; thread-safe, every method returns plain data."""

    def __init__(self, slots: int | None = None, lease_s: float = LEASE_SECONDS,
                 heartbeat_s: float = HEARTBEAT_SECONDS, tick_s: float = TICK_SECONDS,
                 processes: bool = False) -> None:
        self.slots = Slots(host_slots() if slots is None else slots, lease_s)
        self.heartbeat_s, self.tick_s = heartbeat_s, tick_s
        # Each run in a process of its own (the room's hub server): runs then train on separate
        # cores, and the room's run can be put first (cpu_share).
        self.processes = processes
        self._lock = threading.RLock()
        self._runs: dict[str, HubRun] = {}
        self._owned: dict[str, str] = {}  # owner -> its run (one live run per session)
        self._codes: dict[str, str] = {}  # room code -> run id
        self._ended: set[str] = set()  # codes of closed runs: "has ended", not "unknown"
        self._tickets: dict[str, float] = {}  # image trainings' places -> last heartbeat
        self._ticker: threading.Thread | None = None

    # --- runs -------------------------------------------------------------------------------
    def create(self, owner: str, source: ToySource, configs: Sequence[Recipe | LiveConfig],
               labels: Sequence[str] | None = None, **group_kw: Any) -> str:
        """A new paused run for ``owner`` (its previous run, if any, is closed)."""
        make = ProcessGroup if self.processes else LiveGroup
        group = make(source, configs, labels, idle_pause=math.inf, **group_kw)
        run_id = secrets.token_hex(8)
        with self._lock:
            old = self._owned.get(owner)
            self._runs[run_id] = HubRun(run_id, owner, group, seen={owner: time.monotonic()})
            self._owned[owner] = run_id
        if old is not None:
            self.close(old)
        self._ensure_ticker()
        return run_id

    def close(self, run_id: str) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
            if run is None:
                return
            self.slots.release(run_id)
            if self._owned.get(run.owner) == run_id:
                del self._owned[run.owner]
            if run.code:
                self._codes.pop(run.code, None)
                self._ended.add(run.code)
        run.group.close()

    def close_all(self) -> None:
        with self._lock:
            run_ids = list(self._runs)
        for run_id in run_ids:
            self.close(run_id)

    def _run(self, run_id: str) -> HubRun:
        with self._lock:
            run = self._runs.get(run_id)
        if run is None:
            raise RoomError("This run has ended (its page was left or it was replaced): "
                                "start a new one.")
        return run

    # --- controls (the owner's) ---------------------------------------------------------------
    def start(self, run_id: str) -> RunState:
        """Train now if a slot is free, else wait in the queue (pressing again keeps the place)."""
        run = self._run(run_id)
        with self._lock:
            if not run.group.running:
                if any(run.group.errors):
                    raise RoomError("A model diverged: press Reset before starting again.")
                run.group.status = ""
                if self.slots.request(run_id):
                    self._start(run_id)
                else:
                    _note("run {} queued: position {} of {}".format(run_id, *self.slots.position(run_id)))
        run.controlled()  # trained or queued, its cleared status shows on the next look
        return self.state(run_id, run.owner)

    def _start(self, run_id: str) -> None:
        """(under the lock) Its slot is granted: train, and say so in the log with the time it
        took (a run's process is made at its first Start)."""
        t0 = time.monotonic()
        self._runs[run_id].start()
        _note(f"run {run_id} trains ({time.monotonic() - t0:.2f} s to start)")

    def pause(self, run_id: str) -> None:
        run = self._run(run_id)
        with self._lock:
            self.slots.release(run_id)
            run.pause()

    def step(self, run_id: str, n: int) -> int:
        """``n`` steps now, in the caller's thread (a short burst needs no slot)."""
        run = self._run(run_id)
        with self._lock:
            self.slots.release(run_id)
        return run.step(n)

    def reset(self, run_id: str, configs: Sequence[Recipe | LiveConfig] | None = None) -> None:
        run = self._run(run_id)
        with self._lock:
            self.slots.release(run_id)
        run.reset(configs)

    def update(self, run_id: str, index: int, changes: dict[str, Any]) -> None:
        self._run(run_id).group.update(index, **changes)

    def set_speed(self, run_id: str, steps_per_tick: int, tick_seconds: float) -> None:
        self._run(run_id).group.set_speed(steps_per_tick, tick_seconds)

    # --- sharing ----------------------------------------------------------------------------
    def share(self, run_id: str) -> str:
        """The run's room code (made on the first call)."""
        run = self._run(run_id)
        with self._lock:
            while not run.code:
                code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                if code not in self._codes and code not in self._ended:
                    run.code, self._codes[code] = code, run_id
            return run.code

    def find(self, code: str) -> str:
        """The run a room code names; a plain sentence when there is none."""
        code = normalize_code(code)
        with self._lock:
            if code in self._codes:
                return self._codes[code]
            if code in self._ended:
                raise RoomError(f"The run {code} has ended: ask for the new code.")
        raise RoomError(f"No run has the code {code} on this server: check it, or ask the "
                            "lecturer to press “Share this run” again.")

    # --- what viewers read ------------------------------------------------------------------
    def state(self, run_id: str, viewer: str) -> RunState:
        run = self._run(run_id)
        return self._seen(run, viewer, run.brief())  # (brief: outside the lock, see _seen)

    def _seen(self, run: HubRun, viewer: str, brief: tuple[int, bool, str]) -> RunState:
        """``viewer``'s heartbeat and the run's state, from ``brief`` read before: outside the
        lock, since a run's process may answer late."""
        with self._lock:
            run.seen[viewer] = time.monotonic()
            return self._state(run, brief)

    def frame(self, run_id: str, viewer: str, have: int = -1) -> Frame:
        """The run's state and latest snapshot, taken at most every FRAME_SECONDS for all viewers
        (``snapshot`` is None when ``have`` is already the current version)."""
        run = self._run(run_id)
        brief, version, snap = run.look()
        return Frame(self._seen(run, viewer, brief), version, None if have == version else snap)

    def _state(self, run: HubRun, brief: tuple[int, bool, str]) -> RunState:
        """(under the lock) ``brief``: the group's (step, running, status), read before."""
        pos = self.slots.position(run.run_id)
        return RunState(run.run_id, *brief, run.code, run.watchers(self.heartbeat_s),
                        pos[0] if pos else 0, pos[1] if pos else 0, self.slots.eta(run.run_id))

    # --- image trainings (Train your own): places in the same queue ----------------------------
    def reserve(self, key: str) -> Ticket:
        """A place for an image training that runs in an app process: granted now or queued.
        Keep it with :meth:`ticket` (every few seconds), give it back with :meth:`release`."""
        with self._lock:
            self._tickets[key] = time.monotonic()
            if self.slots.request(key):
                self.slots.pin(key, ends_by_itself=True)  # never paused; it ends at its ETA
            ticket = self._ticket(key)
        self._ensure_ticker()
        return ticket

    def ticket(self, key: str, seconds_left: float | None = None) -> Ticket:
        """The place's heartbeat; a granted training says how long it still needs (its ETA)."""
        with self._lock:
            if key not in self._tickets:
                raise RoomError(f"This training's place was given up after {self.heartbeat_s:.0f} s "
                                "without a word from its page: press Start again.")
            now = self._tickets[key] = time.monotonic()
            if seconds_left is not None:
                self.slots.set_lease_end(key, now + seconds_left)
            return self._ticket(key)

    def release(self, key: str) -> None:
        with self._lock:
            self._tickets.pop(key, None)
            self.slots.release(key)

    def _ticket(self, key: str) -> Ticket:
        pos = self.slots.position(key)
        return Ticket(key in self.slots.holders, pos[0] if pos else 0, pos[1] if pos else 0,
                      self.slots.eta(key))

    def stats(self) -> dict[str, Any]:
        """Counts for the load test and the page's footer."""
        with self._lock:
            return {"slots": self.slots.n, "training": len(self.slots.holders),
                    "waiting": len(self.slots.queue), "runs": len(self._runs),
                    "shared": len(self._codes)}

    # --- the queue keeper -------------------------------------------------------------------
    def _ensure_ticker(self) -> None:
        with self._lock:
            if self._ticker is None or not self._ticker.is_alive():
                self._ticker = threading.Thread(target=self._tick_forever, name="wae-hub", daemon=True)
                self._ticker.start()

    def _tick_forever(self) -> None:
        while True:
            time.sleep(self.tick_s)
            try:
                self.tick()
            except Exception as e:  # noqa: BLE001 - the queue must keep moving
                print(f"WAE Lab hub: tick failed ({type(e).__name__}: {e})", file=sys.stderr)

    def tick(self) -> None:
        """Free the places of runs that stopped or lost their viewers, end leases that others wait
        for, and start the queue's head in every free slot."""
        now = time.monotonic()
        to_close = []
        with self._lock:
            for run_id, run in self._runs.items():
                last = max(run.seen.values(), default=-math.inf)
                if now - last > FORGET_SECONDS and not run.group.running:
                    to_close.append(run_id)
                elif now - last > self.heartbeat_s:
                    if run_id in self.slots.holders or run_id in self.slots.queue:
                        self.slots.release(run_id)
                        run.pause(f"paused after {self.heartbeat_s:.0f} s without a viewer")
                elif run_id in self.slots.holders and not run.group.running:
                    self.slots.release(run_id)  # it paused itself (diverged, step limit)
                # The room's run (shared, and watched by someone else since it took its slot)
                # keeps its slot, and comes first, until it stops training: the projector still
                # shows it once the students' tabs have moved on to other pages.
                # (From the viewers' own poll times: a busy hub that ticked late still counts a
                # watcher who came and went in between.)
                holder = self.slots.holders.get(run_id)
                run.room = holder is not None and bool(run.code) and (
                    run.room or run.watched_since(holder.since))
                self.slots.pin(run_id, run.room)
            if self.processes:
                self._share_cpu()
            for key, seen in list(self._tickets.items()):
                if now - seen > self.heartbeat_s:  # its page and its training went quiet
                    self.release(key)
            for run_id in self.slots.expired():
                self.slots.release(run_id)
                waiting = len(self.slots.queue)
                self._runs[run_id].pause(
                    f"paused after its {self.slots.lease_s:.0f} s turn: {waiting} "
                    f"run{'s' if waiting != 1 else ''} waited for the CPU. Press Start to queue again.")
            for key in self.slots.grant_waiting():
                if key in self._runs:
                    self._start(key)
                else:  # an image training: its page starts it on its next look
                    self.slots.pin(key, ends_by_itself=True)
        for run_id in to_close:
            self.close(run_id)

    def _share_cpu(self) -> None:
        """(under the lock) While the room's run holds its pinned slot, it comes first and every
        other run last; else each run weighs what a page does (:mod:`cpu_share`)."""
        room = any(h.pinned and k in self._runs for k, h in self.slots.holders.items())
        for run_id, run in self._runs.items():
            if isinstance(run.group, ProcessGroup):
                holder = self.slots.holders.get(run_id)
                run.group.nice(cpu_share.RUNS_NICE if not room else
                               cpu_share.ROOM_RUN_NICE if holder is not None and holder.pinned else
                               cpu_share.OTHER_RUNS_NICE)


# --- one hub per process, or the room server's ---------------------------------------------------
_local: Hub | None = None
_remote: remote.HubClient | None = None
_hub_lock = threading.Lock()


def get_hub() -> Hub | remote.HubClient:
    """The room server's hub when ``WAE_LAB_HUB`` (host:port) is set, else this process's own."""
    global _local, _remote
    with _hub_lock:
        address = os.environ.get("WAE_LAB_HUB", "").strip()
        if address:
            if _remote is None:
                _remote = remote.HubClient(address, os.environ.get("WAE_LAB_HUB_KEY", ""))
            return _remote
        if _local is None:
            _local = Hub()
        return _local


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="The live runs' hub of a room served by several app "
                                            "processes (python -m app.room starts it).")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    a = p.parse_args(argv)
    prepare()  # the runs' fork server imports torch now, before the first Start
    hub = Hub(processes=True)

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        remote.serve(hub, a.port, a.host, os.environ.get("WAE_LAB_HUB_KEY", ""))
    finally:  # every run's process ends with the hub
        hub.close_all()


if __name__ == "__main__":
    # Run the package's copy of this module, not this __main__ copy: the dataclasses that cross to
    # the app processes must pickle as the package's (wae_core.live.*), which the clients import.
    from wae_core.live.hub import main as package_main

    package_main()
