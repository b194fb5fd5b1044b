"""The Latent explorer in a browser, on the shipped checkpoints: it renders (sliders, every model's
decoded code, the arithmetic strips) with no exception or error box; moving a slider with the
keyboard redraws every model's image and moves only that coordinate; Reset brings the start image
back. And the Samples page's "Show nearest training images" toggle."""

from __future__ import annotations

import pytest

from harness.browser import UI

pytestmark = pytest.mark.browser

MODELS = 4  # default selection: VAE, WAE-MMD, WAE-GAN, GAN
ENCODER_MODELS = 3


def decoded(ui: UI) -> list[tuple[str, str]]:
    """(image src, "z = (...)" caption) of each model's decoded code."""
    out = []
    for j in range(MODELS):
        box = ui.key(f"explore_decoded_{j}")
        src = box.locator("img").first.get_attribute("src") or ""
        out.append((src, box.get_by_text("z = (").first.inner_text()))
    return out


def wait_changed(ui: UI, before: list[tuple[str, str]], timeout_s: float = 30.0) -> list[tuple[str, str]]:
    deadline = ui.page.evaluate("Date.now()") + timeout_s * 1000
    while True:
        ui.settle()
        now = decoded(ui)
        if all(a != b for a, b in zip(now, before)) or ui.page.evaluate("Date.now()") > deadline:
            return now
        ui.page.wait_for_timeout(200)


def coords(caption: str) -> list[float]:
    return [float(v) for v in caption.strip()[5:-1].split(", ")]


def test_explorer_renders_and_a_slider_moves_every_image(ui: UI) -> None:
    ui.open("explore", "Latent explorer")
    for text in ("Random direction", "Δz8", "Latent arithmetic", "t = 0 · t = 0.25"):
        ui.page.get_by_text(text, exact=False).first.wait_for()
    ui.assert_clean()
    assert not ui.errors(), ui.errors()
    main = ui.main_text()
    assert "no encoder" in main  # the GAN starts from a random z, and has no arithmetic strip
    assert main.count("t = 0 · t = 0.25") == ENCODER_MODELS
    ui.screenshot("explore")
    before = decoded(ui)
    # (the slider's element has no st-key class: find it by its label)
    # (exactly "Δz1": a 16-d code also has Δz10 … Δz16)
    thumb = ui.page.locator("[data-testid='stSlider']").filter(
        has=ui.page.get_by_text("Δz1", exact=True)).locator("input[type='range']")
    thumb.focus()
    for _ in range(10):  # 10 steps of 0.1
        thumb.press("ArrowRight")
    after = wait_changed(ui, before)
    ui.assert_clean()
    assert all(a[0] != b[0] for a, b in zip(after, before)), "a decoded image did not change"
    for (_, z0), (_, z1) in zip(before, after):  # only z1 moved, by 1.0 sigma_z (= 1)
        d = [b - a for a, b in zip(coords(z0), coords(z1))]
        assert abs(d[0] - 1.0) < 0.011 and all(abs(v) < 0.011 for v in d[1:]), d
    ui.key("explore_reset").locator("button").first.click()
    back = wait_changed(ui, after)
    assert back == before
    ui.assert_clean()


def test_samples_nearest_training_images(ui: UI) -> None:
    ui.open("samples", "Samples")
    ui.page.get_by_text("Sharpness:").first.wait_for()
    ui.key("samples_neighbours").get_by_text("Show nearest training images").click()
    ui.page.get_by_text("Memorisation check:", exact=False).first.wait_for()
    ui.settle()
    ui.assert_clean()
    assert not ui.errors(), ui.errors()
    main = ui.page.locator("[data-testid='stMain']")
    assert main.get_by_text("1st nearest").count() == MODELS
    assert main.get_by_text("Feature distance: median").count() >= MODELS
    ui.screenshot("samples-neighbours")
