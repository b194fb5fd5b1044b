"""Load test of the WAE Lab app: N concurrent sessions (default 20) on one server, plus a long job.

    .venv/bin/python scripts/load_test.py [--sessions 20] [--browser-users 1] [--rounds 1]
        [--long-job toy|train|none] [--stagger 0.5] [--timeout 120] [--max-seconds 420]
        [--rss-limit-mb 2560] [--url http://127.0.0.1:8501 --pid PID]

Starts its own server (``python -m app.serve``, as ``make demo``, on a free 127.0.0.1 port, shipped
``checkpoints/``, runs into a temp folder, ``WAE_LAB_THREADS=1``) unless ``--url`` is given.

Clients. A session is what one browser tab gets: its own websocket to ``/_stcore/stream``. Most
users are protocol-level clients that speak the browser's protocol (protobuf ``BackMsg`` /
``ForwardMsg`` over the websocket, uploads over HTTP with the XSRF cookie, the ``/media/`` images
fetched like a browser does): on a 2-core machine 20 real chromium tabs saturate both cores on
their own (measured: chromium took ≈ 1.7 of 2 cores, the server 0.3; 18 of 20 tabs never showed
the samples page within 120 s; ``--browser-users 20`` repeats that), so they would measure the
client, not the app. ``--browser-users`` of the users (default 1) are real headless Debian
chromium tabs (``/usr/bin/chromium``; never ``playwright install``) that run the same scenario,
so rendering is checked under the load too.

Scenario of every user, started ``--stagger`` s after the previous one, ``--rounds`` times:

1. open ``/samples`` (4 models, 8×8 grids); press **Resample** (next seed: new samples);
2. go to **Reconstructions** (same session) and upload a PNG digit; wait for its reconstructions;
3. go to **Latent space** (PCA of the page's default 1,000 codes + 1,000 prior draws per model).

Meanwhile one more session runs a long job, started before the users: the live toy training
(``toy``: Start, then the page's fragments rerun every 0.2 s / 1 s like a browser's timers do) or
a background MNIST training (``train``, all 60,000 images). Before the load, one user runs the
scenario alone twice (cold caches, then warm): the models load once, into ``st.cache_resource``,
for every later session.

Measured: the latency of every interaction (protocol clients: request sent -> script run finished
and its images fetched; browser: action -> content shown and nothing "Running…"), p50 / p95 / max;
errors (exception elements / boxes, error alerts, failed runs, timeouts, server tracebacks); the
server's resident memory (``/proc/<pid>/status`` VmRSS every 0.5 s: idle start, after warm-up,
peak, end); ``/_stcore/health`` latency (the event loop stays responsive); CPU use of the server,
the clients and the rest of the machine; the long job's progress during the load; Streamlit's
``/_stcore/metrics`` (active sessions; its caches, one per process).

Exit status 1 when anything failed or the peak RSS is above ``--rss-limit-mb``. Bounded: at most
50 sessions, ``--timeout`` s per interaction and ``--max-seconds`` for the load phase.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import re
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The server and browser helpers of the browser tests: one copy of how the app is started.
from tests.e2e.support import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    StreamlitServer,
    health_latency,
)

MAX_SESSIONS = 50
# Measured on the 2-core, 24 GiB box: server RSS ≈ 0.85-1.0 GB after the warm-up (torch, streamlit,
# the shipped models, the MNIST test set), peak ≈ 1.05 GB with 20 sessions (+1-8 MB per session)
# and the toy job; a `train` job adds ≈ 0.35 GB (the MNIST training set). 2.5 GB leaves room for
# that and a noisy run, and still catches a per-session leak (models or arrays copied per session).
DEFAULT_RSS_LIMIT_MB = 2560
BUSY = ("[data-testid='stStatusWidget'], [data-testid='stSkeleton'], [data-testid='stSpinner'], "
        "[data-testid='stMain'] [data-stale='true']")
SAMPLES, RECON, LATENT = "samples", "reconstructions", "latent"


# --- server probes -------------------------------------------------------------------------------
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


def descendants(root: int) -> list[int]:
    """PIDs of every process below ``root`` (the browser and its driver, for this script)."""
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


def _sample_loop(url: str, pid: int | None, period: float, halt, out) -> None:  # noqa: ANN001
    """The sampler process: its own GIL and event loop, so the client work in the main process
    does not delay the probes."""
    data: dict[str, Any] = {"rss": [], "health": [], "health_failures": 0, "mem_avail": [], "sessions": []}
    last_metrics = 0.0
    while not halt.is_set():
        t = time.monotonic()
        if pid is not None and (r := rss_mb(pid)) is not None:
            data["rss"].append((t, r))
        h = health_latency(url)
        if h is None:
            data["health_failures"] += 1
        else:
            data["health"].append(h)
        if (m := mem_available_mb()) is not None:
            data["mem_avail"].append(m)
        if t - last_metrics >= 2.0:
            last_metrics = t
            n = streamlit_metrics(url).get("active_sessions")
            if n is not None:
                data["sessions"].append(n)
        halt.wait(max(0.0, period - (time.monotonic() - t)))
    out.put(data)


class Sampler:
    """Every ``period`` s, in a separate process: server RSS, ``/_stcore/health`` latency (a
    failure = no answer within 5 s), machine MemAvailable; every 2 s the number of active
    Streamlit sessions. :meth:`cpu_mark` reads CPU times (server, browser, this script)."""

    def __init__(self, url: str, pid: int | None, period: float = 0.5) -> None:
        import multiprocessing as mp

        self.url, self.pid = url, pid
        ctx = mp.get_context("spawn")
        self._halt, self._out = ctx.Event(), ctx.Queue()
        self._proc = ctx.Process(target=_sample_loop, args=(url, pid, period, self._halt, self._out),
                                 daemon=True)
        self.rss: list[tuple[float, float]] = []
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
        self.health = data.get("health", [])
        self.health_failures = data.get("health_failures", 0)
        self.mem_avail = data.get("mem_avail", [])
        self.sessions = data.get("sessions", [])

    def now_rss(self) -> float | None:
        return rss_mb(self.pid) if self.pid is not None else None

    def cpu_mark(self) -> tuple[float, float, float, float, float, float]:
        """(time, server CPU s, browser CPU s, this script's CPU s, machine busy, machine total)."""
        me = os.getpid()
        # this script's children: chromium and its driver; not the sampler, not the server
        skip = {self._proc.pid, self.pid, *(descendants(self.pid) if self.pid is not None else [])}
        for c in descendants(me):
            if c not in skip:
                self.client_cpu[c] = max(self.client_cpu.get(c, 0.0), cpu_seconds(c))
        server = cpu_seconds(self.pid) if self.pid is not None else 0.0
        return (time.monotonic(), server, sum(self.client_cpu.values()), cpu_seconds(me), *machine_cpu())


# --- results -------------------------------------------------------------------------------------
@dataclass
class Record:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    done_sessions: int = 0

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)


