"""Samples: random draws of P_Z decoded by each model, the same z for every model; on MNIST the
encoder models can draw their codes from an ex-post mixture fitted to Q_Z instead."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from app import cache, catalog, datasets, explore_cache, export, share
from app import components as C
from app.catalog import CheckpointInfo, Ref
from app.i18n import N_, _, bound
from wae_core.evaluation import metrics
from wae_core.evaluation.expost import GMM_COMPONENTS
from wae_core.evaluation.lenet import FEATURE_DIM
from wae_core.models.divergences import latex_of

ORDINALS = (N_("1st"), N_("2nd"), N_("3rd"), N_("4th"), N_("5th"))
GRIDS = [4, 6, 8, 10]
CODES = {"prior": N_("prior P_Z"), "gmm": N_("ex-post GMM fitted to Q_Z ({n} components)")}


def codes_label(code: str, tr: Callable[[str], str] = _) -> str:
    return tr(CODES[code]).format(n=GMM_COMPONENTS)


def neighbour_classifier() -> Ref | None:
    """The classifier's Ref with the training set's features indexed (built on first use), or
    None after a note (no classifier)."""
    if C.classifier_or_info() is None:
        return None
    ref = catalog.classifier_ref()
    with st.spinner(_("Indexing the 60,000 training images in LeNet feature space (once: up to a "
                      "minute; a restarted server reads them from disk)…")):
        explore_cache.neighbour_index(ref)
    return ref


def neighbours(i: int, info: CheckpointInfo, imgs: np.ndarray, side: int, clf: Ref,
               width: int | str) -> None:
    """Under one model's grid: its samples' nearest training images (one tab per rank, each
    cell the neighbour of the sample in the same cell), the feature distances, the closest pair."""
    nn = explore_cache.nearest_training(imgs, clf)
    dist, idx = nn["dist"], nn["idx"]
    near, _labels = explore_cache.train_images(idx)  # (n, k, 1, 28, 28)
    ranks = [_("{ordinal} nearest").format(ordinal=_(ORDINALS[j])) for j in range(idx.shape[1])]
    for j, tab in enumerate(st.tabs(ranks)):
        with tab:
            C.image_grid(near[:, j], ncol=side, width=width, key=f"samples_nearest_png_{i}_{j}",
                         download_name=f"nearest-{j + 1}-{info.id}.png")
            st.caption(_("Feature distance: median {median}, min {min}").format(
                median=C.fmt(float(np.median(dist[:, j])), ".2f"), min=C.fmt(float(dist[:, j].min()), ".2f")))
    c = int(np.argmin(dist[:, 0]))
    C.image_grid(np.concatenate([imgs[c:c + 1], near[c]]), ncol=1 + idx.shape[1], scale=3, width="content",
                 key=f"samples_closest_png_{i}", download_name=f"closest-{info.id}.png",
                 caption=_("Closest: sample {cell} and training images {images}").format(
                     cell=f"{c // side + 1}.{c % side + 1}",
                     images=", ".join(f"#{t} (d = {d:.2f})" for t, d in zip(idx[c], dist[c]))))
    with st.expander(_("Distances of every sample")):
        table = {"sample (row.col)": [f"{s // side + 1}.{s % side + 1}" for s in range(len(idx))],
                 **{f"d{j + 1}": dist[:, j] for j in range(idx.shape[1])},
                 **{f"train #{j + 1}": idx[:, j] for j in range(idx.shape[1])}}
        # (the CSV keeps the English column names; the table on screen is translated)
        shown = {_("sample (row.col)"): table["sample (row.col)"],
                 **{f"d{j + 1}": dist[:, j] for j in range(idx.shape[1])},
                 **{_("train #{j}").format(j=j + 1): idx[:, j] for j in range(idx.shape[1])}}
        st.dataframe(shown, hide_index=True, key=f"samples_neighbour_table_{i}")
        export.csv_button(table, f"samples_neighbour_csv_{i}", f"nearest-{info.id}")


def main() -> None:
    st.title(_("Samples"))
    st.markdown(_("Random codes **z ~ P_Z** decoded by each model, side by side. Models with the "
                  "same latent size decode **the same z**, so differences come from the models alone."))
    infos = C.selected_models()
    share.keep_in_url("samples", {"samples_grid": share.choice(GRIDS), "samples_neighbours": share.flag(),
                                  "samples_codes": share.choice(CODES)})
    c1, c2, c3 = st.columns([1, 1, 3], vertical_alignment="bottom")
    side = c1.selectbox(_("Grid"), GRIDS, index=2, key="samples_grid",
                        format_func=lambda g: f"{g} × {g}")
    c2.button(_("Resample"), key="samples_resample", on_click=C.bump_seed, icon=":material/casino:",
              help=_("Draw new z (next seed)"))
    seed = C.current_seed()
    c3.caption(_("Seed {seed}").format(seed=seed))
    ds = C.current_dataset()
    codes = "prior"
    if ds.name == datasets.MNIST.name:  # the mixture is fitted to MNIST's training codes
        tr = bound()
        codes = st.radio(_("Codes from"), list(CODES), format_func=lambda c: codes_label(c, tr),
                         key="samples_codes", horizontal=True)
        st.caption(_("Ex-post sampling (Ghosh et al. 2020): fit a Gaussian mixture to the codes the "
                     "encoder gives the training images (Q_Z) and decode draws of it, so no code "
                     "falls where P_Z has mass but no image was encoded. Each model has its own "
                     "mixture, so the models no longer decode the same z."))
    show_nn = False
    if ds.name == datasets.MNIST.name:  # the index holds MNIST's training set, in MNIST LeNet features
        show_nn = st.toggle(_("Show nearest training images"), key="samples_neighbours",
                            help=_("Memorisation check: the 3 training images closest to each sample "
                                   "in the LeNet classifier's feature space, with the distance"))
    else:
        st.caption(_("The nearest-training-image check is for MNIST only (not yet for {label}).").format(
            label=ds.label))
    if not C.require_models(infos):
        return
    clf = neighbour_classifier() if show_nn else None
    n = side * side
    width = "stretch" if len(infos) > 1 else 640  # one model: not a wall-sized grid
    spinner = (_("Fitting each model's mixture to Q_Z (once per model: a few seconds) and sampling…")
               if codes == "gmm" else _("Sampling…"))
    with st.spinner(spinner):
        for i, (col, info) in enumerate(C.model_columns(infos)):
            with col, C.guarded(_("{model} sampling").format(model=info.kind_label)):
                ex_post = codes == "gmm" and info.has_encoder
                draw = explore_cache.ex_post_samples if ex_post else cache.samples
                imgs = draw(info.ref, n, seed)
                C.image_grid(imgs, ncol=side, key=f"samples_download_{i}", width=width,
                             download_name=f"samples-{'gmm-' if ex_post else ''}{info.id}-seed{seed}.png")
                if codes == "gmm" and not ex_post:
                    st.caption(_("{model}: no encoder, so no Q_Z to fit: codes from the prior "
                                 "P_Z.").format(model=info.kind_label))
                st.markdown(_("Sharpness: **{value}**").format(value=C.fmt(cache.sharpness(imgs), ".2e")))
                if clf is not None:
                    neighbours(i, info, imgs, side, clf, width)
    with C.guarded(_("True-data sharpness")):
        x, _labels = cache.test_images(cache.random_test_indices(n, seed, ds.name), ds.name)
        st.caption(_("True data ({label} test, {n} random images): sharpness {value}. Higher is "
                     "sharper; noise and artefacts raise it too, so read it with the FID on the "
                     "Results page.").format(label=ds.label, n=n, value=C.fmt(cache.sharpness(x), ".2e")))
        if clf is not None:
            d = explore_cache.nearest_training(x, clf)["dist"][:, 0]
            st.caption(_("Memorisation check: each cell of a model's {ordinal}-nearest grid is the "
                         "training image nearest to the sample in the same cell (Euclidean distance "
                         "of {dim}-d LeNet features). For scale: these {n} test images, which the "
                         "models never saw, lie at a median distance {median} from their nearest "
                         "training image; a sample at a distance near 0 would be a copy.").format(
                ordinal=_(ORDINALS[0]), dim=FEATURE_DIM, n=n, median=C.fmt(float(np.median(d)), ".2f")))
    with st.expander(_("What is sharpness?")):
        for f in latex_of(metrics.sharpness):
            st.latex(f)


main()
