"""``python -m app.room``: two app processes behind HAProxy with cookie affinity, driven by a
browser and by plain HTTP. A session lives in one process, so its page, its websocket, its
``/media/`` files (downloads; the pages' images travel inside the websocket's messages) and its
uploads must all reach that process; the tests check each, and that
the wrong process refuses the session (what a room without affinity would do)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

import app.room
from app.room import APP_NICE, COOKIE, NO_HAPROXY, find_haproxy, haproxy_config
from harness import ARTIFACTS
from harness.browser import UI, toy_points, toy_step
from harness.room import Room, multipart, request
from harness.server import free_port, health_latency
from harness.waiting import wait_until
from tests.upload_corpus import digit_image
from wae_core.live.cpu_share import niceness

ENCODER_MODELS = 3  # the Reconstructions page's default selection: VAE, WAE-MMD, WAE-GAN (+ GAN)
VIEWPORT = {"width": 1400, "height": 1000}


def _need_haproxy() -> None:
    if find_haproxy() is None:
        pytest.skip("haproxy not found: install it with `make proxy` (apt-get install haproxy)")


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    _need_haproxy()
    r = Room(tmp_path_factory.mktemp("room"), processes=2, hub=True)
    try:
        yield r
    finally:
        r.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(r.log_path, ARTIFACTS / "room.log")
        for log in r.logs.glob("*.log"):  # the hub's and each app process's: what a failure left
            shutil.copyfile(log, ARTIFACTS / f"room-{log.name}")


def _cookies(context, url: str) -> dict[str, str]:  # noqa: ANN001 - playwright BrowserContext
    return {c["name"]: c["value"] for c in context.cookies(url)}


def test_config_is_valid_and_sticky(tmp_path: Path) -> None:
    _need_haproxy()
    cfg = haproxy_config("127.0.0.1", 8501, ["127.0.0.1:9001", "127.0.0.1:9002"])
    assert f"cookie {COOKIE} insert indirect nocache" in cfg
    assert "server s1 127.0.0.1:9001 cookie s1" in cfg and "server s2 127.0.0.1:9002 cookie s2" in cfg
    lines = [line.split("#")[0].strip() for line in cfg.splitlines()]
    assert "timeout tunnel 1h" in lines and "option http-server-close" not in lines  # websockets
    (tmp_path / "haproxy.cfg").write_text(cfg)
    check = subprocess.run([find_haproxy(), "-c", "-f", str(tmp_path / "haproxy.cfg")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_without_haproxy_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(app.room, "find_haproxy", lambda: None)
    assert app.room.main(["--processes", "1"]) == 2
    assert capsys.readouterr().err.strip() == NO_HAPROXY


@pytest.mark.slow
@pytest.mark.browser
def test_two_browsers_land_on_different_processes(room: Room, browser) -> None:  # noqa: ANN001
    picked = []
    for _ in range(2):
        context = browser.new_context(viewport=VIEWPORT)
        try:
            ui = UI(context.new_page(), room)
            ui.open()
            ui.assert_clean()
            picked.append(_cookies(context, room.url).get(COOKIE))
        finally:
            context.close()
    assert set(picked) == {"s1", "s2"}, picked


# The two tests below ask for ``browser_name`` (unused) so that pytest, which groups the session's
# tests by pytest-playwright's browser parameter, runs them with this module's browser tests: one
# room for all of them (without it the module's room was started twice in the whole suite, 7.6 s).
@pytest.mark.slow
def test_the_cookie_picks_the_process(room: Room, browser_name: str) -> None:
    health = room.url + "/_stcore/health"
    for name in ("s1", "s2"):
        for _ in range(3):
            status, headers, _ = request(health, cookie=f"{COOKIE}={name}")
            assert (status, headers.get("x-wae-backend")) == (200, name)
            assert COOKIE not in headers.get("set-cookie", "")  # "indirect": it has a valid one
    seen = []
    for _ in range(4):  # no cookie: round robin, and each answer hands out its process's cookie
        status, headers, _ = request(health)
        backend = headers.get("x-wae-backend")
        assert status == 200 and f"{COOKIE}={backend};" in headers.get("set-cookie", ""), headers
        seen.append(backend)
    assert set(seen) == {"s1", "s2"}, seen


@pytest.mark.slow
@pytest.mark.browser
def test_upload_websocket_and_media_reach_the_session_process(room: Room, browser,  # noqa: ANN001
                                                              tmp_path: Path) -> None:
    digit = tmp_path / "room_digit.png"
    digit_image((112, 112)).resize((28, 28), Image.Resampling.LANCZOS).save(digit)
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        answered: list[tuple[str, str, int, str | None]] = []  # path, method, status, backend
        page.on("response", lambda r: answered.append(
            (urlsplit(r.url).path, r.request.method, r.status, r.headers.get("x-wae-backend")))
            if r.url.startswith(room.url) else None)
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(urlsplit(ws.url).path))
        ui = UI(page, room)
        ui.open("reconstructions", "Reconstructions")
        page.get_by_text("Mean MSE:").first.wait_for()
        ui.key("recon_user_upload").locator("input[type='file']").set_input_files(str(digit))
        for i in range(ENCODER_MODELS):
            ui.key(f"recon_user_download_{i}").first.wait_for()
        ui.settle()
        with page.expect_download():  # a download is a /media/ file of the session's process
            ui.key("recon_user_download_0").get_by_role("button").click()
        ui.assert_clean()
        assert not ui.errors(), ui.errors()
        main = page.locator("[data-testid='stMain']")
        assert main.locator("[data-testid='stImage']", has_text=digit.name).count() >= 1
        ui.screenshot("room-upload")
        cookies = _cookies(context, room.url)
        mine = cookies[COOKIE]
        other = {"s1": "s2", "s2": "s1"}[mine]
        assert "/_stcore/stream" in sockets
        uploads = [a for a in answered if a[0].startswith("/_stcore/upload_file/") and a[1] == "PUT"]
        media = [a for a in answered if a[0].startswith("/media/")]
        assert uploads and all(a[2] == 204 for a in uploads), uploads
        assert media and all(a[2] == 200 for a in media), media[:5]
        # every answer the browser got (page, scripts, media, uploads) came from its own process
        assert {a[3] for a in answered} == {mine}, sorted({(a[0], a[3]) for a in answered})[:20]

        # The same upload, sent as the browser sends it (XSRF cookie + header), to each process
        # while the session is open: its own process accepts it; the other has never heard of
        # the session and refuses it, as every upload would be refused without affinity.
        session_id = uploads[0][0].split("/")[3]
        xsrf = cookies["_streamlit_xsrf"]
        body, ctype = multipart("file", "probe.png", digit.read_bytes())
        url = f"{room.url}/_stcore/upload_file/{session_id}/room-probe"
        answers = {}
        for name in (mine, other):
            status, headers, text = request(url, method="PUT", data=body,
                                            cookie=f"{COOKIE}={name}; _streamlit_xsrf={xsrf}",
                                            headers={"X-Xsrftoken": xsrf, "Content-Type": ctype})
            assert headers.get("x-wae-backend") == name
            answers[name] = (status, text)
        assert answers[mine][0] == 204, answers[mine]
        assert answers[other][0] == 400 and "Invalid session_id" in answers[other][1], answers[other]
    finally:
        context.close()


@pytest.mark.slow
def test_app_processes_and_the_hub_have_weighted_sessions_of_their_own(room: Room, browser_name: str) -> None:
    """Each a session (an autogroup: wae_core.live.cpu_share) of its own, at its niceness."""
    backends = room.backends()
    assert sorted(backends) == ["s1", "s2"], room.log()[-2000:]
    hub = room.hub_pid()
    assert hub is not None, room.log()[-2000:]
    for _url, pid in backends.values():
        assert os.getsid(pid) == pid and niceness(pid) == APP_NICE
    assert os.getsid(hub) == hub and niceness(hub) == 0


@pytest.mark.slow
def test_sigterm_stops_the_proxy_the_apps_and_the_hub(tmp_path: Path) -> None:
    """A room of its own (the module's must outlive every test, whatever order they run in)."""
    _need_haproxy()
    room = Room(tmp_path, processes=1, hub=True)
    try:
        pids = [pid for _url, pid in room.backends().values()] + [room.hub_pid()]
        urls = [url for url, _pid in room.backends().values()]
        assert len(pids) == 2 and None not in pids, room.log()[-3000:]
        assert health_latency(room.url) is not None
    finally:
        code = room.stop()
    assert code == 0, room.log()[-3000:]
    assert "WAE Lab room: stopped" in room.log()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    for url in [room.url, *urls]:
        assert health_latency(url, timeout=2) is None, url


def test_backends_point_the_proxy_at_servers_started_elsewhere(tmp_path: Path) -> None:
    """--backends: no app process is started here; the proxy spreads browsers over the given
    servers (two static servers that answer /_stcore/health stand in for other machines)."""
    _need_haproxy()
    servers, backends = [], []
    try:
        for name in ("a", "b"):
            root = tmp_path / name
            (root / "_stcore").mkdir(parents=True)
            (root / "_stcore" / "health").write_text("ok")
            (root / "who").write_text(name)
            port = free_port()
            servers.append(subprocess.Popen(
                [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                 "--directory", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            backends.append(f"127.0.0.1:{port}")
        room = Room(tmp_path, backends=backends)
        try:
            assert room.backends() == {"s1": (f"http://{backends[0]}", None),
                                       "s2": (f"http://{backends[1]}", None)}, room.log()
            for name, expected in (("s1", "a"), ("s2", "b")):
                status, headers, body = request(room.url + "/who", cookie=f"{COOKIE}={name}")
                assert (status, headers.get("x-wae-backend"), body) == (200, name, expected), \
                    f"{status} {headers} {body[:300]}\n{room.log()[-3000:]}"
        finally:
            assert room.stop() == 0, room.log()[-3000:]
    finally:
        for s in servers:
            s.terminate()
            s.wait(10)


@pytest.mark.slow
@pytest.mark.browser
def test_a_shared_run_is_watched_from_the_other_process(room: Room, browser) -> None:  # noqa: ANN001
    """The lecturer's run trains in the hub; a student on the other app process watches it move."""
    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(2)]
    try:
        lecturer = UI(contexts[0].new_page(), room)
        lecturer.open("toy-lab", "Live toy training")
        lecturer.click("toy_start")
        # one click took: the lecturer's own counter moves (told apart from a watcher who sees none)
        wait_until(lambda: toy_step(lecturer) or None, 60, "the lecturer's run to train after one Start")
        lecturer.click("toy_share")
        code = wait_until(lambda: re.search(r"Room code ([A-Z2-9]{6})", lecturer.main_text()), 60,
                          "the room code").group(1)
        where = _cookies(contexts[0], room.url)[COOKIE]
        other = "s2" if where == "s1" else "s1"
        contexts[1].add_cookies([{"name": COOKIE, "value": other, "url": room.url}])
        student = UI(contexts[1].new_page(), room)
        student.open(f"toy-lab?room={code}", "Live toy training")
        assert _cookies(contexts[1], room.url)[COOKIE] == other
        wait_until(lambda: f"Watching run {code}" in student.main_text(), 60, "the watching state")
        seen = wait_until(lambda: toy_step(student) or None, 60, "the watched run's counter")
        points = toy_points(student)
        wait_until(lambda: toy_step(student) > seen + 20 and toy_points(student) != points, 60,
                   "the watched counter and points to advance across processes")
        student.assert_clean()
        # the hub's log, kept by app.room --logs (and copied to test-artifacts), says it trains
        assert re.search(r"WAE Lab hub: run \w+ trains \(", (room.logs / "hub.log").read_text())
    finally:
        for c in contexts:
            c.close()
