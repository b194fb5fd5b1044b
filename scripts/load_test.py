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
page once, in order: Start here (the root URL), The idea, Samples (+ Resample), Reconstructions
(+ a PNG upload), Latent space, Interpolation, Latent explorer (+ three offset sliders moved: fragment
reruns), Mode collapse, Results. ``--live-sessions`` of the sessions (default 10) also use the live
page ``/toy-lab``: session 0 is the lecturer, who arrives first, presses Start, then **Share this
run**, reads the room code and keeps the page open (its timers running) to the end; the solo
``--job-lead`` s (default 20) measure the shared run with no watchers. The other live sessions are
watchers spread over the arrivals: they open ``/toy-lab?room=CODE`` and watch ``--watch-seconds``
(their fragments rerun on their timers), then tour the pages; ``--live-starters`` of them (default
3) press Start on the page first, wait in the queue (the page's "Queued: position … · training
starts in about N s") until their own run starts by itself, watch it until its turn ends (the hub
pauses it when another run waits) or ``--own-run-seconds`` (default 60: a whole turn; 10 for
students who press Pause early, which lets the queue move before its estimate) and press Pause.
After the last session the lecturer's run goes on ``--after-seconds`` s alone.

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
import json
import re
import shlex
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The machinery (session client, servers, probes, report) is the harness's; the scenarios are here.
from harness.browser import CHROMIUM  # noqa: E402
from harness.images import digit_png  # noqa: E402
from harness.load.record import Live, LongJob, QueueWait, Record, first_line  # noqa: E402
from harness.load.report import Measured, cpu_series, markdown, plural, report  # noqa: E402
from harness.load.sampler import Sampler, streamlit_metrics  # noqa: E402
from harness.load.servers import ServerStartError, server_tracebacks, start_server  # noqa: E402
from harness.load.steps import (  # noqa: E402
    Noted,
    chromium,
    connect,
    nav_link,
    page_queue,
    page_step,
    press,
    step,
    ws_step,
)
from harness.pages import metric_columns, parse_room_code  # noqa: E402
from harness.procfs import app_ports, tree_members  # noqa: E402
from harness.protocol import RunResult, number, slider, trigger  # noqa: E402
from harness.session import WsSession  # noqa: E402

MAX_SESSIONS = 80
MAX_PROCESSES = 8
SEMINAR_FROM = 30  # --scenario auto: the seminar from this many sessions on
# Measured on the 2-core, 24 GiB box: server RSS ≈ 0.85-1.0 GB after the warm-up (torch, streamlit,
# the shipped models, the MNIST test set), peak ≈ 1.05 GB with 20 sessions (+1-8 MB per session)
# and the toy job; a `train` job adds ≈ 0.35 GB (the MNIST training set). 2.5 GB leaves room for
# that and a noisy run, and still catches a per-session leak (models or arrays copied per session).
# With --processes N it applies to each app process (each holds its own models and caches).
DEFAULT_RSS_LIMIT_MB = 2560
SAMPLES, RECON, LATENT = "samples", "reconstructions", "latent"
TOY = "toy-lab"
EXPLORE_MOVES = (0.5, -1.0, 1.5)  # offsets the seminar sets on the explorer's first sliders
# A starter watches its own run until its turn ends or this long, then presses Pause: a whole
# turn (wae_core.live.slots.LEASE_SECONDS, not imported: it would load torch into the client;
# tests/unit/test_load_test.py keeps them equal) by default, --own-run-seconds 10 for impatient ones.
OWN_RUN_S = 60.0
TURN_OVER = "s turn:"  # the hub's note when it pauses a run whose turn ended (wae_core.live.hub)
HTTP_THREADS = 64  # urllib calls (media, uploads) run in threads: the default pool has 6 on 2 cores


