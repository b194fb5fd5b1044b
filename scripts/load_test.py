"""Load test of the WAE Lab app: concurrent sessions on one server, or on N app processes behind
the reverse proxy (``app.room``), plus a long job or the seminar's shared live run.

    .venv/bin/python scripts/load_test.py [--sessions 20] [--scenario auto|classic|seminar]
        [--stagger 0.5 | --burst SECONDS] [--processes 1 | --processes N | --processes 1,N]
        [--live-sessions 10] [--live-starters 3] [--watch-seconds 30] [--job-lead S]
        [--browser-users 1] [--rounds 1] [--long-job toy|train|none] [--timeout 120]
        [--max-seconds S] [--rss-limit-mb 2560] [--url http://127.0.0.1:8501 --pid PID]

The seminar (issue "60 students on one 2-core host"), one process and then three behind the proxy:

    .venv/bin/python scripts/load_test.py --sessions 60 --burst 15 --processes 1,3

Servers. ``--processes 1`` starts ``python -m app.serve`` (as ``make demo``) on a free 127.0.0.1
port, no proxy; ``--processes N`` (N > 1) starts ``python -m app.room --processes N --port P``:
N ``app.serve`` processes behind HAProxy (cookie affinity: HAProxy inserts the ``WAELAB`` cookie)
and a run hub (``wae_core.live.hub``). ``--processes 1,3`` runs the whole test once per count, a
fresh server each time, and compares them. Every server gets the shipped ``checkpoints/``, runs in
a temp folder and ``WAE_LAB_THREADS=1``. ``--url`` (with ``--pid``: the server's or the room's PID)
tests a running app instead. The processes probed are the server / room and its children
(recursively), by role: app, hub, proxy.

Clients. A session is what one browser tab gets: its own websocket to ``/_stcore/stream``. Most
users are protocol-level clients that speak the browser's protocol (protobuf ``BackMsg`` /
``ForwardMsg`` over the websocket, uploads over HTTP with the XSRF cookie, the ``/media/`` images
fetched like a browser does, auto-rerun fragments rerun on their timers). Like a browser they keep
every cookie of their first HTTP answers (``WAELAB``, ``_streamlit_xsrf``) and send them with the
websocket, ``/media/`` and upload requests: behind the proxy a request without ``WAELAB`` lands on
another process, which knows neither the session nor its files. On a 2-core machine 20 real
chromium tabs saturate both cores on their own (measured: chromium took ≈ 1.7 of 2 cores, the
server 0.3; 18 of 20 tabs never showed the samples page within 120 s), so they would measure the
client, not the app. ``--browser-users`` of the users (default 1 in the classic scenario, 0 in the
seminar) are real headless Debian chromium tabs (``/usr/bin/chromium``; never ``playwright
install``) that run the classic scenario, so rendering is checked under the load too.

Arrivals: ``--stagger`` s apart, or spread evenly over ``--burst`` s (60 sessions in 15 s).

Classic scenario (``--scenario classic``, the default below 30 sessions), ``--rounds`` times:

1. open ``/samples`` (4 models, 8×8 grids); press **Resample** (next seed: new samples);
2. go to **Reconstructions** (same session) and upload a PNG digit; wait for its reconstructions;
3. go to **Latent space** (PCA of the page's default 1,000 codes + 1,000 prior draws per model).

Meanwhile one more session runs a long job, started ``--job-lead`` s before the users: the live
toy training (``toy``: Start, then the page's fragments rerun on their timers like a browser's) or
a background MNIST training (``train``, all 60,000 images).

Seminar scenario (``--scenario seminar``, the default from 30 sessions): every session visits every
page once, in order: The idea (the root URL), Samples (+ Resample), Reconstructions (+ a PNG
upload), Latent space, Interpolation, Latent explorer (+ three offset sliders moved: fragment
reruns), Mode collapse, Results. ``--live-sessions`` of the sessions (default 10) also use the live
page ``/toy-lab``: session 0 is the lecturer, who arrives first, presses Start, then **Share this
run**, reads the room code and keeps the page open (its timers running) to the end; the solo
``--job-lead`` s (default 20) measure the shared run with no watchers. The other live sessions are
watchers spread over the arrivals: they open ``/toy-lab?room=CODE`` and watch ``--watch-seconds``
(their fragments rerun on their timers), then tour the pages; ``--live-starters`` of them (default
3) press Start on the page first, wait in the queue (the page's "Queued: position … · training
starts in about N s") until their own run starts by itself, watch it 10 s and press Pause. After
the last session the lecturer's run goes on ``--after-seconds`` s alone.

Before the load, one user runs the scenario alone twice (cold caches, then warm): the models load
once per process, into ``st.cache_resource``, for every later session of that process.

Measured: the latency of every interaction (protocol clients: request sent -> script run finished
and its images fetched; browser: action -> content shown and nothing "Running…"), p50 / p95 / max;
errors (exception elements / boxes, error alerts, failed runs, timeouts, server tracebacks);
refusals (a warning or error that says "already training", "try again" or "refused"); queue waits
against the estimate the page showed; the shared run's steps/s before the burst, during the load
and after it, its WAE "Modes covered" / "High quality" 60 s after Start; the resident memory of
every process (``/proc/<pid>/status`` VmRSS every 0.5 s: idle start, after warm-up, peak, end);
``/_stcore/health`` latency (the event loop stays responsive); CPU use per process, of the
clients and of the rest of the machine; Streamlit's ``/_stcore/metrics`` (active sessions; its
caches, one per process). Last, a markdown table (one column per process count, the command line
above it) to paste into the README.

Exit status 1 when anything failed (an error, a refusal, a queued run that never started, a
watcher that saw no progress) or an app process's peak RSS is above ``--rss-limit-mb``. Bounded:
at most 80 sessions, ``--timeout`` s per interaction and ``--max-seconds`` for the load phase.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The server and browser helpers of the browser tests: one copy of how the app is started.
from tests.e2e.support import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    StreamlitServer,
    digit_png,
    free_port,
    health_latency,
)

MAX_SESSIONS = 80
MAX_PROCESSES = 8
SEMINAR_FROM = 30  # --scenario auto: the seminar from this many sessions on
# Measured on the 2-core, 24 GiB box: server RSS ≈ 0.85-1.0 GB after the warm-up (torch, streamlit,
# the shipped models, the MNIST test set), peak ≈ 1.05 GB with 20 sessions (+1-8 MB per session)
# and the toy job; a `train` job adds ≈ 0.35 GB (the MNIST training set). 2.5 GB leaves room for
# that and a noisy run, and still catches a per-session leak (models or arrays copied per session).
# With --processes N it applies to each app process (each holds its own models and caches).
DEFAULT_RSS_LIMIT_MB = 2560
# N app processes import torch at once on 2 cores: much slower than one server's start.
ROOM_START_TIMEOUT_S = 300.0
BUSY = ("[data-testid='stStatusWidget'], [data-testid='stSkeleton'], [data-testid='stSpinner'], "
        "[data-testid='stMain'] [data-stale='true']")
SAMPLES, RECON, LATENT = "samples", "reconstructions", "latent"
TOY = "toy-lab"
AFFINITY_COOKIE = "WAELAB"  # inserted by the room's HAProxy: which app process owns the session
EXPLORE_MOVES = (0.5, -1.0, 1.5)  # offsets the seminar sets on the explorer's first sliders
OWN_RUN_S = 10.0  # how long a starter watches its own run before it presses Pause
WAE_METRICS_AT_S = 60.0  # the shared run's WAE scores are reported this long after Start
HTTP_THREADS = 64  # urllib calls (media, uploads) run in threads: the default pool has 6 on 2 cores


# --- what the pages say (pure functions; tests/unit/test_load_test.py) ---------------------------
# The live page's contract: "**Step 1,234** · 55 steps/s per model" (the rate only while it runs).
RESEND_S = 5.0  # a page timer's run unanswered this long is asked for again (see WsSession._send_due)
STEP_RE = re.compile(r"\*\*Step ([\d,]+)\*\*(?:\s*·\s*([\d,]+(?:\.\d+)?) steps/s per model)?")
ROOM_LINK_RE = re.compile(r"room=([A-Z2-9]{6})(?![A-Za-z0-9])")
ROOM_TEXT_RE = re.compile(r"Room code\W*([A-Z2-9]{6})(?![A-Za-z0-9])")
# "Queued: position 2 of 3 · training starts in about 45 s" (a minute estimate is read too)
QUEUE_RE = re.compile(r"Queued: position (\d+) of (\d+)"
                      r"(?:\s*·\s*training starts in about ([\d,]+(?:\.\d+)?)\s*(s|sec|min)\b)?")
REFUSAL_RE = re.compile(r"already training|try again|refused", re.IGNORECASE)


def parse_step(text: str) -> tuple[int, float | None] | None:
    """(step, shown steps/s per model or None) of the live page's step line, else None."""
    m = STEP_RE.search(text)
    if not m:
        return None
    rate = float(m.group(2).replace(",", "")) if m.group(2) else None
    return int(m.group(1).replace(",", "")), rate


def parse_room_code(texts: Iterable[str]) -> str | None:
    """The room code the page shows after Share: the ``room=CODE`` link of the element that says
    "Room code" (else of any element, when some element says it), else a code printed after
    "Room code"."""
    texts = list(texts)
    said = [t for t in texts if "Room code" in t]
    for t in said + (texts if said else []):
        if m := ROOM_LINK_RE.search(t):
            return m.group(1)
    for t in said:
        if m := ROOM_TEXT_RE.search(t):
            return m.group(1)
    return None


@dataclass(frozen=True)
class QueueInfo:
    position: int
    of: int
    estimate_s: float | None  # "training starts in about …", None when the page gave none


def parse_queue(text: str) -> QueueInfo | None:
    m = QUEUE_RE.search(text)
    if not m:
        return None
    est = None
    if m.group(3):
        est = float(m.group(3).replace(",", "")) * (60.0 if m.group(4) == "min" else 1.0)
    return QueueInfo(int(m.group(1)), int(m.group(2)), est)


def plain(text: str) -> str:
    """Markdown text without its emphasis marks: "Watching run **K7QX2M**" -> "Watching run K7QX2M"."""
    return re.sub(r"[*`]+", "", text)


def is_refusal(text: str) -> bool:
    return bool(REFUSAL_RE.search(text))


