"""Probes of the server under load, in a process of their own: RSS and CPU time of each of its
processes (and of the clients), ``/_stcore/health`` latency, the machine's available memory,
Streamlit's active sessions; CPU marks of the server, the browsers and this process."""

from __future__ import annotations

import contextlib
import os
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from harness.procfs import (
    app_ports,
    cpu_seconds,
    descendants,
    machine_cpu,
    mem_available_mb,
    rss_mb,
    tree_members,
)
from harness.server import health_latency


def streamlit_metrics(url: str, families: tuple[str, ...] = ("active_sessions",)) -> dict[str, float]:
    """Streamlit's ``/_stcore/metrics`` (OpenMetrics text) as {"name{labels}": value}."""
    query = "&".join(f"families={f}" for f in families)
    try:
        with urllib.request.urlopen(f"{url}/_stcore/metrics?{query}", timeout=10) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                out[name] = float(value)
    return out


def active_sessions(url: str, ports: dict[int, int]) -> float | None:
    """Streamlit sessions of every app process (asked on its own port), else of whichever process
    answers ``url``."""
    urls = [f"http://127.0.0.1:{p}" for p in ports.values()] or [url]
    counts = [streamlit_metrics(u).get("active_sessions") for u in urls]
    counts = [c for c in counts if c is not None]
    return sum(counts) if counts else None


def _sample_loop(url: str, root: int | None, period: float, halt, out) -> None:  # noqa: ANN001
    """The sampler process: its own GIL and event loop, so the client work in the main process
    does not delay the probes."""
    data: dict[str, Any] = {"rss": [], "cpu": [], "roles": {}, "health": [], "health_failures": 0,
                            "mem_avail": [], "sessions": []}
    client = os.getppid()  # the load test's protocol clients
    members: dict[int, str] = {}
    ports: dict[int, int] = {}
    last_tree = last_metrics = 0.0
    while not halt.is_set():
        t = time.monotonic()
        if root is not None and t - last_tree >= 2.0:  # app processes may come and go
            last_tree = t
            members = tree_members(root)
            data["roles"].update(members)
            ports = app_ports(members)
        if members:
            data["rss"].append((t, {pid: r for pid in members if (r := rss_mb(pid)) is not None}))
            data["cpu"].append((t, {**{pid: cpu_seconds(pid) for pid in members}, 0: cpu_seconds(client)}))
        h = health_latency(url)
        if h is None:
            data["health_failures"] += 1
        else:
            data["health"].append(h)
        if (m := mem_available_mb()) is not None:
            data["mem_avail"].append(m)
        if t - last_metrics >= 2.0:
            last_metrics = t
            if (n := active_sessions(url, ports)) is not None:
                data["sessions"].append(n)
        halt.wait(max(0.0, period - (time.monotonic() - t)))
    out.put(data)


@dataclass
class CpuMark:
    t: float
    procs: dict[int, float]  # CPU seconds of each process of the server / room
    clients: float  # chromium and its driver
    me: float  # this script: the protocol clients
    busy: float  # machine jiffies
    total: float


class Sampler:
    """Every ``period`` s, in a separate process: RSS and CPU time of every process of the server
    (or room) and of the protocol clients, ``/_stcore/health`` latency (a failure = no answer
    within 5 s), machine MemAvailable; every 2 s the number of active Streamlit sessions.
    :meth:`cpu_mark` reads CPU times (the server's processes, browser, this script)."""

    def __init__(self, url: str, root: int | None, period: float = 0.5) -> None:
        import multiprocessing as mp

        self.url, self.root = url, root
        ctx = mp.get_context("spawn")
        self._halt, self._out = ctx.Event(), ctx.Queue()
        self._proc = ctx.Process(target=_sample_loop, args=(url, root, period, self._halt, self._out),
                                 daemon=True)
        self.rss: list[tuple[float, dict[int, float]]] = []
        self.cpu: list[tuple[float, dict[int, float]]] = []  # CPU seconds so far; pid 0: the clients
        self.roles: dict[int, str] = {}
        self.health: list[float] = []
        self.health_failures = 0
        self.mem_avail: list[float] = []
        self.sessions: list[float] = []
        self.client_cpu: dict[int, float] = {}  # last CPU seconds of each browser process

    def start(self) -> None:
        self._proc.start()

    def stop(self) -> None:
        if not self._proc.is_alive():
            return
        self._halt.set()
        try:
            data = self._out.get(timeout=30)
        except Exception:  # noqa: BLE001 - no figures rather than a hang
            data = {}
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()
        self.rss = data.get("rss", [])
        self.cpu = data.get("cpu", [])
        self.roles = data.get("roles", {})
        self.health = data.get("health", [])
        self.health_failures = data.get("health_failures", 0)
        self.mem_avail = data.get("mem_avail", [])
        self.sessions = data.get("sessions", [])

    def now_rss(self) -> dict[int, float]:
        return {pid: r for pid in tree_members(self.root) if (r := rss_mb(pid)) is not None}

    def cpu_mark(self) -> CpuMark:
        me = os.getpid()
        members = tree_members(self.root)
        # this script's children: chromium and its driver; not the sampler, not the server / room
        skip = {self._proc.pid, *members}
        for c in descendants(me):
            if c not in skip:
                self.client_cpu[c] = max(self.client_cpu.get(c, 0.0), cpu_seconds(c))
        return CpuMark(time.monotonic(), {pid: cpu_seconds(pid) for pid in members},
                       sum(self.client_cpu.values()), cpu_seconds(me), *machine_cpu())