@dataclass
class LongJob:
    kind: str
    progress: list[tuple[float, int]] = field(default_factory=list)
    runs: int = 0  # fragment reruns completed
    error: str = ""


def digit_png() -> bytes:
    """A white "7" on black, 28x28: an MNIST-style PNG."""
    img = Image.new("L", (112, 112), 0)
    ImageDraw.Draw(img).line([(25, 20), (88, 20), (45, 95)], fill=255, width=11, joint="curve")
    buf = io.BytesIO()
    img.resize((28, 28), Image.Resampling.LANCZOS).save(buf, "PNG")
    return buf.getvalue()


def first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200] if text else ''}"


# --- protocol-level client -----------------------------------------------------------------------
@dataclass
class RunResult:
    """What one script run sent: its elements (kind, proto) and how it finished."""

    elements: list[tuple[str, Any]] = field(default_factory=list)
    status: int = -1
    first_element_at: float | None = None  # time.perf_counter() when the first element arrived

    def widget_id(self, key: str) -> str | None:
        for _, el in self.elements:
            wid = getattr(el, "id", "")
            if isinstance(wid, str) and wid.endswith(f"-{key}"):
                return wid
        return None

    def has(self, key: str) -> bool:
        return self.widget_id(key) is not None

    def markdown(self) -> list[str]:
        return [el.body for kind, el in self.elements if kind == "markdown"]

    def media(self) -> list[str]:
        return [img.url for kind, el in self.elements if kind == "imgs" for img in el.imgs
                if img.url.startswith("/media/")]

    def problems(self) -> list[str]:
        from streamlit.proto.Alert_pb2 import Alert

        out = [f"exception: {el.type}: {el.message[:200]}" for kind, el in self.elements
               if kind == "exception"]
        out += [f"error box: {el.body[:200]}" for kind, el in self.elements
                if kind == "alert" and el.format == Alert.ERROR]
        if self.status == 1:
            out.append("script finished with a compile error")
        return out