def metric_columns(metrics: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """(label, value) of the page's metrics, in page order, grouped into the model columns: a
    label seen again starts the next column (GAN first, then WAE)."""
    cols: list[dict[str, str]] = []
    for label, value in metrics:
        if not cols or label in cols[-1]:
            cols.append({})
        cols[-1][label] = value
    return cols


def parse_set_cookies(headers: Iterable[str]) -> dict[str, str]:
    """name -> value of ``Set-Cookie`` headers (attributes dropped, quotes stripped)."""
    out = {}
    for h in headers:
        name, sep, value = h.split(";", 1)[0].partition("=")
        if sep and name.strip():
            out[name.strip()] = value.strip().strip('"')
    return out


def arrival_offsets(n: int, stagger: float, burst: float | None) -> list[float]:
    """Seconds after the load starts at which each of ``n`` sessions arrives: ``stagger`` apart,
    or spread evenly over ``burst`` s (the first at 0, the last one interval before its end)."""
    if burst is not None:
        return [i * burst / n for i in range(n)]
    return [i * stagger for i in range(n)]


def live_roles(n: int, live: int, starters: int) -> list[str]:
    """The role of each session: "lecturer" (session 0, with any live session), "watcher" /
    "starter" (a watcher that also presses Start) spread evenly over the later arrivals, else
    "student" (the page tour only)."""
    roles = ["student"] * n
    if live <= 0 or n <= 0:
        return roles
    roles[0] = "lecturer"
    k = min(live, n) - 1  # watchers
    watchers = [1 + j * (n - 1) // k for j in range(k)] if k else []
    s = min(max(starters, 0), k)
    starter_js = {m * k // s for m in range(s)}
    for j, i in enumerate(watchers):
        roles[i] = "starter" if j in starter_js else "watcher"
    return roles


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


def phase_rate(progress: list[tuple[float, int]], t0: float, t1: float) -> float | None:
    """Steps per second between ``t0`` and ``t1`` from (time, step) readings; after a reset (the
    step went down) only the part after it counts. None with fewer than two readings."""
    pts = [(t, s) for t, s in progress if t0 <= t <= t1]
    for i in range(len(pts) - 1, 0, -1):
        if pts[i][1] < pts[i - 1][1]:
            pts = pts[i:]
            break
    if len(pts) < 2 or pts[-1][0] <= pts[0][0]:
        return None
    return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, -(-len(s) * q // 100) - 1))] if s else float("nan")


# --- process probes ------------------------------------------------------------------------------
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


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
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
    data: dict[str, Any] = {"rss": [], "roles": {}, "health": [], "health_failures": 0, "mem_avail": [],
                            "sessions": []}
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
    """Every ``period`` s, in a separate process: RSS of every process of the server (or room),
    ``/_stcore/health`` latency (a failure = no answer within 5 s), machine MemAvailable; every
    2 s the number of active Streamlit sessions. :meth:`cpu_mark` reads CPU times (the server's
    processes, browser, this script)."""

    def __init__(self, url: str, root: int | None, period: float = 0.5) -> None:
        import multiprocessing as mp

        self.url, self.root = url, root
        ctx = mp.get_context("spawn")
        self._halt, self._out = ctx.Event(), ctx.Queue()
        self._proc = ctx.Process(target=_sample_loop, args=(url, root, period, self._halt, self._out),
                                 daemon=True)
        self.rss: list[tuple[float, dict[int, float]]] = []
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


# --- servers -------------------------------------------------------------------------------------
def server_env(runs_dir: Path) -> dict[str, str]:
    """What ``tests.e2e.support.StreamlitServer`` gives its server: shipped checkpoints, runs in a
    temp folder, one torch thread."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAE_LAB_")}
    env.update({
        "WAE_LAB_THREADS": "1",
        "WAE_LAB_RUNS_DIR": str(runs_dir),
        "WAE_LAB_CHECKPOINT_DIRS": os.pathsep.join([str(ROOT / "checkpoints"), str(runs_dir)]),
        "PYTHONUNBUFFERED": "1",
    })
    return env


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


class Room:
    """``python -m app.room --processes N --port P``: N app processes behind HAProxy (+ the run
    hub, when the checkout has one); ready when the proxy answers ``/_stcore/health`` and the room
    has N app processes (each healthy on its own port where its command line names it). Stopped
    by SIGTERM to the room, which stops the rest; anything left behind is reported and killed by
    PID."""

    def __init__(self, workdir: Path, processes: int) -> None:
        self.processes = processes
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        runs = workdir / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"room-{self.port}.log"
        self._log = self.log_path.open("wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.room", "--processes", str(processes), "--port", str(self.port)],
            cwd=ROOT, env=server_env(runs), stdout=self._log, stderr=subprocess.STDOUT)
        self.root_pid = self.proc.pid
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
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.room exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self._ready():
                if m := re.search(rf"https?://[\w.\-\[\]]+:{self.port}\b", self.log_path.read_text(
                        errors="replace")):
                    self.url = m.group(0)  # the URL the room printed (its host name)
                return
            time.sleep(0.5)
        raise RuntimeError(f"app.room not ready in {ROOM_START_TIMEOUT_S:.0f} s (members: "
                           f"{sorted(self.members.values())}):\n{self.log_tail()}")

    def log_tail(self, n: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-n:]

    def keep_logs(self) -> None:
        """Copy the logs of the room's processes (its temp folder, "logs in DIR;" in its output,
        which it deletes when it stops) next to the room's log, for the traceback count."""
        m = re.search(r"logs in (\S+?);", self.log_path.read_text(errors="replace"))
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
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                problems.append(f"app.room did not stop within {timeout:.0f} s of SIGTERM")
                self.proc.kill()
                self.proc.wait(timeout)
        time.sleep(1.0)
        for pid, role in known.items():
            # still there and still the same program (not a reused PID)
            if pid != self.root_pid and role_of(cmdline(pid)) == role:
                problems.append(f"app.room left its {role} process {pid} running after SIGTERM")
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        self._log.close()
        return problems


class ServerStartError(RuntimeError):
    """The server (or room) did not start: that process count is reported as failed."""


def start_server(workdir: Path, processes: int) -> DirectServer | Room:
    try:
        return DirectServer(workdir) if processes == 1 else Room(workdir, processes)
    except RuntimeError as e:
        raise ServerStartError(str(e)) from e


# --- results -------------------------------------------------------------------------------------
@dataclass
class Record:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    done_sessions: int = 0
    connected: int = 0  # protocol sessions that opened their websocket
    pinned: int = 0  # of those, sessions that got the proxy's affinity cookie (WAELAB)
    media_fetched: int = 0  # images fetched while a page's timers ran (browse)
    media_missed: int = 0  # of those, gone (404) or failed

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)


@dataclass
class LongJob:
    kind: str
    progress: list[tuple[float, int]] = field(default_factory=list)
    runs: int = 0  # fragment reruns completed
    error: str = ""


@dataclass
class QueueWait:
    """One starter's Start: what the page showed and how long it really waited."""

    who: str
    position: int  # 0: not queued (the run started at once)
    of: int
    estimate_s: float | None
    waited_s: float | None = None  # None: the run never started

    @property
    def ratio(self) -> float | None:
        if self.waited_s is None or not self.estimate_s:
            return None
        return self.waited_s / self.estimate_s


@dataclass
class Live:
    """The shared run (the lecturer's), its watchers and the queue, as the sessions saw them."""

    code: str = ""
    code_ready: asyncio.Event = field(default_factory=asyncio.Event)
    t_start: float | None = None  # the lecturer's Start
    progress: list[tuple[float, int]] = field(default_factory=list)  # (time, step) of the shared run
    shown_rates: list[tuple[float, float]] = field(default_factory=list)  # the page's steps/s
    metrics: list[tuple[float, list[dict[str, str]]]] = field(default_factory=list)  # model columns
    queue: list[QueueWait] = field(default_factory=list)
    watch_runs: dict[str, int] = field(default_factory=dict)  # watcher -> fragment runs it saw
    error: str = ""

    def metrics_at(self, seconds: float) -> tuple[float, list[dict[str, str]]] | None:
        """The metrics shown ``seconds`` after Start (the first reading from then; else the last)."""
        if self.t_start is None or not self.metrics:
            return None
        for t, cols in self.metrics:
            if t - self.t_start >= seconds:
                return t - self.t_start, cols
        t, cols = self.metrics[-1]
        return t - self.t_start, cols


def first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200] if text else ''}"


# --- protocol-level client -----------------------------------------------------------------------
@dataclass
class RunResult:
    """What one script run sent: its elements (kind, proto), where they go (delta path), which
    fragment drew them, and how the run finished."""

    elements: list[tuple[str, Any]] = field(default_factory=list)
    paths: list[tuple[int, ...]] = field(default_factory=list)
    fragments: list[str] = field(default_factory=list)  # the fragment id of each element ("": none)
    status: int = -1
    first_element_at: float | None = None  # time.perf_counter() when the first element arrived

    def append(self, msg: Any) -> None:  # noqa: ANN401 - a ForwardMsg with a new_element delta
        kind = msg.delta.new_element.WhichOneof("type")
        if self.first_element_at is None:
            self.first_element_at = time.perf_counter()
        self.elements.append((kind, getattr(msg.delta.new_element, kind)))
        self.paths.append(tuple(msg.metadata.delta_path))
        self.fragments.append(msg.delta.fragment_id)

    def widget_id(self, key: str) -> str | None:
        for _, el in self.elements:
            wid = getattr(el, "id", "")
            if isinstance(wid, str) and wid.endswith(f"-{key}"):
                return wid
        return None

    def fragment_of(self, widget_id: str) -> str:
        """The fragment that drew this widget ("" outside any): its changes rerun that fragment."""
        for (_, el), frag in zip(self.elements, self.fragments):
            if getattr(el, "id", "") == widget_id:
                return frag
        return ""

    def has(self, key: str) -> bool:
        return self.widget_id(key) is not None

    def markdown(self) -> list[str]:
        return [el.body for kind, el in self.elements if kind == "markdown"]

    def alerts(self) -> list[tuple[int, str]]:
        """(Alert.format, body) of every st.error / warning / info / success."""
        return [(el.format, el.body) for kind, el in self.elements if kind == "alert"]

    def texts(self) -> list[str]:
        """Every text a reader sees: markdown (captions too), alerts, progress bars, metrics."""
        out = []
        for kind, el in self.elements:
            if kind in ("markdown", "alert", "text"):
                out.append(el.body)
            elif kind == "progress":
                out.append(el.text)
            elif kind == "metric":
                out.append(f"{el.label}: {el.body}")
        return out

    def metrics(self) -> list[tuple[str, str]]:
        return [(el.label, el.body) for kind, el in self.elements if kind == "metric"]

    def media(self) -> list[str]:
        return [img.url for kind, el in self.elements if kind == "imgs" for img in el.imgs
                if img.url.startswith("/media/")]

    def refusals(self) -> list[str]:
        """Warnings / errors that turn the user away ("already training", "try again", "refused")."""
        from streamlit.proto.Alert_pb2 import Alert

        return [body[:200] for fmt, body in self.alerts()
                if fmt in (Alert.ERROR, Alert.WARNING) and is_refusal(body)]

    def problems(self) -> list[str]:
        """Exceptions, error boxes (refusals are counted apart) and a failed run."""
        from streamlit.proto.Alert_pb2 import Alert

        out = [f"exception: {el.type}: {el.message[:200]}" for kind, el in self.elements
               if kind == "exception"]
        out += [f"error box: {body[:200]}" for fmt, body in self.alerts()
                if fmt == Alert.ERROR and not is_refusal(body)]
        if self.status == 1:
            out.append("script finished with a compile error")
        return out


