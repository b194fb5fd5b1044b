"""Memory and CPU of processes, read from ``/proc`` (Linux): a process's resident memory and CPU
time, its command line and role in the app (app, hub, proxy, room), the processes below it, the
machine's CPU and available memory."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def role_of(argv: list[str]) -> str:
    """What a process of the app is, from its command line: app, hub, proxy, room or other."""
    joined = " ".join(argv)
    name = os.path.basename(argv[0]) if argv else ""
    if "wae_core.live.hub" in joined:
        return "hub"
    if "app.room" in joined:
        return "room"
    if "app.serve" in joined or "streamlit_app.py" in joined or any(
            os.path.basename(a) == "streamlit" for a in argv[:2]):
        return "app"
    if name.startswith("haproxy"):
        return "proxy"
    return "other"


def app_port(argv: list[str]) -> int | None:
    """The ``--server.port`` of a Streamlit command line (None when not given there)."""
    for i, a in enumerate(argv):
        with contextlib.suppress(ValueError, IndexError):
            if a == "--server.port":
                return int(argv[i + 1])
            if a.startswith("--server.port="):
                return int(a.split("=", 1)[1])
    return None


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def stat_fields(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` after the command's name (which may hold spaces and parentheses):
    field 3 of proc(5), the state, is ``[0]``. Raises OSError for a process gone."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (0 when it is gone)."""
    try:
        fields = stat_fields(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def minor_faults(pid: int) -> int:
    """Minor page faults of one process so far (pages the kernel had to map in)."""
    return int(stat_fields(pid)[7])


def running(pid: int) -> bool:
    """The process exists and has not exited (a zombie has: it only waits to be reaped, which
    takes the machine's init a moment for the orphans of a stopped room)."""
    try:
        return stat_fields(pid)[0] != "Z"
    except (OSError, IndexError):
        return False


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        return [a for a in raw.split("\0") if a]
    except OSError:
        return []


def descendants(root: int) -> list[int]:
    """PIDs of every process below ``root`` (the app processes of a room; chromium for this script)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int(stat_fields(int(d.name))[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def tree_members(root: int | None) -> dict[int, str]:
    """pid -> role of the server (or room) process and every process below it."""
    if root is None or not Path(f"/proc/{root}").exists():
        return {}
    return {pid: role_of(cmdline(pid)) for pid in [root, *descendants(root)]}


def app_ports(members: dict[int, str]) -> dict[int, int]:
    """pid -> port of the app processes whose command line names it."""
    out = {}
    for pid, role in members.items():
        if role == "app" and (port := app_port(cmdline(pid))) is not None:
            out[pid] = port
    return out


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine (/proc/stat)."""
    v = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return float(sum(v) - idle), float(sum(v))


def mem_available_mb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
