"""What the load test's sessions record: latencies, errors and refusals, the long job's progress,
the shared run and its queue."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Record:
    errors: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    done_sessions: int = 0
    connected: int = 0  # protocol sessions that opened their websocket
    pinned: int = 0  # of those, sessions that got the proxy's affinity cookie (WAELAB)
    media_fetched: int = 0  # images fetched while a page's timers ran (browse)
    media_missed: int = 0  # of those, gone (404) or failed
    # (end time on time.monotonic, kind, seconds) of every interaction, in the order they ended
    timeline: list[tuple[float, str, float]] = field(default_factory=list)

    def add(self, kind: str, seconds: float) -> None:
        self.timeline.append((time.monotonic(), kind, seconds))

    @property
    def latencies(self) -> dict[str, list[float]]:
        """kind -> the seconds of its interactions."""
        out: dict[str, list[float]] = {}
        for _end, kind, seconds in self.timeline:
            out.setdefault(kind, []).append(seconds)
        return out


@dataclass
class LongJob:
    kind: str
    progress: list[tuple[float, int]] = field(default_factory=list)
    runs: int = 0  # fragment reruns completed
    error: str = ""


@dataclass
class QueueWait:
    """One starter's Start: what the page showed and how long it really waited."""

    who: str
    position: int  # 0: not queued (the run started at once)
    of: int
    estimate_s: float | None
    waited_s: float | None = None  # None: the run never started

    @property
    def ratio(self) -> float | None:
        if self.waited_s is None or not self.estimate_s:
            return None
        return self.waited_s / self.estimate_s


@dataclass
class Live:
    """The shared run (the lecturer's), its watchers and the queue, as the sessions saw them."""

    code: str = ""
    code_ready: asyncio.Event = field(default_factory=asyncio.Event)
    t_start: float | None = None  # the lecturer's Start
    progress: list[tuple[float, int]] = field(default_factory=list)  # (time, step) of the shared run
    shown_rates: list[tuple[float, float]] = field(default_factory=list)  # the page's steps/s
    metrics: list[tuple[float, list[dict[str, str]]]] = field(default_factory=list)  # model columns
    queue: list[QueueWait] = field(default_factory=list)
    watch_runs: dict[str, int] = field(default_factory=dict)  # watcher -> fragment runs it saw
    error: str = ""

    def metrics_at(self, seconds: float) -> tuple[float, list[dict[str, str]]] | None:
        """The metrics shown ``seconds`` after Start (the first reading from then; else the last)."""
        if self.t_start is None or not self.metrics:
            return None
        for t, cols in self.metrics:
            if t - self.t_start >= seconds:
                return t - self.t_start, cols
        t, cols = self.metrics[-1]
        return t - self.t_start, cols

    def first_shown(self, column: int, modes: str, share: float) -> float | None:
        """Seconds after Start of the first reading whose ``column`` showed ``modes`` covered
        ("8/8") and at least ``share`` high quality; None if none did."""
        if self.t_start is None:
            return None
        for t, cols in self.metrics:
            col = cols[column] if len(cols) > column else {}
            shown = col.get("High quality", "").rstrip("%")
            if col.get("Modes covered") == modes and shown and float(shown) / 100 >= share:
                return t - self.t_start
        return None


def first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200] if text else ''}"