def run_fragments(msg: Any) -> list[str]:  # noqa: ANN401 - a script_finished ForwardMsg
    """The fragments a finished run ran ([] for a full run, or when the server did not say)."""
    return list(msg.metadata.run.fragment_ids) if msg.HasField("metadata") else []


class WsSession:
    """One app session over Streamlit's websocket protocol, like a browser tab without a renderer.

    It keeps the cookies of its HTTP answers and sends them with every request, as a browser does:
    the proxy's ``WAELAB`` cookie pins the tab to one app process, the ``_streamlit_xsrf`` cookie
    authorises uploads. :attr:`page` is what the tab shows (delta path -> element): a full run
    replaces it, a fragment run only its own elements."""

    def __init__(self, base_url: str, timeout: float, name: str = "") -> None:
        self.base, self.timeout, self.name = base_url, timeout, name
        self.host = base_url.split("://", 1)[1]
        self.session_id = ""
        self.page_hashes: dict[str, str] = {}  # url path -> page script hash
        self.current_page = ""
        self.auto_reruns: dict[str, float] = {}  # fragment id -> interval (s)
        self.cookies: dict[str, str] = {}
        self.xsrf = ""
        self.widgets: dict[str, Any] = {}  # widget id -> WidgetState: what the browser would send
        self.page: dict[tuple[int, ...], tuple[str, Any, str]] = {}  # path -> (kind, element, fragment)
        self.last_full: RunResult | None = None  # the last full script run
        self._queue: asyncio.Queue = asyncio.Queue()
        self._file_urls: dict[str, asyncio.Future] = {}
        self._ws = None
        self._reader: asyncio.Task | None = None

    # HTTP, with the cookies a browser would send
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _http(self, path: str, *, data: bytes | None = None, method: str = "GET",
              headers: dict[str, str] | None = None) -> bytes:
        url = path if path.startswith("http") else f"{self.base}{path}"
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=self.timeout) as r:
            self.cookies.update(parse_set_cookies(r.headers.get_all("Set-Cookie") or []))
            return r.read()

    async def open(self) -> None:
        import websockets

        await asyncio.to_thread(self._page_load)
        self.xsrf = self.cookies.get("_streamlit_xsrf", "")
        self._ws = await websockets.connect(
            f"ws://{self.host}/_stcore/stream", subprotocols=["streamlit", self.xsrf] if self.xsrf
            else ["streamlit"], origin=self.base,
            additional_headers={"Cookie": self.cookie_header()} if self.cookies else None,
            max_size=None, open_timeout=self.timeout, ping_interval=None)
        self._reader = asyncio.create_task(self._read())

    def _page_load(self) -> None:
        """GET / and /_stcore/health like a browser's page load: the first answer sets the proxy's
        affinity cookie (behind ``app.room``), the health answer the ``_streamlit_xsrf`` cookie
        that uploads need; both come from the same process because the second request carries
        the first one's cookie."""
        self._http("/")
        self._http("/_stcore/health")

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        async for data in self._ws:
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "new_session" and msg.new_session.HasField("initialize"):
                self.session_id = msg.new_session.initialize.session_id
            elif kind == "navigation":
                self.page_hashes = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
                self.current_page = msg.navigation.page_script_hash
            elif kind == "auto_rerun":
                self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                for fid in msg.stop_auto_rerun.fragment_ids:
                    self.auto_reruns.pop(fid, None)
            elif kind == "file_urls_response":
                fut = self._file_urls.pop(msg.file_urls_response.response_id, None)
                if fut is not None and not fut.done():
                    fut.set_result(msg.file_urls_response)
                continue
            await self._queue.put(msg)

    async def send_rerun(self, *, page: str | None = None, widgets: list | None = None,
                         fragment_id: str = "", auto: bool = False, query: str = "") -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        back = BackMsg()
        cs = back.rerun_script
        cs.query_string = query  # the URL's query, e.g. "data=stacked-mnist" (read on a first run)
        if page is not None and page in self.page_hashes:
            cs.page_script_hash = self.page_hashes[page]
        elif page is not None:
            cs.page_name = page  # first run: the URL path, as a browser's deep link sends it
        else:
            cs.page_script_hash = self.current_page
        states = dict(self.widgets)
        for w in widgets or []:
            states[w.id] = w
            if not w.HasField("trigger_value"):  # values stay (an uploaded file, a number); clicks not
                self.widgets[w.id] = w
        for w in states.values():
            cs.widget_states.widgets.append(w)
        cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        await self._ws.send(back.SerializeToString())

    async def next_message(self, timeout: float):  # noqa: ANN201
        return await asyncio.wait_for(self._queue.get(), timeout)

    async def run(self, *, page: str | None = None, widgets: list | None = None,
                  query: str = "", fragment_id: str = "") -> RunResult:
        """A full script run (page load, navigation or widget change), or with ``fragment_id`` that
        fragment's run (a widget inside it changed); then fetch its images."""
        await self.send_rerun(page=page, widgets=widgets, query=query, fragment_id=fragment_id)
        res = RunResult()
        deadline = time.monotonic() + self.timeout
        while True:
            msg = await self.next_message(max(0.1, deadline - time.monotonic()))
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                res.append(msg)
            elif kind == "script_finished":
                ran = run_fragments(msg)
                if msg.script_finished == 2:  # finished early for a rerun: the rerun follows
                    res = RunResult()
                    continue
                res.status = msg.script_finished
                self._show(res, ran)
                if res.status == 3 and not (fragment_id and (not ran or fragment_id in ran)):
                    res = RunResult()  # another fragment's run (a page timer): not ours
                    continue
                break
        self._remember(res, partial=res.status == 3)
        await asyncio.gather(*(asyncio.to_thread(self._get, url) for url in res.media()))
        return res

    def _show(self, res: RunResult, ran: list[str]) -> None:
        """Update :attr:`page` like the browser's page: a full run replaces it, a fragment run
        replaces that fragment's elements."""
        if res.status == 3 or ran:
            gone = set(ran) or set(res.fragments)
            self.page = {p: v for p, v in self.page.items() if v[2] not in gone}
        else:
            self.page = {}
            self.last_full = res
        for (kind, el), path, frag in zip(res.elements, res.paths, res.fragments):
            self.page[path] = (kind, el, frag)

    def view(self) -> RunResult:
        """What the tab shows now, in page order, as one RunResult (for its text helpers)."""
        out = RunResult(status=0)
        for path in sorted(self.page):
            kind, el, frag = self.page[path]
            out.elements.append((kind, el))
            out.paths.append(path)
            out.fragments.append(frag)
        return out

    async def browse(self, until: Callable[[], bool], on_run: Callable[[RunResult], None],
                     rec: Record | None = None) -> int:
        """What an open tab does with no user input: rerun each auto-rerun fragment when its
        interval is up (one run of a fragment in flight at a time, as the frontend does), fetch
        each run's images, hand each finished run to ``on_run``; until ``until()``. Returns the
        number of runs answered. Images that are gone (404: a newer run replaced them) or fail
        are counted in ``rec``, and so is a fragment run the server leaves unanswered for
        ``timeout`` s (a hung page; it is asked for again). Returns once the fragment runs it
        asked for are done (at most ``timeout`` s later), so that the tab's next action does not
        race them."""
        in_flight: dict[str, float] = {}  # fragment -> when its oldest unanswered run was asked
        last_sent: dict[str, float] = {}
        res, runs = RunResult(), 0
        drain_until: float | None = None
        while True:
            now = time.monotonic()
            if drain_until is None and until():
                drain_until = now + self.timeout  # no new reruns; wait for those in flight
            if drain_until is not None and (not in_flight or now >= drain_until):
                break
            for fid in [f for f, t in in_flight.items() if now - t > self.timeout]:
                in_flight.pop(fid)
                if rec is not None:
                    rec.errors.append(f"{self.name or 'a tab'}: a page timer's fragment run was not "
                                      f"answered within {self.timeout:.0f} s")
            if drain_until is None:
                await self._send_due(in_flight, last_sent)
            try:
                msg = await self.next_message(0.05)
            except TimeoutError:
                continue
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                res.append(msg)
            elif kind == "script_finished":
                ran = run_fragments(msg)
                for fid in ran or list(in_flight):
                    in_flight.pop(fid, None)
                if msg.script_finished != 2:  # (2: cut short by a rerun, which follows)
                    res.status = msg.script_finished
                    self._show(res, ran)
                    self._remember(res, partial=res.status == 3)
                    await self._fetch_counted(res.media(), rec)
                    runs += 1
                    on_run(res)
                res = RunResult()
        return runs

    async def _send_due(self, in_flight: dict[str, float], last_sent: dict[str, float]) -> None:
        """Rerun each page timer's fragment whose interval is up, as the browser's timer does:
        not while a run of it is in flight, unless that run has gone unanswered for RESEND_S (the
        browser's timer fires whether or not its last ask was answered, so an ask the server did
        not run is superseded by the next). A fragment counts as unanswered from its oldest
        unanswered ask: an error only when nothing answered it for ``timeout`` s."""
        now = time.monotonic()
        for fid, interval in list(self.auto_reruns.items()):
            since = now - last_sent.get(fid, 0.0)
            if since >= interval and (fid not in in_flight or since >= RESEND_S):
                in_flight.setdefault(fid, now)
                last_sent[fid] = now
                await self.send_rerun(fragment_id=fid, auto=True)

    async def _fetch_counted(self, urls: list[str], rec: Record | None) -> None:
        async def one(url: str) -> bool:
            try:
                await asyncio.to_thread(self._get, url)
                return True
            except OSError:
                return False

        ok = await asyncio.gather(*(one(u) for u in urls))
        if rec is not None:
            rec.media_fetched += len(ok)
            rec.media_missed += ok.count(False)

    def _remember(self, res: RunResult, partial: bool = False) -> None:
        """Keep the value each widget of this run shows (its default, or the value the script set)
        and forget widgets that are gone, as the browser's widget manager does: the browser sends
        every widget's value with each rerun, and a widget whose value is missing falls back to its
        default (e.g. a multiselect filled from ``st.session_state`` would empty itself). A
        fragment's run (``partial``) shows only its own widgets: the others stay."""
        from streamlit.proto.Slider_pb2 import Slider
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        active = set()
        for kind, el in res.elements:
            wid = getattr(el, "id", "")
            if not isinstance(wid, str) or not wid.startswith("$$ID"):
                continue
            active.add(wid)
            if wid in self.widgets and not getattr(el, "set_value", False):
                continue
            state, set_value = WidgetState(id=wid), getattr(el, "set_value", False)
            if kind == "multiselect":
                values = list(el.raw_values) if set_value else [el.options[i] for i in el.default]
                state.string_array_value.data.extend(values)
            elif kind == "slider" and el.type != Slider.SELECT_SLIDER:
                # (a select slider is a "slider" element too, but its value is the option's text:
                # left out, the server keeps the value it has)
                state.double_array_value.data.extend(list(el.value) if set_value else list(el.default))
            elif kind in ("selectbox", "radio"):
                if set_value:
                    state.string_value = el.raw_value
                elif el.HasField("default") and 0 <= el.default < len(el.options):
                    state.string_value = el.options[el.default]
                else:
                    continue
            elif kind == "number_input":
                if set_value or el.HasField("default"):
                    state.double_value = el.value if set_value else el.default
                else:
                    continue
            elif kind == "checkbox":
                state.bool_value = el.value if set_value else el.default
            else:
                continue
            self.widgets[wid] = state
        if partial:
            return
        for wid in list(self.widgets):
            if wid not in active and not self.widgets[wid].HasField("file_uploader_state_value"):
                del self.widgets[wid]

    def _get(self, path: str) -> None:
        self._http(path)

    async def upload(self, uploader_id: str, name: str, data: bytes):  # noqa: ANN201
        """Ask for an upload URL, PUT the file like the browser does; the widget state to send."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        rid = uuid.uuid4().hex
        fut = asyncio.get_running_loop().create_future()
        self._file_urls[rid] = fut
        back = BackMsg()
        back.file_urls_request.request_id = rid
        back.file_urls_request.file_names.append(name)
        back.file_urls_request.session_id = self.session_id
        await self._ws.send(back.SerializeToString())
        resp = await asyncio.wait_for(fut, self.timeout)
        if resp.error_msg or not resp.file_urls:
            raise RuntimeError(f"no upload URL: {resp.error_msg}")
        urls = resp.file_urls[0]
        await asyncio.to_thread(self._put, urls.upload_url, name, data)
        state = WidgetState(id=uploader_id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, name, len(data)
        info.file_urls.CopyFrom(urls)
        return state

    def _put(self, upload_url: str, name: str, data: bytes) -> None:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{uuid.uuid4().hex}\"; "
                f"filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n").encode() + data + \
            f"\r\n--{boundary}--\r\n".encode()
        self._http(upload_url, data=body, method="PUT", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-Xsrftoken": self.xsrf, "Origin": self.base})


def trigger(widget_id: str):  # noqa: ANN201
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    return WidgetState(id=widget_id, trigger_value=True)


def number(widget_id: str, value: float):  # noqa: ANN201
    """A ``st.number_input`` value (sent as a double, also for integers)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    return WidgetState(id=widget_id, double_value=value)


