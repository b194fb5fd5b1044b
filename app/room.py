"""Serve a seminar room: N app processes behind HAProxy with cookie session affinity.

    python -m app.room --processes N [--port 8501] [--host 127.0.0.1] [--nice N] [--hub/--no-hub]
    python -m app.room --backends host:port,host:port [--port 8501] [--host 0.0.0.0]

Streamlit runs every session's script in one Python process, so one process keeps about one
core busy; N processes keep N cores busy. A Streamlit session lives in one process (its websocket
``/_stcore/stream``, its ``/media/`` files, its uploads ``/_stcore/upload_file/<session>/...``
and the per-process ``_streamlit_xsrf`` check), so every request of a browser must reach the
same process: HAProxy inserts a cookie (WAELAB=s1, s2, ...) in the first response and routes
by it. See docs/serving.md.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COOKIE = "WAELAB"
HEALTH = "/_stcore/health"
# The pages' share of the CPU: their sessions' niceness, by default the room's run's (the table
# and the measurements: wae_core.live.cpu_share; a test keeps this equal to its PAGES_NICE
# default: importing it here would load torch).
APP_NICE = 0
AUTOGROUPS = Path("/proc/sys/kernel/sched_autogroup_enabled")
START_TIMEOUT_S = 300.0  # N processes importing torch and warming caches on a busy small box
# The lines app.serve's warm-up ends with (app/serve.py): done, or given up with a reason.
WARM_LINES = ("caches warm after", "warm-up stopped", "warm-up imports failed")
NO_HAPROXY = ("haproxy is not installed: run `make room` (it installs it) "
              "or `apt-get install haproxy`")


def haproxy_config(host: str, port: int, backends: list[str]) -> str:
    """The HAProxy configuration: one frontend, one backend with cookie affinity."""
    servers = "\n".join(f"    server s{i} {addr} cookie s{i}"
                        for i, addr in enumerate(backends, 1))
    return f"""\
global
    log stderr format short local0 notice  # a backend going DOWN / UP shows in the terminal
    maxconn 4096

defaults
    mode http
    log global
    # No "option http-server-close": HAProxy keeps connections alive and switches a connection to
    # a tunnel when the websocket upgrade is answered; from then on "timeout tunnel" applies.
    timeout connect 5s
    timeout http-request 30s
    timeout client 5m  # a busy process may answer /media or an upload late; never cut it off
    timeout server 5m
    timeout tunnel 1h  # an idle websocket (a student reading a page) stays open
    timeout client-fin 30s
    option redispatch  # a down process's cookie sends the browser to a live one (new session)
    retries 3

frontend room
    bind {host}:{port}
    default_backend apps

backend apps
    balance roundrobin  # new browsers in turn; client-IP hashing would pin a NAT or proxy to one
    # Insert WAELAB=sN in the first response; the browser sends it with every later request
    # (page, websocket, /media, uploads); "indirect" hides it from Streamlit, "nocache" keeps a
    # shared cache from handing one cookie to everyone.
    cookie {COOKIE} insert indirect nocache httponly
    option httpchk GET {HEALTH}
    http-check expect status 200
    # A process busy with a room's burst may answer its health check late: give it 10 s (the
    # default, "inter", is 2 s) before a miss counts, so a slow process is not marked DOWN and
    # its browsers redispatched to a new session elsewhere.
    timeout check 10s
    default-server check inter 2s fall 3 rise 2
    http-response set-header X-WAE-Backend %s  # which process answered (tests, debugging)
{servers}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_haproxy() -> str | None:
    # Debian puts it in /usr/sbin, which a normal user's PATH lacks.
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/local/sbin:/usr/sbin:/sbin")


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + HEALTH, timeout=3) as r:
            return r.status == 200
    except OSError:
        return False


def _weigh_session(nice: int) -> None:
    """(in the child, the leader of its new session) The session's niceness: its autogroup's,
    which is what weighs it against the other sessions, or without autogroups its own."""
    try:
        on = AUTOGROUPS.read_text().strip() == "1"
    except OSError:
        on = False
    for _ in range(30 if on else 0):
        try:
            Path("/proc/self/autogroup").write_text(str(nice))
            return
        except OSError as e:
            if e.errno != errno.EAGAIN:  # no autogroup to weigh (the kernel's default group)
                break
            time.sleep(0.1)  # the kernel takes one change per 0.1 s, machine-wide
    os.nice(nice)


