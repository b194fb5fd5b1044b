"""Train your own, once a run is over: FID on LeNet features and sharpness of the model just trained,
beside the shipped model of its kind on the same protocol, and a sentence saying which is better.

The protocol is results.json's when the file has the shipped model's row (its number of samples n
and seed; the first n test images as the reference), so the shipped numbers are read from the file
and are the Results page's. Without such a row, both models are measured here on
:data:`FALLBACK_N` samples. Never a mix: an FID falls as n grows (it is biased upwards at small
n), so numbers made at different n do not compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st
import torch

from app import cache, catalog, datasets
from app import components as C
from app.catalog import Ref
from app.i18n import _
from wae_core.evaluation import metrics
from wae_core.evaluation.scoring import score_samples
from wae_core.models.config import KIND_LABELS
from wae_core.training.recipes import checkpoint_name

FALLBACK_N = 2_000  # samples per model when results.json has no row to compare with (~1 s each)
# The data sets one LeNet reads as they are (Stacked MNIST's three digits and image folders: no).
SCORED_DATASETS = ("mnist", "fashion-mnist")


@dataclass(frozen=True)
class Protocol:
    """How both models are scored: ``n`` samples drawn with ``seed`` against the first ``n`` test
    images; ``shipped`` holds the shipped model's numbers when results.json had them."""

    n: int
    seed: int
    shipped: dict[str, float] | None
    source: str  # where the shipped model's numbers come from, for the caption


def results_section(res: dict[str, Any] | None, dataset: str) -> dict[str, Any] | None:
    """The part of results.json that scores ``dataset``'s shipped models (evaluate's layout: the
    MNIST table at the top level, Fashion-MNIST's under "fashion")."""
    section = res if dataset == "mnist" else (res or {}).get("fashion")
    return section if isinstance(section, dict) else None


