"""AppTest checks of the Latent explorer page (sliders, reset, random direction, start sources,
latent arithmetic) and of the Samples page's memorisation check (nearest training images), on the
tiny untrained checkpoints of conftest.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from app import cache, catalog, datasets, explore_cache
from app.components import grid_png, png_url
from tests.app.support import N_TRAIN, image_captions, image_urls, model_key, open_app, open_page, texts
from tests.upload_corpus import make_corpus
from wae_core.data.datasets import load_mnist
from wae_core.evaluation import metrics
from wae_core.evaluation.lenet import load_classifier
from wae_core.models import checkpoint

torch.set_num_threads(1)

ENCODERS = ("mnist-vae", "mnist-wae-mmd", "mnist-wae-gan")


def codes(at: AppTest) -> list[np.ndarray]:
    """The explorer's current code of each model, read from its "z = (...)" caption."""
    return [np.array([float(v) for v in c[5:-1].split(", ")]) for c in texts(at.caption)
            if c.startswith("z = (")]


def decoded_urls(at: AppTest, n_models: int = 4) -> list[str]:
    """The explorer's decoded images (after the start image of the test-image source)."""
    return image_urls(at)[1:1 + n_models]


def png_id(images: np.ndarray, ncol: int, scale: int) -> str:
    """The URL the app shows the PNG of an image grid at (content-addressed)."""
    return png_url(grid_png(images, ncol, scale, 2))


# --- Latent explorer ---------------------------------------------------------------------------
def test_explorer_renders(app_env):
    at = open_page("explore.py")
    assert at.title[0].value == "Latent explorer"
    assert [s.key for s in at.slider] == [f"explore_dz_{i}" for i in range(8)]  # d_z = 8
    assert [b.key for b in at.button] == ["explore_reset", "explore_random_direction"]
    assert len(codes(at)) == 4
    assert any("GAN: no encoder, so it cannot encode test image #0" in c for c in texts(at.caption))
    assert sum(c == "Starts from a random z ~ P_Z (no encoder)." for c in texts(at.caption)) == 1
    # arithmetic: one strip per encoder model, the GAN says why not
    assert sum(c.startswith("t = 0 · t = 0.25") for c in image_captions(at)) == 3
    assert any("no code of x for latent arithmetic" in i for i in texts(at.info))


def test_slider_moves_one_coordinate_and_changes_every_image(app_env):
    at = open_page("explore.py")
    z0, urls0 = codes(at), decoded_urls(at)
    at.slider(key="explore_dz_2").set_value(1.5).run()
    assert not at.exception
    z1, urls1 = codes(at), decoded_urls(at)
    for a, b in zip(z0, z1):  # sigma_z = 1: coordinate 3 moved by exactly 1.5, the rest stayed
        assert np.allclose(b - a, [0, 0, 1.5, 0, 0, 0, 0, 0], atol=0.011)
    assert all(u != v for u, v in zip(urls0, urls1))
    assert image_urls(at)[0] == image_urls(open_page("explore.py"))[0]  # the start image did not


def test_reset_and_random_direction(app_env):
    at = open_page("explore.py")
    z0, urls0 = codes(at), decoded_urls(at)
    at.slider(key="explore_dz_0").set_value(-2.0).run()
    at.button(key="explore_random_direction").click().run()
    assert not at.exception
    step = at.slider(key="explore_step")
    assert step.value == 1.0  # a visible move at once
    z1 = codes(at)
    m = np.array([-2.0, 0, 0, 0, 0, 0, 0, 0])
    u = [b - a - m for a, b in zip(z0, z1)]  # z1 = z0 + m + 1.0 u, |u| = 1
    assert all(abs(np.linalg.norm(v) - 1.0) < 0.03 for v in u)
    assert np.allclose(u[0], u[1], atol=0.03)  # the same u for the same z_dim
    step.set_value(-1.0).run()
    z2 = codes(at)
    assert np.allclose(z2[0] - z0[0], m - u[0], atol=0.03)  # z0 + m - u
    at.button(key="explore_random_direction").click().run()  # a new direction
    assert not np.allclose(codes(at)[0], z2[0], atol=0.05)
    at.button(key="explore_reset").click().run()
    assert not at.exception
    assert all(s.value == 0 for s in at.slider) and "explore_step" not in [s.key for s in at.slider]
    assert all(np.allclose(a, b) for a, b in zip(codes(at), z0))
    assert decoded_urls(at) == urls0