def start(cmd: list[str], env: dict, log: Path | None, nice: int = 0) -> subprocess.Popen:
    """A child in a session of its own (stopped as a process group, untouched by the terminal's
    Ctrl-C, which would otherwise reach the children before this script can stop them in order).

    A session each also decides how the CPU is shared: Linux's autogroup scheduling (on by
    default) shares it between sessions, weighted by each session's niceness, ``nice`` here;
    the hub gives each run a session of its own too (``wae_core.live.cpu_share``)."""
    out = log.open("wb") if log else None
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT if out else None,
                            start_new_session=True,
                            preexec_fn=(lambda: _weigh_session(nice)) if nice else None)


def wait_each(pending: dict[int, Any], ready: Callable[[int, Any], bool],
              procs: list[subprocess.Popen], logs: dict[int, Path]) -> dict[int, Any]:
    """Poll every 0.3 s until ``ready(i, item)`` for each pending item, at most START_TIMEOUT_S;
    returns the items still pending then. Raises, with its log's tail, when one of ``procs``
    exits meanwhile."""
    pending = dict(pending)
    deadline = time.monotonic() + START_TIMEOUT_S
    while pending:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"pid {p.pid} exited with {p.returncode}:\n{tail(logs[p.pid])}")
        for i, item in list(pending.items()):
            if ready(i, item):
                del pending[i]
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    return pending


def stop(procs: list[subprocess.Popen], timeout: float = 15.0) -> None:
    """SIGTERM each process group, wait, then SIGKILL what is left."""
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def tail(path: Path | None, n: int = 3000) -> str:
    return path.read_text(errors="replace")[-n:] if path and path.is_file() else ""


class Stopped(Exception):
    """SIGINT or SIGTERM arrived."""


