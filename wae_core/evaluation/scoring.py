"""One way to score a model's samples: every table, page and script calls :func:`score_samples`."""

from __future__ import annotations

from typing import Any

import torch

from wae_core.evaluation import manifold
from wae_core.evaluation import metrics as M
from wae_core.evaluation.lenet import LeNet

# Precision / recall and density / coverage: the papers' k; KID: 100 subsets of 1,000 (Bińkowski et
# al.'s and torch-fidelity's defaults). All on the LeNet features the FID uses, against the test images.
PR_K, DC_K = 3, 5
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000


def fidelity_protocol() -> dict[str, Any]:
    return {"features": "LeNet (the FID's)", "reference": "MNIST test images", "k_pr": PR_K,
            "k_dc": DC_K, "kid_subsets": KID_SUBSETS, "kid_subset_size": KID_SUBSET_SIZE}


def score_samples(samples: torch.Tensor, ref_feats: torch.Tensor, classifier: LeNet,
                  fidelity: bool = False, seed: int = 0) -> dict[str, Any]:
    """Image samples scored against the reference features (the classifier's, of real images):
    FID (LeNet), sharpness and mode coverage; ``fidelity`` adds precision, recall, density,
    coverage and KID (mean, std) on the same features. Every score of samples goes through here:
    the results table, Train your own, the race and ``scripts/score_checkpoints.py``."""
    feats, probs = classifier.embed(samples)
    cov = M.mode_coverage(probs)
    row = {"fid_lenet": M.fid_from_features(feats, ref_feats),
           "sharpness": M.sharpness(samples), "classes_covered": cov.classes_covered,
           "kl_uniform": cov.kl_to_uniform, "confident_share": cov.confident_share,
           "class_counts": cov.counts}
    if fidelity:
        p = manifold.prdc(ref_feats, feats, k_pr=PR_K, k_dc=DC_K)
        k = manifold.kid(feats, ref_feats, KID_SUBSETS, KID_SUBSET_SIZE, seed=seed)
        row.update(precision=p.precision, recall=p.recall, density=p.density,
                   coverage=p.coverage, kid_mean=k.mean, kid_std=k.std)
    return row
