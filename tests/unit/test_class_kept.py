"""Class kept (does a reconstruction keep the input's digit?) against a per-image loop, and the
committed held-out set of non-MNIST digits (shapes, labels, families, reproducible generator)."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from wae_core.data.datasets import (
    HELDOUT_DIGITS,
    REPO_ROOT,
    heldout_sources,
    load_heldout_digits,
    load_mnist,
)
from wae_core.evaluation import metrics as M
from wae_core.evaluation.lenet import load_classifier

FAMILIES = {"font", "canvas", "scan", "photo"}


class FakeModel:
    """Just what ``class_kept`` uses of a model: an encoder flag, a device and ``reconstruct``."""

    has_encoder = True
    device = torch.device("cpu")

    def __init__(self, fn):
        self.fn = fn

    def reconstruct(self, x):
        return self.fn(x)


@pytest.fixture(scope="module")
def lenet():
    return load_classifier(REPO_ROOT / "checkpoints" / "lenet-mnist.safetensors")


@pytest.fixture(scope="module")
def data():
    """MNIST test digits and the held-out set together: both readable and unreadable inputs."""
    test, held = load_mnist("test").subset(300), load_heldout_digits()
    return torch.cat([test.x, held.x]), torch.cat([test.y, held.y])


def naive_class_kept(model, x, y, lenet):
    hits = 0
    for i in range(len(x)):
        with torch.no_grad():
            logits = lenet(model.reconstruct(x[i:i + 1]))
        hits += int(logits.argmax(1).item() == y[i].item())
    return hits / len(x)


def test_class_kept_matches_a_per_image_loop(lenet, data):
    x, y = data
    # a reconstruction that loses something: mirrored left-right, then blurred
    blur = lambda t: torch.nn.functional.avg_pool2d(t.flip(-1), 3, 1, 1)  # noqa: E731
    model = FakeModel(blur)
    got = M.class_kept(model, x, y, lenet, batch_size=97)
    assert got == pytest.approx(naive_class_kept(model, x, y, lenet), abs=1e-12)
    assert 0.05 < got < 0.9  # the mirror really loses digits: not a trivial 0 or 1


def test_identity_keeps_what_the_classifier_recognises(lenet, data):
    x, y = data
    kept = M.class_kept(FakeModel(lambda t: t), x, y, lenet, batch_size=128)
    assert kept == pytest.approx(M.inputs_recognised(x, y, lenet), abs=1e-12)
    assert kept == pytest.approx(naive_class_kept(FakeModel(lambda t: t), x, y, lenet), abs=1e-12)
    assert kept < 1.0  # some inputs are misread, so the share is not trivially 1


def test_a_model_that_always_draws_one_digit_keeps_that_class_only(lenet, data):
    x, y = data
    test = load_mnist("test")
    three = test.x[(test.y == 3) & M.recognised(test.x, test.y, lenet)][:1]  # a 3 the LeNet reads
    model = FakeModel(lambda t: three.expand(len(t), -1, -1, -1))
    assert M.class_kept(model, x, y, lenet) == pytest.approx(float((y == 3).double().mean()))


def test_no_encoder_gives_nan(lenet, data):
    x, y = data
    model = FakeModel(lambda t: t)
    model.has_encoder = False
    assert math.isnan(M.class_kept(model, x, y, lenet))


def test_committed_heldout_set_is_complete():
    with np.load(HELDOUT_DIGITS) as f:
        x, y, source = f["x"], f["y"], f["source"]
    assert x.dtype == np.uint8 and x.ndim == 3 and x.shape[1:] == (28, 28)
    assert y.dtype == np.int64 and source.shape == y.shape == (len(x),)
    assert 500 <= len(x) <= 800
    assert set(source.tolist()) == FAMILIES
    for family in FAMILIES:  # every family has every digit, roughly balanced
        counts = np.bincount(y[source == family], minlength=10)
        assert len(counts) == 10 and counts.min() >= 10 and counts.max() <= 2 * counts.min()
    assert (x.reshape(len(x), -1).max(1) > 200).all()  # every image has ink (none came out blank)

    held = load_heldout_digits()
    assert held.name == "heldout-digits" and held.x.shape == (len(x), 1, 28, 28)
    assert held.x.dtype == torch.float32 and held.x.min() >= 0 and held.x.max() <= 1
    assert torch.equal(held.y, torch.from_numpy(y))
    assert (heldout_sources() == source).all()


def test_generator_reproduces_the_committed_file(tmp_path):
    """The script draws from fixed seeds: re-running it gives the committed arrays (about 10 s)."""
    out = tmp_path / "h.npz"
    run = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "make_heldout_digits.py"),
                          "--out", str(out)], cwd=REPO_ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    with np.load(out) as new, np.load(HELDOUT_DIGITS) as old:
        for key in ("x", "y", "source"):
            assert np.array_equal(new[key], old[key]), key


def test_evaluate_columns_and_markdown(lenet):
    """``evaluate.class_kept_columns`` against the metric per family, and the tables that show
    them: the real-data row labelled as the inputs' own recognition, the GAN without, the ex-post
    table beside P_Z, and a data set without the columns (Fashion-MNIST) unchanged."""
    from wae_core.evaluation import protocol as E
    from wae_core.evaluation import report

    test, held, sources = load_mnist("test").subset(300), load_heldout_digits(), heldout_sources()
    cols = E.class_kept_columns(test.x, test.y, {"heldout": (held, sources)}, lenet)
    assert cols["class_kept_test"] == M.inputs_recognised(test.x, test.y, lenet)
    assert cols["class_kept_heldout"] == pytest.approx(M.inputs_recognised(held.x, held.y, lenet))
    assert list(cols["class_kept_heldout_by_source"]) == ["font", "canvas", "scan", "photo"]
    for family, v in cols["class_kept_heldout_by_source"].items():
        m = torch.from_numpy(sources == family)
        assert v == pytest.approx(M.inputs_recognised(held.x[m], held.y[m], lenet)), family

    base = {"sharpness": 0.05, "classes_covered": 10, "kl_uniform": 0.01, "mmd_qz_pz": None,
            "recon_mse": None}
    rows = [{**base, **cols, "model": "True data", "kind": "data", "fid_lenet": 1.0},
            {**base, "model": "M", "kind": "wae-mmd", "fid_lenet": 100.0, "class_kept_test": 0.9,
             "class_kept_heldout": 0.8, "class_kept_heldout_by_source": {"font": 0.7, "canvas": 0.9,
                                                                         "scan": 0.6, "photo": 1.0},
             "fid_lenet_gmm": 40.0, "sharpness_gmm": 0.07},
            {**base, "model": "G", "kind": "gan", "fid_lenet": 20.0,
             **dict.fromkeys(E.CLASS_KEPT_KEYS + E.EXPOST_KEYS)}]
    res = {"command": "c", "generated": "g", "n_samples": 300, "classifier": {}, "rows": rows,
           "uploads": E.uploads_protocol(), "expost": E.expost_protocol(60_000)}
    md = report.to_markdown(res).splitlines()
    assert md[3].endswith("| Class kept (MNIST test) ↑ | Class kept (non-MNIST uploads) ↑ |")
    real = f"{100 * cols['class_kept_test']:.1f} % (inputs read)"
    assert next(m for m in md if m.startswith("| True data |")).endswith(
        f"| {real} | {100 * cols['class_kept_heldout']:.1f} % (inputs read) |")
    assert "| M | 100.00 |" in md[6] and md[6].endswith("| 90.0 % | 80.0 % |")
    assert md[7].startswith("| G |") and md[7].endswith("| — | — |")
    assert "| Model | font (150) | canvas (150) | scan (150) | photo (150) | all |" in md
    assert "| M | 70.0 % | 90.0 % | 60.0 % | 100.0 % | 80.0 % |" in md
    assert not any(m.startswith("| G | —") for m in md[8:])  # no GAN row in the family table
    assert any(m.startswith(f"Ex-post GMM ({E.GMM_COMPONENTS} components)") for m in md)
    assert "| M | 100.00 | 40.00 | 0.0500 | 0.0700 |" in md
    fashion = [{**base, "model": "M", "kind": "vae", "fid_lenet": 3.0}]
    assert report.image_table(fashion)[:2] == report.IMAGE_TABLE_HEAD
