"""The live page in a room (AppTest, the in-process hub): share a run and watch it from another
session (by link and by typed code), a Start when every slot is busy waits in a visible queue and
starts by itself, and bad codes or a flood of clicks get one sentence and change nothing else."""

from __future__ import annotations

import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from harness.waiting import wait_for
from tests.app.support import VIEWS_DIR, image_urls, page_text, step_counter
from wae_core import live
from wae_core.live import hub as H
from wae_core.live.slots import Slots

CODE_RE = re.compile(r"Room code \*\*([A-Z2-9]{6})\*\*")


def page() -> AppTest:
    return AppTest.from_file(str(VIEWS_DIR / "toy_lab.py"), default_timeout=120)


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
    code = CODE_RE.search(page_text(lecturer))
    assert code, page_text(lecturer)
    return lecturer, code.group(1)


def test_watch_by_link_and_by_code(hub):
    lecturer, code = shared_run(hub)
    run = lecturer.session_state["toy_run"]
    assert wait_for(lambda: hub.state(run, "t").step > 5)
    student = page()
    student.query_params["room"] = code
    student.run()
    assert not student.exception, student.exception
    assert f"Watching run **{code}**" in page_text(student)
    first = step_counter(student)
    assert first > 0  # the lecturer's run, not the student's own (still at 0)
    assert wait_for(lambda: hub.state(run, "t").step > first + 5)
    time.sleep(2 * H.FRAME_SECONDS)  # while a run trains, the hub takes one snapshot per interval
    student.run()
    assert step_counter(student) > first
    assert hub.state(run, "lecturer").watchers >= 1
    # The frames are the PNGs as drawn, not a JPEG re-encoded for every watcher and frame.
    urls = image_urls(student)
    assert len(urls) == 3 and all(u.startswith("data:image/png;base64,") for u in urls), urls
    # By typing the code (lower case, with a dash) in another session.
    other = page().run()
    other.text_input(key="toy_watch_code").input(f"{code[:3].lower()}-{code[3:]}")
    other.button(key="toy_watch").click().run()
    assert f"Watching run **{code}**" in page_text(other) and step_counter(other) > 0
    other.button(key="toy_unwatch").click().run()
    assert "Watching run" not in page_text(other) and step_counter(other) == 0


@pytest.mark.parametrize("typed, says", [("ZZZZZZ", "No run has the code ZZZZZZ"),
                                         ("<img src=x>", "A room code has 6 letters"),
                                         ("", "A room code has 6 letters")])
def test_bad_codes_get_one_sentence(hub, typed, says):
    at = page().run()
    at.text_input(key="toy_watch_code").input(typed)
    at.button(key="toy_watch").click().run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning] == [next(w.value for w in at.warning if says in w.value)]
    assert step_counter(at) == 0 and "Watching run" not in page_text(at)


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
    second.button(key="toy_start").click().run()
    assert not second.exception, second.exception
    note = next(i.value for i in second.info if i.value.startswith("Queued"))
    m = re.search(r"position 1 of 1 · training starts in about (\d+) s", note)
    assert m and int(m.group(1)) <= 3, note
    for _ in range(10):  # a flood of clicks keeps one place (waiting, or training once its turn came)
        second.button(key="toy_start").click().run()
        assert len(hub.slots.queue) + len(hub.slots.holders) == 2
    assert not second.exception, second.exception
    run = second.session_state["toy_run"]
    # The first session keeps polling (its tab is open), the lease of 3 s ends, the second starts.
    assert wait_for(lambda: (first.run(), hub.state(run, "x").running)[1], 30, poll=0.1)
    second.run()
    assert not any(i.value.startswith("Queued") for i in second.info)
    assert any("turn" in w.value for w in first.run().warning)


def test_train_your_own_waits_in_the_same_queue(hub, lab_env):
    """Every slot busy with a live run: Start training shows a queue place, not a refusal, and
    the training starts by itself once the live run pauses (and frees its place when it ends)."""
    toy = page().run()
    toy.button(key="toy_start").click().run()
    at = AppTest.from_file(str(VIEWS_DIR / "train.py"), default_timeout=120).run()
    at.selectbox(key="train_kind").set_value("vae")
    at.number_input(key="train_subset").set_value(200)
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_name").set_value("queued vae")
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    assert any(i.value.startswith("Queued: position 1 of 1") for i in at.info), page_text(at)
    assert not at.session_state["train_job"].started
    toy.button(key="toy_pause").click().run()
    assert wait_for(lambda: at.run().session_state["train_job"].started, 30)
    job = at.session_state["train_job"]
    job.join(120)
    assert job.progress().state == "finished"
    assert wait_for(lambda: not hub.slots.holders, 5)  # its place given back at the end
    (lab_env["runs"] / "queued-vae.safetensors").unlink()
