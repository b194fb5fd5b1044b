"""The pages with background work, in a browser: the live toy training (Start: the step counter
and the plot move; Pause: they stop) and "Train your own" (a tiny MNIST run, cancelled: a usable
checkpoint is saved in the runs folder)."""

from __future__ import annotations

import re

import pytest
import torch

from harness.browser import UI, toy_points, toy_step
from harness.server import StreamlitServer
from harness.waiting import wait_until
from wae_core.models import checkpoint

pytestmark = pytest.mark.browser


def drawn(ui: UI, key: str) -> int:
    """What the element ``key`` shows right now: a scatter PNG's decoded width in pixels, or a
    Plotly chart's drawn bars (what is on screen, not the data behind it); 0 = blank."""
    box = ui.key(key).first
    return box.evaluate("el => { const i = el.querySelector('img');"
                        " if (i) return i.complete ? i.naturalWidth : 0;"
                        " return el.querySelectorAll('.barlayer .point').length; }")


def test_toy_lab_start_and_pause(ui: UI) -> None:
    ui.open("toy-lab", "Live toy training")
    ui.page.get_by_text("Modes covered").first.wait_for()
    assert toy_step(ui) == 0
    before = toy_points(ui)
    ui.click("toy_start")
    first = wait_until(lambda: toy_step(ui) or None, 60, "the step counter to leave 0")
    wait_until(lambda: toy_step(ui) >= first + 5 and toy_points(ui) != before, 60,
               "the step counter to advance and the points plot to update")
    # Every plot is drawn on every refresh (a screenshot once showed the GAN's scatter blank while
    # the WAE's showed): sample the running page several times, each chart must hold marks.
    charts = ["toy_points_0", "toy_points_1", "toy_latent_1", "toy_modes_0", "toy_modes_1"]
    for _ in range(5):
        shown = {key: wait_until(lambda k=key: drawn(ui, k), 10, f"{key} to be drawn") for key in charts}
        assert shown["toy_points_0"] >= 300 and shown["toy_points_1"] >= 300, shown
        ui.page.wait_for_timeout(500)
    # No screenshot / full-text checks while running: the 5 Hz redraws keep a slow browser busy.
    # One click on Pause must take (a lost click fails here: no retry).
    ui.click("toy_pause")
    wait_until(lambda: "steps/s" not in ui.main_text(), 30, "the run to pause (no rate shown)")
    ui.settle()
    paused_at, points = toy_step(ui), toy_points(ui)
    ui.page.wait_for_timeout(2000)
    assert toy_step(ui) == paused_at, "the counter moved after Pause"
    assert toy_points(ui) == points, "the plot changed after Pause"
    assert paused_at > first
    ui.assert_clean()
    assert not ui.errors(), ui.errors()
    ui.screenshot("toy-lab-paused")


def _choose(ui: UI, key: str, option: str) -> None:
    ui.key(key).locator("[role='combobox']").first.click()
    ui.page.get_by_role("option", name=option, exact=True).click()
    ui.settle()


def _number(ui: UI, key: str, value: int) -> None:
    box = ui.key(key).locator("input").first
    box.fill(str(value))
    box.press("Enter")
    ui.settle()
    assert box.input_value().replace(",", "") == str(value)


def test_train_start_and_cancel_saves_a_checkpoint(ui: UI, app_server: StreamlitServer) -> None:
    ui.open("train", "Train your own")
    assert not list(app_server.runs_dir.glob("*.safetensors"))
    _choose(ui, "train_kind", "VAE")
    _choose(ui, "train_data", "MNIST")
    # All 60,000 images, 5 epochs = 3,000 steps: minutes even on a fast CPU, so the run is
    # surely still going when Cancel is clicked (a 200-step run once finished first on CI).
    _number(ui, "train_subset", 0)
    _number(ui, "train_epochs", 5)
    ui.key("train_start").locator("button").click()
    ui.page.get_by_text(re.compile(r"Step [\d,]+ / 3,000")).first.wait_for()
    cancelled = ui.page.get_by_text("Cancelled after")
    # One click on Cancel must take (a lost click fails here: no retry).
    ui.click("train_cancel")
    cancelled.first.wait_for(timeout=30_000)
    ui.settle()
    ui.assert_clean()
    text = ui.main_text()
    assert "Finished after" not in text
    assert "Train another model" in text
    ui.screenshot("train-cancelled")

    saved = list(app_server.runs_dir.glob("*.safetensors"))
    assert len(saved) == 1, saved
    assert saved[0].name in text
    model = checkpoint.load(saved[0], expect_kind="vae")
    assert model.meta.get("dataset") == "mnist"
    with torch.no_grad():
        x = model.sample(4)
    assert x.shape == (4, 1, 28, 28) and torch.isfinite(x).all()
