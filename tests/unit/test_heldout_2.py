"""The second held-out set of non-MNIST digits (``data/heldout-digits-2.npz``, reporting only):
complete and balanced, reproduced by its script, no copy of an MNIST or first-set image, its labels
what an independent classifier reads, its columns in the results; and the issue's floor (every
auto-encoder keeps the class of 90 % of it), strict xfail with the measured share where missed."""

import hashlib
import importlib.util

import numpy as np
import pytest
import torch

from wae_core.data.datasets import (
    HELDOUT_DIGITS,
    HELDOUT_DIGITS_2,
    REPO_ROOT,
    heldout_sources,
    load_heldout_digits,
    load_mnist,
)
from wae_core.evaluation import metrics as M
from wae_core.evaluation.lenet import load_classifier
from wae_core.models.checkpoint import load

FAMILIES = ("uci-8x8", "marker", "ballpoint", "pencil", "screen")
PER_DIGIT = 20
CKPT = REPO_ROOT / "checkpoints"


@pytest.fixture(scope="module")
def arrays():
    with np.load(HELDOUT_DIGITS_2) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def lenet():
    return load_classifier(CKPT / "lenet-mnist.safetensors")


def _script():
    spec = importlib.util.spec_from_file_location("make_heldout_digits_2",
                                                  REPO_ROOT / "scripts" / "make_heldout_digits_2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_file_is_complete_and_balanced(arrays):
    x, y, source, refused = arrays["x"], arrays["y"], arrays["source"], arrays["refused"]
    assert set(arrays) == {"x", "y", "source", "refused"}
    assert x.dtype == np.uint8 and x.shape == (len(FAMILIES) * 10 * PER_DIGIT, 28, 28)
    assert y.dtype == np.int64 and source.shape == y.shape == refused.shape == (len(x),)
    assert list(dict.fromkeys(source.tolist())) == list(FAMILIES)  # in the script's order
    for family in FAMILIES:  # every digit PER_DIGIT times in every family
        assert np.bincount(y[source == family], minlength=10).tolist() == [PER_DIGIT] * 10, family
    assert refused.dtype == np.int64 and refused.min() >= 0
    assert (x.reshape(len(x), -1).max(1) > 200).all()  # every image has ink

    held = load_heldout_digits(HELDOUT_DIGITS_2)
    assert held.name == "heldout-digits-2" and held.x.shape == (len(x), 1, 28, 28)
    assert torch.equal(held.y, torch.from_numpy(y))
    assert torch.equal(held.x, torch.from_numpy(x).float().div(255).unsqueeze(1))
    assert (heldout_sources(HELDOUT_DIGITS_2) == source).all()


def test_the_script_reproduces_the_committed_images(arrays):
    """The first image of every digit of every family, drawn again from the script's functions
    (about 5 s), is the committed one to the byte."""
    script = _script()
    if not all(p.exists() for p in (script.FONT_ROOT / f for f in script.FONT_FILES.values())):
        pytest.skip(f"fonts missing: install {' '.join(script.FONT_PACKAGES)} (make fonts)")
    new = script.make_heldout(per_digit=1)
    first = np.flatnonzero(np.arange(len(arrays["y"])) % PER_DIGIT == 0)  # image i = 0 of each
    for key in ("x", "y", "source", "refused"):
        assert np.array_equal(new[key], arrays[key][first]), key


def _digests(x: np.ndarray) -> set[bytes]:
    return {hashlib.sha256(img.tobytes()).digest() for img in x}


def test_no_image_is_a_copy_of_mnist_or_of_the_first_set(arrays):
    """No image is byte for byte an MNIST (train or test) or first-set image, and on a sample of
    200 the nearest of them (Euclidean, over the 60,000 training digits and the first set) is
    not at distance 0."""
    x2 = arrays["x"]
    train, test = load_mnist("train"), load_mnist("test")
    with np.load(HELDOUT_DIGITS) as f:
        first = f["x"]
    others = np.concatenate([np.rint(train.x[:, 0].numpy() * 255).astype(np.uint8), first])
    test_u8 = np.rint(test.x[:, 0].numpy() * 255).astype(np.uint8)
    assert not _digests(x2) & _digests(np.concatenate([others, test_u8]))

    sample = torch.from_numpy(x2[::5].reshape(-1, 784)).float()
    ref = torch.from_numpy(others.reshape(-1, 784)).float()
    nearest = torch.cdist(sample, ref).argmin(1)  # float distances find the candidate...
    exact = ((sample.long() - ref[nearest].long()) ** 2).sum(1)  # ...integers measure it exactly
    assert exact.min() > 0


def test_the_labels_are_what_an_independent_classifier_reads(arrays, lenet):
    """The LeNet (trained on MNIST, never on these) reads the label of well over chance (10 %) in
    every family; shuffled or shifted labels would fall to about chance."""
    x = torch.from_numpy(arrays["x"]).float().div(255).unsqueeze(1)
    y = torch.from_numpy(arrays["y"])
    assert M.inputs_recognised(x, y, lenet) > 0.6
    for family in FAMILIES:
        m = torch.from_numpy(arrays["source"] == family)
        assert M.inputs_recognised(x[m], y[m], lenet) > 0.4, family


def test_results_columns_and_tables_of_both_sets(lenet):
    """The protocol measures class kept on both held-out sets, per family, and the markdown shows
    the second set's column and family table (with the files the app refused)."""
    from wae_core.evaluation import protocol as E
    from wae_core.evaluation import report

    assert set(E.CLASS_KEPT_KEYS) >= {"class_kept_heldout2", "class_kept_heldout2_by_source"}
    uploads = E.load_uploads()
    assert list(uploads) == ["heldout", "heldout2"]
    test = load_mnist("test").subset(200)
    cols = E.class_kept_columns(test.x, test.y, uploads, lenet)
    held2, sources2 = uploads["heldout2"]
    assert cols["class_kept_heldout2"] == pytest.approx(M.inputs_recognised(held2.x, held2.y, lenet))
    assert list(cols["class_kept_heldout2_by_source"]) == list(FAMILIES)
    for family, v in cols["class_kept_heldout2_by_source"].items():
        m = torch.from_numpy(sources2 == family)
        assert v == pytest.approx(M.inputs_recognised(held2.x[m], held2.y[m], lenet)), family
    flip = E.class_kept_columns(test.x, test.y, uploads, lenet, lambda t: t.flip(-1))
    assert flip["class_kept_heldout2"] < cols["class_kept_heldout2"]  # reconstruct is applied

    proto = E.uploads_protocol("heldout2")
    assert proto["file"] == "data/heldout-digits-2.npz" and proto["n"] == 10 * PER_DIGIT * len(FAMILIES)
    assert proto["per_source"] == dict.fromkeys(FAMILIES, 10 * PER_DIGIT)
    assert "reporting only" in proto["use"] and set(proto["refused_by_source"]) == set(FAMILIES)

    base = {"sharpness": 0.05, "classes_covered": 10, "kl_uniform": 0.01, "mmd_qz_pz": None,
            "recon_mse": None, "fid_lenet": 1.0}
    model = {**base, "model": "M", "kind": "wae-mmd", "class_kept_test": 0.9, "class_kept_heldout": 0.8,
             "class_kept_heldout_by_source": {"font": 0.8}, "class_kept_heldout2": 0.625,
             "class_kept_heldout2_by_source": dict(zip(FAMILIES, (0.5, 0.6, 0.7, 0.8, 0.9)))}
    res = {"command": "c", "generated": "g", "n_samples": 200, "classifier": {},
           "rows": [{**base, **cols, "model": "True data", "kind": "data"}, model],
           "uploads": E.uploads_protocol(), "uploads2": {**proto, "refused_by_source": {
               "uci-8x8": 0, "marker": 3, "ballpoint": 0, "pencil": 7, "screen": 0}}}
    md = report.to_markdown(res).splitlines()
    assert md[3].endswith("| Class kept (non-MNIST uploads) ↑ "
                          "| Class kept (held-out set 2, reporting only) ↑ |")
    assert md[5].endswith(f"| {100 * cols['class_kept_heldout2']:.1f} % (inputs read) |")
    assert md[6].startswith("| M |") and md[6].endswith("| 90.0 % | 80.0 % | 62.5 % |")
    assert ("| Model | uci-8x8 (200) | marker (200) | ballpoint (200) | pencil (200) | screen (200) "
            "| all |") in md
    assert "| M | 50.0 % | 60.0 % | 70.0 % | 80.0 % | 90.0 % | 62.5 % |" in md
    assert any("data/heldout-digits-2.npz" in m and "reporting only" in m for m in md)
    assert ("Files the app refused as blank while the set was made (drawn again): uci-8x8 0, "
            "marker 3, ballpoint 0, pencil 7, screen 0.") in md


# The floor: every shipped auto-encoder keeps the class of at least 90 % of the second set.
# Measured (2026-12, scripts/make_heldout_digits_2.py --report), on CPU; where a model misses the
# floor the test is a strict xfail that counts only the floor's miss: a share other than the one
# recorded here fails outright (the reason must stay true), and a model that reaches the floor
# fails the strict xfail, so that the mark is taken off. The LeNet itself reads 95.2 % of the
# inputs (77.8 % before the upload path removed paper rules, 2026-12-07: then 71.5 / 71.5 / 64.8 %);
# the WAE-GAN loses most on the real 8x8 UCI digits (68 %: their 1 has a flag and a foot).
FLOOR = 0.90
MEASURED = {"mnist-vae": 0.918, "mnist-wae-mmd": 0.905, "mnist-wae-gan": 0.843}


class FloorMissed(AssertionError):
    """The class kept is below :data:`FLOOR` (the only failure the xfail marks expect)."""


@pytest.mark.parametrize("stem", [
    pytest.param(stem, marks=pytest.mark.xfail(strict=True, raises=FloorMissed,
                                               reason=f"measured {100 * kept:.1f} %"))
    if kept < FLOOR else stem for stem, kept in MEASURED.items()])
def test_every_auto_encoder_keeps_the_class_of_90_percent(stem, lenet):
    held = load_heldout_digits(HELDOUT_DIGITS_2)
    kept = M.class_kept(load(CKPT / f"{stem}.safetensors"), held.x, held.y, lenet)
    assert kept == pytest.approx(MEASURED[stem], abs=0.0015), f"measured {kept:.4f}: update MEASURED"
    if kept < FLOOR:
        raise FloorMissed(f"{stem} keeps the class of {kept:.1%} of the second held-out set")