class WsSession:
    """One app session over Streamlit's websocket protocol, like a browser tab without a renderer."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base, self.timeout = base_url, timeout
        self.host = base_url.split("://", 1)[1]
        self.session_id = ""
        self.page_hashes: dict[str, str] = {}  # url path -> page script hash
        self.current_page = ""
        self.auto_reruns: dict[str, float] = {}  # fragment id -> interval (s)
        self.xsrf = ""
        self.widgets: dict[str, Any] = {}  # widget id -> WidgetState: what the browser would send
        self._queue: asyncio.Queue = asyncio.Queue()
        self._file_urls: dict[str, asyncio.Future] = {}
        self._ws = None
        self._reader: asyncio.Task | None = None

    async def open(self) -> None:
        import websockets

        self.xsrf = await asyncio.to_thread(self._xsrf_cookie)
        self._ws = await websockets.connect(
            f"ws://{self.host}/_stcore/stream", subprotocols=["streamlit", self.xsrf] if self.xsrf
            else ["streamlit"], origin=self.base,
            additional_headers={"Cookie": f"_streamlit_xsrf={self.xsrf}"} if self.xsrf else None,
            max_size=None, open_timeout=self.timeout, ping_interval=None)
        self._reader = asyncio.create_task(self._read())

    def _xsrf_cookie(self) -> str:
        """GET / and /_stcore/health like a browser's page load; the health answer sets the
        ``_streamlit_xsrf`` cookie that uploads need."""
        with urllib.request.urlopen(f"{self.base}/", timeout=self.timeout) as r:
            r.read()
        with urllib.request.urlopen(f"{self.base}/_stcore/health", timeout=self.timeout) as r:
            r.read()
            for header in r.headers.get_all("Set-Cookie") or []:
                m = re.match(r"_streamlit_xsrf=([^;]+)", header)
                if m:
                    return m.group(1).strip('"')
        return ""

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
                  query: str = "") -> RunResult:
        """A full script run (page load, navigation or widget change); then fetch its images."""
        await self.send_rerun(page=page, widgets=widgets, query=query)
        res = RunResult()
        deadline = time.monotonic() + self.timeout
        while True:
            msg = await self.next_message(max(0.1, deadline - time.monotonic()))
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                el_kind = msg.delta.new_element.WhichOneof("type")
                if res.first_element_at is None:
                    res.first_element_at = time.perf_counter()
                res.elements.append((el_kind, getattr(msg.delta.new_element, el_kind)))
            elif kind == "script_finished":
                if msg.script_finished == 2:  # finished early for a rerun: the rerun follows
                    res = RunResult()
                    continue
                if msg.script_finished == 3:  # a fragment's run (a long job's timer), not ours
                    continue
                res.status = msg.script_finished
                break
        self._remember(res)
        await asyncio.gather(*(asyncio.to_thread(self._get, url) for url in res.media()))
        return res

    def _remember(self, res: RunResult) -> None:
        """Keep the value each widget of this run shows (its default, or the value the script set)
        and forget widgets that are gone, as the browser's widget manager does: the browser sends
        every widget's value with each rerun, and a widget whose value is missing falls back to its
        default (e.g. a multiselect filled from ``st.session_state`` would empty itself)."""
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
            if kind in ("multiselect", "select_slider"):
                values = list(el.raw_values) if set_value else [el.options[i] for i in el.default]
                state.string_array_value.data.extend(values)
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
        for wid in list(self.widgets):
            if wid not in active and not self.widgets[wid].HasField("file_uploader_state_value"):
                del self.widgets[wid]

    def _get(self, path: str) -> None:
        with urllib.request.urlopen(f"{self.base}{path}", timeout=self.timeout) as r:
            r.read()

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
        url = upload_url if upload_url.startswith("http") else f"{self.base}{upload_url}"
        req = urllib.request.Request(url, data=body, method="PUT", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-Xsrftoken": self.xsrf, "Cookie": f"_streamlit_xsrf={self.xsrf}", "Origin": self.base})
        with urllib.request.urlopen(req, timeout=self.timeout) as r:
            r.read()


def trigger(widget_id: str):  # noqa: ANN201
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    return WidgetState(id=widget_id, trigger_value=True)


def number(widget_id: str, value: float):  # noqa: ANN201
    """A ``st.number_input`` value (sent as a double, also for integers)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    return WidgetState(id=widget_id, double_value=value)


