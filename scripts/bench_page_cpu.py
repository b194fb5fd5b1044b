"""The server's CPU per interaction of the seminar's tour: what each student costs the room.

    .venv/bin/python scripts/bench_page_cpu.py [--tabs 10]

One app server (``python -m app.serve``, its warm-up over), one tab at a time through the load
test's tour (``scripts/load_test.py``: every page once, an upload, three explorer sliders). The
server's CPU time between the end of one interaction and the end of the next is that
interaction's (a tab does nothing in between); the first ``--skip`` tabs are left out (first
visits fill caches). One more tab stays open all along, as in a room: Streamlit forgets its
compiled pages when the last tab closes. Prints each kind of interaction's CPU per tab (the
three slider moves together) and the tour's sum, in ms, the mean over the tabs (the clock ticks
are 10 ms). Under a burst the room's CPU is this times the tabs (``load_test.py --timeline``
shows it per process).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import load_test  # noqa: E402 - the tour itself

from harness.images import digit_png  # noqa: E402
from harness.load.record import Record  # noqa: E402
from harness.load.steps import connect  # noqa: E402
from harness.procfs import cpu_seconds  # noqa: E402
from harness.server import StreamlitServer  # noqa: E402
from harness.session import WsSession  # noqa: E402

WARM_TIMEOUT_S = 240.0
QUIET_CORES = 0.05  # the server is idle below this: after "caches warm" it warms the next seed


def wait_quiet(pid: int, timeout: float = WARM_TIMEOUT_S) -> None:
    """Until the server used under QUIET_CORES of a core for two seconds in a row."""
    deadline, quiet = time.monotonic() + timeout, 0
    while quiet < 2 and time.monotonic() < deadline:
        c0 = cpu_seconds(pid)
        time.sleep(1.0)
        quiet = quiet + 1 if cpu_seconds(pid) - c0 < QUIET_CORES else 0


class CpuRecord(Record):
    """A tab's record that also charges the server's CPU since the previous interaction ended."""

    def __init__(self, pid: int) -> None:
        super().__init__()
        self.pid, self.last = pid, cpu_seconds(pid)
        self.cpu: dict[str, float] = {}

    def add(self, kind: str, seconds: float) -> None:
        super().add(kind, seconds)
        now = cpu_seconds(self.pid)
        self.cpu[kind], self.last = self.cpu.get(kind, 0.0) + now - self.last, now


async def tour(url: str, pid: int, tabs: int, skip: int) -> tuple[dict[str, float], list[str]]:
    keep = WsSession(url, 60)
    await connect(keep, Record())
    png, totals, errors = digit_png(), {}, []
    try:
        for i in range(tabs):
            s, rec = WsSession(url, 60), CpuRecord(pid)
            try:
                await connect(s, rec)
                rec.last = cpu_seconds(pid)
                await load_test.tour(s, f"tab{i}", png, rec)
            finally:
                await s.close()
            errors += rec.errors
            if i >= skip:
                for kind, cpu in rec.cpu.items():
                    totals[kind] = totals.get(kind, 0.0) + cpu / (tabs - skip)
    finally:
        await keep.close()
    return totals, errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tabs", type=int, default=10)
    ap.add_argument("--skip", type=int, default=2, help="first tabs left out (cold caches)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        server = StreamlitServer(Path(tmp))
        try:
            server.wait_warm(WARM_TIMEOUT_S)
            wait_quiet(server.pid)
            totals, errors = asyncio.run(tour(server.url, server.pid, args.tabs, args.skip))
        finally:
            server.stop()
    for kind, ms in totals.items():
        print(f"  {kind:32s} {1000 * ms:6.0f} ms")
    print(f"  {'the tour':32s} {1000 * sum(totals.values()):6.0f} ms of server CPU per tab "
          f"(mean of {args.tabs - args.skip} tabs)")
    for e in errors[:5]:
        print("  error:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
