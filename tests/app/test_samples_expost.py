"""AppTest of the Samples page's "Codes from" switch: the encoder models decode draws of an ex-post
mixture fitted to Q_Z, the GAN keeps the prior; the choice lives in the URL."""

from __future__ import annotations

import pytest

from app import explore_cache
from tests.app.support import image_urls, open_page, texts
from wae_core.data.datasets import load_mnist

N_FIT = 300  # training images standing in for the app's EXPOST_FIT_IMAGES (a fast fit)


@pytest.fixture
def small_fit_set(monkeypatch):
    """Few training images, and the mixtures fitted to them only (cleared before and after)."""
    sub = load_mnist("train").subset(N_FIT)
    monkeypatch.setattr(explore_cache, "train_set", lambda: sub)
    explore_cache.latent_gmm.clear()
    explore_cache.ex_post_samples.clear()
    yield sub
    explore_cache.latent_gmm.clear()
    explore_cache.ex_post_samples.clear()


def test_switching_to_the_gmm_changes_the_encoder_models_samples_only(app_env, small_fit_set):
    at = open_page("samples.py", state={"samples_grid": 4})
    prior = image_urls(at)
    assert len(prior) == 4 and at.radio(key="samples_codes").value == "prior"
    assert any(c.startswith("Ex-post sampling") for c in texts(at.caption))
    at.radio(key="samples_codes").set_value("gmm").run()
    assert not at.exception and not at.error, (at.exception, texts(at.error))
    gmm = image_urls(at)
    assert len(gmm) == 4
    # VAE, WAE-MMD, WAE-GAN decode mixture codes; the GAN (no encoder) keeps its prior samples
    assert all(a != b for a, b in zip(prior[:3], gmm[:3])) and gmm[3] == prior[3]
    assert any(c.startswith("GAN: no encoder") for c in texts(at.caption))
    assert at.query_params["samples_codes"] == "gmm"
    assert sum("Sharpness: **" in m for m in texts(at.markdown)) == 4
    at.radio(key="samples_codes").set_value("prior").run()
    assert not at.exception and image_urls(at) == prior


def test_the_gmm_choice_comes_from_the_url(app_env, small_fit_set):
    at = open_page(None, {"page": "samples", "samples_grid": "4", "samples_codes": "gmm"})
    assert not at.exception
    assert at.radio(key="samples_codes").value == "gmm"
    assert any(c.startswith("GAN: no encoder") for c in texts(at.caption))
    bad = open_page(None, {"page": "samples", "samples_codes": "posterior"})  # ignored, no error
    assert not bad.exception and bad.radio(key="samples_codes").value == "prior"
