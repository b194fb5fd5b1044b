"""The room's hub: training slots and their queue (a fake clock: exact estimates), room codes, one
snapshot per update for every watcher, heartbeats that free a closed tab's place, and the hub
served to another process over multiprocessing.managers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from harness.procfs import cmdline, descendants, minor_faults, running
from harness.server import free_port
from harness.waiting import wait_for
from wae_core import live
from wae_core.live import cpu_share, remote
from wae_core.live import hub as H
from wae_core.live.cpu_share import niceness
from wae_core.live.slots import Slots, host_slots
from wae_core.training import recipes


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def small(kind: str) -> live.LiveConfig:
    return live.LiveConfig(kind=kind, batch_size=32, hidden=16, depth=2, disc_hidden=16)


@pytest.fixture(scope="module")
def ring() -> live.ToySource:
    return live.ToySource.builtin("ring", n=2000)


# --- slots ---------------------------------------------------------------------------------------
def test_slots_grant_queue_and_idempotent_requests():
    s = Slots(2, lease_s=60, clock=Clock())
    assert s.request("a") and s.request("b")
    assert not s.request("c") and not s.request("d")
    for _ in range(50):  # a flood of Start clicks keeps one place
        assert not s.request("c")
    assert s.queue == ["c", "d"] and s.position("d") == (2, 2) and s.position("a") is None
    s.release("a")
    assert s.grant_waiting() == ["c"] and set(s.holders) == {"b", "c"}
    s.release("d")
    assert s.queue == [] and s.eta("d") is None


def test_slots_eta_is_exact_when_leases_run_out():
    clock = Clock()
    s = Slots(2, lease_s=60, clock=clock)
    s.request("a")
    clock.t += 20
    s.request("b")
    for k in "cde":
        s.request(k)
    # a frees at +40, b at +60; c takes a's slot (to +100), d b's (to +120), e c's at +100.
    assert s.eta("c") == pytest.approx(40)
    assert s.eta("d") == pytest.approx(60)
    assert s.eta("e") == pytest.approx(100)
    clock.t += 40
    assert s.expired() == ["a"]
    s.release("a")
    assert s.grant_waiting() == ["c"]
    assert s.eta("d") == pytest.approx(20) and s.eta("e") == pytest.approx(60)


def test_slots_pinned_holder_keeps_its_place():
    clock = Clock()
    s = Slots(1, lease_s=10, clock=clock)
    s.request("room")
    s.pin("room")
    s.request("student")
    clock.t += 100
    assert s.expired() == [] and s.eta("student") is None  # starts when the room's run stops
    s.pin("room", False)
    assert s.expired() == ["room"] and s.eta("student") == pytest.approx(0)


def test_no_lease_ends_while_nobody_waits():
    clock = Clock()
    s = Slots(1, lease_s=10, clock=clock)
    s.request("a")
    clock.t += 1000
    assert s.expired() == []


def test_host_slots_follow_the_cores(monkeypatch):
    monkeypatch.delenv("WAE_LAB_TRAIN_SLOTS", raising=False)
    assert host_slots() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("WAE_LAB_TRAIN_SLOTS", "5")
    assert host_slots() == 5


# --- room codes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["", "abc", "K7QX2M9", "K7QX0M", "<script>", "x" * 10_000, None])
def test_bad_codes_get_one_sentence(bad):
    with pytest.raises(H.RoomError, match=r"^A room code has 6 letters"):
        H.normalize_code(bad)


def test_codes_are_read_forgivingly():
    assert H.normalize_code(" k7q-x2m ") == "K7QX2M"


def test_share_find_and_ended_runs(ring):
    hub = H.Hub(slots=1)
    run = hub.create("owner", ring, [small("gan")])
    code = hub.share(run)
    assert hub.share(run) == code and len(code) == H.CODE_LENGTH
    assert hub.find(code.lower()) == run
    other = "".join(reversed(code)) if "".join(reversed(code)) != code else "ABCDEF"
    with pytest.raises(H.RoomError, match="No run has the code"):
        hub.find(other)
    hub.close(run)
    with pytest.raises(H.RoomError, match="has ended"):
        hub.find(code)
    with pytest.raises(H.RoomError, match="has ended"):
        hub.frame(run, "owner")


# --- the hub ------------------------------------------------------------------------------------
def test_frame_is_not_sent_again_to_a_viewer_that_has_it(ring):
    hub = H.Hub(slots=1)
    run = hub.create("owner", ring, [small("gan")])
    f = hub.frame(run, "owner")
    assert f.snapshot is not None
    assert hub.frame(run, "owner", have=f.version).snapshot is None
    hub.step(run, 3)
    time.sleep(2 * H.FRAME_SECONDS)
    g = hub.frame(run, "owner", have=f.version)
    assert g.version == f.version + 1 and g.snapshot.step == 3
    hub.close(run)


def test_the_look_after_start_shows_the_run_training(ring):
    """A look right after Start gets a new snapshot (not the idle one of half a second ago):
    a watcher sees the run move at once, as after any other control."""
    hub = H.Hub(slots=1, heartbeat_s=30)
    run = hub.create("owner", ring, [small("gan")])
    try:
        idle = hub.frame(run, "owner")
        assert not idle.snapshot.running
        hub.start(run)
        got = hub.frame(run, "watcher")
        assert got.version > idle.version and got.snapshot.running
    finally:
        hub.close(run)


def test_looks_ask_the_run_once_per_interval_and_controls_show_at_once(ring):
    """Ten pages looking at a run take one answer from its process per BRIEF_SECONDS (each
    answer is taken from its training); the look after a control sees the control's effect."""
    hub = H.Hub(slots=1, heartbeat_s=30)
    run = hub.create("owner", ring, [small("gan")])
    group = hub._runs[run].group
    asked = []
    real = group.brief
    group.brief = lambda: (asked.append(1), real())[1]
    try:
        hub.start(run)
        asked.clear()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.0:
            for viewer in range(10):
                hub.frame(run, f"page-{viewer}")
                hub.state(run, f"page-{viewer}")
            time.sleep(0.01)
        assert 1 <= len(asked) <= 1.0 / H.BRIEF_SECONDS + 2
        assert hub.state(run, "owner").running
        hub.pause(run)
        assert not hub.state(run, "owner").running  # not the answer from before the Pause
        assert hub.step(run, 2) == hub.state(run, "owner").step
    finally:
        hub.close(run)


