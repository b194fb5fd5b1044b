"""AppTest of the idea, mode-collapse, toy-lab and train pages (tiny untrained checkpoints from
``tests/app/conftest.py``; each page file is run directly: they read the sidebar's state from
``st.session_state`` with defaults)."""

from __future__ import annotations

import io
import time
import zipfile

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.app.support import VIEWS_DIR, page_text, step_counter, wait_done
from wae_core import live
from wae_core.models import checkpoint


def page(name: str) -> AppTest:
    return AppTest.from_file(str(VIEWS_DIR / f"{name}.py"), default_timeout=120)


# --- the idea ----------------------------------------------------------------------------------
def test_idea_renders_formulas_and_live_numbers(lab_env):
    at = page("idea").run()
    assert not at.exception, at.exception
    latex = [e.value for e in at.latex]
    assert len(latex) >= 12
    assert any("W_c(P_X, P_G)" in f for f in latex)  # optimal transport
    assert any("D_{WAE}" in f for f in latex)  # the WAE objective
    assert any("MMD" in f for f in latex)
    labels = {m.label for m in at.metric}
    assert "D_JS estimate" in labels and "Sharpness" in labels
    assert any(lbl.startswith("MMD(Q_Z, P_Z)") for lbl in labels)
    assert "NoEncoderError" in at.get("code")[0].value
    assert len(at.get("plotly_chart")) >= 2  # the OT coupling on the ring, the posterior figure
    assert "make checkpoints" not in page_text(at)


def test_idea_without_checkpoints_says_make_checkpoints(lab_env, tmp_path, monkeypatch):
    monkeypatch.setenv("WAE_LAB_CHECKPOINT_DIRS", str(tmp_path))
    at = page("idea").run()
    assert not at.exception, at.exception
    infos = [i.value for i in at.info]
    assert infos and all("make checkpoints" in i for i in infos)
    assert len(at.latex) >= 12  # the story is still told


# --- mode collapse -----------------------------------------------------------------------------
def test_mode_collapse_n_changes_histogram_total(lab_env):
    at = page("mode_collapse").run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 4  # one histogram per default model
    assert {m.label for m in at.metric} >= {"Classes covered", "KL to uniform"}
    assert "2,000 samples classified" in page_text(at)
    at.select_slider(key="mc_n").set_value(1000).run()
    assert not at.exception, at.exception
    t = page_text(at)
    assert "1,000 samples classified" in t and "2,000 samples classified" not in t


def test_mode_collapse_without_classifier(lab_env, monkeypatch, tmp_path):
    monkeypatch.setenv("WAE_LAB_CLASSIFIER", str(tmp_path / "none.safetensors"))
    at = page("mode_collapse").run()
    assert not at.exception, at.exception
    assert any("No classifier" in i.value for i in at.info)


# --- toy lab -----------------------------------------------------------------------------------
def test_toy_lab_step_start_pause_reset(lab_env):
    at = page("toy_lab").run()
    assert not at.exception, at.exception
    for key in ("toy_start", "toy_pause", "toy_step", "toy_reset"):
        assert at.button(key=key)
    assert step_counter(at) == 0
    assert len(at.get("plotly_chart")) >= 3  # GAN points, WAE points, WAE latent (+ curves)
    at.button(key="toy_step").click().run()
    assert not at.exception, at.exception
    assert step_counter(at) == 10
    at.button(key="toy_start").click().run()
    hub, run = live.get_hub(), at.session_state["toy_run"]
    t0 = time.time()
    while hub.state(run, "test").step < 15 and time.time() - t0 < 30:
        time.sleep(0.1)
    at.button(key="toy_pause").click().run()
    assert not hub.state(run, "test").running
    assert step_counter(at) > 10
    at.button(key="toy_reset").click().run()
    assert step_counter(at) == 0
    hub.close(run)


def test_toy_lab_live_settings_and_data_switch(lab_env):
    at = page("toy_lab").run()
    at.button(key="toy_step").click().run()
    hub, run = live.get_hub(), at.session_state["toy_run"]
    at.select_slider(key="toy_lam").set_value(100.0).run()
    assert at.session_state["toy_run"] == run
    assert hub._runs[run].group.runs[1].model.cfg.lam == 100.0  # the in-process hub
    assert step_counter(at) == 10  # a live setting does not reset
    at.radio(key="toy_wae_kind").set_value("wae-gan").run()
    assert not at.exception, at.exception
    assert step_counter(at) == 0 and "#### WAE-GAN" in [m.value for m in at.markdown]
    at.radio(key="toy_data").set_value("grid").run()
    assert any(m.value == "1/25" or m.value.endswith("/25") for m in at.metric)
    at.radio(key="toy_data").set_value("csv").run()
    assert not at.exception, at.exception
    assert any("Upload a CSV" in i.value for i in at.info)
    at.file_uploader(key="toy_csv").upload("pts.csv", b"x,y\n0,0\n1,0\n0,1\n").run()
    assert not at.exception, at.exception
    assert any(m.label == "Modes covered" and m.value.endswith("/3") for m in at.metric)
    hub.close(at.session_state["toy_run"])