def test_sources_random_and_upload(app_env):
    at = open_page("explore.py")
    z_test = codes(at)
    at.radio(key="explore_source").set_value("random").run()
    assert not at.exception
    z_rand = codes(at)
    assert any("Every model starts from a random z" in c for c in texts(at.caption))
    assert sum(c.startswith("Starts from a random z") for c in texts(at.caption)) == 4
    assert np.allclose(z_rand[0], z_rand[3])  # same z_dim, same seed: the same z
    assert np.allclose(z_rand[3], z_test[3])  # the GAN starts from that z in both modes
    at.radio(key="explore_source").set_value("user").run()
    assert any("Upload or draw a digit" in i for i in texts(at.info))
    corpus = {c.name: c for c in make_corpus()}
    at.file_uploader(key="explore_user_upload").set_value(
        ("mnist_digit.png", corpus["mnist_digit.png"].data, "image/png")).run()
    assert not at.exception
    z_up = codes(at)
    assert all(not np.allclose(a, b) for a, b in zip(z_up[:3], z_test[:3]))  # encoders: own codes
    assert np.allclose(z_up[3], z_test[3])
    at.slider(key="explore_dz_7").set_value(3.0).run()
    assert np.allclose(codes(at)[0] - z_up[0], [0] * 7 + [3.0], atol=0.011)


def test_smaller_latent_uses_the_first_sliders(app_env):
    keys = [model_key(app_env, "mnist-wae-mmd"), model_key(app_env, "mnist-wae-mmd-z2")]
    at = open_page("explore.py", state={"sidebar_models": keys})
    assert len(at.slider) == 8
    assert any(c == "z_dim 2: only Δz1–Δz2 move it." for c in texts(at.caption))
    z0 = codes(at)
    at.slider(key="explore_dz_1").set_value(1.0).run()
    at.slider(key="explore_dz_5").set_value(1.0).run()
    z1 = codes(at)
    assert np.allclose(z1[1] - z0[1], [0, 1.0], atol=0.011)
    assert np.allclose(z1[0] - z0[0], [0, 1, 0, 0, 0, 1, 0, 0], atol=0.011)


@pytest.mark.parametrize("data", ["fashion-mnist", "stacked-mnist"])
def test_explorer_follows_the_data_set(data_env, data, test_image_calls):
    ds = datasets.get(data)
    at = open_app({"data": data, "page": "explore"})
    assert at.title[0].value == "Latent explorer"
    assert test_image_calls and all(d == data and shape[1] == ds.channels
                                    for d, shape, _ in test_image_calls)
    one_channel = ds.channels == 1  # uploads and drawings are 1-channel digits
    assert ("An uploaded / drawn digit" in at.radio(key="explore_source").options) == one_channel
    assert ("Two uploads (an analogy)" in at.radio(key="explore_arith_mode").options) == one_channel
    a = at.selectbox(key="explore_arith_a")
    assert len(a.options) == ds.n_classes and a.options[7] == ds.class_name(7)
    assert sum(c.startswith("t = 0 · t = 0.25") for c in image_captions(at)) == 3
    z0 = codes(at)
    assert len(z0) == 4
    at.slider(key="explore_dz_0").set_value(1.0).run()
    assert not at.exception, at.exception
    assert all(abs(b[0] - a[0] - 1.0) < 0.011 for a, b in zip(z0, codes(at)))


# --- Latent arithmetic -------------------------------------------------------------------------
def expected_strip(app_env, stem: str, x: torch.Tensor, z_from: torch.Tensor, z_to: torch.Tensor) -> str:
    model = checkpoint.load(app_env["checkpoints"] / f"{stem}.safetensors")
    with torch.inference_mode():
        z = model.encode(x)[0]
        path = torch.stack([z + t * (z_to - z_from) for t in (0.0, 0.25, 0.5, 0.75, 1.0)])
        return png_id(model.decode(path).numpy(), 5, 4)


def test_arithmetic_class_means(app_env):
    at = open_page("explore.py")
    test = load_mnist("test")
    assert int(test.y[0]) == 7
    assert at.selectbox(key="explore_arith_a").value == 7 and at.selectbox(key="explore_arith_b").value == 8
    at.selectbox(key="explore_arith_b").set_value(1).run()
    assert not at.exception
    urls = image_urls(at)
    infos = {i.id: i for i in catalog.list_checkpoints(image=True)}
    for stem in ENCODERS:  # the strip is x + t (mean(1) - mean(7)) (class means: test_latent_ops)
        means = torch.as_tensor(explore_cache.class_mean_codes(infos[stem].ref))
        want = expected_strip(app_env, stem, test.x[:1], means[7], means[1])
        assert any(want in u for u in urls), stem
    at.selectbox(key="explore_arith_b").set_value(7).run()
    assert any(c.startswith("a = b: the difference is 0") for c in texts(at.caption))
    at.number_input(key="explore_arith_x").set_value(1).run()
    assert not at.exception and image_urls(at) != urls


