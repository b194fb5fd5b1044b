"""The load test's report: latencies, errors, memory and CPU of every process, the shared run and
its queue; and a markdown table, one column per process count, for the README."""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from app.room import COOKIE
from harness.load.record import Live, LongJob, QueueWait, Record
from harness.load.sampler import Sampler

WAE_METRICS_AT_S = 60.0  # the shared run's WAE scores are reported this long after Start
WAE_BAR = ("8/8", 0.5)  # issue 31: the shared run's WAE shows 8/8 modes and >= 50 % high quality


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


@dataclass
class Measured:
    """What one configuration measured: the results of the load (``res``: ``scripts/load_test.py``'s
    ``run_load``) and the sampler's series."""

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


# The order of the report's interactions: a session's way through the app, not arrival order.
REPORT_ORDER = ("connect", "toy-lab", "welcome", "idea", "samples", "reconstructions", "latent",
                "interpolation", "explore", "mode-collapse", "results", "[browser]")


def in_report_order(kinds: Iterable[str]) -> list[str]:
    kinds = list(dict.fromkeys(kinds))
    rank = {k: next((i for i, p in enumerate(REPORT_ORDER) if k.startswith(p)), len(REPORT_ORDER))
            for k in kinds}
    return sorted(kinds, key=lambda k: (rank[k], kinds.index(k)))


def table(rec: Record) -> list[str]:
    lines = [f"{'interaction':<40} {'n':>4} {'p50 s':>7} {'p95 s':>7} {'max s':>7}"]
    every: list[float] = []
    latencies = rec.latencies
    for kind in in_report_order(latencies):
        vals = latencies[kind]
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


def cpu_series(m: Measured, t0: float, seconds: float = 5.0) -> dict[str, list[float]]:
    """Cores each process used in ``seconds``-long bins from ``t0`` (monotonic): ``"t"`` the bins'
    starts (s from ``t0``), then one list per process, named "<role> <pid>" ("clients" for this
    script's protocol clients): what took the CPU from whom in a burst."""
    samples = [(t - t0, cpu) for t, cpu in m.sampler.cpu]
    if len(samples) < 2:
        return {}
    start = samples[0][0] // seconds * seconds
    edges = [start + i * seconds for i in range(int((samples[-1][0] - start) // seconds) + 1)]

    def at_edges(pid: int) -> list[float]:  # its CPU seconds at each edge: the last sample before it
        marks, last, i = [], 0.0, 0
        for edge in edges:
            while i < len(samples) and samples[i][0] <= edge:
                last = samples[i][1].get(pid, last)
                i += 1
            marks.append(last)
        return marks

    out: dict[str, list[float]] = {"t": [round(e, 1) for e in edges[:-1]]}
    for pid in sorted({pid for _, cpu in samples for pid in cpu}):
        marks = at_edges(pid)
        name = "clients" if pid == 0 else f"{m.role(pid)} {pid}"
        out[name] = [round((b - a) / seconds, 2) for a, b in zip(marks, marks[1:])]
    return out


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
        errors.append(f"only {rec.pinned} of {rec.connected} sessions got the proxy's {COOKIE} "
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
    pinned = (f", {rec.pinned}/{rec.connected} pinned to a process by the {COOKIE} cookie"
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


def wae_bar_text(live: Live | None) -> str:
    """When the WAE column first showed the bar: the issue's "reaches ... within 60 s"."""
    at = live.first_shown(1, *WAE_BAR) if live is not None else None
    return "never" if at is None else f"at {at:.0f} s"


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
    print(f"  WAE {WAE_METRICS_AT_S:.0f} s after Start: {wae_scores(live)}; first at "
          f"{WAE_BAR[0]} modes and >= {WAE_BAR[1]:.0%} high quality: {wae_bar_text(live)}")
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
    latencies = [r.latencies for r in recs]
    for kind in in_report_order(k for lat in latencies for k in lat):
        row(f"{kind} (p50 / p95 / max s)",
            [f"{pct(v, 50):.2f} / {pct(v, 95):.2f} / {max(v):.2f}" if (v := lat.get(kind)) else "–"
             for lat in latencies])
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
        row(f"shared run, WAE first shown at {WAE_BAR[0]} modes and ≥ {WAE_BAR[1]:.0%} high quality",
            [wae_bar_text(lv) for lv in lives])
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
