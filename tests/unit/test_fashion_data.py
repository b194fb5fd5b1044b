"""Fashion-MNIST's test split: the Debian package when installed, else the copy embedded in
data/fashion-mnist-test.npz; the training split needs the package (a clear error otherwise)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from wae_core.data import datasets as data
from wae_core.data.datasets import DatasetUnavailableError, load_fashion_mnist


def test_embedded_test_set_is_the_full_balanced_test_split():
    with np.load(data.EMBEDDED_FASHION_TEST) as f:
        x, y = f["x_test"], f["y_test"]
    assert x.shape == (10_000, 28, 28) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [1000] * 10
    # the arrays of the Debian package's t10k files (data/README.md)
    assert hashlib.sha256(x.tobytes()).hexdigest()[:16] == "c867c93ff9536059"
    assert hashlib.sha256(y.tobytes()).hexdigest()[:16] == "3d0e6c6ea990b53b"


def test_test_split_falls_back_to_the_embedded_file(tmp_path):
    ds = load_fashion_mnist("test", root=tmp_path)  # tmp_path: no Debian package there
    assert ds.name == "fashion-mnist"
    assert ds.x.shape == (10_000, 1, 28, 28) and ds.x.dtype == torch.float32
    assert float(ds.x.min()) >= 0.0 and float(ds.x.max()) <= 1.0
    assert torch.bincount(ds.y).tolist() == [1000] * 10


def test_load_dataset_uses_the_fallback_without_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path)  # no Debian package there
    assert len(data.load_dataset("fashion-mnist", "test")) == 10_000


def test_train_split_without_the_package_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="dataset-fashion-mnist"):
        load_fashion_mnist("train", root=tmp_path)
    with pytest.raises(DatasetUnavailableError, match="dataset-fashion-mnist"):
        load_fashion_mnist("test", root=tmp_path, embedded_test=tmp_path / "missing.npz")


# --- the Fashion LeNet: python -m wae_core.classifier --dataset fashion-mnist -------------------
def test_classifier_cli_trains_on_the_chosen_data_set(tmp_path, monkeypatch):
    from wae_core import classifier
    from wae_core.evaluation import lenet

    asked = []

    def tiny(name, split):  # the first 256 test images stand in for either split
        asked.append((name, split))
        return load_fashion_mnist("test").subset(256)

    monkeypatch.setattr(lenet, "load_dataset", tiny)
    out = tmp_path / "lenet.safetensors"
    assert classifier.main(["--dataset", "fashion-mnist", "--epochs", "1", "--out", str(out)]) == 0
    assert asked == [("fashion-mnist", "train"), ("fashion-mnist", "test")]
    net = lenet.load_classifier(out)
    assert net.meta["dataset"] == "fashion-mnist" and "--dataset fashion-mnist" in net.meta["command"]
    with pytest.raises(ValueError, match="no LeNet for 'stacked-mnist'"):
        classifier.train_classifier(dataset="stacked-mnist")
