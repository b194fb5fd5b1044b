"""One timed interaction of a load-test user, checked and recorded: a protocol tab's script run
(:func:`ws_step`, :func:`press`) or a chromium tab's action (:func:`step`); and the chromium the
browser users share."""

from __future__ import annotations

import asyncio
import contextlib
import time

from app.room import COOKIE
from harness.browser import BUSY, STALE, launch
from harness.load.record import Record, first_line
from harness.pages import QueueInfo, parse_queue, parse_step, plain
from harness.protocol import RunResult, trigger
from harness.session import WsSession

BUSY_OR_STALE = f"{BUSY}, {STALE}"  # a chromium tab's run is done when none is left


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
    rec.pinned += COOKIE in s.cookies


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


async def wait_done(page, marker: str, timeout: float, quiet: int = 2) -> None:  # noqa: ANN001
    """Until ``marker`` (a selector) is shown and nothing is running or stale for ``quiet``
    polls in a row (0.1 s apart)."""
    deadline = time.monotonic() + timeout
    calm = 0
    while time.monotonic() < deadline:
        shown = await page.locator(marker).count() > 0
        busy = await page.locator(BUSY_OR_STALE).count() > 0
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


@contextlib.asynccontextmanager
async def chromium(wanted: bool):  # noqa: ANN201 - yields a playwright Browser or None
    """A headless Debian chromium for the browser users (None when there are none)."""
    if not wanted:
        yield None
        return
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await launch(pw.chromium)
        try:
            yield browser
        finally:
            await browser.close()
