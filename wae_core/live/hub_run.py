"""A live run as the hub keeps it: its group, its viewers' heartbeats, and what it shows them,
asked of the group once for every viewer::

    run = HubRun("a1b2", "session-1", group)
    brief, version, snapshot = run.look()   # (step, running, status), the snapshot and its number
    run.pause()                              # a control: the next look asks afresh

In the room's hub the group lives in a process of its own (:mod:`~wae_core.live.process_group`)
and every answer it gives is taken from its training, so however many pages look, the group is
asked for its step and state at most every ``BRIEF_SECONDS`` and for a snapshot at most every
``FRAME_SECONDS``. The hub (:mod:`~wae_core.live.hub`) keeps the slots, codes and heartbeats.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from wae_core.training.recipes import Recipe

from .groups import GroupSnapshot, LiveGroup
from .runs import LiveConfig

# At most one snapshot of a run per this interval, whoever asks; the live page redraws as often
# (app/views/toy_lab.py REFRESH_S). At 0.2 s, ten watchers whose timers fire at their own moments
# took five snapshots a second from the run's process, and each app process drew each one's
# images; a page that redraws every 0.5 s shows no more than one of them.
FRAME_SECONDS = 0.5
# At most one answer from a run's process per this interval for every look at its step, state and
# status, whoever looks; a control (Start, Pause, Step, Reset) asks afresh. Each live page looks two
# or three times a second, and every answer is taken from the run's training (its process's GIL).
BRIEF_SECONDS = 0.25

Brief = tuple[int, bool, str]  # the group's (step, running, status)


@dataclass
class HubRun:
    run_id: str
    owner: str
    group: LiveGroup
    code: str = ""
    seen: dict[str, float] = field(default_factory=dict)  # viewer -> last poll (monotonic)
    room: bool = False  # the room's run: see Hub.tick
    version: int = 0
    snapshot: GroupSnapshot | None = None
    snapshot_at: float = -math.inf
    frame_lock: threading.Lock = field(default_factory=threading.Lock)
    _brief: Brief | None = None
    _brief_at: float = -math.inf
    _brief_lock: threading.Lock = field(default_factory=threading.Lock)

    def brief(self) -> Brief:
        """The group's (step, running, status), asked of it at most every BRIEF_SECONDS."""
        with self._brief_lock:
            now = time.monotonic()
            if self._brief is None or now - self._brief_at >= BRIEF_SECONDS:
                self._brief, self._brief_at = self.group.brief(), now
            return self._brief

    def controlled(self) -> None:
        """After a control: the next look asks the group again (and sees the control's effect)."""
        with self._brief_lock:
            self._brief = None

    # The group's controls: each one's effect shows on the very next look.
    def start(self) -> None:
        self.group.start()
        self.controlled()

    def pause(self, status: str = "") -> None:
        self.group.pause(status)
        self.controlled()

    def step(self, n: int) -> int:
        try:
            return self.group.step(n)  # pauses the background training first
        finally:
            self.controlled()

    def reset(self, configs: Sequence[Recipe | LiveConfig] | None = None) -> None:
        self.group.reset(configs)
        self.controlled()

    def look(self) -> tuple[Brief, int, GroupSnapshot]:
        """(brief, version, snapshot): the latest snapshot, taken at most every FRAME_SECONDS for
        all viewers, with the brief it was judged by (one answer from the group per look)."""
        with self.frame_lock:  # one viewer takes the snapshot, the others wait and share it
            now, brief, last = time.monotonic(), self.brief(), self.snapshot
            changed = last is None or brief != (last.step, last.running, last.status)
            # While it trains, one snapshot per FRAME_SECONDS; after a control (Start, Step,
            # Reset, Pause) the very next look shows its effect.
            stale = changed and (last is None or not brief[1] or not last.running
                                 or now - self.snapshot_at >= FRAME_SECONDS)
            if stale:
                self.snapshot, self.snapshot_at = self.group.snapshot(), now
                self.version += 1
            return brief, self.version, self.snapshot

    def watched_since(self, t: float) -> bool:
        """Whether a viewer other than its owner polled it at ``t`` (monotonic) or later."""
        return any(v != self.owner and seen >= t for v, seen in self.seen.items())

    def watchers(self, heartbeat_s: float) -> int:
        """Viewers other than its owner that polled within ``heartbeat_s``."""
        now = time.monotonic()
        return sum(1 for v, t in self.seen.items() if v != self.owner and now - t <= heartbeat_s)
