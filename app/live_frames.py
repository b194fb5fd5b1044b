"""The live page's frames, drawn once per update for every session of this process.

A room watches one run: 30 sessions polling it twice a second must not draw 60 scatter PNGs a
second. The hub (:mod:`wae_core.live.hub`) takes one snapshot per update and numbers it; this
module keeps the latest snapshot of each run for the whole process and draws its images and
figures once per version, so every watcher here gets the very same bytes (and the browser's
image URL stays the same between redraws of an unchanged frame).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from app.i18n import N_, known_sentences, language, translate_sentence
from wae_core import live

MAX_RUNS = 64  # runs whose latest frame this process keeps

# What wae_core.live and the trainer tell users (a room's errors, a paused run's status, a
# diverged run, the process's training limit) is English there: the known sentences, with their
# numbers and names, in the session's language; anything else as it is (see translated).
_MESSAGES = known_sentences((
    N_("A room code has {n} letters and digits (like K7QX2M); check the code on the lecturer's screen."),
    N_("This run has ended (its page was left or it was replaced): start a new one."),
    N_("A model diverged: press Reset before starting again."),
    N_("The run {code} has ended: ask for the new code."),
    N_("No run has the code {code} on this server: check it, or ask the lecturer to press "
       "“Share this run” again."),
    N_("This training's place was given up after {s} s without a word from its page: press Start again."),
    N_("stopped at the limit of {n} steps: reset to train again"),
    N_("paused after {s} s without a viewer"),
    N_("{n} trainings already run here (at most {max} at a time)"),
    N_("loss is not finite at step {step} (epoch {epoch}): {losses}; training stopped and no "
       "checkpoint was written. Try a lower learning rate or lambda."),
    N_("loss is not finite at step {step} (epoch {epoch}): {losses}; training stopped and the "
       "last good checkpoint {path} was kept. Try a lower learning rate or lambda."),
    N_("{model} diverged: {error}"),
))


def translated(message: object) -> str:
    """A message of the live engine (``str(e)`` of a ``RoomError``, a snapshot's status, a run's
    error) in the session's language: a known sentence translated with its values kept (a
    diverged model's error translated in turn), anything else unchanged."""
    return translate_sentence(str(message), _MESSAGES,
                              lambda name, v: translated(v) if name == "error" else v)


@dataclass
class Entry:
    version: int
    snapshot: live.GroupSnapshot
    drawn: dict[Any, Any] = field(default_factory=dict)  # (what, run index) -> PNG bytes / figure
    lock: threading.Lock = field(default_factory=threading.Lock)

    def once(self, key: Any, draw: Callable[[], Any]) -> Any:
        """``draw()`` the first time ``key`` is asked for in this version and the session's
        language (a figure's titles and labels are in it), the same object after."""
        key = (key, language())
        with self.lock:
            if key not in self.drawn:
                self.drawn[key] = draw()
            return self.drawn[key]


class FrameCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._slow: dict[str, tuple[float, Entry]] = {}  # run -> (when, the frame its curves drew)

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

    def every(self, run_id: str, entry: Entry, seconds: float) -> Entry:
        """The frame a slower view (the curves, redrawn every ``seconds``) shows: ``entry`` at
        most once per ``seconds`` per run, else the frame it showed last, so that its figures are
        drawn once per ``seconds`` for all the sessions here, not once per frame (each session's
        timer fires at its own moment). A run that is not training gets its latest frame."""
        now = time.monotonic()
        with self._lock:
            held = self._slow.get(run_id)
            if held is not None and (held[1].version > entry.version
                                     or (now - held[0] < seconds and entry.snapshot.running)):
                return held[1]
            self._slow[run_id] = (now, entry)
            while len(self._slow) > MAX_RUNS:
                self._slow.pop(next(iter(self._slow)))
            return entry


@st.cache_resource(show_spinner=False)
def frames() -> FrameCache:
    """The one frame cache of this server process."""
    return FrameCache()
