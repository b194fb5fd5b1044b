"""Mode collapse: which digits (or classes) does each model generate? The data set's classifier's
verdict on n samples. Stacked MNIST (1,000 modes) has its own view, :func:`stacked_view`."""

from __future__ import annotations

import streamlit as st

from app import cache, catalog, datasets, figures
from app import components as C
from app.catalog import CheckpointInfo
from app.datasets import ImageDataset
from wae_core import metrics
from wae_core.data import toy_modes

N_CHOICES = [1000, 2000, 5000, 10000]
GRID_CHOICES = [50, 100, 200]


def column(info: CheckpointInfo, ds: ImageDataset, n: int, seed: int, k: int, i: int) -> dict | None:
    res = cache.coverage(info.ref, n, seed, catalog.classifier_ref(ds.name))
    cov = res["coverage"]
    total = sum(cov["counts"])
    m = st.columns(2)
    m[0].metric("Classes covered", f"{cov['classes_covered']}/{ds.n_classes}",
                help=f"A class counts when it gets ≥ {metrics.MIN_SHARE_OF_UNIFORM / ds.n_classes:.0%} "
                     f"of the samples ({metrics.MIN_SHARE_OF_UNIFORM:g} of uniform's share).")
    m[1].metric("KL to uniform", f"{cov['kl_to_uniform']:.3f}",
                help=f"0 = every {ds.item} equally often")
    labels = None if ds.name == datasets.MNIST.name else ds.class_names
    st.plotly_chart(figures.class_histogram(cov["counts"], labels=labels), key=f"mc_hist_{i}",
                    config={"displayModeBar": False})
    st.caption(f"{total:,} samples classified · {cov['confident_share']:.0%} with confidence "
               f"≥ {metrics.CONFIDENT:g}")
    imgs, _ = C.sorted_by_class(cache.samples(info.ref, n, seed), res["pred"], k)
    C.image_grid(imgs, ncol=10, scale=2, key=f"mc_download_{i}",
                 download_name=f"samples-by-class-{info.id}-seed{seed}.png")
    st.caption(f"The first {len(imgs)} samples, sorted by predicted class (rows read "
               f"{ds.class_names[0]} → {ds.class_names[-1]}).")
    return {"Model": info.kind_label, "File": info.label.split(" · ", 1)[-1],
            "Classes covered": cov["classes_covered"], "KL to uniform": round(cov["kl_to_uniform"], 4),
            "Largest class share": f"{max(cov['counts']) / max(total, 1):.0%}", "Samples": total}


def class_view(infos: list[CheckpointInfo], ds: ImageDataset, n: int, seed: int, k: int) -> None:
    """MNIST and Fashion-MNIST: the data set's LeNet labels n samples of each model; one histogram
    over its 10 classes per model, the samples sorted by class, a summary table."""
    if C.classifier_or_info(ds) is None:
        return
    rows = []
    with st.spinner(f"Generating and classifying {n:,} samples per model…"):
        for i, (col, info) in enumerate(C.model_columns(infos)):
            with col, C.guarded(f"{info.kind_label}"):
                row = column(info, ds, n, seed, min(k, n), i)
                if row:
                    rows.append(row)
                    if info.kind == "gan" and row["Classes covered"] == ds.n_classes:
                        # Say so rather than let the page's title claim a collapse that is not there.
                        st.info(f"No full collapse here: this GAN covers all {ds.n_classes} classes "
                                f"(KL to uniform {row['KL to uniform']}). Whether a GAN collapses "
                                "depends on the run; watch a GAN drop modes on *Live toy training* "
                                f"(ring of {len(toy_modes('ring'))} Gaussians).",
                                icon=":material/info:")
    if len(rows) > 1:
        st.dataframe(rows, hide_index=True)


def stacked_view(infos: list[CheckpointInfo], ds: ImageDataset, n: int, seed: int, k: int) -> None:
    """Stacked MNIST: 1,000 modes (the three channels' digits), judged channel by channel by the
    MNIST LeNet (``metrics.classify_stacked`` / ``metrics.stacked_mode_coverage``).

    Placeholder, to be filled (the 1,000-mode view: modes covered, KL to uniform, a 10 x 100 heat
    map of mode counts); the 10-class view above does not apply to these samples."""
    st.info(f"The {ds.label} view ({ds.n_classes:,} modes: one digit per colour channel, each read "
            "by the MNIST classifier) is not on this page yet. The other pages show these models' "
            "samples, reconstructions and latent space.", icon=":material/construction:")


def main() -> None:
    st.title("Mode collapse")
    ds = C.current_dataset()
    st.markdown(f"A GAN's generator can get away with producing a few convincing images: *the same "
                f"{ds.item} again and again*. Here a classifier (LeNet, trained on "
                f"{datasets.MNIST.label if ds.per_channel else ds.label}) labels many samples of each "
                "model; a model that covers every mode has a flat histogram.")
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
    (stacked_view if ds.per_channel else class_view)(infos, ds, n, seed, k)
    with st.expander("How coverage is measured", icon=":material/functions:"):
        st.markdown("Each sample gets the classifier's most probable class. KL to the uniform "
                    f"distribution over the {ds.n_classes:,} classes:")
        C.latex(metrics.mode_coverage)
        st.caption(f"Seed {seed}. The same seed gives the same z for every model with the same "
                   "latent size.")


main()
