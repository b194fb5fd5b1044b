"""Reconstructions page in a browser: a clean digit upload, the hostile upload corpus of
``tests/upload_corpus.py`` (every bad file gets its own clear error, never a traceback) and a
digit drawn on the canvas with the mouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.browser import UI
from tests.upload_corpus import Case, make_corpus

pytestmark = pytest.mark.browser

UPLOADER = "recon_user_upload"
# Per-model download buttons of the "Your own digits" comparison: keys recon_user_download_<i>,
# i = position of the model in the sidebar's selection (the GAN has no encoder: no button).
ENCODER_MODELS = 3  # default selection: VAE, WAE-MMD, WAE-GAN, GAN


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("upload_corpus")
    for case in make_corpus():
        (d / case.name).write_bytes(case.data)
    return d


def open_reconstructions(ui: UI) -> None:
    ui.open("reconstructions", "Reconstructions")
    ui.page.get_by_text("Mean MSE:").first.wait_for()  # the MNIST test images' part is done
    ui.assert_clean()


def wait_user_reconstructions(ui: UI) -> None:
    for i in range(ENCODER_MODELS):
        ui.key(f"recon_user_download_{i}").first.wait_for()
    ui.settle()


def upload(ui: UI, paths: list[Path]) -> None:
    ui.key(UPLOADER).locator("input[type='file']").set_input_files([str(p) for p in paths])


def test_clean_digit_upload_is_reconstructed(ui: UI, corpus_dir: Path) -> None:
    open_reconstructions(ui)
    assert ui.key("recon_user_download_0").count() == 0
    upload(ui, [corpus_dir / "mnist_digit.png"])
    wait_user_reconstructions(ui)
    ui.assert_clean()
    assert not ui.errors(), ui.errors()
    main = ui.page.locator("[data-testid='stMain']")
    # the preprocessed 28x28 input, captioned with the file name, and the comparison row's caption
    assert main.locator("[data-testid='stImage']", has_text="mnist_digit.png").count() >= 1
    assert main.get_by_text("mnist_digit.png", exact=True).count() >= 2
    # Mean MSE for the test images and for the upload, once per encoder model each
    assert main.get_by_text("Mean MSE:").count() == 2 * ENCODER_MODELS
    ui.screenshot("reconstructions-upload")


def _uploader_refuses(case: Case, accepted: set[str], max_mb: float) -> str | None:
    """The message of Streamlit's uploader for a file it refuses by itself (type not in the
    uploader's ``accept`` list, or over its size limit), before the app sees it; else None."""
    if Path(case.name).suffix.lower() not in accepted:
        return "files are not allowed"
    if len(case.data) > max_mb * 1024 * 1024:
        return f"{max_mb:.1f}MB or smaller"
    return None


def test_hostile_corpus_gets_clear_errors(ui: UI, corpus_dir: Path) -> None:
    """Every bad file gets one clear message: the app's ``st.error("name: reason")`` (reason =
    the corpus case's expected text) or, for a file Streamlit's uploader refuses by itself, the
    uploader's own error on that file's chip. The usable files still reach the models."""
    cases = make_corpus()
    assert any(not c.ok for c in cases) and any(c.ok for c in cases)
    open_reconstructions(ui)
    uploader = ui.key(UPLOADER)
    accept = uploader.locator("input[type='file']").get_attribute("accept") or ""
    accepted = {a.strip().lower() for a in accept.split(",") if a.strip().startswith(".")}
    assert ".png" in accepted
    upload(ui, [corpus_dir / c.name for c in cases])
    wait_user_reconstructions(ui)  # the usable files still go through
    ui.assert_clean()
    app_errors = {e.split(": ", 1)[0].strip(): e for e in ui.errors()}
    assert len(app_errors) == len(ui.errors()), ui.errors()  # one message per file
    body = ui.main_text().lower()
    problems, refused_by_uploader = [], 0
    for case in cases:
        chip = uploader.locator("[data-testid='stFileChip']").filter(
            has=ui.page.locator(f"[data-testid='stFileChipName'][title='{case.name}']"))
        if chip.count() != 1:
            problems.append(f"{case.name}: {chip.count()} file chips in the uploader")
            continue
        chip_error = chip.inner_text() if chip.get_attribute("aria-invalid") == "true" else None
        app_error = app_errors.get(case.name)
        expected_refusal = _uploader_refuses(case, accepted, 10.0)
        if case.ok:
            if chip_error or app_error:
                problems.append(f"{case.name}: usable file rejected: {chip_error or app_error!r}")
            elif case.expect and case.expect not in body:
                problems.append(f"{case.name}: preprocessing note {case.expect!r} not shown")
        elif chip_error:  # refused by the uploader (e.g. its type list, its size limit, empty)
            refused_by_uploader += 1
            if "error" not in chip_error.lower() or (expected_refusal and expected_refusal not in chip_error):
                problems.append(f"{case.name}: unclear uploader message {chip_error!r}")
            if app_error:
                problems.append(f"{case.name}: reached the app although refused: {app_error!r}")
        elif expected_refusal:
            problems.append(f"{case.name}: the uploader should refuse it ({expected_refusal})")
        elif app_error is None:
            problems.append(f"{case.name}: no error shown")
        elif case.expect not in app_error.lower():
            problems.append(f"{case.name}: {app_error!r} does not say {case.expect!r}")
    ui.screenshot("reconstructions-hostile-corpus")
    assert not problems, "\n".join(problems)
    n_bad = sum(not c.ok for c in cases)
    assert len(app_errors) + refused_by_uploader == n_bad
    assert refused_by_uploader < n_bad  # most bad files do reach the app's own checks


def test_drawn_digit_is_reconstructed(ui: UI) -> None:
    open_reconstructions(ui)
    ui.page.get_by_role("tab", name="Draw").first.click()
    canvas = ui.key("recon_user_canvas").locator("canvas").last  # fabric.js: the top canvas
    canvas.wait_for()
    box = canvas.bounding_box()
    assert box and box["width"] > 100, box
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    mouse = ui.page.mouse
    mouse.move(x + 0.3 * w, y + 0.2 * h)  # a "7": a bar, then the stem
    mouse.down()
    mouse.move(x + 0.7 * w, y + 0.2 * h, steps=12)
    mouse.move(x + 0.45 * w, y + 0.85 * h, steps=16)
    mouse.up()
    wait_user_reconstructions(ui)
    ui.assert_clean()
    assert not ui.errors(), ui.errors()
    main = ui.page.locator("[data-testid='stMain']")
    assert main.locator("[data-testid='stImage']", has_text="drawing").count() >= 1
    ui.screenshot("reconstructions-drawing")