def shipped_row(section: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    for r in (section or {}).get("rows") or []:
        if isinstance(r, dict) and r.get("kind") == kind and not C.is_missing(r.get("fid_lenet")) \
                and not C.is_missing(r.get("sharpness")):
            return r
    return None


def protocol(kind: str, dataset: str) -> Protocol:
    """results.json's protocol and numbers for the shipped ``kind`` if it has them, else
    :data:`FALLBACK_N` samples with seed 0 (the shipped model to be measured)."""
    try:
        res = cache.load_results()
    except ValueError:  # an unreadable results.json: the Results page says why
        res = None
    section = results_section(res, dataset)
    row = shipped_row(section, kind)
    n = section.get("n_samples") if section else None
    if row is not None and isinstance(n, int) and n > 1:
        n = min(n, len(cache.test_set(dataset)))
        return Protocol(n, int(section.get("seed") or 0),
                        {"fid_lenet": float(row["fid_lenet"]), "sharpness": float(row["sharpness"])},
                        _("{model} in results.json").format(model=row.get("model", KIND_LABELS[kind])))
    return Protocol(FALLBACK_N, 0, None, _("measured here"))


@st.cache_data(show_spinner=False, max_entries=8)
def _reference(classifier: Ref, dataset: str, n: int) -> np.ndarray:
    """LeNet features of the first n test images of ``dataset`` (``classifier``: the cache key)."""
    return cache.load_classifier(dataset).embed(cache.test_set(dataset).x[:n])[0].numpy()


@st.cache_data(show_spinner=False, max_entries=32)
def scores(ref: Ref, classifier: Ref, dataset: str, n: int, seed: int) -> dict[str, float]:
    """{"fid_lenet", "sharpness"} of n samples of a model, as every table scores them
    (:func:`wae_core.evaluation.scoring.score_samples`; the samples are not kept: 10,000 images
    would be 31 MB of cache)."""
    ref_feats = torch.as_tensor(_reference(classifier, dataset, n))
    with torch.inference_mode():
        x = metrics.generate(cache.get_model(ref), n, seed)
        score = score_samples(x, ref_feats, cache.load_classifier(dataset))
    return {k: score[k] for k in ("fid_lenet", "sharpness")}


def verdict(kind: str, new: dict[str, float], shipped: dict[str, float]) -> str:
    """Which is better, from the numbers: the FID decides (noise raises sharpness too)."""
    label = KIND_LABELS[kind]
    nf, sf = new["fid_lenet"], shipped["fid_lenet"]
    # whole sentences, one per case (a translation cannot be glued together from pieces)
    first = (_("**Your model beats the shipped {model}**: FID {new:.1f} against {shipped:.1f} (lower is "
               "better).") if nf < sf else
             _("**The shipped {model} is better**: FID {shipped:.1f} against your model's {new:.1f} "
               "(lower is better)."))
    second = (_("Your samples are sharper ({new:.4f} against {shipped:.4f}); noise raises sharpness too, "
                "so the FID decides.") if new["sharpness"] > shipped["sharpness"] else
              _("Your samples are blurrier ({new:.4f} against {shipped:.4f}); noise raises sharpness too, "
                "so the FID decides."))
    return (first.format(model=label, new=nf, shipped=sf) + " "
            + second.format(new=new["sharpness"], shipped=shipped["sharpness"]))


def show(out: Ref | None, kind: str, dataset: str) -> None:
    """The section under a finished (or cancelled) run's message: ``out`` is its checkpoint."""
    st.subheader(_("How good is it?"))
    ds = datasets.get(dataset)
    if dataset not in SCORED_DATASETS:
        st.caption(_("FID and sharpness are scored for MNIST and Fashion-MNIST runs, not for {data}.").format(
            data=ds.label if datasets.home(dataset) else _("an image folder")))
        return
    clf = catalog.classifier_ref(dataset)
    if out is None or clf is None:
        st.caption(_("No checkpoint to score with.") if out is None else _("No classifier to score with."))
        return
    p = protocol(kind, dataset)
    shipped_info = None if p.shipped is not None else catalog.shipped(checkpoint_name(ds.prefix, kind))
    scoring = (_("Scoring {n:,} samples of your model and of the shipped one…") if shipped_info is not None
               else _("Scoring {n:,} samples of your model…"))
    with st.spinner(scoring.format(n=p.n)):
        new = C.safe_call(scores, out, clf, dataset, p.n, p.seed, what=_("Scoring your model"))
        shipped = p.shipped
        if shipped_info is not None:
            shipped = C.safe_call(scores, shipped_info.ref, clf, dataset, p.n, p.seed,
                                  what=_("Scoring the shipped model"))
    if new is None:
        return
    label = KIND_LABELS[kind]
    c1, c2 = st.columns(2)
    delta = None if shipped is None else new["fid_lenet"] - shipped["fid_lenet"]
    c1.metric(_("FID (LeNet), your model"), f"{new['fid_lenet']:.1f}",
              delta=None if delta is None else _("{delta:+.1f} vs shipped").format(delta=delta),
              delta_color="inverse")
    c1.metric(_("Sharpness, your model"), f"{new['sharpness']:.4f}")
    if shipped is None:
        c2.caption(_("No shipped {model} for {data} here to compare with.").format(model=label,
                                                                                    data=ds.label))
    else:
        c2.metric(_("FID (LeNet), shipped {model}").format(model=label), f"{shipped['fid_lenet']:.1f}")
        c2.metric(_("Sharpness, shipped {model}").format(model=label), f"{shipped['sharpness']:.4f}")
        st.markdown(verdict(kind, new, shipped))
    source = (p.source if shipped_info is None
              else _("`{model}` measured here the same way").format(model=shipped_info.id))
    st.caption(_("{n:,} samples each (seed {seed}) against the first {n:,} {data} test images, on the "
                 "features of the {data} LeNet. Shipped model: {source}.").format(
                   n=p.n, seed=p.seed, data=ds.label, source=source))
