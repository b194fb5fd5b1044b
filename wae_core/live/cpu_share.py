"""How the room's processes share the CPU on Linux: the mechanism and its numbers in one place.

Linux's autogroup scheduling (on by default: ``/proc/sys/kernel/sched_autogroup_enabled``) shares
the CPU between *sessions*, equally whatever the niceness of their threads: a thread's niceness
only orders it against the threads of its own session. So every process that competes for the
CPU runs in a session of its own (the app processes: ``app.room``; a run's process:
:func:`own_session` as it starts) and each session gets a weight, its autogroup niceness
(``/proc/PID/autogroup``, 0-19; any value there needs no privilege, unlike a thread's niceness,
which can only be raised):

====================================================  ===========================
process                                               niceness (weight)
the room's run, once watched, while it trains         0 (1024)
the pages (``app.room --nice N``) and the run hub     N, default 0 (1024)
any other run                                         N: a page's peer
any other run, while the room's run trains            19 (15)
====================================================  ===========================

So the students' runs never slow the room's run, and the pages weigh what it does. Measured
under the room's load test (docs/speed.md, "A room under load"): the pages at 5 or 10 kept about
one core for the room's burst (their p95 3-5 s, watchers that saw no step for 30 s) and the
room's run 70-89 % of its solo speed; at 0, the pages' p95 1.6-2.1 s and the room's run 68-76 %.
The hub stays at 0 whatever N: it answers every watcher's poll.

Without autogroups (a kernel without them, or switched off) the CPU is shared by thread, and a
run's threads are only ever lowered (:func:`set_share` then raises their niceness). A process
whose ancestors never called ``setsid`` (under a container's init, as on a CI runner) sits in the
kernel's default group: its autogroup file is empty and its weight cannot be set, but the runs'
and the app processes' own sessions still can. Inside a CPU cgroup the kernel shares by cgroup
and these weights are set but do nothing.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

ROOM_RUN_NICE = 0
# the pages' niceness: app.room passes its --nice (its default APP_NICE is kept equal to this
# one's by a test: app.room does not import torch)
PAGES_NICE = int(os.environ.get("WAE_LAB_PAGES_NICE", "0"))
RUNS_NICE = PAGES_NICE
OTHER_RUNS_NICE = 19
_SWITCH = Path("/proc/sys/kernel/sched_autogroup_enabled")


def autogroups() -> bool:
    """Whether the kernel shares the CPU between sessions."""
    try:
        return _SWITCH.read_text().strip() == "1"
    except OSError:
        return False


def own_session() -> None:
    """Put this process in a session (an autogroup) of its own; called by a run's process as it
    starts, so that its weight can be set apart from the hub's."""
    with contextlib.suppress(OSError):  # already a session leader
        os.setsid()


def _autogroup(pid: int | str) -> str:
    """Process ``pid``'s autogroup as the kernel writes it (``/autogroup-12 nice 0``); empty
    without autogroups, for a process gone, or in the kernel's default group."""
    if not autogroups():
        return ""
    try:
        return Path(f"/proc/{pid}/autogroup").read_text().strip()
    except OSError:
        return ""


def set_share(pid: int, nice: int) -> bool:
    """Give process ``pid`` the niceness ``nice``: its autogroup's with autogroups (only once it
    has a session of its own: never the caller's), else its threads' (only ever raised). True
    when done; False to try again later (the kernel takes one autogroup change per 0.1 s)."""
    if autogroups():
        group = _autogroup(pid)
        if group == _autogroup("self"):
            return False  # still in the caller's session (or both in the default group): not yet apart
        try:
            Path(f"/proc/{pid}/autogroup").write_text(str(nice))
            return True
        except OSError:  # gone, or the kernel's rate limit (EAGAIN)
            return False
    task = f"/proc/{pid}/task"
    for tid in os.listdir(task) if os.path.isdir(task) else [pid]:
        with contextlib.suppress(OSError):  # gone, or not allowed (lowering needs privileges)
            os.setpriority(os.PRIO_PROCESS, int(tid), nice)
    return True


def niceness(pid: int) -> int:
    """The niceness :func:`set_share` sets: the autogroup's when it has one, else the process's."""
    group = _autogroup(pid)
    if group:
        return int(group.split()[-1])
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
