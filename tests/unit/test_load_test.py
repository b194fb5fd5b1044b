"""The load test's pure functions: what it reads off the pages (the live page's step line, room
code, queue message, metrics, refusals), cookies, process roles, the per-phase rate and the report's
order (``harness/``); the arrivals, roles and arguments of ``scripts/load_test.py``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from harness import pages, procfs, protocol, session
from harness.load import record, report

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lt():  # noqa: ANN201 - the script as a module (scripts/ is not a package)
    spec = importlib.util.spec_from_file_location("load_test", ROOT / "scripts" / "load_test.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("load_test", module)
    spec.loader.exec_module(module)
    return module


def test_step_line() -> None:
    assert pages.parse_step("**Step 1,234** · 55 steps/s per model") == (1234, 55.0)
    assert pages.parse_step("**Step 12,345** · 1,205 steps/s per model") == (12345, 1205.0)
    assert pages.parse_step("**Step 0**") == (0, None)  # paused: no rate
    assert pages.parse_step("Watching run AB23CD · **Step 77** · 3.5 steps/s per model") == (77, 3.5)
    assert pages.parse_step("Step 3 / 10") is None  # the training page's line is not the live page's


def test_room_code() -> None:
    link = "Room code **K7QX2M**: [open the run](http://127.0.0.1:8501/toy-lab?room=K7QX2M)"
    assert pages.parse_room_code(["**Step 3**", link]) == "K7QX2M"
    # the link and the words in two elements
    assert pages.parse_room_code(["Room code", "[link](/toy-lab?room=ABCDEF)"]) == "ABCDEF"
    # the code printed after the words, no link
    assert pages.parse_room_code(["Room code: **Z2Z2Z2**"]) == "Z2Z2Z2"
    # 0, 1, O and I are not in the alphabet; 7 characters is not a code; no "Room code": no code
    assert pages.parse_room_code(["Room code", "?room=AB01CD"]) is None
    assert pages.parse_room_code(["Room code", "?room=ABCDEFG"]) is None
    assert pages.parse_room_code(["?room=ABCDEF"]) is None


def test_plain_text() -> None:
    assert pages.plain("Watching run **K7QX2M** · its controls") == "Watching run K7QX2M · its controls"
    assert pages.plain("`a_b`") == "a_b"


def test_queue_message() -> None:
    q = pages.parse_queue("Queued: position 2 of 3 · training starts in about 45 s")
    assert q == pages.QueueInfo(2, 3, 45.0)
    assert pages.parse_queue("Queued: position 1 of 1 · training starts in about 2 min").estimate_s == 120.0
    assert pages.parse_queue("Queued: position 4 of 5").estimate_s is None
    assert pages.parse_queue("Queued: position 2 of 2 · training starts when the room's run stops. Every "
                             "core is training") == pages.QueueInfo(2, 2, None)
    assert pages.parse_queue("**Step 12**") is None


def test_refusals() -> None:
    assert pages.is_refusal("2 runs already training on this server. Pause a run or try again in a minute.")
    assert pages.is_refusal("Connection refused")
    assert not pages.is_refusal("Queued: position 2 of 3 · training starts in about 45 s")


def test_metric_columns() -> None:
    cols = pages.metric_columns([("Modes covered", "3/8"), ("High quality", "80%"),
                                 ("OT cost to real", "0.5"), ("Modes covered", "8/8"),
                                 ("High quality", "51%"), ("OT cost to real", "0.1")])
    assert [c["Modes covered"] for c in cols] == ["3/8", "8/8"]  # GAN, then WAE
    assert cols[1]["High quality"] == "51%"


def test_cookies() -> None:
    got = protocol.parse_set_cookies(['WAELAB=app2; path=/; HttpOnly',
                                      '_streamlit_xsrf="2|ab|cd|17"; expires=Thu, 01 Jan 2030 00:00:00 GMT',
                                      'broken'])
    assert got == {"WAELAB": "app2", "_streamlit_xsrf": "2|ab|cd|17"}
    s = session.WsSession("http://127.0.0.1:9", timeout=1)
    s.cookies.update(got)
    assert s.cookie_header() == "WAELAB=app2; _streamlit_xsrf=2|ab|cd|17"


def test_arrivals(lt) -> None:  # noqa: ANN001
    assert lt.arrival_offsets(3, 0.5, None) == [0.0, 0.5, 1.0]
    burst = lt.arrival_offsets(60, 0.5, 15.0)  # --burst wins over --stagger
    assert burst[0] == 0.0 and burst[-1] < 15.0 and len(burst) == 60
    assert all(b - a == pytest.approx(0.25) for a, b in zip(burst, burst[1:]))


def test_live_roles(lt) -> None:  # noqa: ANN001
    roles = lt.live_roles(60, 10, 3)
    assert roles[0] == "lecturer"
    assert roles.count("watcher") + roles.count("starter") == 9 and roles.count("starter") == 3
    assert roles.count("student") == 50
    live = [i for i, r in enumerate(roles) if r in ("watcher", "starter")]
    assert live[0] == 1 and live[-1] > 45  # spread over the arrivals
    assert lt.live_roles(4, 3, 3) == ["lecturer", "starter", "starter", "student"]
    assert lt.live_roles(5, 0, 3) == ["student"] * 5
    assert lt.live_roles(3, 1, 3) == ["lecturer", "student", "student"]


def test_process_roles() -> None:
    py = sys.executable
    assert procfs.role_of([py, "-m", "app.serve", "--server.port", "8611"]) == "app"
    assert procfs.role_of([py, "-m", "wae_core.live.hub"]) == "hub"
    assert procfs.role_of([py, "-m", "app.room", "--processes", "3"]) == "room"
    assert procfs.role_of(["/usr/sbin/haproxy", "-f", "/tmp/room/haproxy.cfg"]) == "proxy"
    assert procfs.role_of([py, str(Path(py).parent / "streamlit"), "run", "app/streamlit_app.py"]) == "app"
    assert procfs.role_of(["bash"]) == "other"
    assert procfs.app_port([py, "-m", "app.serve", "--server.port", "8611"]) == 8611
    assert procfs.app_port([py, "-m", "app.serve", "--server.port=8612"]) == 8612
    assert procfs.app_port([py, "-m", "app.serve"]) is None


def test_phase_rate() -> None:
    progress = [(0.0, 0), (1.0, 50), (2.0, 100), (3.0, 120), (4.0, 140)]
    assert report.phase_rate(progress, 0.0, 2.0) == pytest.approx(50.0)
    assert report.phase_rate(progress, 2.0, 4.0) == pytest.approx(20.0)
    assert report.phase_rate(progress, 5.0, 9.0) is None
    # a reset in the window: only the part after it
    assert report.phase_rate([(0.0, 500), (1.0, 0), (2.0, 30)], 0.0, 2.0) == pytest.approx(30.0)


def test_cpu_series() -> None:
    """Cores per process in 5-s bins from the burst's start, from the sampler's CPU seconds."""
    class Fake:
        roles = {11: "app"}
        # every 0.5 s from 10 s before the burst (t0 = 100): the app process at 0.5 core until the
        # burst, then at 1.5 (two threads); the clients at 0.2 core; a run's process from t0 on
        cpu = [(90.0 + i / 2, {11: (i / 2) * 0.5 + max(0.0, i / 2 - 10) * 1.0, 0: 0.2 * i / 2,
                               **({42: 0.8 * (i / 2 - 10)} if i >= 20 else {})}) for i in range(41)]

    m = report.Measured(2, {}, Fake(), {}, {}, {}, 0, [])
    got = report.cpu_series(m, 100.0)
    assert got["t"] == [-10.0, -5.0, 0.0, 5.0]
    assert got["app 11"] == pytest.approx([0.5, 0.5, 1.5, 1.5])
    assert got["clients"] == pytest.approx([0.2] * 4)
    assert got["other 42"] == pytest.approx([0.0, 0.0, 0.8, 0.8])


def test_report_order() -> None:
    seen = ["toy-lab: open (lecturer)", "results: open", "idea: open", "connect (GET / + websocket)",
            "samples: Resample", "toy-lab: Share", "samples: open", "something new"]
    assert report.in_report_order(seen) == [
        "connect (GET / + websocket)", "toy-lab: open (lecturer)", "toy-lab: Share", "idea: open",
        "samples: Resample", "samples: open", "results: open", "something new"]


def test_queue_wait_ratio() -> None:
    assert record.QueueWait("u", 2, 3, 45.0, 36.0).ratio == pytest.approx(0.8)
    assert record.QueueWait("u", 2, 3, 45.0).ratio is None  # never started
    assert "never started" in report.queue_text(record.QueueWait("u", 2, 3, 45.0))


def test_processes_argument(lt) -> None:  # noqa: ANN001
    assert lt.parse_args(["--processes", "1,3"]).processes == [1, 3]
    args = lt.parse_args(["--sessions", "60", "--burst", "15"])
    assert args.scenario == "seminar" and args.live_sessions == 10 and args.live_starters == 3
    small = lt.parse_args(["--sessions", "4", "--live-sessions", "3", "--scenario", "seminar"])
    assert small.live_starters == 2
    assert lt.parse_args([]).scenario == "classic"
    with pytest.raises(SystemExit):
        lt.parse_args(["--sessions", "81"])
    with pytest.raises(SystemExit):
        lt.parse_args(["--processes", "0"])


def test_a_starter_watches_a_whole_turn_by_default(lt) -> None:
    # (the client keeps its own copy of the number: importing wae_core.live would load torch)
    from wae_core.live import hub
    from wae_core.live.slots import LEASE_SECONDS

    assert lt.OWN_RUN_S == LEASE_SECONDS
    assert lt.TURN_OVER in f"paused after its {LEASE_SECONDS:.0f} s turn: 1 run waited"
    assert lt.TURN_OVER in Path(hub.__file__).read_text()  # the hub's note the client waits for


def test_the_wae_bar_is_the_first_reading_that_shows_it() -> None:
    live = record.Live(t_start=100.0)
    col = lambda modes, share: {"Modes covered": modes, "High quality": share}  # noqa: E731
    live.metrics = [(110.0, [col("8/8", "90%"), col("7/8", "60%")]),  # the GAN's column is not read
                    (130.0, [col("8/8", "90%"), col("8/8", "49%")]),
                    (145.0, [col("8/8", "90%"), col("8/8", "50%")]),
                    (160.0, [col("8/8", "90%"), col("8/8", "42%")])]
    assert live.first_shown(1, *report.WAE_BAR) == 45.0
    assert report.wae_bar_text(live) == "at 45 s"
    live.metrics = live.metrics[:2]
    assert report.wae_bar_text(live) == "never"
