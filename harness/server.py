"""An app server for the tests and the scripts: ``python -m app.serve`` on a free loopback port,
with the shipped checkpoints and a runs folder of its own, stopped by PID."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from harness import ROOT

START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health_latency(url: str, timeout: float = 5.0) -> float | None:
    """Seconds ``/_stcore/health`` took to answer 200, or None (no answer within ``timeout``)."""
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as r:
            r.read()
            return time.perf_counter() - t0 if r.status == 200 else None
    except OSError:
        return None


def server_env(runs_dir: Path, *, one_thread: bool = True) -> dict[str, str]:
    """The environment of an app server (or a room): this process's without its ``WAE_LAB_*``
    variables (the AppTest fixtures set some for the whole pytest session), the shipped
    ``checkpoints/`` and ``runs_dir`` (where "Train your own" writes, also listed as a checkpoint
    folder), unbuffered output; one torch thread per process with ``one_thread``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAE_LAB_")}
    if one_thread:
        env["WAE_LAB_THREADS"] = "1"
    env.update({
        "WAE_LAB_RUNS_DIR": str(runs_dir),
        "WAE_LAB_CHECKPOINT_DIRS": os.pathsep.join([str(ROOT / "checkpoints"), str(runs_dir)]),
        "PYTHONUNBUFFERED": "1",
    })
    return env


class StreamlitServer:
    """``python -m app.serve`` (``streamlit run`` with the cache warm-up, as ``make demo``) on
    127.0.0.1:<free port>; stopped by PID."""

    def __init__(self, workdir: Path, *, runs_dir: Path | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runs_dir = runs_dir or workdir / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"streamlit-{self.port}.log"
        env = server_env(self.runs_dir)
        env.update(extra_env or {})
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.serve",
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log_tail()}")
            if health_latency(self.url, timeout=2) is not None:
                return
            time.sleep(0.2)
        raise RuntimeError(f"streamlit did not answer /_stcore/health in {START_TIMEOUT_S:.0f} s:\n"
                           f"{self.log_tail()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_warm(self, timeout: float) -> None:
        """Until the server's log says its caches are warm (``app.serve``'s warm-up)."""
        deadline = time.monotonic() + timeout
        while "caches warm" not in self.log_tail(20000):
            if time.monotonic() > deadline:
                raise RuntimeError("no 'caches warm' line in the server log")
            time.sleep(0.1)

    def log_tail(self, n: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-n:]

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self._log.close()
