"""The scoring protocol of the shipped checkpoints: the seed's results, measured on MNIST
(its command line: :mod:`wae_core.evaluate`; its tables: :mod:`wae_core.evaluation.report`).

One row per model (VAE, WAE-MMD, WAE-GAN, GAN) plus the real-data row, with FID (LeNet
features), sharpness, classes covered, KL to uniform, MMD(Q_Z, P_Z), reconstruction MSE and sharpness,
and on the same LeNet features precision / recall, density / coverage and KID; the 2-D toys'
modes covered / high-quality share over several seeds; and the Stacked-MNIST benchmark (1,000
modes, :mod:`wae_core.evaluation.stacked`). The MNIST auto-encoders also get "class kept" (does the
reconstruction keep the digit? on MNIST test images, on ``data/heldout-digits.npz``, non-MNIST
digits as users upload them, and on ``data/heldout-digits-2.npz``, a second held-out set from other
sources and kinds of digit, for reporting only: never used to choose anything) and an ex-post
table: FID and sharpness of samples decoded from a Gaussian mixture fitted to Q_Z (RAE, Ghosh et
al. 2020) beside those from P_Z. Fashion-MNIST gets a table of its own (``fashion``), the same rows
for ``fashion-*`` scored with the Fashion LeNet (``lenet-fashion-mnist``) against its test set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wae_core.data.datasets import (
    HELDOUT_DIGITS,
    HELDOUT_DIGITS_2,
    REPO_ROOT,
    TOY_STD,
    DatasetUnavailableError,
    TensorData,
    heldout_sources,
    load_dataset,
    load_heldout_digits,
    load_mnist,
    toy_modes,
)
from wae_core.evaluation import metrics as M
from wae_core.evaluation.expost import GMM_COMPONENTS, fit_latent_gmm, generate_ex_post
from wae_core.evaluation.lenet import accuracy, load_classifier
from wae_core.evaluation.scoring import fidelity_protocol, score_samples
from wae_core.evaluation.stacked import evaluate_stacked
from wae_core.models.checkpoint import load
from wae_core.models.config import KIND_LABELS, MODEL_KINDS
from wae_core.training.recipes import checkpoint_name

CKPT_DIR = REPO_ROOT / "checkpoints"
MNIST_MODELS = tuple((KIND_LABELS[k], checkpoint_name("mnist", k)) for k in MODEL_KINDS)  # (label, stem)
FASHION_MODELS = tuple((KIND_LABELS[k], checkpoint_name("fashion", k)) for k in MODEL_KINDS)
FASHION_CLASSIFIER = "lenet-fashion-mnist.safetensors"
TOY_MODELS = tuple((KIND_LABELS[k], k) for k in MODEL_KINDS)  # (label, kind)

# The held-out sets of non-MNIST digits, by column key ("class_kept_<key>"): the file, and what it
# is for. Neither is training data.
HELDOUT_SETS = {
    "heldout": (HELDOUT_DIGITS, "uploads the shipped MNIST models were tuned against"),
    "heldout2": (HELDOUT_DIGITS_2, "reporting only: never used to choose a model, recipe or setting"),
}
Uploads = dict[str, tuple[TensorData, np.ndarray]]  # key -> (the digits, the family of each)


def load_uploads() -> Uploads:
    """Every held-out set of :data:`HELDOUT_SETS`, with the family of each digit."""
    return {key: (load_heldout_digits(path), heldout_sources(path))
            for key, (path, _) in HELDOUT_SETS.items()}


def _clean(v: float) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def image_row(name: str, kind: str, samples: torch.Tensor, ref_feats: torch.Tensor,
              classifier: Any, fidelity: bool = False, seed: int = 0) -> dict[str, Any]:
    """One table row: the model's name and kind and :func:`~wae_core.evaluation.scoring.score_samples`."""
    return {"model": name, "kind": kind, **score_samples(samples, ref_feats, classifier, fidelity, seed)}