# --- train your own ----------------------------------------------------------------------------
def test_train_tiny_run_finishes_with_checkpoint(lab_env):
    at = page("train").run()
    assert not at.exception, at.exception
    at.selectbox(key="train_kind").set_value("vae")
    at.number_input(key="train_subset").set_value(200)
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_name").set_value("tiny vae")
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    wait_done(at)
    assert not at.error, [e.value for e in at.error]
    out = lab_env["runs"] / "tiny-vae.safetensors"
    assert out.is_file() and "tiny-vae.safetensors" in at.success[0].value
    assert checkpoint.load(out).kind == "vae"
    assert at.get("download_button")
    at.button(key="train_again").click().run()
    assert at.button(key="train_start")
    out.unlink()


def test_train_on_stacked_mnist_builds_a_three_channel_model(lab_env):
    at = page("train").run()
    at.selectbox(key="train_kind").set_value("wae-mmd")
    at.selectbox(key="train_data").set_value("stacked-mnist")
    at.number_input(key="train_subset").set_value(200)
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_name").set_value("tiny stacked")
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    wait_done(at)
    assert not at.error, [e.value for e in at.error]
    out = lab_env["runs"] / "tiny-stacked.safetensors"
    model = checkpoint.load(out)
    assert model.cfg.img_channels == 3 and model.meta["dataset"] == "stacked-mnist"
    out.unlink()


def test_train_cancel_saves_checkpoint(lab_env):
    at = page("train").run()
    at.selectbox(key="train_kind").set_value("wae-mmd")
    at.number_input(key="train_subset").set_value(0)  # the whole MNIST: long enough to cancel
    at.text_input(key="train_name").set_value("to-cancel")
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    job = at.session_state["train_job"]
    t0 = time.time()
    while job.progress().step < 3 and time.time() - t0 < 60:
        time.sleep(0.1)
    at.run()
    at.button(key="train_cancel").click().run()
    wait_done(at)
    out = lab_env["runs"] / "to-cancel.safetensors"
    assert job.progress().state == "cancelled" and "Cancelled" in at.success[0].value
    assert checkpoint.load(out).kind == "wae-mmd"
    out.unlink()


def test_train_bad_zip_is_a_clear_error(lab_env):
    at = page("train").run()
    at.selectbox(key="train_data").set_value("zip").run()
    at.file_uploader(key="train_zip").upload("digits.zip", b"PK\x03\x04 not really a zip").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    assert "not a readable zip" in at.error[0].value
    assert "train_job" not in at.session_state


def test_train_zip_loader(tmp_path):
    """The page's zip path: safe extraction + image folder loading."""
    from wae_core.live import BadArchiveError, extract_image_zip

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for label in ("a", "b"):
            for i in range(3):
                img = io.BytesIO()
                Image.fromarray((np.random.rand(28, 28) * 255).astype(np.uint8)).save(img, "PNG")
                zf.writestr(f"set/{label}/{i}.png", img.getvalue())
    assert extract_image_zip(buf.getvalue(), tmp_path / "ok") == 6
    with pytest.raises(BadArchiveError):
        extract_image_zip(b"not a zip", tmp_path / "bad")


def test_toy_lab_draw_mode_renders(lab_env):
    at = page("toy_lab").run()
    at.radio(key="toy_data").set_value("draw").run()
    assert not at.exception, at.exception
    assert any("Click at least two dots" in i.value for i in at.info)


def test_canvas_points_parses_dots_and_strokes():
    from app.user_images import canvas_points

    drawing = {"objects": [
        # point mode: originX left at x - (r + sw/2), originY center at y
        {"type": "circle", "left": 100 - 6, "top": 50, "radius": 5, "strokeWidth": 2,
         "originX": "left", "originY": "center"},
        {"type": "circle", "left": 10, "top": 20, "radius": 5, "strokeWidth": 0,
         "originX": "center", "originY": "center"},
        {"type": "path", "path": [["M", 0, 0], ["Q", 5, 5, 10, 0], ["L", 30, 0]]},
        {"type": "rect", "left": 1, "top": 1},
    ]}
    dots, strokes = canvas_points(drawing, height=200)
    assert dots.tolist() == [[100.0, 150.0], [10.0, 180.0]]  # y flipped: up is up
    assert strokes[0].tolist() == [0.0, 200.0] and strokes[-1].tolist() == [30.0, 200.0]
    assert len(strokes) > 3  # the long segment is densified
    assert canvas_points(None, 10)[0].shape == (0, 2)
