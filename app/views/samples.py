"""Samples: random draws of P_Z decoded by each model, the same z for every model."""

from __future__ import annotations

import streamlit as st

from app import cache
from app import components as C
from wae_core import metrics
from wae_core.divergences import latex_of


def main() -> None:
    st.title("Samples")
    st.markdown("Random codes **z ~ P_Z** decoded by each model, side by side. Models with the "
                "same latent size decode **the same z**, so differences come from the models alone.")
    infos = C.selected_models()
    c1, c2, c3 = st.columns([1, 1, 3], vertical_alignment="bottom")
    side = c1.selectbox("Grid", [4, 6, 8, 10], index=2, key="samples_grid",
                        format_func=lambda g: f"{g} × {g}")
    c2.button("Resample", key="samples_resample", on_click=C.bump_seed, icon=":material/casino:",
              help="Draw new z (next seed)")
    seed = C.current_seed()
    c3.caption(f"Seed {seed}")
    if not C.require_models(infos):
        return
    n = side * side
    width = "stretch" if len(infos) > 1 else 640  # one model: not a wall-sized grid
    with st.spinner("Sampling…"):
        for i, (col, info) in enumerate(C.model_columns(infos)):
            with col, C.guarded(f"{info.kind_label} sampling"):
                imgs = cache.samples(info.ref, n, seed)
                C.image_grid(imgs, ncol=side, key=f"samples_download_{i}", width=width,
                             download_name=f"samples-{info.id}-seed{seed}.png")
                st.markdown(f"Sharpness: **{C.fmt(cache.sharpness(imgs), '.2e')}**")
    with C.guarded("True-data sharpness"):
        x, _ = cache.test_images(cache.random_test_indices(n, seed))
        st.caption(f"True data (MNIST test, {n} random images): sharpness "
                   f"{C.fmt(cache.sharpness(x), '.2e')}. Higher is sharper; noise and artefacts "
                   "raise it too, so read it with the FID on the Results page.")
    with st.expander("What is sharpness?"):
        for f in latex_of(metrics.sharpness):
            st.latex(f)


main()
