"""wae_core.evaluation.latent_map (PCA / t-SNE of Q_Z ∪ P_Z), and the maths the app reads from wae_core:
the JS estimate of a latent discriminator, per-image squared errors, the prior's scale."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from wae_core.evaluation import metrics
from wae_core.evaluation.latent_map import LatentMap
from wae_core.models import divergences as div
from wae_core.models.config import ModelConfig
from wae_core.models.generative import build_model


def _codes(n: int, d: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def test_raw_plane_for_two_dimensions():
    codes, prior = _codes(20, 2), _codes(20, 2, 1)
    m = LatentMap(codes, prior, np.zeros(20, int), np.arange(20), "PCA", 0)
    assert m.method == "raw" and np.allclose(m.codes_xy, codes) and np.allclose(m.prior_xy, prior)
    assert np.allclose(m.place(codes[:3]), codes[:3]) and m.axis_names == ("z₁", "z₂")


def test_pca_places_its_own_codes_where_it_put_them():
    codes, prior = _codes(50, 8), _codes(50, 8, 1)
    m = LatentMap(codes, prior, np.zeros(50, int), np.arange(50), "PCA", 0)
    assert m.codes_xy.shape == (50, 2) and m.prior_xy.shape == (50, 2)
    assert np.allclose(m.place(codes[:5]), m.codes_xy[:5], atol=1e-6)
    with pytest.raises(ValueError, match="projection"):
        LatentMap(codes, prior, np.zeros(50, int), np.arange(50), "UMAP", 0)


def test_js_estimate_is_zero_at_chance_and_clipped():
    assert div.js_estimate(math.log(4.0)) == pytest.approx(0.0)
    assert div.js_estimate(0.0) == pytest.approx(math.log(2.0))  # a perfect discriminator
    assert div.js_estimate(2.0) == 0.0
    assert len(div.latex_of(div.js_estimate)) == 1


def test_squared_error_per_item_averages_to_the_mse():
    x, y = torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    per = metrics.squared_error_per_item(y, x)
    assert per.shape == (4,) and per[0].item() == pytest.approx(float(((y[0] - x[0]) ** 2).mean()))
    assert per.mean().item() == pytest.approx(metrics.mean_squared_error(y, x), rel=1e-6)


def test_prior_draws_have_the_models_scale():
    model = build_model(ModelConfig(kind="wae-mmd", arch="mlp", z_dim=2, sigma_z=3.0))
    z = model.sample_prior(20_000, torch.Generator().manual_seed(0))
    assert float(z.std()) == pytest.approx(3.0, rel=0.03)
