"""Samples: random draws of P_Z decoded by each model, the same z for every model; on MNIST the
encoder models can draw their codes from an ex-post mixture fitted to Q_Z instead."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import cache, catalog, datasets, export, share
from app import components as C
from app.catalog import CheckpointInfo, Ref
from wae_core import metrics
from wae_core.classifier import FEATURE_DIM
from wae_core.divergences import latex_of
from wae_core.expost import GMM_COMPONENTS

ORDINALS = ("1st", "2nd", "3rd", "4th", "5th")
GRIDS = [4, 6, 8, 10]
CODES = {"prior": "prior P_Z", "gmm": f"ex-post GMM fitted to Q_Z ({GMM_COMPONENTS} components)"}


def neighbour_classifier() -> Ref | None:
    """The classifier's Ref with the training set's features indexed (built on first use), or
    None after a note (no classifier)."""
    if C.classifier_or_info() is None:
        return None
    ref = catalog.classifier_ref()
    with st.spinner("Indexing the 60,000 training images in LeNet feature space (once: up to a "
                    "minute; a restarted server reads them from disk)…"):
        cache.neighbour_index(ref)
    return ref


def neighbours(i: int, info: CheckpointInfo, imgs: np.ndarray, side: int, clf: Ref,
               width: int | str) -> None:
    """Under one model's grid: its samples' nearest training images (one tab per rank, each
    cell the neighbour of the sample in the same cell), the feature distances, the closest pair."""
    nn = cache.nearest_training(imgs, clf)
    dist, idx = nn["dist"], nn["idx"]
    near, _ = cache.train_images(idx)  # (n, k, 1, 28, 28)
    for j, tab in enumerate(st.tabs([f"{ORDINALS[j]} nearest" for j in range(idx.shape[1])])):
        with tab:
            C.image_grid(near[:, j], ncol=side, width=width, key=f"samples_nearest_png_{i}_{j}",
                         download_name=f"nearest-{j + 1}-{info.id}.png")
            st.caption(f"Feature distance: median {C.fmt(float(np.median(dist[:, j])), '.2f')}, "
                       f"min {C.fmt(float(dist[:, j].min()), '.2f')}")
    c = int(np.argmin(dist[:, 0]))
    C.image_grid(np.concatenate([imgs[c:c + 1], near[c]]), ncol=1 + idx.shape[1], scale=3, width="content",
                 key=f"samples_closest_png_{i}", download_name=f"closest-{info.id}.png",
                 caption=f"Closest: sample {c // side + 1}.{c % side + 1} and training images "
                         + ", ".join(f"#{t} (d = {d:.2f})" for t, d in zip(idx[c], dist[c])))
    with st.expander("Distances of every sample"):
        table = {"sample (row.col)": [f"{s // side + 1}.{s % side + 1}" for s in range(len(idx))],
                 **{f"d{j + 1}": dist[:, j] for j in range(idx.shape[1])},
                 **{f"train #{j + 1}": idx[:, j] for j in range(idx.shape[1])}}
        st.dataframe(table, hide_index=True, key=f"samples_neighbour_table_{i}")
        export.csv_button(table, f"samples_neighbour_csv_{i}", f"nearest-{info.id}")


def main() -> None:
    st.title("Samples")
    st.markdown("Random codes **z ~ P_Z** decoded by each model, side by side. Models with the "
                "same latent size decode **the same z**, so differences come from the models alone.")
    infos = C.selected_models()
    share.keep_in_url("samples", {"samples_grid": share.choice(GRIDS), "samples_neighbours": share.flag(),
                                  "samples_codes": share.choice(CODES)})
    c1, c2, c3 = st.columns([1, 1, 3], vertical_alignment="bottom")
    side = c1.selectbox("Grid", GRIDS, index=2, key="samples_grid",
                        format_func=lambda g: f"{g} × {g}")
    c2.button("Resample", key="samples_resample", on_click=C.bump_seed, icon=":material/casino:",
              help="Draw new z (next seed)")
    seed = C.current_seed()
    c3.caption(f"Seed {seed}")
    ds = C.current_dataset()
    codes = "prior"
    if ds.name == datasets.MNIST.name:  # the mixture is fitted to MNIST's training codes
        codes = st.radio("Codes from", list(CODES), format_func=CODES.get, key="samples_codes",
                         horizontal=True)
        st.caption("Ex-post sampling (Ghosh et al. 2020): fit a Gaussian mixture to the codes the "
                   "encoder gives the training images (Q_Z) and decode draws of it, so no code "
                   "falls where P_Z has mass but no image was encoded. Each model has its own "
                   "mixture, so the models no longer decode the same z.")
    show_nn = False
    if ds.name == datasets.MNIST.name:  # the index holds MNIST's training set, in MNIST LeNet features
        show_nn = st.toggle("Show nearest training images", key="samples_neighbours",
                            help="Memorisation check: the 3 training images closest to each sample "
                                 "in the LeNet classifier's feature space, with the distance")
    else:
        st.caption(f"The nearest-training-image check is for MNIST only (not yet for {ds.label}).")
    if not C.require_models(infos):
        return
    clf = neighbour_classifier() if show_nn else None
    n = side * side
    width = "stretch" if len(infos) > 1 else 640  # one model: not a wall-sized grid
    spinner = ("Fitting each model's mixture to Q_Z (once per model: a few seconds) and sampling…"
               if codes == "gmm" else "Sampling…")
    with st.spinner(spinner):
        for i, (col, info) in enumerate(C.model_columns(infos)):
            with col, C.guarded(f"{info.kind_label} sampling"):
                ex_post = codes == "gmm" and info.has_encoder
                draw = cache.ex_post_samples if ex_post else cache.samples
                imgs = draw(info.ref, n, seed)
                C.image_grid(imgs, ncol=side, key=f"samples_download_{i}", width=width,
                             download_name=f"samples-{'gmm-' if ex_post else ''}{info.id}-seed{seed}.png")
                if codes == "gmm" and not ex_post:
                    st.caption(f"{info.kind_label}: no encoder, so no Q_Z to fit: codes from the "
                               "prior P_Z.")
                st.markdown(f"Sharpness: **{C.fmt(cache.sharpness(imgs), '.2e')}**")
                if clf is not None:
                    neighbours(i, info, imgs, side, clf, width)
    with C.guarded("True-data sharpness"):
        x, _ = cache.test_images(cache.random_test_indices(n, seed, ds.name), ds.name)
        st.caption(f"True data ({ds.label} test, {n} random images): sharpness "
                   f"{C.fmt(cache.sharpness(x), '.2e')}. Higher is sharper; noise and artefacts "
                   "raise it too, so read it with the FID on the Results page.")
        if clf is not None:
            d = cache.nearest_training(x, clf)["dist"][:, 0]
            st.caption(f"Memorisation check: each cell of a model's {ORDINALS[0]}-nearest grid is the "
                       "training image nearest to the sample in the same cell (Euclidean distance "
                       f"of {FEATURE_DIM}-d LeNet features). For scale: these {n} test images, "
                       "which the models never saw, lie at a median distance "
                       f"{C.fmt(float(np.median(d)), '.2f')} from their nearest training image; a "
                       "sample at a distance near 0 would be a copy.")
    with st.expander("What is sharpness?"):
        for f in latex_of(metrics.sharpness):
            st.latex(f)


main()
