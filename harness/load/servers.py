"""The server under load: one app process (:class:`DirectServer`) or a room of N behind the proxy
(:class:`RoomServer`), each with the shipped checkpoints, runs in a temp folder and one torch
thread per process; and the tracebacks their logs hold afterwards."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from pathlib import Path

from harness import ARTIFACTS
from harness.procfs import app_ports, cmdline, role_of, running, tree_members
from harness.room import ROOM_START_TIMEOUT_S, Room
from harness.server import StreamlitServer, health_latency


class DirectServer:
    """One ``app.serve`` process, no proxy (``--processes 1``)."""

    def __init__(self, workdir: Path) -> None:
        t0 = time.perf_counter()
        self._server = StreamlitServer(workdir)
        self.url, self.root_pid, self.log_path = self._server.url, self._server.pid, self._server.log_path
        print(f"server: {self.url} (pid {self.root_pid}), healthy after {time.perf_counter() - t0:.1f} s",
              flush=True)

    def stop(self) -> list[str]:
        self._server.stop()
        return []


class RoomServer:
    """``python -m app.room --processes N`` (:class:`~harness.room.Room`): N app processes behind
    HAProxy (+ the run hub, when the checkout has one); ready when the proxy answers
    ``/_stcore/health`` and the room has N app processes (each healthy on its own port where its
    command line names it). Stopped by SIGTERM to the room, which stops the rest; anything left
    behind is reported and killed by PID."""

    def __init__(self, workdir: Path, processes: int) -> None:
        self.processes = processes
        t0 = time.perf_counter()
        self.room = Room(workdir, processes, hub=None, one_thread=True)
        self.url, self.root_pid, self.log_path = self.room.url, self.room.pid, self.room.log_path
        self.members: dict[int, str] = {}
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        roles = sorted(self.members.values())
        print(f"room: {self.url} (pid {self.root_pid}: {', '.join(roles)}), ready after "
              f"{time.perf_counter() - t0:.1f} s", flush=True)

    def _ready(self) -> bool:
        self.members = tree_members(self.root_pid)
        apps = [pid for pid, role in self.members.items() if role == "app"]
        if len(apps) < self.processes or health_latency(self.url, timeout=2) is None:
            return False
        return all(health_latency(f"http://127.0.0.1:{p}", timeout=2) is not None
                   for p in app_ports(self.members).values())

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + ROOM_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.room.proc.poll() is not None:
                raise RuntimeError(f"app.room exited with {self.room.proc.returncode}:\n"
                                   f"{self.room.log()[-4000:]}")
            if self._ready():
                if m := re.search(rf"https?://[\w.\-\[\]]+:{self.room.port}\b", self.room.log()):
                    self.url = m.group(0)  # the URL the room printed (its host name)
                return
            time.sleep(0.5)
        raise RuntimeError(f"app.room not ready in {ROOM_START_TIMEOUT_S:.0f} s (members: "
                           f"{sorted(self.members.values())}):\n{self.room.log()[-4000:]}")

    def keep_logs(self) -> None:
        """Copy the logs of the room's processes (its temp folder, "logs in DIR;" in its output,
        which it deletes when it stops) next to the room's log, for the traceback count."""
        m = re.search(r"logs in (\S+?);", self.room.log())
        if not m or not Path(m.group(1)).is_dir():
            return
        for log in Path(m.group(1)).glob("*.log"):
            with contextlib.suppress(OSError):
                (self.log_path.parent / f"room-{log.name}").write_bytes(log.read_bytes())

    def stop(self, timeout: float = 30.0) -> list[str]:
        """SIGTERM to the room; the problems: it did not stop, processes left behind."""
        known = {**self.members, **tree_members(self.root_pid)}
        problems = []
        self.keep_logs()
        self.room.stop(timeout)
        if self.room.killed:
            problems.append(f"app.room did not stop within {timeout:.0f} s of SIGTERM")
        time.sleep(1.0)
        for pid, role in known.items():
            # still there and still the same program (not a reused PID)
            if pid != self.root_pid and running(pid) and role_of(cmdline(pid)) == role:
                problems.append(f"app.room left its {role} process {pid} running after SIGTERM")
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        return problems


class ServerStartError(RuntimeError):
    """The server (or room) did not start: that process count is reported as failed."""


def start_server(workdir: Path, processes: int) -> DirectServer | RoomServer:
    try:
        return DirectServer(workdir) if processes == 1 else RoomServer(workdir, processes)
    except RuntimeError as e:
        raise ServerStartError(str(e)) from e


def server_tracebacks(log_paths: list[Path], processes: int) -> int:
    """Tracebacks in the server's (room's) logs; they are kept in test-artifacts/ when there are any."""
    n = 0
    for path in log_paths:
        log = path.read_text(errors="replace")
        if count := log.count("Traceback (most recent call last)"):
            n += count
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / f"load-test-p{processes}-{path.name}").write_text(log)
    return n
