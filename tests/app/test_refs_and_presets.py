"""app.cache keyed by app.catalog.Ref: the interpolation page's random codes come from the model's
own prior (its sigma_z); the live toy page starts from the shipped toy recipe and says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from app import cache, catalog
from wae_core import live
from wae_core.models import checkpoint
from wae_core.models.config import ModelConfig
from wae_core.models.generative import build_model
from wae_core.training import recipes

PAGE = Path(__file__).resolve().parents[2] / "app" / "views" / "toy_lab.py"


def test_prior_draws_have_the_models_sigma_z(tmp_path):
    path = tmp_path / "wide-prior.safetensors"
    torch.manual_seed(0)
    checkpoint.save(build_model(ModelConfig(kind="wae-mmd", z_dim=2, sigma_z=3.0)).eval(), path,
                    {"dataset": "mnist"})
    ref = catalog.file_ref(path)
    z = cache.prior_draws(ref, 4000, 0)
    assert z.shape == (4000, 2) and float(np.std(z)) == pytest.approx(3.0, rel=0.05)
    # the same z as the samples of that seed (metrics.generate draws them the same way)
    assert np.allclose(cache.decode(ref, cache.prior_draws(ref, 5, 0)), cache.samples(ref, 5, 0), atol=1e-6)


def test_toy_page_runs_the_shipped_recipe_by_default(app_env):
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="toy_preset").value == recipes.DEFAULT_LIVE_PRESET == "as shipped"
    hub = live.get_hub()
    group = hub._runs[at.session_state["toy_run"]].group  # the in-process hub's run
    assert [r.recipe.model for r in group.runs] == [recipes.get("ring-gan").model,
                                                    recipes.get("ring-wae-mmd").model]
    assert any("as shipped" in c.value and "ring-wae-mmd" in c.value for c in at.caption)
    at.selectbox(key="toy_preset").set_value("deterministic encoder").run()
    group = hub._runs[at.session_state["toy_run"]].group
    wae = recipes.get("live-toy-wae-mmd")
    assert group.runs[1].recipe.model == wae.model
    assert at.select_slider(key="toy_batch").value == wae.train.batch_size
    hub.close(at.session_state["toy_run"])