def test_queue_starts_by_itself_and_watchers_share_one_snapshot(ring):
    hub = H.Hub(slots=1, lease_s=1.0, heartbeat_s=30, tick_s=0.05)
    a = hub.create("lecturer", ring, [small("gan"), small("wae-mmd")])
    b = hub.create("student", ring, [small("gan"), small("wae-mmd")])
    try:
        assert hub.start(a).running
        state = hub.start(b)
        assert not state.running and (state.queue_position, state.queue_length) == (1, 1)
        assert 0 < state.eta <= 1.0
        # The lecturer's run, watched: one snapshot object for every watcher of a version.
        assert wait_for(lambda: hub.state(a, "lecturer").step > 3, 20)
        frames = [hub.frame(a, f"watcher-{i}") for i in range(5)]
        assert len({f.version for f in frames}) == 1
        assert all(f.snapshot is frames[0].snapshot for f in frames)
        # Unwatched, a's lease runs out and b starts by itself.
        assert wait_for(lambda: hub.state(b, "student").running, 10)
        sa = hub.state(a, "lecturer")
        assert not sa.running and "turn" in sa.status
    finally:
        hub.close(a)
        hub.close(b)


def test_watched_shared_run_keeps_its_slot(ring):
    hub = H.Hub(slots=1, lease_s=0.3, heartbeat_s=30, tick_s=0.05)
    a = hub.create("lecturer", ring, [small("gan")])
    b = hub.create("student", ring, [small("gan")])
    try:
        hub.start(a)
        hub.share(a)
        hub.frame(a, "student")  # someone watches
        assert hub.state(a, "student").watchers == 1
        hub.start(b)
        time.sleep(1.0)
        assert hub.state(a, "lecturer").running and hub.state(b, "student").queued
        assert hub.state(b, "student").eta is None  # waits for the room's run to stop
        hub.pause(a)
        assert wait_for(lambda: hub.state(b, "student").running, 5)
    finally:
        hub.close(a)
        hub.close(b)


def test_the_rooms_run_keeps_its_slot_after_its_watchers_left(ring, monkeypatch):
    """The projector still shows the room's run once the students' tabs moved on: it keeps its
    slot until it stops, even when the hub was too busy to tick while the one watcher looked
    (seen in a fresh-clone suite). Started again and not watched, it is a run like the others."""
    hub = H.Hub(slots=1, lease_s=0.3, heartbeat_s=0.5, tick_s=0.05)
    a = hub.create("lecturer", ring, [small("gan")])
    b = hub.create("student", ring, [small("gan")])
    busy, tick = threading.Event(), hub.tick
    monkeypatch.setattr(hub, "tick", lambda: None if busy.is_set() else tick())

    def polled(until, seconds: float) -> bool:  # the lecturer's and the student's tabs stay open
        return wait_for(lambda: (hub.state(a, "lecturer"), until())[1], seconds)

    try:
        hub.start(a)
        hub.share(a)
        busy.set()  # no tick while the watcher looks once and leaves: a heartbeat passes
        hub.frame(a, "watcher")
        time.sleep(0.7)
        busy.clear()
        hub.start(b)
        assert polled(lambda: hub.state(a, "lecturer").watchers == 0, 5)
        assert not polled(lambda: not hub.state(b, "student").queued, 1.5)  # 5 leases
        assert hub.state(a, "lecturer").running and hub.state(b, "student").eta is None
        hub.pause(a)  # it gives its slot up
        assert polled(lambda: hub.state(b, "student").running, 5)
        hub.start(a)  # queued behind b; then it trains again, shared but not watched
        assert polled(lambda: hub.state(a, "lecturer").running, 5)
        hub.start(b)
        assert polled(lambda: hub.state(b, "student").running, 5)  # a's lease ended
        assert "turn" in hub.state(a, "lecturer").status
    finally:
        hub.close(a)
        hub.close(b)