async def ws_step(who: str, kind: str, rec: Record, coro, need: str | None = None,  # noqa: ANN001
                  need_text: str | None = None) -> RunResult | None:
    """Time one interaction; check the run went through and shows ``need`` (a widget key) /
    ``need_text`` (in a markdown element)."""
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
    if need and not res.has(need):
        problems.append(f"no element with key {need!r}")
    if need_text and not any(need_text in t for t in res.markdown()):
        problems.append(f"no text {need_text!r}")
    rec.errors += [f"{who} {kind}: {p}" for p in problems]
    if not problems:
        rec.add(kind, dt)
    return res


async def ws_user(url: str, who: str, png: bytes, rec: Record, rounds: int, timeout: float) -> None:
    s = WsSession(url, timeout)
    try:
        t0 = time.perf_counter()
        await s.open()
        rec.add("connect (GET / + websocket)", time.perf_counter() - t0)
        for _ in range(rounds):
            res = await ws_step(who, "samples: open", rec, s.run(page=SAMPLES), "samples_download_0")
            if res is None or not (btn := res.widget_id("samples_resample")):
                continue
            seed = next((int(m.group(1)) for t in res.markdown() if (m := re.fullmatch(r"Seed (\d+)", t))), 0)
            await ws_step(who, "samples: Resample", rec, s.run(widgets=[trigger(btn)]),
                          "samples_download_0", f"Seed {seed + 1}")
            res = await ws_step(who, "reconstructions: open", rec, s.run(page=RECON), "recon_test_download_0")
            if res is None or not (up := res.widget_id("recon_user_upload")):
                continue

            async def upload_and_run(up: str = up) -> RunResult:
                state = await s.upload(up, "digit7.png", png)
                return await s.run(widgets=[state])

            await ws_step(who, "reconstructions: upload PNG", rec, upload_and_run(), "recon_user_download_0")
            await ws_step(who, "latent: open (PCA)", rec, s.run(page=LATENT), "latent_csv")
        rec.done_sessions += 1
    finally:
        await s.close()


