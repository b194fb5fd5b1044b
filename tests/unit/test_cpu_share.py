"""How the room's processes share the CPU (wae_core.live.cpu_share, app.room.start): each in a
session of its own, weighted by the session's niceness. The hub's side (the room's run first,
every other run last while the room watches it) is in test_hub.py."""

from __future__ import annotations

import os
import subprocess

from app import room
from wae_core.live import cpu_share
from wae_core.live.cpu_share import niceness


def test_the_pages_niceness_is_one_number():
    """app.room does not import wae_core (torch): its copy is kept equal here."""
    assert room.APP_NICE == cpu_share.PAGES_NICE == cpu_share.RUNS_NICE
    assert cpu_share.ROOM_RUN_NICE <= cpu_share.PAGES_NICE < cpu_share.OTHER_RUNS_NICE


def test_a_room_process_gets_a_weighted_session_of_its_own():
    mine = niceness(os.getpid())
    proc = room.start(["sleep", "30"], dict(os.environ), None, nice=7)
    try:
        assert os.getsid(proc.pid) == proc.pid != os.getsid(0)
        assert niceness(proc.pid) == 7
        assert niceness(os.getpid()) == mine  # this session's weight is untouched
    finally:
        proc.kill()
        proc.wait()


def test_set_share_never_changes_the_callers_session():
    """A run's process that has no session of its own yet (just forked) shares the caller's
    autogroup: setting it then would weigh the caller (the hub) instead."""
    mine = niceness(os.getpid())
    child = subprocess.Popen(["sleep", "30"])  # the caller's session
    try:
        if cpu_share.autogroups():
            assert not cpu_share.set_share(child.pid, (mine + 5) % 20)
            assert niceness(os.getpid()) == mine
    finally:
        child.kill()
        child.wait()
