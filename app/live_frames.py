"""The live page's frames, drawn once per update for every session of this process.

A room watches one run: 30 sessions polling it twice a second must not draw 60 scatter PNGs a
second. The hub (:mod:`wae_core.live.hub`) takes one snapshot per update and numbers it; this
module keeps the latest snapshot of each run for the whole process and draws its images and
figures once per version, so every watcher here gets the very same bytes (and the browser's
``/media/`` URL stays the same between redraws of an unchanged frame).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from wae_core import live

MAX_RUNS = 64  # runs whose latest frame this process keeps


@dataclass
class Entry:
    version: int
    snapshot: live.GroupSnapshot
    drawn: dict[Any, Any] = field(default_factory=dict)  # (what, run index) -> PNG bytes / figure
    lock: threading.Lock = field(default_factory=threading.Lock)

    def once(self, key: Any, draw: Callable[[], Any]) -> Any:
        """``draw()`` the first time ``key`` is asked for in this version, the same object after."""
        with self.lock:
            if key not in self.drawn:
                self.drawn[key] = draw()
            return self.drawn[key]


class FrameCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def get(self, hub: Any, run_id: str, viewer: str) -> tuple[live.RunState, Entry]:
        """The run's state (the viewer's heartbeat too) and its latest frame."""
        with self._lock:
            have = self._entries[run_id].version if run_id in self._entries else -1
        frame = hub.frame(run_id, viewer, have)
        with self._lock:
            entry = self._entries.get(run_id)
            if frame.snapshot is not None and (entry is None or entry.version < frame.version):
                entry = self._entries[run_id] = Entry(frame.version, frame.snapshot)
            if entry is not None:
                self._entries.move_to_end(run_id)
            while len(self._entries) > MAX_RUNS:
                self._entries.popitem(last=False)
        if entry is None:  # dropped from this cache meanwhile: fetch the snapshot itself
            frame = hub.frame(run_id, viewer)
            entry = Entry(frame.version, frame.snapshot)
        return frame.state, entry


@st.cache_resource(show_spinner=False)
def frames() -> FrameCache:
    """The one frame cache of this server process."""
    return FrameCache()
