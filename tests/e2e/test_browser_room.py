"""The live page in a room, in real browsers: a lecturer shares a run and a second browser context
watches it move; a Start while every core is busy shows its place in the queue and starts by
itself; each control takes on one click (no retry loops: a click that is lost fails the test).

The server here has one training slot (``WAE_LAB_TRAIN_SLOTS=1``): a 2-core host full of a room.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from harness.browser import UI, toy_points, toy_step
from harness.server import StreamlitServer
from harness.waiting import wait_until

pytestmark = pytest.mark.browser

CODE_RE = re.compile(r"Room code ([A-Z2-9]{6})")


@pytest.fixture(scope="module")
def room_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    server = StreamlitServer(tmp_path_factory.mktemp("room_server"),
                             extra_env={"WAE_LAB_TRAIN_SLOTS": "1"})
    try:
        yield server
    finally:
        server.stop()


def test_one_click_each_watch_and_queue(browser, room_server: StreamlitServer) -> None:  # noqa: ANN001
    lecturer_ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    student_ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        lecturer = UI(lecturer_ctx.new_page(), room_server)
        student = UI(student_ctx.new_page(), room_server)
        lecturer.open("toy-lab", "Live toy training")
        lecturer.page.get_by_text("Modes covered").first.wait_for()
        assert toy_step(lecturer) == 0

        # Step and Reset, paused: one click each.
        lecturer.click("toy_step")
        wait_until(lambda: toy_step(lecturer) == 10, 30, "Step to train 10 steps")
        lecturer.click("toy_reset")
        wait_until(lambda: toy_step(lecturer) == 0, 30, "Reset to go back to step 0")

        # Start, Share: the room code appears.
        lecturer.click("toy_start")
        first = wait_until(lambda: toy_step(lecturer) or None, 60, "the run to start")
        lecturer.click("toy_share")
        code = wait_until(lambda: CODE_RE.search(lecturer.main_text()), 30, "the room code").group(1)

        # A second context watches it by link: its counter and its points move.
        student.open(f"toy-lab?room={code}", "Live toy training")
        wait_until(lambda: f"Watching run {code}" in student.main_text(), 30, "the watching state")
        seen = wait_until(lambda: toy_step(student) or None, 30, "the watched run's step")
        assert seen >= first
        points = toy_points(student)
        wait_until(lambda: toy_step(student) >= seen + 20 and toy_points(student) != points, 60,
                   "the watched counter and points to advance")
        wait_until(lambda: re.search(r"[1-9]\d* watching", lecturer.main_text()), 30,
                   "the lecturer to see a watcher")

        # The student presses Start while the one slot trains the room's run: a queue place.
        student.click("toy_start")
        wait_until(lambda: "Queued: position 1 of 1" in student.main_text(), 30, "the queue note")
        assert "already training" not in student.main_text()
        # The lecturer pauses (one click): the student's run starts by itself.
        lecturer.click("toy_pause")
        wait_until(lambda: "Queued" not in student.main_text(), 30, "the queued run to start")
        wait_until(lambda: "controls stay with the lecturer" not in student.main_text(), 30,
                   "the student's own run on screen")
        own = toy_step(student)
        wait_until(lambda: toy_step(student) > own + 10, 60, "the student's own run to train")
        paused_at = toy_step(lecturer)
        lecturer.page.wait_for_timeout(1500)
        assert toy_step(lecturer) == paused_at, "the lecturer's counter moved after one Pause click"
        for ui in (lecturer, student):
            ui.assert_clean()
        student.screenshot("toy-lab-student-own-run")
    finally:
        lecturer_ctx.close()
        student_ctx.close()
