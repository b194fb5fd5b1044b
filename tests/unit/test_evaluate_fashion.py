"""evaluate's Fashion-MNIST table: the fashion-* models scored with the Fashion LeNet against the
Fashion-MNIST test set (rows like MNIST's), skipped without that classifier."""

from __future__ import annotations

import torch

from wae_core.data.datasets import DatasetUnavailableError
from wae_core.evaluation import protocol as evaluate
from wae_core.evaluation import report
from wae_core.evaluation.lenet import LeNet, save_classifier
from wae_core.models import checkpoint
from wae_core.models.config import MODEL_KINDS, ModelConfig
from wae_core.models.generative import build_model

N = 200


def _shipped_fashion(folder):
    torch.manual_seed(0)
    for kind in MODEL_KINDS:
        checkpoint.save(build_model(ModelConfig(kind=kind)).eval(), folder / f"fashion-{kind}.safetensors",
                        {"dataset": "fashion-mnist", "epochs_done": 2})


def test_fashion_rows_use_the_fashion_lenet_and_test_set(tmp_path, monkeypatch):
    _shipped_fashion(tmp_path)
    torch.manual_seed(1)
    save_classifier(LeNet(), tmp_path / evaluate.FASHION_CLASSIFIER, {"test_accuracy": 0.1})
    loaded = []
    real_load = evaluate.load_dataset

    def spy(name, split="train", seed=0):
        loaded.append((name, split))
        if split == "train":  # as on a machine without the Debian package
            raise DatasetUnavailableError("no Fashion-MNIST training split here")
        return real_load(name, split, seed)

    monkeypatch.setattr(evaluate, "load_dataset", spy)
    res = evaluate.fashion_results(tmp_path, N, log=False)
    assert ("fashion-mnist", "test") in loaded and ("mnist", "test") not in loaded
    assert [r["model"] for r in res["rows"]] == ["VAE", "WAE-MMD", "WAE-GAN", "GAN"]
    assert all(r["checkpoint"].endswith(f"fashion-{r['kind']}.safetensors") for r in res["rows"])
    assert all(r["epochs"] == 2 and r["fid_lenet"] > 0 and "precision" in r for r in res["rows"])
    assert res["classifier"]["checkpoint"] == evaluate.FASHION_CLASSIFIER
    assert 0.0 <= res["classifier"]["test_accuracy"] <= 1.0  # measured on the Fashion test set
    md = report.fashion_markdown(res)
    assert md.startswith(f"Fashion-MNIST ({N} samples") and md.count("\n| ") == 5  # header + 4 rows


def test_no_fashion_table_without_its_classifier(tmp_path):
    _shipped_fashion(tmp_path)
    assert evaluate.fashion_results(tmp_path, N, log=False) == {}


def test_the_shipped_fashion_models_trained_every_epoch_and_cover_every_class():
    """results.json's Fashion-MNIST rows (issue 34): each shipped model trained its recipe's every
    epoch (no time cap cut it short) and its samples cover all 10 classes."""
    import json

    from wae_core.data.datasets import REPO_ROOT
    from wae_core.models.checkpoint import read_meta
    from wae_core.training import recipes

    res = json.loads((REPO_ROOT / "results" / "results.json").read_text())
    rows = {r["kind"]: r for r in res["fashion"]["rows"] if r["kind"] in MODEL_KINDS}
    assert set(rows) == set(MODEL_KINDS)
    for kind, row in rows.items():
        name = recipes.checkpoint_name("fashion", kind)
        want = recipes.get(name).train.epochs
        assert row["epochs"] == want, (kind, row["epochs"], want)
        assert read_meta(evaluate.CKPT_DIR / f"{name}.safetensors")["epochs_done"] == want
        assert row["classes_covered"] == 10, (kind, row["class_counts"])
