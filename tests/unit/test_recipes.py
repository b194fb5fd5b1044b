"""wae_core.training.recipes: every recipe builds and trains a step; the CLI and the shipped checkpoints
agree with it; no page or script keeps a learning rate, λ or width of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from wae_core import ModelConfig
from wae_core.data.datasets import sample_toy
from wae_core.models import checkpoint
from wae_core.models.config import MODEL_KINDS, TrainConfig
from wae_core.models.generative import build_model
from wae_core.train import build_parser, configs_from_args
from wae_core.training import recipes

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", recipes.names())
def test_every_recipe_builds_a_model(name):
    r = recipes.get(name)
    torch.manual_seed(0)
    model = build_model(r.model)
    assert model.cfg.kind == r.model.kind and r.description and r.dataset
    x = sample_toy(r.dataset, 4, torch.Generator().manual_seed(0)).x if not r.model.is_image \
        else torch.rand(4, r.model.img_channels, 28, 28)
    assert set(model.loss(x)) >= {"total"}
    assert model.decode(model.sample_prior(2)).shape[1:] == x.shape[1:]


def test_get_returns_a_copy_and_names_unknown_recipes():
    r = recipes.get("mnist-wae-mmd")
    r.model.lam = 123.0
    assert recipes.get("mnist-wae-mmd").model.lam == 10.0
    with pytest.raises(ValueError, match="mnist-vae"):
        recipes.get("nope")


def test_live_presets_cover_every_kind():
    for preset in recipes.LIVE_PRESETS:
        for kind in MODEL_KINDS:
            assert recipes.live_recipe(preset, kind).model.kind == kind
    shipped = recipes.live_recipe(recipes.DEFAULT_LIVE_PRESET, "wae-mmd")
    assert shipped.model == recipes.get("ring-wae-mmd").model and shipped.model.stochastic_encoder
    assert not recipes.live_recipe("deterministic encoder", "wae-mmd").model.stochastic_encoder


def test_cli_recipe_then_flags_override():
    a = build_parser().parse_args(["--recipe", "ring-wae-gan", "--lam", "3", "--out", "x"])
    dataset, mcfg, tcfg = configs_from_args(a)
    r = recipes.get("ring-wae-gan")
    assert dataset == "ring" and mcfg.lam == 3.0 and mcfg.stochastic_encoder
    assert tcfg == r.train
    a = build_parser().parse_args(["--model", "gan", "--dataset", "grid", "--out", "x"])
    dataset, mcfg, _ = configs_from_args(a)
    assert dataset == "grid" and mcfg.arch == "mlp" and mcfg.recon_scale == 1.0


@pytest.mark.parametrize("stem", ["mnist-vae", "mnist-wae-gan", "mnist-gan", "ring-wae-mmd",
                                  "grid-vae", "mnist-wae-mmd-z2"])
def test_shipped_checkpoints_were_made_by_their_recipe(stem):
    path = ROOT / "checkpoints" / f"{stem}.safetensors"
    if not path.exists():
        pytest.skip("no shipped checkpoint")
    meta = checkpoint.read_meta(path)
    # through ModelConfig: fields added since the file was written take their (old) defaults
    assert ModelConfig.from_dict(meta["config"]).to_dict() == recipes.get(stem).model.to_dict()


@pytest.mark.parametrize("stem", ["mnist-vae", "mnist-wae-mmd", "mnist-wae-gan", "mnist-gan"])
def test_shipped_mnist_checkpoints_were_trained_as_their_recipe_says(stem):
    """The schedule too (steps, time cap, learning rates, λ warm-up), not only the net: the Results
    table's budgets are the recipe's. Threads and device are the machine's, not the recipe's."""
    meta = checkpoint.read_meta(ROOT / "checkpoints" / f"{stem}.safetensors")
    machine = {"threads", "device"}
    shipped = {k: v for k, v in TrainConfig.from_dict(meta["train_config"]).to_dict().items()
               if k not in machine}
    recipe = {k: v for k, v in recipes.get(stem).train.to_dict().items() if k not in machine}
    assert shipped == recipe


def test_app_and_scripts_type_no_hyperparameters():
    """Learning rates, λ and widths live in wae_core/training/recipes.py only."""
    pattern = re.compile(r"\b(lr|lr_adv|lam|hidden|disc_hidden|channels)\s*=\s*[\d.]|--(lr|lam|channels)\b")
    files = [*ROOT.glob("app/**/*.py"), *ROOT.glob("scripts/*.py"), *ROOT.glob("scripts/*.sh")]
    hits = [f"{f.relative_to(ROOT)}:{i}" for f in files
            for i, line in enumerate(f.read_text().splitlines(), 1) if pattern.search(line)]
    assert not hits, hits


def test_cli_can_switch_off_a_recipes_boolean():
    """``--no-stochastic-encoder`` overrides a recipe whose encoder is Gaussian (and the plain flag
    switches it on where the recipe has it off)."""
    from wae_core.train import build_parser

    p = build_parser()
    assert p.parse_args(["--recipe", "ring-wae-mmd", "--out", "x", "--no-stochastic-encoder"]
                        ).stochastic_encoder is False
    assert p.parse_args(["--recipe", "live-toy-wae-mmd", "--out", "x", "--stochastic-encoder"]
                        ).stochastic_encoder is True
    assert p.parse_args(["--recipe", "ring-wae-mmd", "--out", "x"]).stochastic_encoder is None