def slider(widget_id: str, value: float):  # noqa: ANN201
    """A single-value ``st.slider`` position (the browser sends a one-element array)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    state = WidgetState(id=widget_id)
    state.double_array_value.data.append(value)
    return state


async def ws_step(who: str, kind: str, rec: Record, coro, need: str | tuple[str, ...] | None = None,  # noqa: ANN001
                  need_text: str | None = None) -> RunResult | None:
    """Time one interaction; check the run went through and shows ``need`` (a widget key, or one of
    several) / ``need_text`` (in a text element, emphasis ignored); count its refusals."""
    t0 = time.perf_counter()
    try:
        res = await coro
    except Exception as e:  # noqa: BLE001 - counted and reported, the session goes on
        rec.errors.append(f"{who} {kind}: {first_line(e)}")
        return None
    dt = time.perf_counter() - t0
    problems = res.problems()
    if res.status not in (0, 3):
        problems.append(f"script run status {res.status}")
    keys = (need,) if isinstance(need, str) else need
    if keys and not any(res.has(k) for k in keys):
        problems.append(f"no element with key {' or '.join(map(repr, keys))}")
    if need_text and not any(need_text in plain(t) for t in res.texts()):
        problems.append(f"no text {need_text!r}")
    rec.errors += [f"{who} {kind}: {p}" for p in problems]
    rec.refusals += [f"{who} {kind}: {r}" for r in res.refusals()]
    if not problems:
        rec.add(kind, dt)
    return res


async def connect(s: WsSession, rec: Record) -> None:
    t0 = time.perf_counter()
    await s.open()
    rec.add("connect (GET / + websocket)", time.perf_counter() - t0)
    rec.connected += 1
    rec.pinned += AFFINITY_COOKIE in s.cookies


# --- the pages' interactions ---------------------------------------------------------------------
async def samples_steps(s: WsSession, who: str, rec: Record) -> None:
    """Open /samples, press Resample: the next seed's samples."""
    res = await ws_step(who, "samples: open", rec, s.run(page=SAMPLES), "samples_download_0")
    if res is None or not (btn := res.widget_id("samples_resample")):
        return
    seed = next((int(m.group(1)) for t in res.markdown() if (m := re.fullmatch(r"Seed (\d+)", t))), 0)
    await ws_step(who, "samples: Resample", rec, s.run(widgets=[trigger(btn)]),
                  "samples_download_0", f"Seed {seed + 1}")


async def recon_steps(s: WsSession, who: str, png: bytes, rec: Record) -> None:
    """Open /reconstructions, upload a PNG digit: its reconstructions."""
    res = await ws_step(who, "reconstructions: open", rec, s.run(page=RECON), "recon_test_download_0")
    if res is None or not (up := res.widget_id("recon_user_upload")):
        return

    async def upload_and_run() -> RunResult:
        state = await s.upload(up, "digit7.png", png)
        return await s.run(widgets=[state])

    await ws_step(who, "reconstructions: upload PNG", rec, upload_and_run(), "recon_user_download_0")


async def latent_step(s: WsSession, who: str, rec: Record) -> None:
    await ws_step(who, "latent: open (PCA)", rec, s.run(page=LATENT), "latent_csv")


async def explore_steps(s: WsSession, who: str, rec: Record) -> None:
    """Open /explore and move the first offset sliders: each move reruns the explorer fragment."""
    res = await ws_step(who, "explore: open", rec, s.run(page="explore"), "explore_decoded_png_0")
    if res is None:
        return
    for i, value in enumerate(EXPLORE_MOVES):
        wid = res.widget_id(f"explore_dz_{i}")  # app/views/explore.py: OFFSET_KEY
        if wid is None:
            rec.errors.append(f"{who} explore: no slider 'explore_dz_{i}'")
            return
        await ws_step(who, "explore: move a slider", rec,
                      s.run(widgets=[slider(wid, value)], fragment_id=res.fragment_of(wid)),
                      "explore_decoded_png_0")


async def tour(s: WsSession, who: str, png: bytes, rec: Record) -> None:
    """The seminar: every page once, in the sidebar's order (the live page apart)."""
    first = not s.page_hashes  # a fresh tab opens the root URL: the idea page
    await ws_step(who, "idea: open", rec, s.run(page="" if first else "idea"),
                  ("idea_gan_sorted_png", "idea_gan_png"))
    await samples_steps(s, who, rec)
    await recon_steps(s, who, png, rec)
    await latent_step(s, who, rec)
    await ws_step(who, "interpolation: open", rec, s.run(page="interpolation"), "interp_download_linear_0")
    await explore_steps(s, who, rec)
    await ws_step(who, "mode-collapse: open", rec, s.run(page="mode-collapse"), "mc_download_0")
    await ws_step(who, "results: open", rec, s.run(page="results"), "results_download")


async def ws_user(url: str, who: str, png: bytes, rec: Record, rounds: int, timeout: float) -> None:
    """The classic scenario: samples, reconstructions, latent space, ``rounds`` times."""
    s = WsSession(url, timeout)
    try:
        await connect(s, rec)
        for _ in range(rounds):
            await samples_steps(s, who, rec)
            await recon_steps(s, who, png, rec)
            await latent_step(s, who, rec)
        rec.done_sessions += 1
    finally:
        await s.close()


async def ws_tour_user(url: str, who: str, png: bytes, rec: Record, timeout: float) -> None:
    s = WsSession(url, timeout)
    try:
        await connect(s, rec)
        await tour(s, who, png, rec)
        rec.done_sessions += 1
    finally:
        await s.close()


