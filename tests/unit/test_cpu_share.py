"""How the room's processes share the CPU (wae_core.live.cpu_share, app.room.start): each in a
session of its own, weighted by the session's niceness. The hub's side (the room's run first,
every other run last while the room watches it) is in test_hub.py."""

from __future__ import annotations

import os
import subprocess

import pytest

from app import room
from harness.waiting import wait_for
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


def test_a_caller_in_the_kernels_default_group(monkeypatch):
    """A CI runner's tests run in the kernel's default group (their autogroup file is empty: no
    ancestor called setsid): a run's process with a session of its own is still weighted, one
    still in the caller's group is left alone, and nobody's niceness read fails."""
    if not cpu_share.autogroups():
        pytest.skip("no autogroups on this kernel")
    real = cpu_share._autogroup
    in_callers_group = set()  # the processes that read as the caller's (default) group
    monkeypatch.setattr(cpu_share, "_autogroup",
                        lambda pid: "" if pid == "self" or pid in in_callers_group else real(pid))
    apart = subprocess.Popen(["sleep", "30"], start_new_session=True)
    forked = subprocess.Popen(["sleep", "30"])
    in_callers_group.add(forked.pid)
    try:
        assert isinstance(niceness(os.getpid()), int) and isinstance(niceness(forked.pid), int)
        assert wait_for(lambda: cpu_share.set_share(apart.pid, 7), 5)
        assert niceness(apart.pid) == 7
        assert not cpu_share.set_share(forked.pid, 7)
    finally:
        for p in (apart, forked):
            p.kill()
            p.wait()