def _on_signal(signum: int, frame: object) -> None:
    raise Stopped


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m app.room", description=__doc__.split("\n")[0])
    ap.add_argument("--processes", type=int, default=2, help="app processes to start (default 2)")
    ap.add_argument("--port", type=int, default=8501, help="the room's port (default 8501)")
    ap.add_argument("--host", default="127.0.0.1", help="the room's address (0.0.0.0: all)")
    ap.add_argument("--backends", default="", help="host:port,... of app processes started "
                    "elsewhere (python -m app.serve): start none here")
    ap.add_argument("--hub", action=argparse.BooleanOptionalAction, default=None,
                    help="start the run hub (default: with more than one local process)")
    ap.add_argument("--nice", type=int, default=APP_NICE, choices=range(20), metavar="0-19",
                    help=f"niceness of the app processes (default {APP_NICE}, the room's run's; "
                    "10 puts the room's run first, the pages after it: docs/serving.md)")
    ap.add_argument("--logs", type=Path, default=None,
                    help="keep the hub's, the app processes' and the proxy's logs in this folder "
                         "(default: a temporary folder, removed when the room stops)")
    args = ap.parse_args(argv)
    if args.processes < 1:
        ap.error("--processes must be at least 1")
    if args.backends and args.hub:
        ap.error("--hub needs local app processes; with --backends start the hub on one machine "
                 "yourself (docs/serving.md)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    haproxy = find_haproxy()
    if haproxy is None:
        print(NO_HAPROXY, file=sys.stderr)
        return 2
    remote = [b.strip() for b in args.backends.split(",") if b.strip()]
    use_hub = not remote and (args.hub if args.hub is not None else args.processes > 1)
    if use_hub and importlib.util.find_spec("wae_core.live.hub") is None:
        if args.hub:
            print("--hub: wae_core.live.hub is missing from this checkout", file=sys.stderr)
            return 2
        print("WAE Lab room: no run hub in this checkout (wae_core.live.hub): starting without one")
        use_hub = False

    # Handlers first: a Ctrl-C while processes start still stops the ones already started.
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    workdir = args.logs or Path(tempfile.mkdtemp(prefix="wae-room-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    hub: list[subprocess.Popen] = []
    apps: list[subprocess.Popen] = []
    proxy: list[subprocess.Popen] = []
    logs: dict[int, Path] = {}
    try:
        if use_hub:
            hub_port = free_port()
            env.update(WAE_LAB_HUB=f"127.0.0.1:{hub_port}", WAE_LAB_HUB_KEY=secrets.token_hex(16),
                       WAE_LAB_PAGES_NICE=str(args.nice))  # the students' runs weigh what a page does
            log = workdir / "hub.log"
            hub.append(start([sys.executable, "-m", "wae_core.live.hub", "--port", str(hub_port)],
                             env, log))
            logs[hub[0].pid] = log
            deadline = time.monotonic() + START_TIMEOUT_S
            while "listening" not in tail(log, 100_000):
                if hub[0].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the run hub did not start:\n{tail(log)}")
                time.sleep(0.2)
            print(f"WAE Lab room: hub 127.0.0.1:{hub_port} (pid {hub[0].pid})", flush=True)

        if remote:
            backends = remote
        else:
            backends = [f"127.0.0.1:{free_port()}" for _ in range(args.processes)]
            for i, addr in enumerate(backends):
                port = addr.rsplit(":", 1)[1]
                log = workdir / f"app-s{i + 1}.log"
                apps.append(start(
                    [sys.executable, "-m", "app.serve", "--server.address", "127.0.0.1",
                     "--server.port", port, "--server.headless", "true",
                     "--browser.gatherUsageStats", "false"],
                    {**env, "WAE_LAB_PROCESS_INDEX": str(i), "WAE_LAB_PROCESSES": str(len(backends))},
                    log, nice=args.nice))
                logs[apps[-1].pid] = log

        # The proxy starts once every process answers: the first browsers then find them all.
        def answers(i: int, addr: str) -> bool:
            if not healthy(f"http://{addr}"):
                return False
            pid = f"pid {apps[i - 1].pid}, nice {args.nice}" if apps else "remote"
            print(f"WAE Lab room: backend s{i} http://{addr} ({pid})", flush=True)
            return True

        silent = wait_each(dict(enumerate(backends, 1)), answers, apps + hub, logs)
        if silent:
            raise RuntimeError(f"no answer on {HEALTH} from {', '.join(silent.values())}")

        # Then until every local process's warm-up is done (its log says so): a room that
        # arrives at once must find every page's caches warm in every process, not computing
        # them beside the burst and the room's run.
        def warm(i: int, p: subprocess.Popen) -> bool:
            if not any(line in tail(logs[p.pid], 100_000) for line in WARM_LINES):
                return False
            print(f"WAE Lab room: backend s{i} warm", flush=True)
            return True

        if wait_each(dict(enumerate(apps, 1)), warm, apps, logs):
            print(f"WAE Lab room: not warm after {START_TIMEOUT_S:.0f} s: opening anyway", flush=True)

        cfg = workdir / "haproxy.cfg"
        cfg.write_text(haproxy_config(args.host, args.port, backends))
        proxy.append(start([haproxy, "-f", str(cfg), "-db"], env, None))
        probe_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
        url = f"http://{probe_host}:{args.port}"
        while not healthy(url):
            if proxy[0].poll() is not None:
                raise RuntimeError(f"haproxy exited with {proxy[0].returncode} (is port "
                                   f"{args.port} free?)")
            time.sleep(0.2)
        print(f"WAE Lab room: open http://{args.host}:{args.port} ({len(backends)} processes; "
              f"logs in {workdir}; Ctrl-C stops it)", flush=True)

        # Serve. A dead app process is reported once (HAProxy's check routes around it);
        # a dead proxy or hub ends the room.
        reported: set[int] = set()
        while True:
            for p in proxy + hub:
                if p.poll() is not None:
                    raise RuntimeError(f"pid {p.pid} exited with {p.returncode}:\n"
                                       f"{tail(logs.get(p.pid))}")
            for p in apps:
                if p.poll() is not None and p.pid not in reported:
                    reported.add(p.pid)
                    print(f"WAE Lab room: app pid {p.pid} exited with {p.returncode}:\n"
                          f"{tail(logs[p.pid])}", file=sys.stderr, flush=True)
            time.sleep(1.0)
    except Stopped:
        code = 0
    except RuntimeError as e:
        print(f"WAE Lab room: {e}", file=sys.stderr)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the stopping
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # Proxy first (no new requests), then the apps, then the hub their sessions talk to.
        stop(proxy)
        stop(apps)
        stop(hub)
    if not args.logs:
        shutil.rmtree(workdir, ignore_errors=True)
    print("WAE Lab room: stopped", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