async def ws_long_job(url: str, job: LongJob, stop: asyncio.Event, timeout: float) -> None:
    """Start the toy training / a training run, then keep its fragments rerunning like a
    browser's timers until ``stop``."""
    s = WsSession(url, timeout, f"long job ({job.kind})")
    step_re = re.compile(r"\*\*Step ([\d,]+)\*\*" if job.kind == "toy" else r"Step ([\d,]+) / ")
    try:
        await s.open()
        page = TOY if job.kind == "toy" else "train"
        res = await s.run(page=page)
        if job.kind == "toy":
            res = await s.run(widgets=[trigger(res.widget_id("toy_start"))])
        else:
            widgets = [number(res.widget_id("train_subset"), 0),  # all 60,000 images
                       number(res.widget_id("train_epochs"), 1), trigger(res.widget_id("train_start"))]
            res = await s.run(widgets=widgets)
        if p := res.problems():
            raise RuntimeError("; ".join(p))

        def seen(r: RunResult) -> None:
            job.runs += 1
            for text in r.texts():
                if m := step_re.search(text):
                    job.progress.append((time.monotonic(), int(m.group(1).replace(",", ""))))
            if exc := [p for p in r.problems() if p.startswith("exception")]:
                raise RuntimeError(f"in the long job: {exc[0]}")

        await s.browse(stop.is_set, seen)
        stopper = "toy_pause" if job.kind == "toy" else "train_cancel"
        last = await s.run(widgets=[])
        if wid := last.widget_id(stopper):
            await s.run(widgets=[trigger(wid)])
    except Exception as e:  # noqa: BLE001
        job.error = first_line(e)
    finally:
        await s.close()


# --- the live page: lecturer, watchers, starters --------------------------------------------------
class Noted:
    """Errors and refusals of a tab whose timers redraw the same message every second: each
    distinct one once."""

    def __init__(self, who: str, kind: str, rec: Record) -> None:
        self.who, self.kind, self.rec, self._seen = who, kind, rec, set()

    def __call__(self, res: RunResult) -> None:
        for p in res.problems():
            if ("e", p) not in self._seen:
                self._seen.add(("e", p))
                self.rec.errors.append(f"{self.who} {self.kind}: {p}")
        for r in res.refusals():
            if ("r", r) not in self._seen:
                self._seen.add(("r", r))
                self.rec.refusals.append(f"{self.who} {self.kind}: {r}")


def page_queue(s: WsSession) -> QueueInfo | None:
    return next((q for t in s.view().texts() if (q := parse_queue(t))), None)


def page_step(texts: list[str]) -> tuple[int, float | None] | None:
    return next((p for t in texts if (p := parse_step(t))), None)


async def press(s: WsSession, who: str, kind: str, key: str, rec: Record) -> RunResult | None:
    """Click the button ``key`` of the page the tab shows (an error when there is none)."""
    wid = s.last_full.widget_id(key) if s.last_full else None
    if wid is None:
        rec.errors.append(f"{who} {kind}: no button {key!r} on the page")
        return None
    return await ws_step(who, kind, rec, s.run(widgets=[trigger(wid)]))


async def ws_lecturer(url: str, live: Live, rec: Record, stop: asyncio.Event, timeout: float) -> None:
    """The projector's tab: Start, Share, read the room code, keep the page open (its timers
    running) until ``stop``; each of the shared run's step lines and metrics is recorded."""
    who = "lecturer"
    s = WsSession(url, timeout, who)
    noted = Noted(who, "toy-lab (open)", rec)

    def seen(r: RunResult) -> None:
        noted(r)
        now, texts = time.monotonic(), r.texts()
        if step := page_step(texts):
            live.progress.append((now, step[0]))
            if step[1] is not None:
                live.shown_rates.append((now, step[1]))
        if cols := metric_columns(r.metrics()):
            live.metrics.append((now, cols))

    try:
        await connect(s, rec)
        if await ws_step(who, "toy-lab: open (lecturer)", rec, s.run(page=TOY), "toy_start") is None:
            raise RuntimeError("the live page did not open")
        res = await press(s, who, "toy-lab: Start (lecturer)", "toy_start", rec)
        live.t_start = time.monotonic()
        if res is not None and (q := page_queue(s)):
            rec.errors.append(f"{who}: the shared run was queued (position {q.position} of {q.of})")
        if res is not None:
            seen(res)
        res = await press(s, who, "toy-lab: Share", "toy_share", rec)
        if res is not None:
            live.code = parse_room_code(s.view().texts()) or ""
            if not live.code:
                rec.errors.append(f"{who} toy-lab: Share: no room code (room=CODE, 6 of A-Z2-9) shown")
        live.code_ready.set()
        await s.browse(stop.is_set, seen, rec)
        await press(s, who, "toy-lab: Pause (lecturer)", "toy_pause", rec)
        rec.done_sessions += 1
    except Exception as e:  # noqa: BLE001 - reported; the watchers then tour without a room
        live.error = first_line(e)
    finally:
        live.code_ready.set()
        await s.close()


async def watch(s: WsSession, who: str, live: Live, rec: Record, seconds: float) -> None:
    """Open the shared run's link and watch it for ``seconds`` (the page's timers rerun)."""
    code = live.code
    res = await ws_step(who, "toy-lab: open shared run", rec, s.run(page=TOY, query=f"room={code}"),
                        need_text=f"Watching run {code}")
    if res is None:
        return
    steps: list[int] = []
    noted = Noted(who, "toy-lab (watching)", rec)

    def seen(r: RunResult) -> None:
        noted(r)
        live.watch_runs[who] = live.watch_runs.get(who, 0) + 1
        if step := page_step(r.texts()):
            steps.append(step[0])

    end = time.monotonic() + seconds
    await s.browse(lambda: time.monotonic() >= end, seen, rec)
    if len(set(steps)) < 2:
        rec.errors.append(f"{who} toy-lab: watched {seconds:.0f} s and saw the shared run's step "
                          f"move {'never' if steps else '(no step line at all)'}")


async def queue_start(s: WsSession, who: str, live: Live, rec: Record, max_wait: float) -> None:
    """Press Start on the live page (a watcher's page, else the student's own): when it queues,
    wait with the page's timers running until the queue message is gone and the page's step line
    counts up (a refusal instead ends the wait); the wait counts from when the queue message (and
    its estimate) was shown. Then watch the own run for a while and press Pause (so the next one
    in the queue can start)."""
    own_page = s.last_full is None or not s.last_full.has("toy_start")  # no Start: open the own page
    if own_page and await ws_step(who, "toy-lab: open own page", rec, s.run(page=TOY, query=""),
                                  "toy_start") is None:
        return
    t_click = time.monotonic()
    res = await press(s, who, "toy-lab: Start (own run)", "toy_start", rec)
    if res is None:
        return
    if res.refusals():
        return  # a refusal, counted by ws_step: nothing to wait for
    q = page_queue(s)
    wait = QueueWait(who, q.position if q else 0, q.of if q else 0, q.estimate_s if q else None)
    live.queue.append(wait)
    t_shown = time.monotonic()
    if q is None:
        wait.waited_s = t_shown - t_click
    else:
        first_step: list[int] = []  # the step line's first reading once the queue message is gone
        started: list[float] = []
        refused: list[str] = []
        noted = Noted(who, "toy-lab (queued)", rec)

        def seen(r: RunResult) -> None:
            noted(r)  # (counts a refusal)
            refused.extend(s.view().refusals())
            step = page_step(s.view().texts())
            if page_queue(s) or step is None:
                return
            if not first_step:
                first_step.append(step[0])
            elif step[0] > first_step[0]:
                started.append(time.monotonic())

        end = t_shown + max_wait
        await s.browse(lambda: bool(started or refused) or time.monotonic() >= end, seen, rec)
        if not started:
            return  # reported: waited_s None
        wait.waited_s = started[0] - t_shown
    end = time.monotonic() + OWN_RUN_S
    await s.browse(lambda: time.monotonic() >= end, Noted(who, "toy-lab (own run)", rec), rec)
    await press(s, who, "toy-lab: Pause (own run)", "toy_pause", rec)


async def ws_live_user(url: str, who: str, png: bytes, rec: Record, live: Live, starter: bool,
                       args: argparse.Namespace) -> None:
    """A watcher (``starter``: it also presses Start), then the page tour."""
    s = WsSession(url, args.timeout, who)
    try:
        await connect(s, rec)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(live.code_ready.wait(), args.timeout)
        if live.code:
            await watch(s, who, live, rec, args.watch_seconds)
        else:
            rec.errors.append(f"{who} toy-lab: no room code to watch (the lecturer's Share failed)")
        if starter:
            await queue_start(s, who, live, rec, args.max_seconds)
        await tour(s, who, png, rec)
        rec.done_sessions += 1
    finally:
        await s.close()


# --- real browser users ------------------------------------------------------------------------
async def wait_done(page, marker: str, timeout: float, quiet: int = 2) -> None:  # noqa: ANN001
    """Until ``marker`` (a selector) is shown and nothing is running or stale for ``quiet``
    polls in a row (0.1 s apart)."""
    deadline = time.monotonic() + timeout
    calm = 0
    while time.monotonic() < deadline:
        shown = await page.locator(marker).count() > 0
        busy = await page.locator(BUSY).count() > 0
        calm = calm + 1 if shown and not busy else 0
        if calm >= quiet:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{marker!r} not shown (or still running) after {timeout:.0f} s")


async def check_page(page, who: str, kind: str, rec: Record) -> None:  # noqa: ANN001
    exc = await page.locator("[data-testid='stException']").count()
    if exc:
        text = (await page.locator("[data-testid='stException']").first.inner_text())[:200]
        rec.errors.append(f"{who} {kind}: exception box: {text!r}")
    errs = await page.locator("[data-testid='stAlertContentError']").all_inner_texts()
    for e in errs:
        rec.errors.append(f"{who} {kind}: error box: {e[:200]!r}")


