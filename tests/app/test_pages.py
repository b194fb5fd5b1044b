"""AppTest checks of the entry (sidebar, query params, checkpoint upload) and the pages Samples,
Reconstructions, Latent space, Interpolation and Results, on tiny untrained checkpoints
(see conftest.py)."""

from __future__ import annotations

import base64
import io
import json
import time

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.app.support import image_urls, model_key, open_page, score_tables, texts
from tests.upload_corpus import make_corpus

torch.set_num_threads(1)


def selected_labels(at: AppTest) -> list[str]:
    ms = at.multiselect(key="sidebar_models")
    return [ms.options[i] for i in ms.indices]


# --- entry / sidebar -------------------------------------------------------------------------
def test_sidebar_defaults_and_query_params(app_env):
    at = open_page("samples.py")
    assert selected_labels(at) == ["VAE · mnist-vae", "WAE-MMD · mnist-wae-mmd",
                                   "WAE-GAN · mnist-wae-gan", "GAN · mnist-gan"]
    options = at.multiselect(key="sidebar_models").options
    assert "WAE-MMD · mnist-wae-mmd-z2" in options
    assert not any("ring" in o or "lenet" in o for o in options)  # toys and the classifier skipped
    assert at.query_params["models"] == "mnist-vae,mnist-wae-mmd,mnist-wae-gan,mnist-gan"
    assert at.query_params["seed"] == "0"
    assert at.query_params["page"] == "samples"


def test_query_params_restore_a_view(app_env):
    at = open_page(None, {"models": "mnist-gan,mnist-vae,nonexistent", "seed": "7", "page": "results"})
    assert selected_labels(at) == ["GAN · mnist-gan", "VAE · mnist-vae"]
    assert at.number_input(key="sidebar_seed").value == 7
    assert at.title[0].value == "Results"
    at.number_input(key="sidebar_seed").set_value(9).run()
    assert at.query_params["seed"] == "9"


def test_checkpoint_upload(app_env):
    at = open_page("samples.py")
    good = (app_env["checkpoints"] / "mnist-wae-mmd-z2.safetensors").read_bytes()
    up = at.file_uploader(key="sidebar_upload")
    up.set_value(("my-model.safetensors", good, "application/octet-stream")).run()
    assert not at.exception
    assert any("Loaded my-model.safetensors" in s for s in texts(at.success))
    assert "WAE-MMD · my-model (uploaded)" in selected_labels(at)
    for name, data, expect in [("model.safetensors", b"\x80\x04\x95" + bytes(64), "pickle"),
                               ("cut.safetensors", good[:500], "truncated"),
                               ("empty.safetensors", b"", "empty")]:
        at.file_uploader(key="sidebar_upload").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception
        errors = texts(at.error)
        assert any(e.startswith(name) and expect in e for e in errors), errors


def test_images_travel_inside_the_page(app_env):
    """A page's images are data: URLs in its own message: no /media/ request per image and tab
    (``components.png_url``; docs/speed.md, 2026-12-07, late night). The explorer's decoded codes
    are drawn by a path of their own."""
    for page in ("samples.py", "explore.py"):
        urls = image_urls(open_page(page))
        assert len(urls) >= 4 and all(u.startswith("data:image/png;base64,") for u in urls), \
            (page, [u[:40] for u in urls])
        assert Image.open(io.BytesIO(base64.b64decode(urls[-1].split(",", 1)[1]))).format == "PNG"


# --- Samples -------------------------------------------------------------------------------
def test_samples(app_env):
    at = open_page("samples.py")
    assert at.title[0].value == "Samples"
    urls = image_urls(at)
    assert len(urls) == 4
    assert [d.key for d in at.get("download_button")] == [f"samples_download_{i}" for i in range(4)]
    assert sum("Sharpness: **" in m for m in texts(at.markdown)) == 4
    at.button(key="samples_resample").click().run()
    assert not at.exception
    assert at.number_input(key="sidebar_seed").value == 1
    assert image_urls(at) != urls and len(image_urls(at)) == 4
    at.selectbox(key="samples_grid").set_value(4).run()
    assert not at.exception and len(image_urls(at)) == 4


# --- Reconstructions -------------------------------------------------------------------------
def mse_captions(at: AppTest) -> list[str]:
    return [c for c in texts(at.caption) if c.startswith("MSE per image:")]


def test_reconstructions(app_env):
    at = open_page("reconstruct.py")
    caps = mse_captions(at)
    assert len(caps) == 3  # VAE, WAE-MMD, WAE-GAN; the GAN has no encoder
    assert all(c.count("·") == 7 for c in caps)  # 8 images by default
    assert any("no encoder: cannot reconstruct" in i for i in texts(at.info))
    before = [c for c in texts(at.caption) if c.startswith("Test images #")]
    at.selectbox(key="recon_n").set_value(4).run()
    assert all(c.count("·") == 3 for c in mse_captions(at))
    at.button(key="recon_random").click().run()
    after = [c for c in texts(at.caption) if c.startswith("Test images #")]
    assert after and after != before


def test_reconstruct_uploads(app_env):
    at = open_page("reconstruct.py")
    corpus = {c.name: c for c in make_corpus()}
    files = [(n, corpus[n].data, "image/png") for n in ("mnist_digit.png", "photo_dark_on_light.jpg",
                                                        "empty.png", "svg_renamed.png")]
    at.file_uploader(key="recon_user_upload").set_value(files).run()
    assert not at.exception
    errors = texts(at.error)
    assert any(e.startswith("empty.png: ") for e in errors)
    assert any(e.startswith("svg_renamed.png: ") and "svg" in e.lower() for e in errors)
    assert any("inverted" in c for c in texts(at.caption))  # preprocessing notes are shown
    # test images (8) and the two usable uploads (2 per model column)
    assert sum(c.count("·") == 1 for c in mse_captions(at)) == 3


