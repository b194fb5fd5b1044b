"""A room: ``python -m app.room`` (N app processes behind HAProxy, or ``--backends`` started
elsewhere) on a free loopback port, stopped by PID; and the HTTP probes the affinity tests send
through it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from harness import ROOT
from harness.server import free_port, server_env

ROOM_START_TIMEOUT_S = 300.0  # N processes importing torch and warming caches on 2 busy cores


class Room:
    """``python -m app.room --processes N`` with its output in ``workdir/room.log``: open once the
    room says so ("WAE Lab room: open http…"). ``hub``: ``--hub`` / ``--no-hub``, or None for the
    room's default (a hub with more than one local process). ``one_thread``: one torch thread per
    app process (``WAE_LAB_THREADS=1``, as :class:`~harness.server.StreamlitServer`)."""

    def __init__(self, workdir: Path, processes: int = 2, *, hub: bool | None = False,
                 backends: list[str] | None = None, one_thread: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"  # UI.open reads .url
        self.log_path = workdir / "room.log"
        self.logs = workdir / "logs"  # the hub's, app processes' and proxy's (app.room --logs)
        runs = workdir / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.killed = False  # stop() had to SIGKILL the room's process group
        where = ["--backends", ",".join(backends)] if backends else ["--processes", str(processes)]
        hub_flag = [] if hub is None else ["--hub" if hub else "--no-hub"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.room", *where, "--port", str(self.port), *hub_flag,
             "--logs", str(self.logs)],
            cwd=ROOT, env=server_env(runs, one_thread=one_thread), stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_open()
        except BaseException:
            self.stop()
            raise

    def _wait_open(self) -> None:
        deadline = time.monotonic() + ROOM_START_TIMEOUT_S
        while "WAE Lab room: open http" not in self.log():
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.room exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"app.room did not open in {ROOM_START_TIMEOUT_S:.0f} s:\n"
                                   f"{self.log()[-4000:]}")
            time.sleep(0.5)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def backends(self) -> dict[str, tuple[str, int | None]]:
        """{"s1": (url, pid), ...} from the room's "backend sN http://... (pid P, ...)" lines
        (pid None: a --backends server started elsewhere)."""
        found = re.findall(r"backend (s\d+) (http://\S+) \((?:pid (\d+)|remote)", self.log())
        return {name: (url, int(pid) if pid else None) for name, url, pid in found}

    def hub_pid(self) -> int | None:
        m = re.search(r"hub \S+ \(pid (\d+)\)", self.log())
        return int(m.group(1)) if m else None

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM the room (it stops HAProxy, the apps and the hub) and return its exit code;
        after ``timeout`` s SIGKILL to its process group (:attr:`killed`)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        self._log.close()
        return self.proc.returncode


def request(url: str, *, method: str = "GET", cookie: str = "", headers: dict | None = None,
            data: bytes | None = None) -> tuple[int, dict[str, str], str]:
    """(status, lower-cased headers, body) of one HTTP request; an error status is returned too."""
    req = urllib.request.Request(url, method=method, data=data,
                                 headers={**(headers or {}), **({"Cookie": cookie} if cookie else {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode(errors="replace")


def multipart(field: str, filename: str, data: bytes, content_type: str = "image/png") -> tuple[bytes, str]:
    """A multipart/form-data body with one file, as Streamlit's uploader sends it."""
    boundary = "wae-room-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n").encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"