def test_a_closed_tab_frees_its_place_within_seconds(ring):
    hub = H.Hub(slots=1, heartbeat_s=0.5, tick_s=0.05)
    a = hub.create("gone", ring, [small("gan")])
    b = hub.create("waiting", ring, [small("gan")])
    try:
        hub.start(a)
        hub.start(b)
        t0 = time.monotonic()
        # Only b's tab polls: a's place goes to b once a missed its heartbeat.
        assert wait_for(lambda: hub.state(b, "waiting").running, 10)
        assert time.monotonic() - t0 < 3
        assert "without a viewer" in hub.state(a, "gone").status
    finally:
        hub.close(a)
        hub.close(b)


def test_one_run_per_session(ring):
    hub = H.Hub(slots=1)
    first = hub.create("s", ring, [small("gan")])
    second = hub.create("s", ring, [small("gan")])
    assert hub.stats()["runs"] == 1
    with pytest.raises(H.RoomError):
        hub.state(first, "s")
    hub.close(second)


def test_hub_across_processes(ring, monkeypatch):
    """A run created through one connection is found and watched through another, as two app
    processes behind the proxy do."""
    port, key = free_port(), "k" * 16
    env = {**os.environ, "WAE_LAB_HUB_KEY": key}
    proc = subprocess.Popen([sys.executable, "-m", "wae_core.live.hub", "--port", str(port)],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        lines = iter(proc.stderr.readline, "")
        assert any("listening" in line for line in lines)  # (runpy may warn first)
        one = remote.HubClient(f"127.0.0.1:{port}", key)
        two = remote.HubClient(f"127.0.0.1:{port}", key)
        run = one.create("lecturer", ring, [small("gan"), small("wae-mmd")], ["GAN", "WAE-MMD"])
        code = one.share(run)
        one.start(run)
        watched = two.find(code)
        assert wait_for(lambda: two.frame(watched, "watcher").snapshot.step > 2, 20)
        one.pause(run)
        time.sleep(2 * H.FRAME_SECONDS)
        f = two.frame(watched, "watcher")
        assert [r.label for r in f.snapshot.runs] == ["GAN", "WAE-MMD"]
        # Paused: no new version, so a watcher that holds it gets no second copy over the wire.
        assert two.frame(watched, "watcher", have=f.version).snapshot is None
        with pytest.raises(H.RoomError, match="No run has the code"):
            two.find("ZZZZZZ")
        with pytest.raises(AttributeError):
            two._runs  # noqa: B018 - only the hub's public methods cross
        # A wrong key gets nothing, a caller that never answers the handshake holds up no one,
        # and the hub keeps serving the others.
        import socket
        mute = socket.create_connection(("127.0.0.1", port))
        with pytest.raises(Exception):  # noqa: B017, PT011 - AuthenticationError or a reset
            remote.HubClient(f"127.0.0.1:{port}", "wrong").stats()
        assert remote.HubClient(f"127.0.0.1:{port}", key).stats()["runs"] == 1
        mute.close()
        assert one.stats()["runs"] == 1
        # Many calls from many threads share a few pooled connections.
        import concurrent.futures as cf
        with cf.ThreadPoolExecutor(8) as ex:
            assert all(ex.map(lambda _: two.state(watched, "w").run_id == watched, range(200)))
        assert two._pool.qsize() <= 8
        servers = [pid for pid in descendants(proc.pid) if "forkserver" in " ".join(cmdline(pid))]
        runs = [pid for server in servers for pid in descendants(server)]
        assert runs  # the run trains in a process of its own
    finally:
        proc.terminate()
        proc.wait(10)
    # SIGTERM ends the hub and every process it started (the runs, the fork server).
    assert wait_for(lambda: not [p for p in runs if running(p)], 10)


def test_a_runs_process_answers_on_one_torch_thread(ring):
    """Its snapshots (forward passes) run on one torch thread, like its training: with torch's
    default, a thread per core, each snapshot woke an OpenMP thread that then spun on the core
    the run has (the room's run, under the room's burst: 0.07 of its 0.4 core)."""
    group = H.ProcessGroup(ring, [small("gan"), small("wae-mmd")], ["GAN", "WAE-MMD"])
    try:
        group.start()
        for _ in range(3):
            assert group.snapshot().runs[1].codes is not None
        # the thread that answers and the training thread: no OpenMP team beside them
        assert len(os.listdir(f"/proc/{group.pid}/task")) == 2
    finally:
        group.close()


def test_a_runs_process_keeps_the_memory_its_steps_free(ring):
    """A run's process keeps freed memory (wae_core.malloc). With glibc's default every step of
    the shipped WAE-MMD handed its large blocks back to the kernel and took them again: ~690
    minor page faults per step, ~1.7 ms of its ~10 (here: 264 and 2,812 per step without it in
    two runs, 5 with it)."""
    group = H.ProcessGroup(ring, [recipes.live_recipe(recipes.DEFAULT_LIVE_PRESET, "wae-mmd")])
    try:
        group.start()
        assert wait_for(lambda: group.step_count >= 20, 60)
        faults, steps = minor_faults(group.pid), group.step_count
        assert wait_for(lambda: group.step_count >= steps + 100, 60)
        per_step = (minor_faults(group.pid) - faults) / (group.step_count - steps)
        assert per_step < 20, f"{per_step:.0f} minor page faults per training step"
    finally:
        group.close()


def test_runs_in_processes_of_their_own_and_the_rooms_run_first(ring):
    """The room's hub (processes=True): each run trains in a child process, so two runs use two
    cores; while the room's run is watched, every other run is lowered below it. A run that never
    trains (a watcher's own) never gets a process."""
    hub = H.Hub(slots=2, heartbeat_s=30, tick_s=0.05, processes=True)
    a = hub.create("lecturer", ring, [small("gan"), small("wae-mmd")], ["GAN", "WAE-MMD"])
    b = hub.create("student", ring, [small("gan")])
    c = hub.create("watcher", ring, [small("gan")])
    try:
        ga, gb, gc = (hub._runs[r].group for r in (a, b, c))
        assert isinstance(ga, H.ProcessGroup) and ga.pid is None
        before = hub.frame(a, "lecturer").snapshot  # drawn from the group while it is idle here
        hub.start(a)
        hub.share(a)
        hub.start(b)
        assert ga.pid not in (None, os.getpid(), gb.pid) and gb.pid is not None
        assert wait_for(lambda: hub.state(b, "student").step > 3 and hub.state(a, "lecturer").step > 3, 30)
        # nobody watches the room's run yet: each run weighs what a page does
        assert wait_for(lambda: niceness(gb.pid) == niceness(ga.pid) == cpu_share.RUNS_NICE, 5)
        hub.frame(a, "watcher")  # now the room's run comes first, every other run last
        assert wait_for(lambda: niceness(gb.pid) == cpu_share.OTHER_RUNS_NICE, 5)
        assert wait_for(lambda: niceness(ga.pid) == cpu_share.ROOM_RUN_NICE, 5)
        snap = hub.frame(a, "watcher").snapshot
        assert [r.label for r in snap.runs] == ["GAN", "WAE-MMD"] and snap.running
        assert os.getsid(ga.pid) not in (os.getsid(0), os.getsid(gb.pid))  # a session each
        hub.pause(a)
        if cpu_share.autogroups():  # the room's run gave its slot up: the others weigh as before
            assert wait_for(lambda: niceness(gb.pid) == cpu_share.RUNS_NICE, 5)
        assert hub.step(a, 2) == hub.state(a, "lecturer").step
        with pytest.raises(IndexError):  # an error in the child is raised in the caller
            hub.update(a, 5, {"lam": 1.0})
        assert hub.frame(c, "watcher").snapshot.step == 0 and gc.pid is None
        # Its first Step moves it into a child built from the same recipes: the same weights,
        # the same first batch, as the group would have had here.
        assert hub.step(c, 1) == 1 and gc.pid is not None
        moved = hub.frame(c, "watcher").snapshot.runs[0].fake
        here = live.LiveGroup(ring, [small("gan")])
        here.step(1)
        assert np.allclose(moved, here.snapshot().runs[0].fake, atol=1e-6)
        assert before.step == 0 and not np.allclose(moved, before.runs[0].fake)
        here.close()
    finally:
        hub.close(a)
        hub.close(b)
        hub.close(c)
    assert not ga._proc.is_alive() and not gb._proc.is_alive()