def test_preprocess_files_on_corpus():
    from app.user_images import preprocess_files

    cases = [c for c in make_corpus() if c.name != "bomb.png"]
    ok, bad = preprocess_files([(c.name, c.data) for c in cases])
    assert {d.name for d in ok} == {c.name for c in cases if c.ok}
    msgs = dict(bad)
    for c in cases:
        if not c.ok:
            assert c.expect in msgs[c.name].lower(), (c.name, msgs[c.name])
    assert all(d.image.shape == (28, 28) and d.batch.shape == (1, 1, 28, 28) for d in ok)


# --- Latent space ----------------------------------------------------------------------------
def test_latent_pca_and_tsne(app_env):
    at = open_page("latent.py", state={"latent_n": 300})
    assert at.selectbox(key="latent_n").value == 300
    charts = at.get("plotly_chart")
    assert len(charts) == 3
    assert any("no Q_Z to show" in i for i in texts(at.info))
    assert [m.label for m in at.metric] == ["MMD²(Q_Z, P_Z)"] * 3
    assert sum(c.startswith("PCA ·") for c in texts(at.caption)) == 3
    assert at.get("download_button")[0].key == "latent_csv"
    pca_x = json.loads(charts[1].proto.spec)["data"][1]["x"]  # WAE-MMD's codes of digit 0
    # t-SNE is slow on 2 busy cores: one model only
    at.session_state["sidebar_models"] = [model_key(app_env, "mnist-wae-mmd")]
    t0 = time.perf_counter()
    at.radio(key="latent_method").set_value("t-SNE").run()
    tsne_s = time.perf_counter() - t0
    assert not at.exception
    assert [c for c in texts(at.caption) if c.startswith("t-SNE ·")]
    tsne_x = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][1]["x"]
    assert tsne_x != pca_x
    print(f"t-SNE of 600 points: {tsne_s:.1f} s")


def test_latent_raw_plane_for_z2(app_env):
    at = open_page("latent.py", state={"latent_n": 300,
                                       "sidebar_models": [model_key(app_env, "mnist-wae-mmd-z2")]})
    assert selected_labels(at) == ["WAE-MMD · mnist-wae-mmd-z2"]
    assert any(c.startswith("raw latent plane (z_dim = 2)") for c in texts(at.caption)), texts(at.caption)


# --- Interpolation ---------------------------------------------------------------------------
def test_interpolation(app_env):
    at = open_page("interpolate.py")
    assert at.radio(key="interp_source").value == "test"
    assert any("only the random-z mode" in i for i in texts(at.info))  # the GAN
    urls = image_urls(at)
    # 2 end images + 3 encoder models x 2 paths + the 2-D grid walk
    assert len(urls) == 2 + 6 + 1
    at.slider(key="interp_steps").set_value(5).run()
    assert not at.exception
    urls5 = image_urls(at)
    assert len(urls5) == len(urls) and urls5 != urls
    at.radio(key="interp_source").set_value("random").run()
    assert not at.exception
    assert not any("only the random-z mode" in i for i in texts(at.info))
    assert len(image_urls(at)) == 8 + 1  # 4 models x 2 paths + grid walk
    at.slider(key="interp_grid_n").set_value(5).run()
    assert not at.exception
    assert at.get("download_button")[-1].key == "interp_grid_download"


# --- Results ---------------------------------------------------------------------------------
def test_results(app_env, monkeypatch, tmp_path):
    at = open_page("results.py")
    df = score_tables(at)[0]
    assert list(df["Model"]) == ["VAE", "GAN", "True data (MNIST test)"]
    assert df.loc[1, "MMD²(Q_Z, P_Z)"] == "—" and df.loc[2, "Recon. MSE"] == "—"
    assert len(at.get("plotly_chart")) == 3
    assert at.dataframe[0].value.loc[0, "Modes covered"] == "8.0 ± 0.0 / 8"  # the toys
    assert any("python -m wae_core.evaluate --n 1000" in c for c in texts(at.caption))
    assert any("not Inception" in m for m in texts(at.markdown))

    monkeypatch.setenv("WAE_LAB_RESULTS", str(tmp_path / "missing.json"))
    at.run()
    assert not at.exception
    assert any("python -m wae_core.evaluate" in i for i in texts(at.info))

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    monkeypatch.setenv("WAE_LAB_RESULTS", str(bad))
    at.run()
    assert not at.exception
    assert any("not valid JSON" in e for e in texts(at.error))


def test_grid_png_is_upscaled_nearest():
    from io import BytesIO

    from PIL import Image

    from app.components import grid_png

    imgs = np.zeros((4, 1, 28, 28), np.float32)
    imgs[:, :, 10, 10] = 1.0
    im = Image.open(BytesIO(grid_png(imgs, ncol=2, scale=4, pad=2)))
    assert im.size == ((2 * 30 + 2) * 4,) * 2
    a = np.asarray(im)
    assert set(np.unique(a)) <= {0, 96, 255}  # nearest neighbour: no blended values


@pytest.mark.parametrize("value,out", [(None, "—"), (float("nan"), "—"), (0.5, "0.5"), ("x", "—")])
def test_fmt(value, out):
    from app.components import fmt

    assert fmt(value) == out
