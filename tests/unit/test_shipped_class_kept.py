"""The shipped MNIST auto-encoders keep the digit they are given: class kept (the share of
reconstructions the LeNet reads as the input's label) on MNIST test images and on the held-out
non-MNIST uploads (data/heldout-digits.npz), re-measured now.

FID from P_Z (both WAEs below the VAE) is asserted in test_shipped.py, not repeated here.
"""

import pytest
import torch

from wae_core.data.datasets import heldout_sources, load_heldout_digits, load_mnist
from wae_core.evaluation import metrics as M
from wae_core.evaluation.lenet import load_classifier
from wae_core.evaluation.protocol import CKPT_DIR
from wae_core.models.checkpoint import load

# Every test here scores the shipped checkpoints (~10 s): not in make test-fast.
pytestmark = pytest.mark.slow

N_TEST = 2000  # the first 2,000 MNIST test images
MODELS = {"VAE": "mnist-vae", "WAE-MMD": "mnist-wae-mmd", "WAE-GAN": "mnist-wae-gan"}

# Floors from a measurement of the shipped checkpoints, ~3 points below it (2026-12-04, by
# class_kept(load(f"checkpoints/{stem}.safetensors"), x, y, lenet) on the sets above, as this file
# does; `python -m wae_core.evaluate` prints the same columns at n = 10,000). Measured on the first
# 2,000 test images: VAE 0.970, WAE-MMD 0.969, WAE-GAN 0.938; on the uploads: VAE 0.943,
# WAE-MMD 0.972 (0.970 since the set was made again through the upload path that removes paper
# rules, 2026-12-07), WAE-GAN 0.905. On all 10,000 test images: VAE 0.975, WAE-MMD 0.974, WAE-GAN 0.954.
# The WAE-GAN's recipe over 3 training seeds (docs/experiments.md): 0.938 / 0.938 / 0.942 and
# 0.905 / 0.885 / 0.925, so its floors hold for a retrained seed too.
CLASS_KEPT_TEST_FLOOR = {"VAE": 0.94, "WAE-MMD": 0.94, "WAE-GAN": 0.91}
CLASS_KEPT_UPLOADS_FLOOR = {"VAE": 0.91, "WAE-MMD": 0.94, "WAE-GAN": 0.87}
# Issue 17's targets, on the whole MNIST test set and on the uploads.
TARGET_TEST, TARGET_UPLOADS = 0.97, 0.90
# The held-out uploads are meant to be messy but readable: the LeNet reads 98.2 % of them (font
# 98.0, canvas 100, scan 95.3, photo 99.3 %); a class kept is only meaningful below that ceiling.
UPLOADS_READ_FLOOR, FAMILY_READ_FLOOR = 0.95, 0.90


@pytest.fixture(scope="module")
def measured():
    torch.manual_seed(0)
    lenet = load_classifier(CKPT_DIR / "lenet-mnist.safetensors")
    test, uploads = load_mnist("test").subset(N_TEST), load_heldout_digits()
    out = {}
    for name, stem in MODELS.items():
        model = load(CKPT_DIR / f"{stem}.safetensors")
        with torch.inference_mode():
            out[name] = (M.class_kept(model, test.x, test.y, lenet),
                         M.class_kept(model, uploads.x, uploads.y, lenet))
    return lenet, uploads, out


def test_the_uploads_are_readable(measured):
    lenet, uploads, _ = measured
    read = M.recognised(uploads.x, uploads.y, lenet).numpy()
    assert read.mean() >= UPLOADS_READ_FLOOR
    sources = heldout_sources()
    for family in ("font", "canvas", "scan", "photo"):
        assert read[sources == family].mean() >= FAMILY_READ_FLOOR, family


@pytest.mark.parametrize("name", list(MODELS))
def test_shipped_auto_encoders_keep_the_digit(measured, name):
    lenet, _, kept = measured
    on_test, on_uploads = kept[name]
    assert on_test >= CLASS_KEPT_TEST_FLOOR[name], (name, on_test)
    assert on_uploads >= CLASS_KEPT_UPLOADS_FLOOR[name], (name, on_uploads)


@pytest.fixture(scope="module")
def on_whole_test_set():
    lenet = load_classifier(CKPT_DIR / "lenet-mnist.safetensors")
    test = load_mnist("test")
    with torch.inference_mode():
        return {name: M.class_kept(load(CKPT_DIR / f"{stem}.safetensors"), test.x, test.y, lenet)
                for name, stem in MODELS.items()}


@pytest.mark.parametrize("name", [
    "VAE", "WAE-MMD",
    pytest.param("WAE-GAN", marks=pytest.mark.xfail(
        strict=True, raises=AssertionError,
        reason="missed: 95.4 % of MNIST test (uploads 90.5 %, met) (docs/results.md)"))])
def test_issue_17_targets(measured, on_whole_test_set, name):
    """>= 97 % of the class kept on the 10,000 MNIST test images, >= 90 % on the uploads."""
    assert on_whole_test_set[name] >= TARGET_TEST, (name, on_whole_test_set[name])
    assert measured[2][name][1] >= TARGET_UPLOADS, (name, measured[2][name][1])
