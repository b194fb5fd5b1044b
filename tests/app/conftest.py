"""Fixtures for the app tests: tiny untrained checkpoints, an untrained classifier and a results
file in a temp folder, pointed at by the app's environment variables."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from wae_core import checkpoint
from wae_core.classifier import LeNet, save_classifier
from wae_core.config import ModelConfig
from wae_core.models import build_model

torch.set_num_threads(1)

MODELS = {
    "mnist-vae": {"kind": "vae"},
    "mnist-wae-mmd": {"kind": "wae-mmd"},
    "mnist-wae-gan": {"kind": "wae-gan"},
    "mnist-gan": {"kind": "gan"},
    "mnist-wae-mmd-z2": {"kind": "wae-mmd", "z_dim": 2},
    "ring-wae-mmd": {"kind": "wae-mmd", "arch": "mlp", "z_dim": 2},
}

RESULTS = {
    "generated": "2026-11-25T16:00:00+00:00",
    "command": "python -m wae_core.evaluate --n 1000",
    "n_samples": 1000,
    "classifier": {"test_accuracy": 0.99},
    "rows": [
        {"model": "VAE", "kind": "vae", "checkpoint": "checkpoints/mnist-vae.safetensors",
         "fid_lenet": 12.5, "sharpness": 0.003, "classes_covered": 10, "kl_uniform": 0.01,
         "confident_share": 0.8, "mmd_qz_pz": 0.002, "recon_mse": 0.02},
        {"model": "GAN", "kind": "gan", "checkpoint": "checkpoints/mnist-gan.safetensors",
         "fid_lenet": 30.0, "sharpness": 0.02, "classes_covered": 6, "kl_uniform": 0.4,
         "confident_share": 0.9, "mmd_qz_pz": None, "recon_mse": None},
        {"model": "True data (MNIST test)", "kind": "data", "fid_lenet": 0.4, "sharpness": 0.021,
         "classes_covered": 10},
    ],
    "toys": [{"toy": "ring", "model": "WAE-MMD", "kind": "wae-mmd", "seeds": 3,
              "modes_covered_mean": 8.0, "modes_covered_std": 0.0, "n_modes": 8,
              "hq_share_mean": 0.01, "hq_share_std": 0.005}],
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
