"""Training slots: how many runs train at once on this host, and a fair queue for the rest::

    slots = Slots(2, lease_s=60)
    slots.request("run-a")       # True: it may train now
    slots.request("run-b"); slots.request("run-c")   # True, then False: "run-c" waits
    slots.position("run-c")      # (1, 1): first of one in the queue
    slots.eta("run-c")           # seconds until it starts, if nobody stops early
    slots.release("run-a")       # frees a place; ``grant_waiting`` hands it to "run-c"

A seminar room presses Start together, and a 2-core host trains two toy pairs at full speed
(each pair steps on one thread, so one core). Refusing the third was the old behaviour; queueing
it is fair only if the queue moves: every holder gets ``lease_s`` seconds while others wait
(after that the hub pauses it and it may queue again), except a *pinned* holder (the room's
shared run, once others have watched it), which keeps its place. Leases also make the estimate exact: the
queue's start times follow from the holders' lease ends alone.

Pure bookkeeping with an injectable clock: no threads, no torch. The hub
(:mod:`~wae_core.live.hub`) calls it under its lock and does the pausing and starting.
"""

from __future__ import annotations

import heapq
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

LEASE_SECONDS = 60.0  # a live pair reaches the live bar in about a minute on one core (issue 31)


def host_slots() -> int:
    """Runs that may train at once: one per core this process may use (``WAE_LAB_TRAIN_SLOTS``
    overrides). Each run trains on one thread, so more would only slow every run down."""
    env = os.environ.get("WAE_LAB_TRAIN_SLOTS", "").strip()
    if env:
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Holder:
    since: float  # when it got its slot
    lease_end: float  # when it must make room if someone waits (math.inf: no lease)
    pinned: bool = False  # never made to make room (the room's run; an image training)
    ends_by_itself: bool = False  # pinned, but ends at lease_end (a training's own ETA)


class Slots:
    """``n`` places to train and a FIFO queue of ids waiting for one."""

    def __init__(self, n: int, lease_s: float = LEASE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if n < 1:
            raise ValueError("at least one training slot is needed")
        self.n, self.lease_s, self.clock = n, lease_s, clock
        self.holders: dict[str, Holder] = {}
        self.queue: list[str] = []

    # --- asking and leaving -----------------------------------------------------------------
    def request(self, key: str, lease_s: float | None = None) -> bool:
        """Take a free slot (True) or join the end of the queue (False). Asking again while
        holding or waiting changes nothing (a flood of Start clicks keeps one place)."""
        if key in self.holders:
            return True
        if key in self.queue:
            return False
        if len(self.holders) < self.n and not self.queue:
            self._grant(key, lease_s)
            return True
        self.queue.append(key)
        return False

    def release(self, key: str) -> None:
        """Give the slot back, or leave the queue."""
        self.holders.pop(key, None)
        if key in self.queue:
            self.queue.remove(key)

    def pin(self, key: str, pinned: bool = True, ends_by_itself: bool = False) -> None:
        """A pinned holder keeps its slot while others wait: the shared run of the room (it ends
        when its lecturer stops it), or an image training (it ends at its ETA: ``ends_by_itself``)."""
        if key in self.holders:
            self.holders[key].pinned, self.holders[key].ends_by_itself = pinned, ends_by_itself

    def set_lease_end(self, key: str, end: float) -> None:
        """A holder that knows when it finishes (an image training's ETA) says so."""
        if key in self.holders:
            self.holders[key].lease_end = end

    def _grant(self, key: str, lease_s: float | None) -> None:
        now = self.clock()
        self.holders[key] = Holder(now, now + (self.lease_s if lease_s is None else lease_s))

    # --- what the hub acts on ---------------------------------------------------------------
    def expired(self) -> list[str]:
        """Holders past their lease while someone waits (the hub pauses them), oldest first."""
        if not self.queue:
            return []
        now = self.clock()
        late = [k for k, h in self.holders.items() if not h.pinned and h.lease_end <= now]
        return sorted(late, key=lambda k: self.holders[k].lease_end)

    def grant_waiting(self, lease_s: float | None = None) -> list[str]:
        """Move the queue's head into free slots; returns the ids that may start now."""
        started = []
        while self.queue and len(self.holders) < self.n:
            key = self.queue.pop(0)
            self._grant(key, lease_s)
            started.append(key)
        return started

    # --- what a waiting session is shown ------------------------------------------------------
    def position(self, key: str) -> tuple[int, int] | None:
        """(1-based place, queue length) of a waiting id; None when it is not waiting."""
        if key not in self.queue:
            return None
        return self.queue.index(key) + 1, len(self.queue)

    def eta(self, key: str) -> float | None:
        """Seconds until ``key`` gets a slot if every holder keeps its lease to the end; None when
        it is not waiting, or when every slot is pinned (it starts when the room's run stops)."""
        if key not in self.queue:
            return None
        now = self.clock()
        # When each slot frees: a free slot now, a holder at its lease end (at once when already
        # past it: the hub pauses it on its next tick), the room's pinned run never.
        free = [now] * (self.n - len(self.holders))
        free += [math.inf if h.pinned and not h.ends_by_itself else max(h.lease_end, now)
                 for h in self.holders.values()]
        heapq.heapify(free)
        for waiting in self.queue:
            t = heapq.heappop(free)
            if math.isinf(t):
                return None
            if waiting == key:
                return t - now
            heapq.heappush(free, t + self.lease_s)  # it then holds the slot for one lease
        return None  # unreachable: key is in the queue