async def ws_long_job(url: str, job: LongJob, stop: asyncio.Event, timeout: float) -> None:
    """Start the toy training / a training run, then keep its fragments rerunning like a
    browser's timers (one fragment run in flight at a time) until ``stop``."""
    s = WsSession(url, timeout)
    step_re = re.compile(r"\*\*Step ([\d,]+)\*\*" if job.kind == "toy" else r"Step ([\d,]+) / ")
    try:
        await s.open()
        page = "toy-lab" if job.kind == "toy" else "train"
        res = await s.run(page=page)
        if job.kind == "toy":
            start = res.widget_id("toy_start")
            res = await s.run(widgets=[trigger(start)])
        else:
            widgets = [number(res.widget_id("train_subset"), 0),  # all 60,000 images
                       number(res.widget_id("train_epochs"), 1), trigger(res.widget_id("train_start"))]
            res = await s.run(widgets=widgets)
        if p := res.problems():
            raise RuntimeError("; ".join(p))
        in_flight: set[str] = set()
        last_sent: dict[str, float] = {}
        while not stop.is_set():
            now = time.monotonic()
            for fid, interval in list(s.auto_reruns.items()):
                if fid not in in_flight and now - last_sent.get(fid, 0.0) >= interval:
                    in_flight.add(fid)
                    last_sent[fid] = now
                    await s.send_rerun(fragment_id=fid, auto=True)
            try:
                msg = await s.next_message(0.05)
            except TimeoutError:
                continue
            kind = msg.WhichOneof("type")
            if kind == "script_finished":
                frag = list(msg.metadata.run.fragment_ids) if msg.HasField("metadata") else []
                for fid in frag or list(in_flight):
                    in_flight.discard(fid)
                job.runs += 1
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                el_kind = msg.delta.new_element.WhichOneof("type")
                el = getattr(msg.delta.new_element, el_kind)
                text = getattr(el, "body", "") if el_kind == "markdown" else (
                    getattr(el, "text", "") if el_kind == "progress" else "")
                if m := step_re.search(text or ""):
                    job.progress.append((time.monotonic(), int(m.group(1).replace(",", ""))))
                if el_kind == "exception":
                    raise RuntimeError(f"exception in the long job: {el.message[:200]}")
        stopper = "toy_pause" if job.kind == "toy" else "train_cancel"
        last = await s.run(widgets=[])
        wid = last.widget_id(stopper)
        if wid:
            await s.run(widgets=[trigger(wid)])
    except Exception as e:  # noqa: BLE001
        job.error = first_line(e)
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
    """The same scenario in a real chromium tab (one browser context = one session)."""
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
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=20, help="concurrent users (at most 50)")
    p.add_argument("--browser-users", type=int, default=1,
                   help="how many of the users are real chromium tabs (the others: protocol clients)")
    p.add_argument("--rounds", type=int, default=1, help="times each user runs the scenario")
    p.add_argument("--stagger", type=float, default=0.5, help="seconds between user starts")
    p.add_argument("--long-job", choices=["toy", "train", "none"], default="toy")
    p.add_argument("--job-lead", type=float, default=5.0, help="seconds the job runs before users come")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per interaction")
    p.add_argument("--max-seconds", type=float, default=420.0, help="bound of the load phase")
    p.add_argument("--rss-limit-mb", type=float, default=DEFAULT_RSS_LIMIT_MB)
    p.add_argument("--no-warmup", action="store_true", help="skip the solo warm-up runs")
    p.add_argument("--url", help="an already running app (default: start one)")
    p.add_argument("--pid", type=int, help="with --url: the server's PID, for its memory and CPU")
    args = p.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS:
        p.error(f"--sessions must be between 1 and {MAX_SESSIONS}")
    args.browser_users = max(0, min(args.browser_users, args.sessions))
    if args.browser_users and not CHROMIUM.is_file():
        print(f"{CHROMIUM} not found (make chromium); running without browser users", file=sys.stderr)
        args.browser_users = 0
    return args


def start_server(workdir: Path) -> StreamlitServer:
    t0 = time.perf_counter()
    server = StreamlitServer(workdir)
    print(f"server: {server.url} (pid {server.pid}), healthy after {time.perf_counter() - t0:.1f} s",
          flush=True)
    return server


async def warm_up(args: argparse.Namespace, url: str, png: bytes) -> list[tuple[str, Record, float]]:
    """One user alone, twice: cold caches (the models load into ``st.cache_resource``), then warm."""
    out = []
    for name in () if args.no_warmup else ("solo, cold caches", "solo, warm"):
        warm = Record()
        t0 = time.perf_counter()
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


async def load_phase(args: argparse.Namespace, url: str, png: bytes, png_path: Path,
                     sampler: Sampler, browser) -> dict:  # noqa: ANN001 - playwright Browser
    """The long job, then ``--sessions`` users ``--stagger`` s apart (the browsers first)."""
    out: dict = {"t_load_start": time.monotonic(), "cpu_start": sampler.cpu_mark()}
    rec, stop, job = Record(), asyncio.Event(), LongJob(args.long_job)
    job_task = None
    if args.long_job != "none":
        job_task = asyncio.create_task(ws_long_job(url, job, stop, args.timeout))
        await asyncio.sleep(args.job_lead)  # the job is running before the users come

    async def delayed(i: int) -> None:
        await asyncio.sleep(i * args.stagger)
        who = f"user{i:02d}"
        if i < args.browser_users:  # the first users are the browsers: they start early
            await browser_user(browser, url, who, png_path, rec, args.rounds, args.timeout)
        else:
            await ws_user(url, who, png, rec, args.rounds, args.timeout)

    tasks = [asyncio.create_task(delayed(i)) for i in range(args.sessions)]
    t0 = time.perf_counter()
    await wait_sessions(tasks, args.max_seconds, rec)
    out["load_s"] = time.perf_counter() - t0
    out["t_load_end"] = time.monotonic()
    out["cpu_end"] = sampler.cpu_mark()
    stop.set()
    if job_task is not None:
        await asyncio.wait_for(job_task, timeout=args.timeout)
    out["record"], out["job"] = rec, job
    return out


