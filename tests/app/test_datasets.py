"""The sidebar's **Data set** (MNIST, Fashion-MNIST, Stacked MNIST): the picker lists only that data
set's models (its shipped four selected), every page takes its test images, labels and classifier
from it and renders for each, the choice is kept in the URL (``?data=``), and a model of another
data set (an upload) is never fed the wrong kind of image.

The Fashion-MNIST and Stacked-MNIST models are trained for a few steps from their recipes, on their
offline test sets (``data_env``: the session fixture ``trained`` in ``conftest.py``, a temp folder);
the MNIST ones are the shared fixture's (``app_env``)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from app import PAGE_SPECS, cache, datasets, drawn
from tests.app.support import PREFIXES, image_captions, open_app
from wae_core.data.datasets import load_dataset
from wae_core.models import checkpoint
from wae_core.models.config import MODEL_KINDS, ModelConfig
from wae_core.models.generative import build_model

torch.set_num_threads(1)

# every page of the app (app.PAGE_SPECS), and those that show test images
PAGES = [spec[0] for spec in PAGE_SPECS]
TEST_IMAGE_PAGES = ["samples.py", "reconstruct.py", "latent.py", "interpolate.py", "explore.py"]
# the smallest settings of the heavier pages: every page runs three times on two busy cores
LIGHT = {"latent_n": 300, "mc_n": 1000, "mc_n_stacked": 5000, "mc_grid": 50, "samples_grid": 4,
         "recon_n": 4}


def selected_ids(at: AppTest) -> list[str]:
    ms = at.multiselect(key="sidebar_models")
    return [ms.options[i].split(" · ", 1)[1] for i in ms.indices]


def option_ids(at: AppTest) -> list[str]:
    return [o.split(" · ", 1)[1] for o in at.multiselect(key="sidebar_models").options]


def texts(at: AppTest, *kinds: str) -> list[str]:
    kinds = kinds or ("markdown", "caption", "info", "warning", "error", "success", "subheader")
    return [str(e.value) for kind in kinds for e in at.get(kind)]


def shipped(prefix: str) -> list[str]:
    return [f"{prefix}-{k}" for k in MODEL_KINDS]


# --- the sidebar: model list, defaults, URL ------------------------------------------------------
def test_switching_the_data_set_changes_the_model_list(data_env):
    at = open_app()
    assert at.selectbox(key="sidebar_data").value == "mnist"
    assert selected_ids(at) == shipped("mnist")
    assert not any(i.startswith(("fashion", "stacked")) for i in option_ids(at))
    for data, prefix in PREFIXES.items():
        at.selectbox(key="sidebar_data").set_value(data).run()
        assert not at.exception, at.exception
        assert option_ids(at) == shipped(prefix)  # only that data set's models
        assert selected_ids(at) == shipped(prefix)  # its shipped four, in the deck's order
        assert at.query_params["data"] == data
        assert at.query_params["models"] == ",".join(shipped(prefix))
    at.selectbox(key="sidebar_data").set_value("mnist").run()
    assert selected_ids(at) == shipped("mnist") and at.query_params["data"] == "mnist"


def test_url_parameter_round_trips(data_env):
    at = open_app({"data": "stacked-mnist", "page": "samples"})
    assert at.selectbox(key="sidebar_data").value == "stacked-mnist"
    assert selected_ids(at) == shipped("stacked")
    assert at.query_params["data"] == "stacked-mnist" and at.title[0].value == "Samples"
    # the URL written by one session opens the same view in another
    at2 = open_app({k: at.query_params[k] for k in ("data", "models", "seed", "page")})
    assert at2.selectbox(key="sidebar_data").value == "stacked-mnist"
    assert selected_ids(at2) == shipped("stacked")
    # models of another data set in the URL do not come along; an unknown data set is MNIST
    at3 = open_app({"data": "fashion-mnist", "models": "fashion-gan,mnist-vae"})
    assert selected_ids(at3) == ["fashion-gan"]
    at4 = open_app({"data": "cifar-10"})
    assert at4.selectbox(key="sidebar_data").value == "mnist"
    assert at4.query_params["data"] == "mnist"


def test_a_model_of_another_data_set_is_not_fed_the_wrong_images(data_env, tmp_path):
    at = open_app({"data": "stacked-mnist", "page": "reconstructions"})
    one_channel = (data_env["checkpoints"] / "mnist-wae-mmd.safetensors").read_bytes()
    at.file_uploader(key="sidebar_upload").set_value(
        ("digits.safetensors", one_channel, "application/octet-stream")).run()
    assert not at.exception, at.exception
    assert any("digits.safetensors: a model of mnist (1-channel images), not of Stacked MNIST" in i
               for i in texts(at, "info"))
    assert selected_ids(at) == shipped("stacked")
    # a 1-channel model of a data set the app does not offer (an image folder) neither
    folder = build_model(ModelConfig(kind="wae-mmd"))
    path = tmp_path / "shoes.safetensors"
    checkpoint.save(folder.eval(), path, {"dataset": "folder:shoes"})
    at.file_uploader(key="sidebar_upload").set_value(
        ("shoes.safetensors", path.read_bytes(), "application/octet-stream")).run()
    assert any("shoes.safetensors: a model of folder:shoes (1-channel images)" in i
               for i in texts(at, "info"))
    assert "shoes (uploaded)" not in option_ids(at)
    # even when put into the selection by hand, the pages do not get them
    keys = list(at.session_state["sidebar_models"])
    at.session_state["sidebar_models"] = [*keys, *at.session_state["wae_uploads"]]
    at.run()
    assert not at.exception, at.exception
    assert selected_ids(at) == shipped("stacked")
    # with a 1-channel data set the folder model is offered (it takes those images)
    at.selectbox(key="sidebar_data").set_value("mnist").run()
    assert "shoes (uploaded)" in option_ids(at)
    assert "digits (uploaded)" in option_ids(at)


# --- every page, every data set ------------------------------------------------------------------
@pytest.mark.parametrize("data", list(datasets.DATASETS))
def test_every_page_renders_for_each_data_set(data_env, data, test_image_calls):
    ds = datasets.get(data)
    # The latent page reads its test images inside a cached map: one made by an earlier test in
    # this process would hide the page's calls from the spy.
    cache.latent_map.clear()
    drawn.latent_map.clear()
    at = open_app({"data": data})
    for k, v in LIGHT.items():
        at.session_state[k] = v
    for page in PAGES:
        test_image_calls.clear()
        at.switch_page(f"views/{page}").run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])  # pages catch errors into boxes
        assert at.selectbox(key="sidebar_data").value == data
        if page in TEST_IMAGE_PAGES:
            assert test_image_calls, page
            for dataset, shape, labels in test_image_calls:
                assert dataset == data, page
                assert shape[1:] == (ds.channels, 28, 28), (page, shape)
                assert labels.max() < ds.n_classes
    at.switch_page("views/idea.py").run()
    note = [i for i in texts(at, "info") if "tells the paper's story on MNIST" in i]
    assert bool(note) == (data != "mnist")


def test_pages_show_the_data_sets_labels(data_env):
    at = open_app({"data": "fashion-mnist", "page": "reconstructions"})
    assert "Fashion-MNIST test images" in texts(at, "subheader")
    labels = [c for c in texts(at, "caption") if c.startswith("Labels: ")]
    names = labels[0].removeprefix("Labels: ").split(" · ")
    assert len(names) == 8 and set(names) <= set(datasets.FASHION.class_names)
    assert at.file_uploader(key="recon_user_upload")  # 1-channel: uploads offered
    at.switch_page("views/interpolate.py").run()
    first = load_dataset("fashion-mnist", "test").y[0]
    assert f"A: #0 ({datasets.FASHION.class_names[first]})" in image_captions(at)
    at.switch_page("views/mode_collapse.py").run()
    assert not at.exception, at.exception
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert list(bars["x"]) == list(datasets.FASHION.class_names)
    assert "Classes covered" in {m.label for m in at.metric}


def test_stacked_mnist_pages_say_what_they_do_not_offer(data_env):
    # LIGHT's sample count: the mode-collapse view below is then the every-page test's, cached
    at = open_app({"data": "stacked-mnist", "page": "reconstructions",
                   "mc_n_stacked": str(LIGHT["mc_n_stacked"])})
    assert "Stacked MNIST test images" in texts(at, "subheader")
    labels = [c for c in texts(at, "caption") if c.startswith("Labels: ")][0]
    assert all(len(t.split("-")) == 3 for t in labels.removeprefix("Labels: ").split(" · "))
    assert any("not offered for Stacked MNIST" in i for i in texts(at, "info"))
    with pytest.raises(KeyError):
        at.file_uploader(key="recon_user_upload")  # no 1-channel uploads for 3-channel models
    at.switch_page("views/interpolate.py").run()
    assert "user" not in at.radio(key="interp_source").options
    at.switch_page("views/mode_collapse.py").run()
    assert not at.exception, at.exception
    assert_stacked_mode_collapse_view(at)


def assert_stacked_mode_collapse_view(at: AppTest) -> None:
    """The 1,000-mode view: per model the modes covered and KL (big numbers), one 10 x 100 map of
    mode counts whose cells add up to the samples and whose hit cells are the modes covered, and
    the sentence quoting the GAN's and the best WAE's measured numbers."""
    metrics = {}
    for m in at.metric:
        metrics.setdefault(m.label, []).append(m.value)
    covered = [int(v.split(" / ")[0].replace(",", "")) for v in metrics["Modes covered"]]
    assert len(covered) == 4 and all(v.endswith("/ 1,000") for v in metrics["Modes covered"])
    maps = [json.loads(c.proto.spec)["data"][0] for c in at.get("plotly_chart")]
    assert len(maps) == 4  # one heat map per model, no 10-class histogram
    shown = [re.search(r"of all ([\d,]+) have", c) for c in texts(at, "caption")]
    ns = {int(m.group(1).replace(",", "")) for m in shown if m}
    assert len(ns) == 1  # every model scored on the same number of samples
    n = ns.pop()
    for hm, cov in zip(maps, covered):
        z = np.array(hm["z"], dtype=float)
        assert z.shape == (10, 100) and int(np.isfinite(z).sum()) == cov
        assert sum(int(t) for row in hm["text"] for t in row) == n
    by_kind = dict(zip(["vae", "wae-mmd", "wae-gan", "gan"], covered))
    best = max(by_kind["wae-mmd"], by_kind["wae-gan"])
    sentence = " ".join(texts(at, "markdown"))
    if by_kind["gan"] < best:
        assert f"land in {by_kind['gan']:,} of the 1,000 modes" in sentence and f"in {best:,} (KL" in sentence
    else:
        assert f"({by_kind['gan']:,} vs {best:,})" in sentence