async def step(page, who: str, kind: str, action, marker: str, rec: Record,  # noqa: ANN001
               timeout: float) -> bool:
    t0 = time.perf_counter()
    try:
        await action()
        await wait_done(page, marker, timeout)
    except Exception as e:  # noqa: BLE001 - counted and reported, the session goes on
        rec.errors.append(f"{who} {kind}: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
        return False
    rec.add(kind, time.perf_counter() - t0)
    await check_page(page, who, kind, rec)
    return True


def nav_link(page, path: str):  # noqa: ANN001, ANN201
    return page.locator(f"[data-testid='stSidebarNav'] a[href$='/{path}']").first


async def browser_user(browser, url: str, who: str, png: Path, rec: Record, rounds: int,  # noqa: ANN001
                       timeout: float) -> None:
    """The classic scenario in a real chromium tab (one browser context = one session)."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    page.set_default_timeout(timeout * 1000)
    try:
        for r in range(rounds):
            if r == 0:
                open_samples = lambda: page.goto(f"{url}/samples")  # noqa: E731
            else:
                open_samples = nav_link(page, "samples").click
            if not await step(page, who, "[browser] samples: open", open_samples,
                              ".st-key-samples_download_0", rec, timeout):
                continue
            seed_text = await page.get_by_text(re.compile(r"^Seed \d+$")).first.inner_text()
            next_seed = int(seed_text.split()[1]) + 1
            await step(page, who, "[browser] samples: Resample",
                       page.locator(".st-key-samples_resample button").first.click,
                       f"[data-testid='stCaptionContainer'] p:text-is('Seed {next_seed}')", rec, timeout)
            if not await step(page, who, "[browser] reconstructions: open",
                              nav_link(page, "reconstructions").click, ".st-key-recon_test_download_0",
                              rec, timeout):
                continue
            uploader = page.locator(".st-key-recon_user_upload input[type='file']").first
            await step(page, who, "[browser] reconstructions: upload PNG",
                       lambda: uploader.set_input_files(str(png)),  # noqa: B023
                       ".st-key-recon_user_download_0:not([data-stale='true'])", rec, timeout)
            await step(page, who, "[browser] latent: open (PCA)", nav_link(page, "latent").click,
                       ".st-key-latent_csv", rec, timeout)
        rec.done_sessions += 1
    finally:
        await ctx.close()


# --- phases --------------------------------------------------------------------------------------
def parse_processes(text: str) -> list[int]:
    """``--processes``: a count, or counts to compare ("1,3")."""
    try:
        counts = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a count or list of counts: {text!r}") from None
    if not counts or any(not 1 <= n <= MAX_PROCESSES for n in counts):
        raise argparse.ArgumentTypeError(f"process counts must be 1 to {MAX_PROCESSES}: {text!r}")
    return counts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=20, help=f"concurrent users (at most {MAX_SESSIONS})")
    p.add_argument("--scenario", choices=["auto", "classic", "seminar"], default="auto",
                   help=f"auto: the seminar from {SEMINAR_FROM} sessions, else the classic three pages")
    p.add_argument("--processes", type=parse_processes, default=[1],
                   help="app processes: 1 (one server, no proxy), N (app.room: N behind HAProxy) or "
                        "a list to compare, e.g. 1,3")
    p.add_argument("--browser-users", type=int, default=None,
                   help="how many of the users are real chromium tabs (default 1; 0 in the seminar)")
    p.add_argument("--rounds", type=int, default=1, help="times each user runs the classic scenario")
    p.add_argument("--stagger", type=float, default=0.5, help="seconds between user starts")
    p.add_argument("--burst", type=float, default=None,
                   help="spread the arrivals evenly over this many seconds (instead of --stagger)")
    p.add_argument("--long-job", choices=["toy", "train", "none"], default="toy",
                   help="classic scenario: the job that runs during the load")
    p.add_argument("--live-sessions", type=int, default=10,
                   help="seminar: sessions on the live page (1 lecturer + watchers; 0: none)")
    p.add_argument("--live-starters", type=int, default=3, help="seminar: watchers that also press Start")
    p.add_argument("--watch-seconds", type=float, default=30.0, help="seminar: how long a watcher watches")
    p.add_argument("--job-lead", type=float, default=None,
                   help="seconds the long job / shared run runs alone before users come (5; seminar 20)")
    p.add_argument("--after-seconds", type=float, default=15.0,
                   help="seminar: seconds the shared run is measured after the last session")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per interaction")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="bound of the load phase (420 s; seminar 900 s)")
    p.add_argument("--rss-limit-mb", type=float, default=DEFAULT_RSS_LIMIT_MB,
                   help="peak RSS of each app process")
    p.add_argument("--no-warmup", action="store_true", help="skip the solo warm-up runs")
    p.add_argument("--url", help="an already running app or room (default: start one)")
    p.add_argument("--pid", type=int, help="with --url: the server's (or room's) PID, for memory and CPU")
    args = p.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS:
        p.error(f"--sessions must be between 1 and {MAX_SESSIONS}")
    if args.burst is not None and args.burst < 0:
        p.error("--burst must be >= 0")
    if args.url and len(args.processes) > 1:
        p.error("--url tests one running app: give one --processes count (for the report)")
    if args.scenario == "auto":
        args.scenario = "seminar" if args.sessions >= SEMINAR_FROM else "classic"
    seminar = args.scenario == "seminar"
    args.live_sessions = max(0, min(args.live_sessions, args.sessions)) if seminar else 0
    args.live_starters = max(0, min(args.live_starters, args.live_sessions - 1))
    if args.job_lead is None:
        args.job_lead = 20.0 if seminar else 5.0
    if args.max_seconds is None:
        args.max_seconds = 900.0 if seminar else 420.0
    if args.browser_users is None:
        args.browser_users = 0 if seminar else 1
    args.browser_users = max(0, min(args.browser_users, args.sessions - (1 if args.live_sessions else 0)))
    if args.browser_users and not CHROMIUM.is_file():
        print(f"{CHROMIUM} not found (make chromium); running without browser users", file=sys.stderr)
        args.browser_users = 0
    return args


async def warm_up(args: argparse.Namespace, url: str, png: bytes) -> list[tuple[str, Record, float]]:
    """One user alone, twice: cold caches (the models load into ``st.cache_resource``), then warm.
    Behind the proxy each lands on whichever process the proxy picks."""
    out = []
    for name in () if args.no_warmup else ("solo, cold caches", "solo, warm"):
        warm = Record()
        t0 = time.perf_counter()
        if args.scenario == "seminar":
            await ws_tour_user(url, "warm-up", png, warm, args.timeout)
        else:
            await ws_user(url, "warm-up", png, warm, 1, args.timeout)
        out.append((name, warm, time.perf_counter() - t0))
    return out


@contextlib.asynccontextmanager
async def chromium(wanted: bool):  # noqa: ANN201 - yields a playwright Browser or None
    """A headless Debian chromium for the browser users (None when there are none)."""
    if not wanted:
        yield None
        return
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def wait_sessions(tasks: list[asyncio.Task], max_seconds: float, rec: Record) -> None:
    """Until every session is done, at most ``max_seconds``; the rest are cancelled and counted."""
    _, pending = await asyncio.wait(tasks, timeout=max_seconds)
    for t in pending:
        t.cancel()
    if pending:
        rec.errors.append(f"{len(pending)} session(s) not finished within {max_seconds:.0f} s")
        await asyncio.gather(*pending, return_exceptions=True)
    for t in tasks:
        if t.done() and not t.cancelled() and t.exception() is not None:
            rec.errors.append(f"session crashed: {first_line(t.exception())}")


async def classic_phase(args: argparse.Namespace, url: str, png: bytes, png_path: Path,
                        sampler: Sampler, browser) -> dict:  # noqa: ANN001 - playwright Browser
    """The long job, then ``--sessions`` users (the browsers first)."""
    out: dict = {"t_load_start": time.monotonic()}
    rec, stop, job = Record(), asyncio.Event(), LongJob(args.long_job)
    job_task = None
    if args.long_job != "none":
        job_task = asyncio.create_task(ws_long_job(url, job, stop, args.timeout))
        await asyncio.sleep(args.job_lead)  # the job is running before the users come
    out["t_burst"], out["cpu_start"] = time.monotonic(), sampler.cpu_mark()

    async def delayed(i: int, delay: float) -> None:
        await asyncio.sleep(delay)
        who = f"user{i:02d}"
        if i < args.browser_users:  # the first users are the browsers: they start early
            await browser_user(browser, url, who, png_path, rec, args.rounds, args.timeout)
        else:
            await ws_user(url, who, png, rec, args.rounds, args.timeout)

    offsets = arrival_offsets(args.sessions, args.stagger, args.burst)
    tasks = [asyncio.create_task(delayed(i, d)) for i, d in enumerate(offsets)]
    t0 = time.perf_counter()
    await wait_sessions(tasks, args.max_seconds, rec)
    out["load_s"] = time.perf_counter() - t0
    out["t_load_end"] = time.monotonic()
    out["cpu_end"] = sampler.cpu_mark()
    stop.set()
    if job_task is not None:
        await asyncio.wait_for(job_task, timeout=args.timeout)
    out["t_end"] = time.monotonic()
    out["record"], out["job"], out["live"] = rec, job, None
    return out


async def seminar_phase(args: argparse.Namespace, url: str, png: bytes, png_path: Path,
                        sampler: Sampler, browser) -> dict:  # noqa: ANN001 - playwright Browser
    """The lecturer starts and shares the run and lets it train alone ``--job-lead`` s; then the
    other sessions arrive (watchers / starters among them) and tour the pages; then the shared
    run trains ``--after-seconds`` s alone again."""
    out: dict = {"t_load_start": time.monotonic()}
    rec, live, stop = Record(), Live(), asyncio.Event()
    roles = live_roles(args.sessions, args.live_sessions, args.live_starters)
    lecturer = None
    if roles[0] == "lecturer":
        lecturer = asyncio.create_task(ws_lecturer(url, live, rec, stop, args.timeout))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(live.code_ready.wait(), 3 * args.timeout)
        await asyncio.sleep(args.job_lead)  # solo: the shared run, no watchers, no students
    out["t_burst"], out["cpu_start"] = time.monotonic(), sampler.cpu_mark()

    students = [i for i, r in enumerate(roles) if r != "lecturer"]
    browsers = set([i for i in students if roles[i] == "student"][:args.browser_users])

    async def arrive(i: int, delay: float) -> None:
        await asyncio.sleep(delay)
        who = f"user{i:02d}"
        if roles[i] in ("watcher", "starter"):
            await ws_live_user(url, f"{who} ({roles[i]})", png, rec, live, roles[i] == "starter", args)
        elif i in browsers:  # a real tab runs the classic scenario (rendering under the load)
            await browser_user(browser, url, who, png_path, rec, 1, args.timeout)
        else:
            await ws_tour_user(url, who, png, rec, args.timeout)

    offsets = arrival_offsets(len(students), args.stagger, args.burst)
    tasks = [asyncio.create_task(arrive(i, d)) for i, d in zip(students, offsets)]
    t0 = time.perf_counter()
    await wait_sessions(tasks, args.max_seconds, rec)
    out["load_s"] = time.perf_counter() - t0
    out["t_load_end"], out["cpu_end"] = time.monotonic(), sampler.cpu_mark()
    if lecturer is not None:
        await asyncio.sleep(args.after_seconds)  # the shared run alone again
        stop.set()
        try:  # its last timer runs (at most --timeout), then Pause (at most --timeout)
            await asyncio.wait_for(lecturer, timeout=2 * args.timeout + 10)
        except TimeoutError:
            rec.errors.append("lecturer: did not stop (a page timer's run, then Pause)")
    out["t_end"] = time.monotonic()
    out["record"], out["job"], out["live"] = rec, None, live
    return out


async def run_load(args: argparse.Namespace, url: str, png: bytes, png_path: Path,
                   sampler: Sampler) -> dict:
    # Each session's media GETs and uploads run in threads: with 60 sessions the default pool (6
    # threads on 2 cores) would queue them and the wait would count as the app's latency.
    asyncio.get_running_loop().set_default_executor(concurrent.futures.ThreadPoolExecutor(HTTP_THREADS))
    out: dict = {"warmups": await warm_up(args, url, png), "rss_after_warmup": sampler.now_rss()}
    phase = seminar_phase if args.scenario == "seminar" else classic_phase
    async with chromium(args.browser_users > 0) as browser:
        out.update(await phase(args, url, png, png_path, sampler, browser))
    return out


@dataclass
class Measured:
    """What one configuration measured: :func:`run_load`'s results and the sampler's series."""

    processes: int
    res: dict
    sampler: Sampler
    rss_start: dict[int, float]
    rss_end: dict[int, float]
    metrics_end: dict[str, float]
    tracebacks: int
    stop_problems: list[str]

    def role(self, pid: int) -> str:
        return self.sampler.roles.get(pid, "other")


def server_tracebacks(log_paths: list[Path], processes: int) -> int:
    """Tracebacks in the server's (room's) logs; they are kept in test-artifacts/ when there are any."""
    n = 0
    for path in log_paths:
        log = path.read_text(errors="replace")
        if count := log.count("Traceback (most recent call last)"):
            n += count
            (ROOT / "test-artifacts").mkdir(exist_ok=True)
            (ROOT / "test-artifacts" / f"load-test-p{processes}-{path.name}").write_text(log)
    return n


def measure(args: argparse.Namespace, processes: int, tmpdir: Path) -> Measured:
    """Start the server or room (unless ``--url``) and the sampler, run the load, stop both."""
    png = digit_png()
    png_path = tmpdir / "digit7.png"
    png_path.write_bytes(png)
    server = None if args.url else start_server(tmpdir, processes)
    url, root = (server.url, server.root_pid) if server else (args.url.rstrip("/"), args.pid)
    stop_problems: list[str] = []
    try:
        sampler = Sampler(url, root)
        rss_start = sampler.now_rss()
        sampler.start()
        try:
            res = asyncio.run(run_load(args, url, png, png_path, sampler))
            time.sleep(3.0)  # the sessions are closed: let the server drop them
            rss_end = sampler.now_rss()
            ports = app_ports(tree_members(root))
            metrics_end = {}
            for u in [f"http://127.0.0.1:{p}" for p in ports.values()] or [url]:
                for k, v in streamlit_metrics(u, ("cache_memory_bytes", "active_sessions")).items():
                    metrics_end[k] = metrics_end.get(k, 0.0) + v  # summed over the app processes
        finally:
            sampler.stop()
    finally:
        if server is not None:
            stop_problems = server.stop()
    logs = [p for p in tmpdir.rglob("*.log") if p.is_file()]
    return Measured(processes, res, sampler, rss_start, rss_end, metrics_end,
                    server_tracebacks(logs, processes), stop_problems)


# --- report --------------------------------------------------------------------------------------
# The order of the report's interactions: a session's way through the app, not arrival order.
REPORT_ORDER = ("connect", "toy-lab", "idea", "samples", "reconstructions", "latent", "interpolation",
                "explore", "mode-collapse", "results", "[browser]")


def in_report_order(kinds: Iterable[str]) -> list[str]:
    kinds = list(dict.fromkeys(kinds))
    rank = {k: next((i for i, p in enumerate(REPORT_ORDER) if k.startswith(p)), len(REPORT_ORDER))
            for k in kinds}
    return sorted(kinds, key=lambda k: (rank[k], kinds.index(k)))


def table(rec: Record) -> list[str]:
    lines = [f"{'interaction':<40} {'n':>4} {'p50 s':>7} {'p95 s':>7} {'max s':>7}"]
    every: list[float] = []
    for kind in in_report_order(rec.latencies):
        vals = rec.latencies[kind]
        if not kind.startswith("connect"):
            every += vals
        lines.append(f"{kind:<40} {len(vals):>4} {pct(vals, 50):>7.2f} {pct(vals, 95):>7.2f} "
                     f"{max(vals):>7.2f}")
    if every:
        lines.append(f"{'all page interactions':<40} {len(every):>4} {pct(every, 50):>7.2f} "
                     f"{pct(every, 95):>7.2f} {max(every):>7.2f}")
    return lines


def mb(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.0f} MB"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 'es' if word.endswith('s') else 's'}"


def peaks(m: Measured, t0: float = float("-inf"), t1: float = float("inf")) -> dict[int, float]:
    """pid -> peak RSS between t0 and t1."""
    out: dict[int, float] = {}
    for t, sample in m.sampler.rss:
        if t0 <= t <= t1:
            for pid, r in sample.items():
                out[pid] = max(out.get(pid, 0.0), r)
    return out


def total_peak(m: Measured) -> float | None:
    """Peak of the summed RSS of all the server's processes (at one sample time)."""
    return max((sum(s.values()) for _, s in m.sampler.rss), default=None)