# --- arrivals and roles (pure functions; tests/unit/test_load_test.py) -------------------------
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
    if not s.page_hashes:  # a fresh tab opens the root URL: the welcome page
        await ws_step(who, "welcome: open", rec, s.run(page=""), "welcome_room_code")
    await ws_step(who, "idea: open", rec, s.run(page="idea"), ("idea_gan_sorted_png", "idea_gan_png"))
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
async def ws_lecturer(url: str, live: Live, rec: Record, stop: asyncio.Event, timeout: float,
                      preset: str = "") -> None:
    """The projector's tab: Start, Share, read the room code, keep the page open (its timers
    running) until ``stop``; each of the shared run's step lines and metrics is recorded.
    ``preset``: the live page's preset, from the URL as a shared link sets it (default: the
    page's own)."""
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
        query = urllib.parse.urlencode({"toy_preset": preset}) if preset else ""
        if await ws_step(who, "toy-lab: open (lecturer)", rec, s.run(page=TOY, query=query), "toy_start",
                         need_text=f"Running the preset {preset}" if preset else None) is None:
            raise RuntimeError("the live page did not open" + (f" with preset {preset}" if preset else ""))
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


async def queue_start(s: WsSession, who: str, live: Live, rec: Record, max_wait: float,
                      own_seconds: float) -> None:
    """Press Start on the live page (a watcher's page, else the student's own): when it queues,
    wait with the page's timers running until the queue message is gone and the page's step line
    counts up (a refusal instead ends the wait); the wait counts from when the queue message (and
    its estimate) was shown. Then watch the own run (see ``done``) and press Pause (so the next one
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
    # Watch the own run until its turn ends (the hub pauses it when others wait) or for
    # ``own_seconds``; then Pause (nothing changes when the hub already paused it).
    end = time.monotonic() + own_seconds

    def done() -> bool:
        return time.monotonic() >= end or any(TURN_OVER in t for t in s.view().texts())

    await s.browse(done, Noted(who, "toy-lab (own run)", rec), rec)
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
            await queue_start(s, who, live, rec, args.max_seconds, args.own_run_seconds)
        await tour(s, who, png, rec)
        rec.done_sessions += 1
    finally:
        await s.close()


# --- real browser users ------------------------------------------------------------------------
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
    p.add_argument("--live-preset", default="",
                   help="seminar: the lecturer's preset on the live page, e.g. fast (default: the page's)")
    p.add_argument("--own-run-seconds", type=float, default=OWN_RUN_S,
                   help="seminar: a starter watches its own run until its turn ends or this long, "
                        f"then presses Pause (default {OWN_RUN_S:g}: a whole turn)")
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
    p.add_argument("--timeline", type=Path,
                   help="write every interaction of the load phase (seconds after the burst began, "
                        "what, latency), the shared run's steps (seconds, step) and each process's "
                        "cores in 5-s bins to this JSON file, per process count")
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
        lecturer = asyncio.create_task(ws_lecturer(url, live, rec, stop, args.timeout, args.live_preset))
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


def timeline(m: Measured) -> dict[str, list]:
    """The load phase in seconds from the burst's start: its interactions in the order they
    began (start, what, latency), the shared run's progress (time, step) and the cores each
    process used in 5-s bins, to tell a burst from a stall and see when the shared run slowed
    and what took its CPU."""
    t0 = m.res["t_burst" if "t_burst" in m.res else "t_load_start"]
    live = m.res.get("live")
    return {"interactions": sorted((round(end - dt - t0, 2), kind, round(dt, 3))
                                   for end, kind, dt in m.res["record"].timeline),
            "shared_run_steps": [(round(t - t0, 2), step) for t, step in live.progress] if live else [],
            "cpu_cores": cpu_series(m, t0)}


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
    if args.timeline:
        args.timeline.write_text(json.dumps({m.processes: timeline(m) for m, _ in runs}, indent=0))
    if runs:
        print()
        print("\n".join(markdown(args, runs, command)))
    for processes in failed_starts:
        print(f"\n{plural(processes, 'process')}: the server did not start (see above)")
    return 0 if runs and not failed_starts and all(ok for _, ok in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