def evaluate_mnist(ckpt_dir: Path, classifier_path: Path, n: int, seed: int = 0,
                   log: bool = True, fidelity: bool = False, expost: bool = False
                   ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows for the MNIST models found in ``ckpt_dir`` plus real data (train images vs test),
    with the class-kept columns (:func:`class_kept_columns`, ~2 s a model); ``fidelity``: with
    precision / recall, density / coverage and KID (see :func:`image_row`; about 12 s a model at
    n = 10,000 on one thread); ``expost``: with :func:`expost_columns` (~15 s a model). Both off by
    default: the spot check and the shipped-model tests (tests/unit/test_shipped.py) use FID and
    sharpness only."""
    train = load_mnist("train")
    return evaluate_images(MNIST_MODELS, "MNIST", load_mnist("test"), train, ckpt_dir,
                           classifier_path, n, seed, log, fidelity, uploads=load_uploads(),
                           expost_train=train if expost else None)


def evaluate_fashion(ckpt_dir: Path, classifier_path: Path, n: int, seed: int = 0, log: bool = True,
                     fidelity: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows of :func:`evaluate_mnist` for the ``fashion-*`` models, scored with the Fashion
    LeNet against the Fashion-MNIST test set (embedded, offline); the real-data row needs the
    training split (Debian package dataset-fashion-mnist) and is left out without it."""
    try:
        train = load_dataset("fashion-mnist", "train")
    except DatasetUnavailableError as e:
        if log:
            print(f"Fashion-MNIST: no real-data row ({e})", file=sys.stderr)
        train = None
    return evaluate_images(FASHION_MODELS, "Fashion-MNIST", load_dataset("fashion-mnist", "test"), train,
                           ckpt_dir, classifier_path, n, seed, log, fidelity)


def evaluate_images(models: tuple[tuple[str, str], ...], data_label: str, test: TensorData,
                    train: TensorData | None, ckpt_dir: Path, classifier_path: Path, n: int,
                    seed: int = 0, log: bool = True, fidelity: bool = False,
                    uploads: Uploads | None = None, expost_train: TensorData | None = None
                    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One data set's rows (see :func:`evaluate_mnist`): ``models`` are (label, file stem) pairs
    looked for in ``ckpt_dir``; the classifier judges ``test``, the reference of every score.
    With ``uploads`` (the held-out sets, :func:`load_uploads`) the class-kept columns are added,
    with ``expost_train`` the ex-post columns (mixture fitted to the codes of these images)."""
    clf = load_classifier(classifier_path)
    x_test, y_test = test.x[:n], test.y[:n]
    ref_feats = clf.embed(x_test)[0]
    rows = []
    if train is not None:
        # "True data": n training images scored against the test reference, like a generator would be.
        g = torch.Generator().manual_seed(seed)
        x_real = train.x[torch.randperm(len(train), generator=g)[:n]]
        rows.append({**image_row(f"True data ({data_label} train vs test)", "data", x_real, ref_feats,
                                 clf, fidelity, seed),
                     "mmd_qz_pz": None, "recon_mse": None, "recon_sharpness": None, "checkpoint": None})
        if uploads is not None:
            # Not a model: the share of the inputs themselves that the LeNet reads, the ceiling
            # of every model's class kept (a perfect reconstruction reaches it exactly).
            rows[-1].update(class_kept_columns(x_test, y_test, uploads, clf))
    for name, stem in models:
        path = ckpt_dir / f"{stem}.safetensors"
        if not path.exists():
            if log:
                print(f"skipping {name}: {path} not found", file=sys.stderr)
            continue
        t0 = time.time()
        model = load(path)
        with torch.inference_mode():
            samples = M.generate(model, n, seed)
            row = image_row(name, model.kind, samples, ref_feats, clf, fidelity, seed)
            row["mmd_qz_pz"] = _clean(M.latent_mmd(model, x_test, seed=seed))
            row["recon_mse"] = row["recon_sharpness"] = None
            # None, not absent, for a model without an encoder (the GAN): every row has every column
            row.update(dict.fromkeys(class_kept_keys(uploads) if uploads is not None else ()))
            row.update(dict.fromkeys(EXPOST_KEYS if expost_train is not None else ()))
            if model.has_encoder:
                x_hat = M.reconstructions(model, x_test)  # once, for both columns
                row["recon_mse"] = M.mean_squared_error(x_hat, x_test)
                # How sharp the decoder can be at all: samples cannot beat their reconstructions.
                row["recon_sharpness"] = M.sharpness(x_hat)
                if uploads is not None:
                    row.update(class_kept_columns(x_hat, y_test, uploads, clf,
                                                  partial(M.reconstructions, model)))
                if expost_train is not None:
                    row.update(expost_columns(model, expost_train, ref_feats, clf, n, seed))
        row.update(checkpoint=str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT)
                                  else path),
                   sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                   epochs=model.meta.get("epochs_done"), train_command=model.meta.get("command"))
        rows.append(row)
        if log:
            extra = (f", precision {row['precision']:.3f}, recall {row['recall']:.3f}, "
                     f"KID {row['kid_mean']:.3g}" if fidelity else "")
            if row.get("class_kept_test") is not None:
                extra += f", class kept {row['class_kept_test']:.3f} (test)" + "".join(
                    f" {row[f'class_kept_{k}']:.3f} ({k})" for k in uploads)
            if row.get("fid_lenet_gmm") is not None:
                extra += f", ex-post FID {row['fid_lenet_gmm']:.2f}"
            print(f"{name}: FID(LeNet) {row['fid_lenet']:.2f}, sharpness {row['sharpness']:.4f}"
                  f"{extra} ({time.time() - t0:.1f} s)", file=sys.stderr)
    # Measured here on the whole test set, not read from the classifier's metadata.
    info = {"test_accuracy": accuracy(clf, test.x, test.y), "checkpoint": str(classifier_path.name)}
    return rows, info


def class_kept_keys(keys=HELDOUT_SETS) -> tuple[str, ...]:
    """The class-kept columns: on the test images, and on each held-out set overall and by family."""
    return ("class_kept_test", *(f"class_kept_{k}{by}" for k in keys for by in ("", "_by_source")))


CLASS_KEPT_KEYS = class_kept_keys()
EXPOST_KEYS = ("fid_lenet_gmm", "sharpness_gmm", "gmm_fit_seconds")


def class_kept_columns(x_hat_test: torch.Tensor, y_test: torch.Tensor, uploads: Uploads, clf: Any,
                       reconstruct: Any = None) -> dict[str, Any]:
    """"Class kept": the share of reconstructions the LeNet reads as the input's label
    (:func:`metrics.class_kept`), on the first n test images and on each held-out set of
    ``uploads`` (key -> digits, family per digit), there also per family. ``reconstruct`` maps a
    set's images to their reconstructions; without it (and given the test inputs themselves as
    ``x_hat_test``) it is the share of inputs recognised (the real-data row)."""
    cols: dict[str, Any] = {"class_kept_test": M.inputs_recognised(x_hat_test, y_test, clf)}
    for key, (digits, sources) in uploads.items():
        x_hat = digits.x if reconstruct is None else reconstruct(digits.x)
        read = M.recognised(x_hat, digits.y, clf).numpy()
        cols[f"class_kept_{key}"] = float(read.mean())
        cols[f"class_kept_{key}_by_source"] = {s: float(read[sources == s].mean())
                                               for s in dict.fromkeys(sources.tolist())}
    return cols


def expost_columns(model: Any, train: TensorData, ref_feats: torch.Tensor, clf: Any, n: int,
                   seed: int = 0) -> dict[str, Any]:
    """FID (LeNet) and sharpness of ``n`` samples decoded from a ``GMM_COMPONENTS``-component
    full-covariance mixture fitted to the codes of all of ``train`` (Q_Z; 60,000 MNIST images:
    ~15-20 s a model on one thread, most of it encoding), for the columns beside P_Z's."""
    t0 = time.time()
    gmm = fit_latent_gmm(model, train.x, GMM_COMPONENTS, seed)
    fit_seconds = time.time() - t0
    samples = generate_ex_post(model, gmm, n, seed)
    return {"fid_lenet_gmm": M.fid_from_features(clf.embed(samples)[0], ref_feats),
            "sharpness_gmm": M.sharpness(samples), "gmm_fit_seconds": round(fit_seconds, 1)}


def expost_protocol(n_fit: int) -> dict[str, Any]:
    return {"components": GMM_COMPONENTS, "covariance": "full", "fit_images": n_fit,
            "fit_to": "Q_Z: codes E(x) of the MNIST training images (the VAE's encoder mean)"}


def uploads_protocol(key: str = "heldout") -> dict[str, Any]:
    """A held-out set of :data:`HELDOUT_SETS` as results.json describes it (``uploads`` for the
    first, ``uploads2`` for the second): its file, size per family and use; for a set that
    records them, the files the app refused as blank (drawn again by its script), per family."""
    path, use = HELDOUT_SETS[key]
    with np.load(path) as f:
        sources = f["source"]
        refused = f["refused"] if "refused" in f.files else None
    families = dict.fromkeys(sources.tolist())
    out = {"file": str(path.relative_to(REPO_ROOT)), "n": len(sources), "use": use,
           "per_source": {s: int((sources == s).sum()) for s in families}}
    if refused is not None:
        out["refused_by_source"] = {s: int(refused[sources == s].sum()) for s in families}
    return out


def evaluate_toys(ckpt_dir: Path, n: int = 2500, seeds: int = 5) -> list[dict[str, Any]]:
    """Modes covered and high-quality share (3 sigma) of 2-D toy models, over sampling seeds."""
    rows = []
    for toy in ("ring", "grid"):
        modes = toy_modes(toy)
        fit_points = load_dataset(toy, "train").x[:TOY_GMM_FIT_POINTS]  # once per toy, not per model
        for name, kind in TOY_MODELS:
            path = ckpt_dir / f"{checkpoint_name(toy, kind)}.safetensors"
            if not path.exists():
                continue
            model = load(path)
            row = {"toy": toy, "model": name, "kind": kind, "seeds": seeds, "n": n,
                   "n_modes": len(modes), "steps": model.meta.get("step"),
                   "train_seconds": (model.meta.get("history") or [{}])[-1].get("seconds")}
            row.update(_toy_scores([M.generate(model, n, s) for s in range(seeds)], modes, TOY_STD[toy]))
            if model.has_encoder:
                # Labelled apart: samples from a mixture fitted to Q_Z (ex-post, RAE), not from P_Z.
                gmm = fit_latent_gmm(model, fit_points, len(modes))
                scores = _toy_scores([generate_ex_post(model, gmm, n, s) for s in range(seeds)],
                                     modes, TOY_STD[toy])
                row.update({f"gmm_{k}": v for k, v in scores.items()})
            rows.append(row)
    return rows


TOY_GMM_FIT_POINTS = 10_000  # training points whose codes the ex-post mixture is fitted to


def _toy_scores(samples: list[torch.Tensor], modes: torch.Tensor, std: float) -> dict[str, float]:
    """Mean and std over sample sets of the modes covered and the high-quality share."""
    qs = [M.toy_quality(s, modes, std) for s in samples]
    cov = np.array([q.modes_covered for q in qs], dtype=float)
    hq = np.array([q.high_quality_share for q in qs])
    return {"modes_covered_mean": float(cov.mean()), "modes_covered_std": float(cov.std()),
            "hq_share_mean": float(hq.mean()), "hq_share_std": float(hq.std())}


# The test suite re-measures the shipped models on this smaller sample (tests/unit/test_shipped.py)
# and compares with the numbers stored here: the table is checked by measurement, not re-read.
SPOT_CHECK_N = 3000


def spot_check(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """FID and sharpness per model of an :func:`evaluate_mnist` run at ``SPOT_CHECK_N``, seed 0."""
    return {"n": SPOT_CHECK_N, "seed": 0,
            "rows": {r["model"]: {"fid_lenet": r["fid_lenet"], "sharpness": r["sharpness"]}
                     for r in rows}}


def evaluate(ckpt_dir: Path = CKPT_DIR, classifier_path: Path | None = None, n: int = 10_000,
             seed: int = 0, toys: bool = True, command: str = "python -m wae_core.evaluate",
             log: bool = True, stacked: bool = True, fashion: bool = True) -> dict[str, Any]:
    classifier_path = classifier_path or ckpt_dir / "lenet-mnist.safetensors"
    rows, info = evaluate_mnist(ckpt_dir, classifier_path, n, seed, log, fidelity=True, expost=True)
    # The spot check stores FID and sharpness only: no fidelity columns there.
    spot_rows, _ = evaluate_mnist(ckpt_dir, classifier_path, SPOT_CHECK_N, 0, log=False)
    return {"generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "command": command,
            "n_samples": n, "seed": seed, "classifier": info, "rows": rows,
            "fidelity": fidelity_protocol(), "uploads": uploads_protocol(),
            "uploads2": uploads_protocol("heldout2"),
            "expost": expost_protocol(len(load_mnist("train"))),
            "spot_check": spot_check(spot_rows), "toys": evaluate_toys(ckpt_dir) if toys else [],
            "fashion": fashion_results(ckpt_dir, n, seed, log) if fashion else {},
            "stacked": evaluate_stacked(ckpt_dir, classifier_path, log=log) if stacked else []}


def fashion_results(ckpt_dir: Path, n: int, seed: int = 0, log: bool = True) -> dict[str, Any]:
    """The ``fashion`` part of results.json ({} without the Fashion LeNet in ``ckpt_dir``)."""
    clf = ckpt_dir / FASHION_CLASSIFIER
    if not clf.exists():
        if log:
            print(f"skipping Fashion-MNIST: {clf} not found", file=sys.stderr)
        return {}
    rows, info = evaluate_fashion(ckpt_dir, clf, n, seed, log, fidelity=True)
    return {"n_samples": n, "seed": seed, "classifier": info, "rows": rows}
