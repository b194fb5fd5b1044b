"""The live page in a room (AppTest, the in-process hub): share a run and watch it from another
session (by link and by typed code), a Start when every slot is busy waits in a visible queue and
starts by itself, and bad codes or a flood of clicks get one sentence and change nothing else."""

from __future__ import annotations

import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.test_lab_pages import PAGES, texts
from wae_core import live
from wae_core.live.slots import Slots

CODE_RE = re.compile(r"Room code \*\*([A-Z2-9]{6})\*\*")


def page() -> AppTest:
    return AppTest.from_file(str(PAGES / "toy_lab.py"), default_timeout=120)


def step_line(at: AppTest) -> int:
    for m in at.markdown:
        if m.value.startswith("**Step "):
            return int(m.value.split("**")[1].split()[1].replace(",", ""))
    raise AssertionError("no step counter on the page")


def wait_until(cond, timeout: float = 30.0) -> bool:  # noqa: ANN001
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def hub(app_env, monkeypatch):
    """The process's hub with one training slot and short turns; every run closed afterwards."""
    hub = live.get_hub()
    monkeypatch.setattr(hub, "slots", Slots(1, lease_s=3.0))
    yield hub
    for run in list(hub._runs):
        hub.close(run)


def shared_run(hub) -> tuple[AppTest, str]:  # noqa: ANN001
    lecturer = page().run()
    lecturer.button(key="toy_start").click().run()
    lecturer.button(key="toy_share").click().run()
    code = CODE_RE.search(texts(lecturer))
    assert code, texts(lecturer)
    return lecturer, code.group(1)


def test_watch_by_link_and_by_code(hub):
    lecturer, code = shared_run(hub)
    run = lecturer.session_state["toy_run"]
    assert wait_until(lambda: hub.state(run, "t").step > 5)
    student = page()
    student.query_params["room"] = code
    student.run()
    assert not student.exception, student.exception
    assert f"Watching run **{code}**" in texts(student)
    first = step_line(student)
    assert first > 0  # the lecturer's run, not the student's own (still at 0)
    assert wait_until(lambda: hub.state(run, "t").step > first + 5)
    student.run()
    assert step_line(student) > first
    assert hub.state(run, "lecturer").watchers >= 1
    # By typing the code (lower case, with a dash) in another session.
    other = page().run()
    other.text_input(key="toy_watch_code").input(f"{code[:3].lower()}-{code[3:]}")
    other.button(key="toy_watch").click().run()
    assert f"Watching run **{code}**" in texts(other) and step_line(other) > 0
    other.button(key="toy_unwatch").click().run()
    assert "Watching run" not in texts(other) and step_line(other) == 0


@pytest.mark.parametrize("typed, says", [("ZZZZZZ", "No run has the code ZZZZZZ"),
                                         ("<img src=x>", "A room code has 6 letters"),
                                         ("", "A room code has 6 letters")])
def test_bad_codes_get_one_sentence(hub, typed, says):
    at = page().run()
    at.text_input(key="toy_watch_code").input(typed)
    at.button(key="toy_watch").click().run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning] == [next(w.value for w in at.warning if says in w.value)]
    assert step_line(at) == 0 and "Watching run" not in texts(at)


def test_a_code_of_an_ended_run(hub):
    lecturer, code = shared_run(hub)
    hub.close(lecturer.session_state["toy_run"])
    at = page()
    at.query_params["room"] = code
    at.run()
    assert not at.exception, at.exception
    assert any(f"The run {code} has ended" in w.value for w in at.warning)


def test_queued_start_shows_its_place_then_starts_by_itself(hub):
    first = page().run()
    first.button(key="toy_start").click().run()
    second = page().run()
    for _ in range(10):  # a flood of clicks keeps one place
        second.button(key="toy_start").click().run()
    assert not second.exception, second.exception
    note = next(i.value for i in second.info if i.value.startswith("Queued"))
    m = re.search(r"position 1 of 1 · training starts in about (\d+) s", note)
    assert m and int(m.group(1)) <= 3, note
    assert len(hub.slots.queue) == 1
    run = second.session_state["toy_run"]
    # The first session keeps polling (its tab is open), the lease of 3 s ends, the second starts.
    assert wait_until(lambda: (first.run(), hub.state(run, "x").running)[1], 30)
    second.run()
    assert not any(i.value.startswith("Queued") for i in second.info)
    assert any("turn" in w.value for w in first.run().warning)
