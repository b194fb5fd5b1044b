"""A protocol-level client: one app session over Streamlit's websocket, like a browser tab without
a renderer (the load test's users)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.protocol import RunResult, parse_set_cookies, run_fragments

if TYPE_CHECKING:
    from harness.load.record import Record

RESEND_S = 5.0  # a page timer's run unanswered this long is asked for again (see WsSession._send_due)


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
            await self._send_due(in_flight, last_sent, draining=drain_until is not None)
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

    async def _send_due(self, in_flight: dict[str, float], last_sent: dict[str, float],
                        draining: bool = False) -> None:
        """Rerun each page timer's fragment whose interval is up, as the browser's timer does:
        not while a run of it is in flight, unless that run has gone unanswered for RESEND_S (the
        browser's timer fires whether or not its last ask was answered, so an ask the server did
        not run is superseded by the next). A fragment counts as unanswered from its oldest
        unanswered ask: an error only when nothing answered it for ``timeout`` s. ``draining``
        (the tab is about to do something else): only the asks still unanswered are repeated.
        Without that, an ask the server never ran (Streamlit folds the requests that arrive
        during a run together) was waited for until ``timeout`` and counted as an error: one or
        two watchers per seminar run, whose watch (30 s) had ended, though a tab's next tick
        would have been answered."""
        now = time.monotonic()
        for fid, interval in list(self.auto_reruns.items()):
            since = now - last_sent.get(fid, 0.0)
            if draining and fid not in in_flight:
                continue
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
