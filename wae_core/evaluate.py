"""Evaluate the shipped checkpoints: the seed's results table, measured on MNIST.

    python -m wae_core.evaluate                      # -> results/results.json + results/results.md

One row per model (VAE, WAE-MMD, WAE-GAN, GAN) plus the real-data row, with FID (LeNet
features), sharpness, classes covered, KL to uniform, MMD(Q_Z, P_Z), reconstruction MSE and sharpness,
and on the same LeNet features precision / recall, density / coverage and KID; the 2-D toys'
modes covered / high-quality share over several seeds; and the Stacked-MNIST benchmark (1,000
modes, :mod:`wae_core.stacked_eval`). The MNIST auto-encoders also get "class kept" (does the
reconstruction keep the digit? on MNIST test images and on ``data/heldout-digits.npz``, non-MNIST
digits as users upload them) and an ex-post table: FID and sharpness of samples decoded from a
Gaussian mixture fitted to Q_Z (RAE, Ghosh et al. 2020) beside those from P_Z. Fashion-MNIST gets a
table of its own (``fashion``), the same rows for ``fashion-*`` scored with the Fashion LeNet
(``lenet-fashion-mnist``) against its test set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import metrics as M
from .checkpoint import atomic_write_bytes, load
from .classifier import accuracy, load_classifier
from .config import KIND_LABELS, MODEL_KINDS
from .data import (
    HELDOUT_DIGITS,
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
from .expost import GMM_COMPONENTS, fit_latent_gmm, generate_ex_post
from .stacked_eval import evaluate_stacked
from .stacked_eval import markdown as stacked_markdown

CKPT_DIR = REPO_ROOT / "checkpoints"
MNIST_MODELS = tuple((KIND_LABELS[k], f"mnist-{k}") for k in MODEL_KINDS)  # (label, file stem)
FASHION_MODELS = tuple((KIND_LABELS[k], f"fashion-{k}") for k in MODEL_KINDS)
FASHION_CLASSIFIER = "lenet-fashion-mnist.safetensors"
TOY_MODELS = tuple((KIND_LABELS[k], k) for k in MODEL_KINDS)  # (label, kind)


def _clean(v: float) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


# Precision / recall and density / coverage: the papers' k; KID: 100 subsets of 1,000 (Bińkowski et
# al.'s and torch-fidelity's defaults). All on the LeNet features the FID uses, against the test images.
PR_K, DC_K = 3, 5
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000


def fidelity_protocol() -> dict[str, Any]:
    return {"features": "LeNet (the FID's)", "reference": "MNIST test images", "k_pr": PR_K,
            "k_dc": DC_K, "kid_subsets": KID_SUBSETS, "kid_subset_size": KID_SUBSET_SIZE}


def image_row(name: str, kind: str, samples: torch.Tensor, ref_feats: torch.Tensor,
              classifier: Any, fidelity: bool = False, seed: int = 0) -> dict[str, Any]:
    """One table row of image samples scored against the reference features; ``fidelity``
    adds precision, recall, density, coverage and KID (mean, std) on the same features."""
    feats, probs = classifier.embed(samples)
    cov = M.mode_coverage(probs)
    row = {"model": name, "kind": kind, "fid_lenet": M.fid_from_features(feats, ref_feats),
           "sharpness": M.sharpness(samples), "classes_covered": cov.classes_covered,
           "kl_uniform": cov.kl_to_uniform, "confident_share": cov.confident_share,
           "class_counts": cov.counts}
    if fidelity:
        p = M.prdc(ref_feats, feats, k_pr=PR_K, k_dc=DC_K)
        k = M.kid(feats, ref_feats, KID_SUBSETS, KID_SUBSET_SIZE, seed=seed)
        row.update(precision=p.precision, recall=p.recall, density=p.density,
                   coverage=p.coverage, kid_mean=k.mean, kid_std=k.std)
    return row


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
                           classifier_path, n, seed, log, fidelity, uploads=load_heldout_digits(),
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
                    uploads: TensorData | None = None, expost_train: TensorData | None = None
                    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One data set's rows (see :func:`evaluate_mnist`): ``models`` are (label, file stem) pairs
    looked for in ``ckpt_dir``; the classifier judges ``test``, the reference of every score.
    With ``uploads`` (the held-out digits) the class-kept columns are added, with
    ``expost_train`` the ex-post columns (mixture fitted to the codes of these images)."""
    clf = load_classifier(classifier_path)
    x_test, y_test = test.x[:n], test.y[:n]
    sources = heldout_sources() if uploads is not None else None
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
            rows[-1].update(class_kept_columns(x_test, y_test, uploads.x, uploads, sources, clf))
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
            row.update(dict.fromkeys(CLASS_KEPT_KEYS if uploads is not None else ()))
            row.update(dict.fromkeys(EXPOST_KEYS if expost_train is not None else ()))
            if model.has_encoder:
                x_hat = M.reconstructions(model, x_test)  # once, for both columns
                row["recon_mse"] = M.mean_squared_error(x_hat, x_test)
                # How sharp the decoder can be at all: samples cannot beat their reconstructions.
                row["recon_sharpness"] = M.sharpness(x_hat)
                if uploads is not None:
                    row.update(class_kept_columns(x_hat, y_test, M.reconstructions(model, uploads.x),
                                                  uploads, sources, clf))
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
                extra += (f", class kept {row['class_kept_test']:.3f} (test) "
                          f"{row['class_kept_heldout']:.3f} (uploads)")
            if row.get("fid_lenet_gmm") is not None:
                extra += f", ex-post FID {row['fid_lenet_gmm']:.2f}"
            print(f"{name}: FID(LeNet) {row['fid_lenet']:.2f}, sharpness {row['sharpness']:.4f}"
                  f"{extra} ({time.time() - t0:.1f} s)", file=sys.stderr)
    # Measured here on the whole test set, not read from the classifier's metadata.
    info = {"test_accuracy": accuracy(clf, test.x, test.y), "checkpoint": str(classifier_path.name)}
    return rows, info