async def run_load(args: argparse.Namespace, url: str, png: bytes, png_path: Path,
                   sampler: Sampler) -> dict:
    out: dict = {"warmups": await warm_up(args, url, png), "rss_after_warmup": sampler.now_rss()}
    async with chromium(args.browser_users > 0) as browser:
        out.update(await load_phase(args, url, png, png_path, sampler, browser))
    return out


@dataclass
class Measured:
    """What the run measured: :func:`run_load`'s results and the sampler's series around them."""

    res: dict
    sampler: Sampler
    rss_start: float | None
    rss_end: float | None
    metrics_end: dict[str, float]
    tracebacks: int


def server_tracebacks(server: StreamlitServer | None) -> int:
    """Tracebacks in the server's log; the log is kept in test-artifacts/ when there are any."""
    if server is None:
        return 0
    log = server.log_path.read_text(errors="replace")
    n = log.count("Traceback (most recent call last)")
    if n:
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        (ROOT / "test-artifacts" / "load-test-server.log").write_text(log)
    return n


def measure(args: argparse.Namespace, tmpdir: Path) -> Measured:
    """Start the server (unless ``--url``) and the sampler, run the load, stop both."""
    png = digit_png()
    png_path = tmpdir / "digit7.png"
    png_path.write_bytes(png)
    server = None if args.url else start_server(tmpdir)
    url, pid = (server.url, server.pid) if server else (args.url.rstrip("/"), args.pid)
    try:
        sampler = Sampler(url, pid)
        rss_start = sampler.now_rss()
        sampler.start()
        try:
            res = asyncio.run(run_load(args, url, png, png_path, sampler))
            time.sleep(3.0)  # the sessions are closed: let the server drop them
            rss_end = sampler.now_rss()
            metrics_end = streamlit_metrics(url, ("cache_memory_bytes", "active_sessions"))
        finally:
            sampler.stop()
    finally:
        if server is not None:
            server.stop()
    return Measured(res, sampler, rss_start, rss_end, metrics_end, server_tracebacks(server))


# --- report ------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, -(-len(s) * q // 100) - 1))] if s else float("nan")


def table(rec: Record) -> list[str]:
    lines = [f"{'interaction':<40} {'n':>4} {'p50 s':>7} {'p95 s':>7} {'max s':>7}"]
    every: list[float] = []
    for kind, vals in rec.latencies.items():
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


def collect_errors(args: argparse.Namespace, m: Measured) -> list[str]:
    rec, job = m.res["record"], m.res["job"]
    errors = list(rec.errors)
    for name, warm, _ in m.res["warmups"]:
        errors += [f"(warm-up, {name}) {e}" for e in warm.errors]
    if job.error:
        errors.append(f"long job ({job.kind}): {job.error}")
    if m.tracebacks:
        errors.append(f"server log: {m.tracebacks} traceback(s) (test-artifacts/load-test-server.log)")
    if not job.progress and args.long_job != "none":
        errors.append(f"long job ({job.kind}): no progress seen")
    return errors


def print_latencies(args: argparse.Namespace, res: dict, cores: int) -> None:
    print()
    print(f"=== WAE Lab load test: {args.sessions} concurrent sessions ({args.browser_users} chromium, "
          f"{args.sessions - args.browser_users} protocol clients) × {args.rounds} round(s), stagger "
          f"{args.stagger:g} s, long job: {args.long_job}, {cores} CPU cores ===")
    for name, warm, secs in res["warmups"]:
        print(f"one user alone ({name}): {secs:.1f} s")
        for line in table(warm):
            print("  " + line)
    rec: Record = res["record"]
    print(f"load phase: {res['load_s']:.1f} s, sessions completed {rec.done_sessions}/{args.sessions}")
    for line in table(rec):
        print("  " + line)


