"""Reconstructions page in a browser: a clean digit upload, the hostile upload corpus of
``tests/upload_corpus.py`` (every bad file gets its own clear error, never a traceback) and a
digit drawn on the canvas with the mouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.support import UI
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


def _frontend_rejects(case: Case, accepted: set[str], max_mb: float) -> str | None:
    """The uploader's own error for a file it refuses before the app sees it, else None."""
    if Path(case.name).suffix.lower() not in accepted:
        return "files are not allowed"
    if len(case.data) > max_mb * 1024 * 1024:
        return f"{max_mb:.1f}MB or smaller"
    return None


def test_hostile_corpus_gets_clear_errors(ui: UI, corpus_dir: Path) -> None:
    cases = make_corpus()
    assert any(not c.ok for c in cases) and any(c.ok for c in cases)
    open_reconstructions(ui)
    accept = ui.key(UPLOADER).locator("input[type='file']").get_attribute("accept") or ""
    accepted = {a.strip().lower() for a in accept.split(",") if a.strip().startswith(".")}
    assert ".png" in accepted
    upload(ui, [corpus_dir / c.name for c in cases])
    wait_user_reconstructions(ui)  # the good files still go through
    ui.assert_clean()
    errors = ui.errors()
    by_name = {e.split(": ", 1)[0].strip(): e for e in errors}
    chips = ui.key(UPLOADER).locator("[data-testid='stFileChip']")
    problems = []
    for case in cases:
        chip = chips.filter(has=ui.page.locator(f"[data-testid='stFileChipName'][title='{case.name}']"))
        refused = _frontend_rejects(case, accepted, 10.0)
        if refused:  # Streamlit's uploader refuses it itself, with its own message
            if chip.get_attribute("aria-invalid") != "true" or refused not in chip.inner_text():
                problems.append(f"{case.name}: no uploader error ({chip.inner_text()!r})")
            if case.name in by_name:
                problems.append(f"{case.name}: reached the app although refused")
        elif case.ok:
            if case.name in by_name:
                problems.append(f"{case.name}: unexpected error {by_name[case.name]!r}")
        else:  # the app's own message: "name: <clear reason>"
            msg = by_name.get(case.name)
            if msg is None:
                problems.append(f"{case.name}: no error shown")
            elif case.expect not in msg.lower():
                problems.append(f"{case.name}: {msg!r} does not say {case.expect!r}")
    body = ui.main_text().lower()
    for case in cases:  # the notes of what preprocessing did, under each usable digit
        if case.ok and case.expect and not _frontend_rejects(case, accepted, 10.0):
            if case.expect not in body:
                problems.append(f"{case.name}: note {case.expect!r} not shown")
    ui.screenshot("reconstructions-hostile-corpus")
    assert not problems, "\n".join(problems)
    assert len(errors) == len({c.name for c in cases if not c.ok
                               and not _frontend_rejects(c, accepted, 10.0)})


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