CLASS_KEPT_KEYS = ("class_kept_test", "class_kept_heldout", "class_kept_heldout_by_source")
EXPOST_KEYS = ("fid_lenet_gmm", "sharpness_gmm", "gmm_fit_seconds")


def class_kept_columns(x_hat_test: torch.Tensor, y_test: torch.Tensor, x_hat_uploads: torch.Tensor,
                       uploads: TensorData, sources: np.ndarray, clf: Any) -> dict[str, Any]:
    """"Class kept": the share of reconstructions the LeNet reads as the input's label
    (:func:`metrics.class_kept`), on the first n test images and on the held-out non-MNIST
    digits, there also per family (font, canvas, scan, photo). Given the inputs themselves as
    ``x_hat_*`` it is the share of inputs recognised (the real-data row)."""
    read = M.recognised(x_hat_uploads, uploads.y, clf).numpy()
    return {"class_kept_test": M.inputs_recognised(x_hat_test, y_test, clf),
            "class_kept_heldout": float(read.mean()),
            "class_kept_heldout_by_source": {s: float(read[sources == s].mean())
                                             for s in dict.fromkeys(sources.tolist())}}


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


def uploads_protocol() -> dict[str, Any]:
    sources = heldout_sources()
    return {"file": str(HELDOUT_DIGITS.relative_to(REPO_ROOT)), "n": len(sources),
            "per_source": {s: int((sources == s).sum()) for s in dict.fromkeys(sources.tolist())}}


def evaluate_toys(ckpt_dir: Path, n: int = 2500, seeds: int = 5) -> list[dict[str, Any]]:
    """Modes covered and high-quality share (3 sigma) of 2-D toy models, over sampling seeds."""
    rows = []
    for toy in ("ring", "grid"):
        modes = toy_modes(toy)
        fit_points = load_dataset(toy, "train").x[:TOY_GMM_FIT_POINTS]  # once per toy, not per model
        for name, kind in TOY_MODELS:
            path = ckpt_dir / f"{toy}-{kind}.safetensors"
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