def test_arithmetic_two_uploads(app_env):
    at = open_page("explore.py")
    at.radio(key="explore_arith_mode").set_value("uploads").run()
    assert any("Upload or draw both digits" in i for i in texts(at.info))
    corpus = {c.name: c for c in make_corpus()}
    names = ("mnist_digit.png", "photo_dark_on_light.jpg")
    for key, name in zip(("explore_arith_u1", "explore_arith_u2"), names):
        at.file_uploader(key=f"{key}_upload").set_value((name, corpus[name].data, "image/png")).run()
    assert not at.exception
    assert sum(c.startswith("t = 0 · t = 0.25") for c in image_captions(at)) == 3
    from app.user_images import preprocess_files

    (u1, u2), _ = preprocess_files([(n, corpus[n].data) for n in names])
    test = load_mnist("test")
    urls = image_urls(at)
    for stem in ENCODERS:  # x + t (code(upload 2) - code(upload 1))
        model = checkpoint.load(app_env["checkpoints"] / f"{stem}.safetensors")
        with torch.inference_mode():
            c1, c2 = model.encode(torch.as_tensor(u1.batch))[0], model.encode(torch.as_tensor(u2.batch))[0]
        assert any(expected_strip(app_env, stem, test.x[:1], c1, c2) in u for u in urls), stem


# --- Samples: nearest training images ------------------------------------------------------------
def test_samples_toggle_shows_nearest_training_images(app_env, small_train_set):
    at = open_page("samples.py", state={"samples_grid": 4})
    urls = image_urls(at)
    assert len(urls) == 4 and not at.dataframe
    at.toggle(key="samples_neighbours").set_value(True).run()
    assert not at.exception
    assert image_urls(at)[::5] == urls  # every grid keeps its samples
    assert len(image_urls(at)) == 4 * (1 + 3 + 1)  # + 3 neighbour grids (tabs) + the closest pair
    assert [t.label for t in at.tabs[:3]] == ["1st nearest", "2nd nearest", "3rd nearest"]
    assert sum(c.startswith("Feature distance: median") for c in texts(at.caption)) == 4 * 3
    assert any(c.startswith("Memorisation check:") for c in texts(at.caption))
    assert sum(c.startswith("Closest: sample") for c in image_captions(at)) == 4
    # the VAE's table against a brute-force search over the same features
    df = at.dataframe[0].value
    assert len(df) == 16 and list(df.columns[1:4]) == ["d1", "d2", "d3"]
    net = load_classifier(app_env["classifier"])
    model = checkpoint.load(app_env["checkpoints"] / "mnist-vae.safetensors")
    with torch.inference_mode():
        feats = net.embed(metrics.generate(model, 16, 0))[0].double()
        train = net.embed(small_train_set.x)[0].double()
    d = torch.cdist(feats, train)
    want_d, want_i = d.topk(3, largest=False)
    assert np.array_equal(df[["train #1", "train #2", "train #3"]].to_numpy(), want_i.numpy())
    assert np.allclose(df[["d1", "d2", "d3"]].to_numpy(), want_d.numpy(), atol=1e-3)
    first = small_train_set.x[want_i[:, 0]].numpy()  # the "1st nearest" grid shows those images
    assert png_id(first, 4, 4) in image_urls(at)[1]
    at.toggle(key="samples_neighbours").set_value(False).run()
    assert image_urls(at) == urls


def test_training_features_are_saved_and_reused(app_env, small_train_set, tmp_path, monkeypatch):
    ref = catalog.classifier_ref()
    index = explore_cache.neighbour_index(ref)
    saved = list((tmp_path / "features").glob("train-features-*.npy"))
    assert len(saved) == 1 and len(index) == N_TRAIN
    explore_cache.neighbour_index.clear()  # a new server: the features come from the file, no LeNet pass

    def no_classifier(_ref):
        raise AssertionError("the training features were computed again")

    monkeypatch.setattr(cache, "classifier_at", no_classifier)
    again = explore_cache.neighbour_index(ref)
    q = np.abs(np.random.default_rng(0).normal(size=(4, index.dim))).astype(np.float32)
    for a, b in zip(index.query(q, 3), again.query(q, 3)):
        assert np.array_equal(a, b)
    # another training set (here: a shorter one) is not served the saved features
    monkeypatch.setattr(explore_cache, "train_set", lambda: small_train_set.subset(N_TRAIN - 1))
    explore_cache.neighbour_index.clear()
    with pytest.raises(AssertionError, match="computed again"):
        explore_cache.neighbour_index(ref)
