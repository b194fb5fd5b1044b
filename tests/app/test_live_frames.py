"""The live page's frame cache (app.live_frames): the curves of a run are drawn at most once per
their refresh interval for every session of the process, whatever moment each session's timer
fires (a room of watchers drew them once per frame: five times a second)."""

from __future__ import annotations

import time

from app.live_frames import Entry, FrameCache
from wae_core.live import GroupSnapshot


def _entry(version: int, running: bool = True) -> Entry:
    return Entry(version, GroupSnapshot([], version, running, 0.0, "", "ring"))


def test_the_curves_frame_changes_once_per_interval_while_the_run_trains():
    cache = FrameCache()
    first = cache.every("run", _entry(1), 0.3)
    assert cache.every("run", _entry(2), 0.3) is first  # another session, 0.1 s later
    assert cache.every("other run", _entry(2), 0.3).version == 2  # each run on its own
    time.sleep(0.35)
    assert cache.every("run", _entry(3), 0.3).version == 3
    assert cache.every("run", _entry(4), 0.3).version == 3


def test_a_run_that_stopped_shows_its_last_frame_at_once():
    cache = FrameCache()
    cache.every("run", _entry(1), 60)
    assert cache.every("run", _entry(2, running=False), 60).version == 2  # paused: the latest
    assert cache.every("run", _entry(1), 60).version == 2  # never an older frame than shown
