"""Fixtures for the app tests: tiny untrained checkpoints, an untrained classifier and a results
file in a temp folder, pointed at by the app's environment variables (``app_env``); what some pages
need on top of it (``lab_env``, ``data_env``, ``small_train_set``). Their helpers: ``support.py``."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.app.support import N_TRAIN, PREFIXES, RESULTS
from wae_core.data.datasets import load_dataset, load_mnist
from wae_core.evaluation.lenet import LeNet, save_classifier
from wae_core.models import checkpoint
from wae_core.models.config import MODEL_KINDS, ModelConfig
from wae_core.models.generative import build_model
from wae_core.training import recipes
from wae_core.training.trainer import Trainer

torch.set_num_threads(1)

MODELS = {
    "mnist-vae": {"kind": "vae"},
    "mnist-wae-mmd": {"kind": "wae-mmd"},
    "mnist-wae-gan": {"kind": "wae-gan"},
    "mnist-gan": {"kind": "gan"},
    "mnist-wae-mmd-z2": {"kind": "wae-mmd", "z_dim": 2},
    "ring-wae-mmd": {"kind": "wae-mmd", "arch": "mlp", "z_dim": 2},
}


@pytest.fixture(scope="session")
def app_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Temp checkpoints (untrained: fast), classifier and results; env vars set for the session."""
    root = tmp_path_factory.mktemp("wae_lab_app")
    ck, runs = root / "checkpoints", root / "runs"
    ck.mkdir()
    runs.mkdir()
    torch.manual_seed(0)
    for name, kw in MODELS.items():
        model = build_model(ModelConfig(**kw))
        dataset = "ring" if kw.get("arch") == "mlp" else "mnist"
        checkpoint.save(model.eval(), ck / f"{name}.safetensors", {"dataset": dataset, "epochs_done": 1})
    clf = ck / "lenet-mnist.safetensors"
    save_classifier(LeNet(), clf, {"test_accuracy": 0.1})
    results = root / "results.json"
    results.write_text(json.dumps(RESULTS))
    env = {"WAE_LAB_CHECKPOINT_DIRS": os.pathsep.join([str(ck), str(runs)]),
           "WAE_LAB_CLASSIFIER": str(clf), "WAE_LAB_RESULTS": str(results), "WAE_LAB_THREADS": "1"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        yield {"root": root, "checkpoints": ck, "runs": runs, "classifier": clf, "results": results}


# --- the idea, mode-collapse, toy-lab and train pages ---------------------------------------------
LAB_EXTRA = {"mnist-vae-z2": {"kind": "vae", "z_dim": 2},
             "ring-gan": {"kind": "gan", "arch": "mlp", "z_dim": 2}}


@pytest.fixture(scope="module")
def lab_env(app_env):
    """The shared fixture plus the checkpoints only these pages use (removed afterwards)."""
    paths = []
    torch.manual_seed(1)
    for name, kw in LAB_EXTRA.items():
        p = app_env["checkpoints"] / f"{name}.safetensors"
        dataset = "ring" if kw.get("arch") == "mlp" else "mnist"
        checkpoint.save(build_model(ModelConfig(**kw)).eval(), p, {"dataset": dataset})
        paths.append(p)
    yield app_env
    for p in paths:
        p.unlink(missing_ok=True)


# --- the data sets: Fashion-MNIST and Stacked MNIST ---------------------------------------------
TRAIN_STEPS = 20


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``fashion-*`` and ``stacked-*`` from their recipes, TRAIN_STEPS steps each on 512 test
    images (offline for both), and an untrained Fashion LeNet: a throwaway folder."""
    root = tmp_path_factory.mktemp("wae_lab_datasets")
    for data, prefix in PREFIXES.items():
        images = load_dataset(data, "test").subset(512)
        for kind in MODEL_KINDS:
            r = recipes.get(f"{prefix}-{kind}")
            torch.manual_seed(0)
            cfg = replace(r.train, max_steps=TRAIN_STEPS, batch_size=32, max_seconds=0, threads=1)
            Trainer(build_model(r.model), images, cfg, root / f"{r.name}.safetensors",
                    meta={"dataset": r.dataset, "recipe": r.name}).fit()
    save_classifier(LeNet(), root / "lenet-fashion-mnist.safetensors", {"test_accuracy": 0.1})
    return root


@pytest.fixture(scope="module")
def data_env(app_env, trained):
    """The shared fixture's folders plus the trained one; the Fashion LeNet from it."""
    dirs = os.environ["WAE_LAB_CHECKPOINT_DIRS"] + os.pathsep + str(trained)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAE_LAB_CHECKPOINT_DIRS", dirs)
        mp.setenv("WAE_LAB_FASHION_CLASSIFIER", str(trained / "lenet-fashion-mnist.safetensors"))
        yield {**app_env, "trained": trained}


@pytest.fixture
def test_image_calls(monkeypatch):
    """Every ``cache.test_images`` call of the pages: (data set, images' shape, labels)."""
    from app import cache, datasets

    calls: list[tuple[str, tuple, np.ndarray]] = []
    real = cache.test_images

    def spy(indices, dataset=datasets.DEFAULT):
        x, y = real(indices, dataset)
        calls.append((dataset, x.shape, y))
        return x, y

    monkeypatch.setattr(cache, "test_images", spy)
    return calls


# --- Samples: nearest training images -------------------------------------------------------------
@pytest.fixture
def small_train_set(monkeypatch, tmp_path):
    """The first N_TRAIN training images stand in for the 60,000 (the index is built per test,
    its features saved under tmp_path/features)."""
    from app import explore_cache

    sub = load_mnist("train").subset(N_TRAIN)
    monkeypatch.setattr(explore_cache, "train_set", lambda: sub)
    monkeypatch.setenv("WAE_LAB_CACHE_DIR", str(tmp_path / "features"))
    explore_cache.neighbour_index.clear()
    explore_cache.nearest_training.clear()
    yield sub
    explore_cache.neighbour_index.clear()
    explore_cache.nearest_training.clear()