def print_server(args: argparse.Namespace, m: Measured, peak: float | None) -> None:
    """Health latency, sessions, server RSS."""
    sampler, res = m.sampler, m.res
    if sampler.health:
        print(f"/_stcore/health every 0.5 s: p50 {pct(sampler.health, 50) * 1000:.0f} ms, p95 "
              f"{pct(sampler.health, 95) * 1000:.0f} ms, max {max(sampler.health) * 1000:.0f} ms, "
              f"failures (> 5 s) {sampler.health_failures}")
    if sampler.sessions:
        print(f"active Streamlit sessions (every 2 s): max {max(sampler.sessions):.0f}")
    print(f"server RSS: start {mb(m.rss_start)}, after warm-up {mb(res['rss_after_warmup'])}, "
          f"peak {mb(peak)}, end {mb(m.rss_end)}; limit {mb(args.rss_limit_mb)}")
    rss_load = [r for t, r in sampler.rss if res["t_load_start"] <= t <= res["t_load_end"]]
    if rss_load and res["rss_after_warmup"]:
        per = (max(rss_load) - res["rss_after_warmup"]) / args.sessions
        print(f"  peak during the load minus after warm-up, per concurrent session: {per:,.1f} MB")


def print_machine(m: Measured, cores: int) -> None:
    """CPU use in the load phase (server, chromium, this script, the rest), MemAvailable."""
    (ta, sa, ba, ca, busy_a, total_a), (tb, sb, bb, cb, busy_b, total_b) = (m.res["cpu_start"],
                                                                            m.res["cpu_end"])
    if tb > ta and total_b > total_a:
        wall = tb - ta
        machine = (busy_b - busy_a) / (total_b - total_a) * cores
        srv, brw, me = (sb - sa) / wall, (bb - ba) / wall, (cb - ca) / wall
        print(f"CPU in the load phase, cores busy of {cores}: machine {machine:.2f} = server {srv:.2f} + "
              f"chromium {brw:.2f} + protocol clients (this script) {me:.2f} + other processes "
              f"{max(0.0, machine - srv - brw - me):.2f}")
    if m.sampler.mem_avail:
        print(f"machine MemAvailable: min {mb(min(m.sampler.mem_avail))}")


def print_job(job: LongJob) -> None:
    if job.progress:
        (ja, sa), (jb, sb) = job.progress[0], job.progress[-1]
        rate = (sb - sa) / (jb - ja) if jb > ja else 0.0
        print(f"long job ({job.kind}): step {sa:,} -> {sb:,} over {jb - ja:.0f} s of the load "
              f"({rate:,.1f} steps/s), {job.runs} fragment reruns answered")


def print_caches(metrics: dict[str, float]) -> None:
    caches = {k: v for k, v in metrics.items() if k.startswith("cache_memory_bytes")}
    if caches:
        print("Streamlit caches at the end (per process, shared by every session; cache_resource "
              "objects are not sized by Streamlit):")
        for k, v in sorted(caches.items()):
            match = re.search(r'cache_type="([^"]*)",cache="([^"]*)"', k)
            label = f"{match.group(1)} {match.group(2)}" if match else k
            print(f"  {label:<60} {v / 1e6:>9.2f} MB")


def verdict(errors: list[str], peak: float | None, limit_mb: float) -> bool:
    print(f"errors: {len(errors)}")
    for e in errors[:40]:
        print(f"  - {e}")
    if len(errors) > 40:
        print(f"  … and {len(errors) - 40} more")
    ok = not errors and (peak is None or peak <= limit_mb)
    if peak is not None and peak > limit_mb:
        print(f"FAIL: peak RSS {peak:,.0f} MB > limit {limit_mb:,.0f} MB")
    print("PASS" if ok else "FAIL")
    return ok


def report(args: argparse.Namespace, m: Measured) -> bool:
    cores = os.cpu_count() or 1
    peak = max((r for _, r in m.sampler.rss), default=None)
    print_latencies(args, m.res, cores)
    print_server(args, m, peak)
    print_machine(m, cores)
    print_job(m.res["job"])
    print_caches(m.metrics_end)
    return verdict(collect_errors(args, m), peak, args.rss_limit_mb)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wae-load-") as tmp:
        measured = measure(args, Path(tmp))
    return 0 if report(args, measured) else 1


if __name__ == "__main__":
    raise SystemExit(main())
