"""The Stacked-MNIST benchmark (1,000 modes), as ``python -m wae_core.evaluate`` reports it.

Protocol of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018): 26,000 samples per
model, each channel labelled by an MNIST classifier (ours: the LeNet of the FID), a mode is the
digit triple, a mode is covered by one sample; KL of the mode histogram to uniform. Besides:

* FID on the **concatenated per-channel LeNet features** (3 x 128 = 384-d): the Fréchet distance
  of the joint features, so a model whose channels were each fine but not independent would
  still score worse than real data; not comparable with any Inception FID;
* sharpness averaged over the channels (each channel filtered as a 1-channel image).

Stochastic: the spread is over *training* seeds when a model has several checkpoints
(``<stem>.safetensors`` plus ``seeds/<stem>-seed<k>.safetensors``), each sampled with seed 0,
otherwise over ``sample_seeds`` sampling seeds of its one checkpoint.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wae_core.data.datasets import REPO_ROOT, load_stacked_mnist
from wae_core.evaluation import metrics as M
from wae_core.evaluation.lenet import LeNet, load_classifier
from wae_core.models.checkpoint import load
from wae_core.models.config import KIND_LABELS, MODEL_KINDS

STACKED_SAMPLES = 26_000  # the published protocol's sample count
SAMPLE_SEEDS = 3
SEED_DIR = "seeds"  # under the checkpoint folder: further training seeds of a model
STACKED_MODELS = tuple((KIND_LABELS[k], f"stacked-{k}") for k in MODEL_KINDS)  # (label, stem)


def score(images: torch.Tensor, ref_feats: torch.Tensor, classifier: LeNet) -> dict[str, Any]:
    """Modes covered, KL to uniform, confident share, FID (384-d) and sharpness of images."""
    feats, probs = M.stacked_features(images, classifier)
    cov = M.stacked_mode_coverage(probs)
    return {"modes": cov.classes_covered, "kl": cov.kl_to_uniform,
            "confident_share": cov.confident_share, "fid": M.fid_from_features(feats, ref_feats),
            "sharpness": M.sharpness(images), "counts": cov.counts}


def _summary(scores: list[dict[str, Any]], spread_over: str) -> dict[str, Any]:
    """Mean and std over score dicts of every number; the first one's mode counts."""
    out: dict[str, Any] = {"spread_over": spread_over, "runs": len(scores),
                           "counts": scores[0]["counts"]}
    for k in ("modes", "kl", "confident_share", "fid", "sharpness"):
        v = np.array([s[k] for s in scores], dtype=float)
        out[f"{k}_mean"], out[f"{k}_std"] = float(v.mean()), float(v.std())
        out[f"{k}_each"] = v.tolist()
    return out


def seed_files(ckpt_dir: Path, stem: str) -> list[Path]:
    """The model's checkpoint and its further training seeds (``seeds/<stem>-seed<k>``)."""
    main = ckpt_dir / f"{stem}.safetensors"
    if not main.exists():
        return []
    return [main, *sorted((ckpt_dir / SEED_DIR).glob(f"{stem}-seed*.safetensors"))]


def evaluate_stacked(ckpt_dir: Path, classifier_path: Path, n: int = STACKED_SAMPLES,
                     sample_seeds: int = SAMPLE_SEEDS, n_ref: int | None = None,
                     log: bool = True) -> list[dict[str, Any]]:
    """The real-data row (n training images against the test set) and one row per shipped
    Stacked-MNIST model found in ``ckpt_dir``; the reference is the first ``n_ref`` test images
    (all 10,000 by default)."""
    clf = load_classifier(classifier_path)
    ref_feats = M.stacked_features(load_stacked_mnist("test").x[:n_ref], clf)[0]
    train = load_stacked_mnist("train")
    real = [score(train.x[torch.randperm(len(train), generator=torch.Generator().manual_seed(s))[:n]],
                  ref_feats, clf) for s in range(sample_seeds)]
    rows = [{"model": "True data (Stacked MNIST train vs test)", "kind": "data", "n": n,
             **_summary(real, "draws of the training set")}]
    for name, stem in STACKED_MODELS:
        files = seed_files(ckpt_dir, stem)
        if not files:
            if log:
                print(f"skipping Stacked-MNIST {name}: {ckpt_dir / stem}.safetensors not found",
                      file=sys.stderr)
            continue
        t0 = time.time()
        models = [load(p) for p in files]
        with torch.inference_mode():
            if len(models) > 1:
                scores = [score(M.generate(m, n, 0), ref_feats, clf) for m in models]
                spread = "training seeds"
            else:
                scores = [score(M.generate(models[0], n, s), ref_feats, clf) for s in range(sample_seeds)]
                spread = "sampling seeds"
        meta = models[0].meta
        hist = meta.get("history") or [{}]
        rows.append({"model": name, "kind": models[0].kind, "n": n, **_summary(scores, spread),
                     "checkpoint": _rel(files[0]), "seed_checkpoints": [_rel(p) for p in files[1:]],
                     "sha256": hashlib.sha256(files[0].read_bytes()).hexdigest(),
                     "steps": meta.get("step"), "epochs": meta.get("epochs_done"),
                     "train_seconds": hist[-1].get("seconds"), "train_command": meta.get("command")})
        if log:
            r = rows[-1]
            print(f"Stacked MNIST {name}: {r['modes_mean']:.1f} modes, KL {r['kl_mean']:.3f} "
                  f"({time.time() - t0:.0f} s)", file=sys.stderr)
    return rows


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)


def _pm(r: dict[str, Any], key: str, spec: str) -> str:
    return f"{format(r[key + '_mean'], spec)} ± {format(r[key + '_std'], spec)}"


def markdown(rows: list[dict[str, Any]]) -> str:
    """The Stacked-MNIST table of ``results.md``."""
    if not rows:
        return ""
    lines = [f"Stacked MNIST (1,000 modes; {rows[0]['n']:,} samples per run, PacGAN's protocol: "
             "a mode is covered by one sample). Mean ± std over the runs named in the last column. "
             "FID on the three channels' LeNet features side by side (384-d), **not** Inception.", "",
             "| Model | Modes covered (of 1,000) ↑ | KL to uniform ↓ | All 3 digits confident | "
             "FID (LeNet ×3) ↓ | Sharpness ↑ | Train steps | Train seconds | Spread over |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        secs = r.get("train_seconds")
        lines.append(
            f"| {r['model']} | {_pm(r, 'modes', '.1f')} | {_pm(r, 'kl', '.3f')} | "
            f"{100 * r['confident_share_mean']:.1f} % | {_pm(r, 'fid', '.1f')} | "
            f"{_pm(r, 'sharpness', '.4f')} | {r.get('steps') or '—'} | "
            f"{'—' if secs is None else f'{secs:.0f}'} | {r['runs']} {r['spread_over']} |")
    return "\n".join(lines) + "\n"
