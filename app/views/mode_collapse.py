"""Mode collapse: which digits does each model generate? The classifier's verdict on n samples."""

from __future__ import annotations

import streamlit as st

from app import cache, catalog, figures
from app import components as C
from app.catalog import CheckpointInfo
from wae_core import metrics
from wae_core.data import toy_modes

N_CHOICES = [1000, 2000, 5000, 10000]
GRID_CHOICES = [50, 100, 200]


def column(info: CheckpointInfo, n: int, seed: int, k: int, i: int) -> dict | None:
    res = cache.coverage(info.ref, n, seed, catalog.classifier_ref())
    cov = res["coverage"]
    total = sum(cov["counts"])
    m = st.columns(2)
    m[0].metric("Classes covered", f"{cov['classes_covered']}/10",
                help=f"A class counts when it gets ≥ {metrics.MIN_SHARE_OF_UNIFORM / 10:.0%} of the "
                     f"samples ({metrics.MIN_SHARE_OF_UNIFORM:g} of uniform's share).")
    m[1].metric("KL to uniform", f"{cov['kl_to_uniform']:.3f}", help="0 = every digit equally often")
    st.plotly_chart(figures.class_histogram(cov["counts"]), key=f"mc_hist_{i}",
                    config={"displayModeBar": False})
    st.caption(f"{total:,} samples classified · {cov['confident_share']:.0%} with confidence "
               f"≥ {metrics.CONFIDENT:g}")
    imgs, _ = C.sorted_by_class(cache.samples(info.ref, n, seed), res["pred"], k)
    C.image_grid(imgs, ncol=10, scale=2, key=f"mc_download_{i}",
                 download_name=f"samples-by-class-{info.id}-seed{seed}.png")
    st.caption(f"The first {len(imgs)} samples, sorted by predicted class (rows read 0 → 9).")
    return {"Model": info.kind_label, "File": info.label.split(" · ", 1)[-1],
            "Classes covered": cov["classes_covered"], "KL to uniform": round(cov["kl_to_uniform"], 4),
            "Largest class share": f"{max(cov['counts']) / max(total, 1):.0%}", "Samples": total}


def main() -> None:
    st.title("Mode collapse")
    st.markdown("A GAN's generator can get away with producing a few convincing digits: *the same "
                "digit again and again*. Here a classifier (LeNet, trained on MNIST) labels many "
                "samples of each model; a model that covers every mode has a flat histogram.")
    infos = C.selected_models()
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    n = c1.select_slider("Samples per model", N_CHOICES, value=2000, key="mc_n",
                         format_func=lambda v: f"{v:,}")
    k = c2.select_slider("Samples in the grids", GRID_CHOICES, value=100, key="mc_grid")
    c3.button("Resample", key="mc_resample", on_click=C.bump_seed, icon=":material/casino:",
              help="Draw new z (next seed)")
    seed = C.current_seed()
    if not C.require_models(infos):
        return
    if C.classifier_or_info() is None:
        return
    rows = []
    with st.spinner(f"Generating and classifying {n:,} samples per model…"):
        for i, (col, info) in enumerate(C.model_columns(infos)):
            with col, C.guarded(f"{info.kind_label}"):
                row = column(info, n, seed, min(k, n), i)
                if row:
                    rows.append(row)
                    if info.kind == "gan" and row["Classes covered"] == 10:
                        # Say so rather than let the page's title claim a collapse that is not there.
                        st.info(f"No full collapse here: this GAN covers all 10 digits (KL to uniform "
                                f"{row['KL to uniform']}). Whether a GAN collapses depends on the run; "
                                "watch a GAN drop modes on *Live toy training* (ring of "
                                f"{len(toy_modes('ring'))} Gaussians).",
                                icon=":material/info:")
    if len(rows) > 1:
        st.dataframe(rows, hide_index=True)
    with st.expander("How coverage is measured", icon=":material/functions:"):
        st.markdown("Each sample gets the classifier's most probable class. KL to the uniform "
                    "distribution over the 10 digits:")
        C.latex(metrics.mode_coverage)
        st.caption(f"Seed {seed}. The same seed gives the same z for every model with the same "
                   "latent size.")


main()