def _fmt(v: Any, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def _toy_cell(t: dict[str, Any], prefix: str) -> str:
    """"modes ± std / n | hq ± std %" of a toy row (its ex-post columns with prefix "gmm_")."""
    if f"{prefix}hq_share_mean" not in t:
        return "— | —"
    return (f"{t[prefix + 'modes_covered_mean']:.1f} ± {t[prefix + 'modes_covered_std']:.1f} / "
            f"{t['n_modes']} | {100 * t[prefix + 'hq_share_mean']:.1f} ± "
            f"{100 * t[prefix + 'hq_share_std']:.1f} %")


IMAGE_TABLE_HEAD = ["| Model | FID (LeNet) ↓ | Sharpness ↑ | Classes covered | KL to uniform ↓ "
                    "| MMD(Q_Z, P_Z) | Recon. MSE | Recon. sharpness | Epochs |",
                    "|---|---|---|---|---|---|---|---|---|"]


CLASS_KEPT_HEAD = (" Class kept (MNIST test) ↑ | Class kept (non-MNIST uploads) ↑ |", "---|---|")


def _kept(r: dict[str, Any], v: float | None) -> str:
    """A class-kept share in per cent; on the real-data row it is the inputs' own recognition."""
    if v is None:
        return "—"
    return f"{100 * v:.1f} %" + (" (inputs read)" if r.get("kind") == "data" else "")


def image_table(rows: list[dict[str, Any]]) -> list[str]:
    """The lines of an image data set's main table (MNIST, Fashion-MNIST); the class-kept
    columns when the rows have them (MNIST)."""
    kept = any("class_kept_test" in r for r in rows)
    head = [h + c for h, c in zip(IMAGE_TABLE_HEAD, CLASS_KEPT_HEAD)] if kept else IMAGE_TABLE_HEAD
    return head + [
        f"| {r['model']} | {_fmt(r['fid_lenet'], '.2f')} | {_fmt(r['sharpness'], '.4f')} "
        f"| {r['classes_covered']}/10 | {_fmt(r['kl_uniform'], '.4f')} "
        f"| {_fmt(r['mmd_qz_pz'], '.4f')} | {_fmt(r['recon_mse'], '.4f')} "
        f"| {_fmt(r.get('recon_sharpness'), '.4f')} | {_fmt(r.get('epochs'), 'd')} |"
        + (f" {_kept(r, r.get('class_kept_test'))} | {_kept(r, r.get('class_kept_heldout'))} |"
           if kept else "") for r in rows]


def class_kept_table(rows: list[dict[str, Any]], uploads: dict[str, Any]) -> list[str]:
    """The explanation of the class-kept columns and their held-out share per upload family."""
    rows = [r for r in rows if r.get("class_kept_heldout_by_source")]
    if not rows:
        return []
    families = list(rows[0]["class_kept_heldout_by_source"])
    sizes = uploads.get("per_source") or {}
    lines = ["", "Class kept: the share of reconstructions G(E(x)) that the LeNet reads as the "
             "input's digit; on the real-data row, the share of the inputs themselves it reads "
             "(the ceiling). Non-MNIST uploads: `data/heldout-digits.npz`, printed, drawn, "
             "scanned and photographed digits through the app's upload preprocessing; by family:",
             "", "| Model | " + " | ".join(f"{f} ({sizes.get(f, '?')})" for f in families)
             + " | all |", "|---|" + "---|" * (len(families) + 1)]
    for r in rows:
        by = r["class_kept_heldout_by_source"]
        lines.append(f"| {r['model']} | " + " | ".join(_kept(r, by.get(f)) for f in families)
                     + f" | {_kept(r, r['class_kept_heldout'])} |")
    return lines


def expost_table(rows: list[dict[str, Any]], expost: dict[str, Any]) -> list[str]:
    """FID and sharpness from P_Z beside those from the ex-post mixture ([] without them)."""
    rows = [r for r in rows if r.get("fid_lenet_gmm") is not None]
    if not rows:
        return []
    k = expost.get("components", GMM_COMPONENTS)
    lines = ["", f"Ex-post GMM ({k} components): the same decoders, codes drawn from a "
             f"{expost.get('covariance', 'full')}-covariance Gaussian mixture fitted to Q_Z (the "
             f"codes of {_fmt(expost.get('fit_images'), ',')} training images) instead of from "
             "P_Z (RAE, Ghosh et al. 2020).", "",
             "| Model | FID (LeNet) ↓ from P_Z | FID (LeNet) ↓ from the GMM | Sharpness ↑ from P_Z "
             "| Sharpness ↑ from the GMM |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['fid_lenet']:.2f} | {r['fid_lenet_gmm']:.2f} "
                     f"| {r['sharpness']:.4f} | {r['sharpness_gmm']:.4f} |")
    return lines


def fidelity_table(rows: list[dict[str, Any]], fid: dict[str, Any], n: int) -> list[str]:
    """The lines of the precision / recall / density / coverage / KID table ([] without them)."""
    if not fid or not any("precision" in r for r in rows):
        return []
    lines = ["", f"On LeNet features (the FID's), against the {n} test images: "
             f"precision / recall (k = {fid['k_pr']}, Kynkäänniemi et al. 2019), density / "
             f"coverage (k = {fid['k_dc']}, Naeem et al. 2020) and KID (unbiased MMD², "
             f"cubic kernel; mean ± std over {fid['kid_subsets']} subsets of "
             f"{fid['kid_subset_size']}; Bińkowski et al. 2018).", "",
             "| Model | Precision ↑ (LeNet) | Recall ↑ (LeNet) | Density (LeNet) "
             "| Coverage ↑ (LeNet) | KID ↓ (LeNet) |", "|---|---|---|---|---|---|"]
    for r in rows:
        kid = "—" if r.get("kid_mean") is None else f"{r['kid_mean']:.3f} ± {r['kid_std']:.3f}"
        lines.append(f"| {r['model']} | {_fmt(r.get('precision'), '.3f')} "
                     f"| {_fmt(r.get('recall'), '.3f')} | {_fmt(r.get('density'), '.3f')} "
                     f"| {_fmt(r.get('coverage'), '.3f')} | {kid} |")
    return lines


def fashion_markdown(fashion: dict[str, Any], fid: dict[str, Any] | None = None) -> str:
    """The Fashion-MNIST tables: the main table's columns (and the fidelity columns), on the
    Fashion LeNet's features."""
    lines = [f"Fashion-MNIST ({fashion['n_samples']} samples; Fashion LeNet test accuracy "
             f"{_fmt(fashion['classifier'].get('test_accuracy'), '.4f')}): FID on the 128-d features of "
             "the Fashion-MNIST LeNet, not comparable with the MNIST numbers above.", "",
             *image_table(fashion["rows"]),
             *fidelity_table(fashion["rows"], fid or {}, fashion["n_samples"])]
    return "\n".join(lines) + "\n"


def to_markdown(res: dict[str, Any]) -> str:
    lines = [f"Measured by `{res['command']}` on {res['generated']} ({res['n_samples']} samples; "
             f"classifier test accuracy {_fmt(res['classifier'].get('test_accuracy'), '.4f')}).",
             "FID is computed on the 128-d features of our MNIST LeNet, **not** Inception features.",
             "", *image_table(res["rows"]),
             *class_kept_table(res["rows"], res.get("uploads") or {}),
             *expost_table(res["rows"], res.get("expost") or {}),
             *fidelity_table(res["rows"], res.get("fidelity") or {}, res["n_samples"])]
    if res.get("toys"):
        lines += ["", "2-D toys (z = 2): modes covered and share of samples within 3σ of a mode, "
                  f"{res['toys'][0]['n']} samples, mean ± std over {res['toys'][0]['seeds']} seeds.",
                  "Ex-post: the same decoder, codes drawn from a Gaussian mixture (one component "
                  "per mode) fitted to Q_Z instead of from P_Z (RAE, Ghosh et al. 2020).", "",
                  "| Toy | Model | Modes covered | High-quality share | Ex-post: modes | Ex-post: high "
                  "quality | Steps | Seconds |", "|---|---|---|---|---|---|---|---|"]
        for t in res["toys"]:
            lines.append(f"| {t['toy']} | {t['model']} | {_toy_cell(t, '')} | "
                         f"{_toy_cell(t, 'gmm_')} | {_fmt(t.get('steps'), ',')} | "
                         f"{_fmt(t.get('train_seconds'), '.0f')} |")
    if res.get("fashion"):
        lines += ["", fashion_markdown(res["fashion"], res.get("fidelity")).rstrip("\n")]
    if res.get("stacked"):
        lines += ["", stacked_markdown(res["stacked"]).rstrip("\n")]
    return "\n".join(lines) + "\n"


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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m wae_core.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoints", type=Path, default=CKPT_DIR)
    p.add_argument("--n", type=int, default=10_000, help="samples per model (and test images)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=REPO_ROOT / "results")
    p.add_argument("--no-toys", action="store_true")
    p.add_argument("--no-stacked", action="store_true", help="skip Stacked MNIST (~10 minutes)")
    p.add_argument("--no-fashion", action="store_true", help="skip Fashion-MNIST")
    a = p.parse_args(argv)
    cmd = " ".join(["python -m wae_core.evaluate", shlex.join(argv)]).strip()
    res = evaluate(a.checkpoints, None, a.n, a.seed, not a.no_toys, cmd, stacked=not a.no_stacked,
                   fashion=not a.no_fashion)
    atomic_write_bytes(a.out / "results.json", json.dumps(res, indent=1).encode())
    md = to_markdown(res)
    atomic_write_bytes(a.out / "results.md", md.encode())
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