def by_role(m: Measured, values: dict[int, float]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for pid in sorted(values):
        out.setdefault(m.role(pid), []).append(values[pid])
    return out


def cpu_cores(m: Measured) -> tuple[dict[int, float], float, float, float, float]:
    """Cores used in the load phase: (per server process, browsers, this script, machine, wall s)."""
    a, b = m.res["cpu_start"], m.res["cpu_end"]
    wall = b.t - a.t
    if wall <= 0 or b.total <= a.total:
        return {}, 0.0, 0.0, 0.0, 0.0
    procs = {pid: (b.procs[pid] - a.procs.get(pid, 0.0)) / wall for pid in b.procs}
    machine = (b.busy - a.busy) / (b.total - a.total) * (os.cpu_count() or 1)
    return procs, (b.clients - a.clients) / wall, (b.me - a.me) / wall, machine, wall


def collect_errors(args: argparse.Namespace, m: Measured) -> list[str]:
    rec, job, live = m.res["record"], m.res["job"], m.res["live"]
    errors = list(rec.errors)
    for name, warm, _ in m.res["warmups"]:
        errors += [f"(warm-up, {name}) {e}" for e in warm.errors]
    if job is not None:
        if job.error:
            errors.append(f"long job ({job.kind}): {job.error}")
        if not job.progress and args.long_job != "none":
            errors.append(f"long job ({job.kind}): no progress seen")
    if live is not None and args.live_sessions:
        if live.error:
            errors.append(f"lecturer: {live.error}")
        if len(live.progress) < 2:
            errors.append("the shared run: no progress seen")
        errors += [f"{w.who}: queued {w.position} of {w.of} and never started" for w in live.queue
                   if w.waited_s is None]
    if rec.media_fetched >= 5 and rec.media_missed > 0.2 * rec.media_fetched:
        errors.append(f"live pages: {rec.media_missed} of {rec.media_fetched} images not fetched")
    if m.processes > 1 and not args.url and rec.pinned < rec.connected:
        errors.append(f"only {rec.pinned} of {rec.connected} sessions got the proxy's {AFFINITY_COOKIE} "
                      "cookie: their requests may reach other processes")
    if m.tracebacks:
        errors.append(f"server log: {m.tracebacks} traceback(s) (test-artifacts/load-test-p{m.processes}-*)")
    errors += m.stop_problems
    return errors


def print_latencies(args: argparse.Namespace, m: Measured) -> None:
    res = m.res
    n_browser = args.browser_users
    print()
    print(f"=== WAE Lab load test, {plural(m.processes, 'process')}: {args.sessions} sessions "
          f"({n_browser} chromium, {args.sessions - n_browser} protocol clients), scenario "
          f"{args.scenario}, arrivals " + (f"over {args.burst:g} s" if args.burst is not None else
                                           f"{args.stagger:g} s apart")
          + (f", long job: {args.long_job}" if args.scenario == "classic" else
             f", live page: {args.live_sessions} ({args.live_starters} starters)")
          + f", {os.cpu_count()} CPU cores ===")
    for name, warm, secs in res["warmups"]:
        print(f"one user alone ({name}): {secs:.1f} s")
        for line in table(warm):
            print("  " + line)
    rec: Record = res["record"]
    pinned = (f", {rec.pinned}/{rec.connected} pinned to a process by the {AFFINITY_COOKIE} cookie"
              if m.processes > 1 else "")
    print(f"load phase: {res['load_s']:.1f} s, sessions completed {rec.done_sessions}/{args.sessions}"
          + pinned)
    for line in table(rec):
        print("  " + line)


def print_server(args: argparse.Namespace, m: Measured) -> None:
    """Health latency, sessions, RSS of every process."""
    sampler, res = m.sampler, m.res
    if sampler.health:
        print(f"/_stcore/health every 0.5 s: p50 {pct(sampler.health, 50) * 1000:.0f} ms, p95 "
              f"{pct(sampler.health, 95) * 1000:.0f} ms, max {max(sampler.health) * 1000:.0f} ms, "
              f"failures (> 5 s) {sampler.health_failures}")
    if sampler.sessions:
        print(f"active Streamlit sessions (every 2 s, all app processes): max {max(sampler.sessions):.0f}")
    peak = peaks(m)
    after = res["rss_after_warmup"]
    for pid in sorted(peak, key=lambda p: (m.role(p), p)):
        print(f"RSS {m.role(pid):<5} {pid:>7}: start {mb(m.rss_start.get(pid))}, after warm-up "
              f"{mb(after.get(pid))}, peak {mb(peak[pid])}, end {mb(m.rss_end.get(pid))}")
    print(f"RSS of all processes together: peak {mb(total_peak(m))}; limit per app process "
          f"{mb(args.rss_limit_mb)}")
    load = peaks(m, res["t_burst"], res["t_load_end"])
    if load and after:
        per = (sum(load.values()) - sum(after.get(p, 0.0) for p in load)) / args.sessions
        print(f"  peak during the load minus after warm-up, per concurrent session: {per:,.1f} MB")


def print_machine(m: Measured) -> None:
    """CPU use in the load phase (each server process, chromium, this script, the rest)."""
    procs, brw, me, machine, wall = cpu_cores(m)
    if wall:
        parts = " + ".join(f"{m.role(pid)} {pid} {c:.2f}" for pid, c in
                           sorted(procs.items(), key=lambda kv: (m.role(kv[0]), kv[0])))
        rest = max(0.0, machine - sum(procs.values()) - brw - me)
        print(f"CPU in the load phase ({wall:.0f} s), cores busy of {os.cpu_count()}: machine "
              f"{machine:.2f} = {parts or 'server n/a'} + chromium {brw:.2f} + protocol clients "
              f"(this script) {me:.2f} + other processes {rest:.2f}")
    if m.sampler.mem_avail:
        print(f"machine MemAvailable: min {mb(min(m.sampler.mem_avail))}")


def print_job(job: LongJob | None) -> None:
    if job is not None and job.progress:
        (ja, sa), (jb, sb) = job.progress[0], job.progress[-1]
        rate = (sb - sa) / (jb - ja) if jb > ja else 0.0
        print(f"long job ({job.kind}): step {sa:,} -> {sb:,} over {jb - ja:.0f} s of the load "
              f"({rate:,.1f} steps/s), {job.runs} fragment reruns answered")


def live_rates(m: Measured) -> tuple[float | None, float | None, float | None]:
    """The shared run's steps/s: alone before the burst, during the load, alone after it."""
    live, res = m.res["live"], m.res
    if live is None or live.t_start is None:
        return None, None, None
    return (phase_rate(live.progress, live.t_start, res["t_burst"]),
            phase_rate(live.progress, res["t_burst"], res["t_load_end"]),
            phase_rate(live.progress, res["t_load_end"], res["t_end"]))


def wae_scores(live: Live | None) -> str:
    """The WAE column's "Modes covered" / "High quality" at WAE_METRICS_AT_S after Start."""
    got = live.metrics_at(WAE_METRICS_AT_S) if live is not None else None
    if got is None or len(got[1]) < 2:
        return "n/a"
    at, cols = got
    wae = cols[1]
    text = f"{wae.get('Modes covered', '?')} modes, {wae.get('High quality', '?')} high quality"
    return text + ("" if at >= WAE_METRICS_AT_S else f" (at {at:.0f} s: the run was shorter)")


def queue_text(w: QueueWait) -> str:
    if w.position == 0:
        return f"{w.who}: not queued (started in {w.waited_s:.1f} s)"
    est = "no estimate" if w.estimate_s is None else f"estimate {w.estimate_s:.0f} s"
    waited = "never started" if w.waited_s is None else f"waited {w.waited_s:.0f} s"
    ratio = f", ratio {w.ratio:.2f}" if w.ratio is not None else ""
    return f"{w.who}: position {w.position} of {w.of}, {waited}, {est}{ratio}"


def print_live(m: Measured) -> None:
    live: Live | None = m.res["live"]
    if live is None or live.t_start is None:
        return
    fmt = lambda r: "n/a" if r is None else f"{r:,.1f}"  # noqa: E731
    before, during, after = live_rates(m)
    shown = [r for _, r in live.shown_rates]
    print(f"shared run {live.code or '(no code)'}: steps/s (per model) alone before the burst "
          f"{fmt(before)}, during the load {fmt(during)}, after it {fmt(after)}"
          + (f"; the page showed p50 {pct(shown, 50):,.0f} steps/s" if shown else ""))
    print(f"  WAE {WAE_METRICS_AT_S:.0f} s after Start: {wae_scores(live)}")
    if live.watch_runs:
        print(f"  watchers: {len(live.watch_runs)}, fragment runs answered "
              f"{sum(live.watch_runs.values())}")
    for w in live.queue:
        print(f"  queue: {queue_text(w)}")
    rec = m.res["record"]
    if rec.media_fetched:
        print(f"  images of the live pages: {rec.media_fetched} fetched, {rec.media_missed} gone/failed")


def print_caches(metrics: dict[str, float]) -> None:
    caches = {k: v for k, v in metrics.items() if k.startswith("cache_memory_bytes")}
    if caches:
        print("Streamlit caches at the end (summed over the app processes, shared by their sessions; "
              "cache_resource objects are not sized by Streamlit):")
        for k, v in sorted(caches.items()):
            match = re.search(r'cache_type="([^"]*)",cache="([^"]*)"', k)
            label = f"{match.group(1)} {match.group(2)}" if match else k
            print(f"  {label:<60} {v / 1e6:>9.2f} MB")


def verdict(m: Measured, errors: list[str], limit_mb: float) -> bool:
    refusals = m.res["record"].refusals
    print(f"errors: {len(errors)}, refusals: {len(refusals)}")
    for e in errors[:40]:
        print(f"  - {e}")
    if len(errors) > 40:
        print(f"  … and {len(errors) - 40} more")
    for r in refusals[:10]:
        print(f"  - refused: {r}")
    over = {pid: r for pid, r in peaks(m).items() if m.role(pid) == "app" and r > limit_mb}
    for pid, r in over.items():
        print(f"FAIL: app process {pid}: peak RSS {r:,.0f} MB > limit {limit_mb:,.0f} MB")
    ok = not errors and not refusals and not over
    print("PASS" if ok else "FAIL")
    return ok


def report(args: argparse.Namespace, m: Measured) -> bool:
    print_latencies(args, m)
    print_server(args, m)
    print_machine(m)
    print_job(m.res["job"])
    print_live(m)
    print_caches(m.metrics_end)
    return verdict(m, collect_errors(args, m), args.rss_limit_mb)


def role_summary(values: dict[str, list[float]], role: str, unit: str, f: str) -> str:
    vals = values.get(role, [])
    if not vals:
        return "–"
    if len(vals) == 1:
        return f"{vals[0]:{f}}{unit}"
    return f"{len(vals)} × {min(vals):{f}}–{max(vals):{f}}{unit} (sum {sum(vals):{f}})"


def clients_and_machine(m: Measured) -> str:
    _, browsers, me, machine, _ = cpu_cores(m)
    return f"{browsers + me:.2f} / {machine:.2f}"


def markdown(args: argparse.Namespace, runs: list[tuple[Measured, bool]], command: str) -> list[str]:
    """One column per process count: what the README shows."""
    heads = [plural(m.processes, "process") for m, _ in runs]
    lines = [f"`{command}`", "", f"({os.cpu_count()} CPU cores; {time.strftime('%Y-%m-%d')})", "",
             "| | " + " | ".join(heads) + " |", "|---|" + "---|" * len(runs)]

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    recs = [m.res["record"] for m, _ in runs]
    row("sessions completed", [f"{r.done_sessions}/{args.sessions}" for r in recs])
    row("load phase", [f"{m.res['load_s']:.0f} s" for m, _ in runs])
    kinds = in_report_order(k for r in recs for k in r.latencies)
    for kind in kinds:
        row(f"{kind} (p50 / p95 / max s)",
            [f"{pct(v, 50):.2f} / {pct(v, 95):.2f} / {max(v):.2f}" if (v := r.latencies.get(kind)) else "–"
             for r in recs])
    row("errors / refusals", [f"{len(collect_errors(args, m))} / {len(m.res['record'].refusals)}"
                              for m, _ in runs])
    if args.scenario == "seminar" and args.live_sessions:
        lives = [m.res["live"] for m, _ in runs]
        row("queue waits (waited / shown estimate)", ["<br>".join(queue_text(w) for w in lv.queue) or "–"
                                                     for lv in lives])
        fmt = lambda r: "n/a" if r is None else f"{r:,.0f}"  # noqa: E731
        row("shared run steps/s: alone / during the load / after",
            [" / ".join(fmt(r) for r in live_rates(m)) for m, _ in runs])
        row(f"shared run, WAE at {WAE_METRICS_AT_S:.0f} s", [wae_scores(lv) for lv in lives])
    peak = [by_role(m, peaks(m)) for m, _ in runs]
    roles = [r for r in ("app", "hub", "proxy", "room") if any(r in p for p in peak)]
    for role in roles:
        row(f"peak RSS, {role}", [role_summary(p, role, " MB", ",.0f") for p in peak])
    row("peak RSS, all processes", [mb(total_peak(m)) for m, _ in runs])
    cores = [by_role(m, cpu_cores(m)[0]) for m, _ in runs]
    for role in roles:
        row(f"CPU cores in the load, {role}", [role_summary(c, role, "", ".2f") for c in cores])
    row("CPU cores in the load, clients / machine", [clients_and_machine(m) for m, _ in runs])
    row("/_stcore/health p95 (failures)",
        [f"{pct(m.sampler.health, 95) * 1000:.0f} ms ({m.sampler.health_failures})" if m.sampler.health
         else "n/a" for m, _ in runs])
    row("verdict", ["PASS" if ok else "FAIL" for _, ok in runs])
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join([".venv/bin/python", "scripts/load_test.py",
                          *(sys.argv[1:] if argv is None else argv)])
    runs: list[tuple[Measured, bool]] = []
    failed_starts = []
    for processes in args.processes:
        with tempfile.TemporaryDirectory(prefix="wae-load-") as tmp:
            try:
                measured = measure(args, processes, Path(tmp))
            except ServerStartError as e:  # the other process counts still run
                print(f"FAIL: {plural(processes, 'process')}: {e}", flush=True)
                failed_starts.append(processes)
                continue
        runs.append((measured, report(args, measured)))
    if runs:
        print()
        print("\n".join(markdown(args, runs, command)))
    for processes in failed_starts:
        print(f"\n{plural(processes, 'process')}: the server did not start (see above)")
    return 0 if runs and not failed_starts and all(ok for _, ok in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
