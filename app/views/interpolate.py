"""Interpolation: decode linear and spherical paths between two codes, per model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from app import cache, catalog, share
from app import components as C
from app import user_images as U
from app.catalog import CheckpointInfo
from app.i18n import N_, _, bound
from wae_core.models.divergences import latex_of
from wae_core.models.generative import interpolate_codes

SOURCES = {"test": N_("Two test images"), "user": N_("Two uploaded / drawn digits"),
           "random": N_("Two random z")}
PATHS = (("linear", N_("Linear")), ("slerp", N_("Spherical (slerp)")))
GRID_EXTENT = 3.0  # the grid walk covers [-GRID_EXTENT, GRID_EXTENT]² of the latent plane


def ends(info: CheckpointInfo, source: str, xa: np.ndarray | None, xb: np.ndarray | None,
         seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The two end codes for one model (None: this model cannot do this source)."""
    if source == "random":
        z = cache.prior_draws(info.ref, 2, seed)
        return z[0], z[1]
    if not info.has_encoder or xa is None or xb is None:
        return None
    return cache.encode(info.ref, xa)[0], cache.encode(info.ref, xb)[0]


@C.fragment
def paths(infos: Sequence[CheckpointInfo], source: str, xa: np.ndarray | None, xb: np.ndarray | None,
          seed: int) -> None:
    """The step slider and the decoded paths, one row per model (a fragment: moving the slider
    re-runs only this)."""
    share.keep_in_url("interpolation", {"interp_steps": share.integer(3, 16)})
    steps = st.slider(_("Steps"), 3, 16, 8, key="interp_steps")
    width = steps * 28 * 4
    for i, info in enumerate(infos):
        label, imgs = st.columns([1, 6], vertical_alignment="center")
        label.markdown(f"#### {info.kind_label}")
        label.caption(C.model_caption(info))
        with imgs, C.guarded(_("{model} interpolation").format(model=info.kind_label)):
            e = ends(info, source, xa, xb, seed)
            if e is None:
                C.no_encoder_note(info, _("only the random-z mode"))
                continue
            for mode, title in PATHS:
                imgs_ = cache.interpolate(info.ref, e[0], e[1], steps, mode)
                st.markdown(f"**{_(title)}**")
                C.image_grid(imgs_, ncol=steps, scale=4, width=width, key=f"interp_download_{mode}_{i}",
                             download_name=f"interpolation-{mode}-{info.id}.png")


@C.fragment
def grid_walk() -> None:
    """Decode a grid over [-GRID_EXTENT, GRID_EXTENT]² for a model with a 2-D latent space."""
    st.subheader(_("Walking the 2-D latent plane"))
    ds = C.current_dataset()
    z2 = [i for i in catalog.list_checkpoints(for_data=ds.name) if i.z_dim == 2]
    if not z2:
        st.info(_("No {label} image model with z_dim = 2 found (e.g. `mnist-wae-mmd-z2.safetensors` "
                  "for MNIST): train one with `{command}` to see its latent plane.").format(
            label=ds.label, command="python -m wae_core.train --model wae-mmd --z-dim 2 ..."))
        return
    c1, c2 = st.columns([2, 1])
    labels = {i.id: i.label for i in z2}
    share.keep_in_url("interpolation", {"interp_grid_model": share.choice(labels),
                                        "interp_grid_n": share.integer(5, 25)})
    key = c1.selectbox(_("Model (z_dim = 2)"), list(labels), format_func=labels.get, key="interp_grid_model")
    n = c2.slider(_("Grid size"), 5, 25, 15, key="interp_grid_n")
    info = next(i for i in z2 if i.id == key)
    with C.guarded(_("{model} grid walk").format(model=info.kind_label)):
        imgs = cache.grid_walk(info.ref, n, GRID_EXTENT)
        C.image_grid(imgs, ncol=n, scale=2, pad=1, key="interp_grid_download",
                     download_name=f"latent-grid-{info.id}.png", width=min(900, n * 30 * 2))
        e = f"{GRID_EXTENT:g}"
        st.caption(_("z₁ from −{e} (left) to {e} (right), z₂ from {e} (top) to −{e} (bottom): "
                     "the decoder G(z) over the prior's bulk.").format(e=e))


def main() -> None:
    st.title(_("Interpolation"))
    st.markdown(_("Decode a path between two codes: straight (**linear**) or along the sphere where a "
                  "Gaussian prior keeps its mass (**slerp**). A good latent space gives plausible digits "
                  "all along the way."))
    with st.expander(_("The two paths")):
        for f in latex_of(interpolate_codes):
            st.latex(f)
    infos = C.selected_models()
    ds = C.current_dataset()
    sources = [s for s in SOURCES if s != "user" or ds.takes_user_images]
    share.keep_in_url("interpolation", {"interp_source": share.choice(sources)})
    tr = bound()  # (format_func: see app.i18n.bound)
    source = st.radio(_("Between"), sources, format_func=lambda s: tr(SOURCES[s]), horizontal=True,
                      key="interp_source")
    seed = C.current_seed()
    xa = xb = None
    if source == "test":
        c1, c2, c3, c4 = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
        last = len(cache.test_set(ds.name)) - 1
        index = share.integer(0, last)
        share.keep_in_url("interpolation", {"interp_a": index, "interp_b": index})
        a = c1.number_input(_("Test image A"), 0, last, 0, key="interp_a")
        b = c2.number_input(_("Test image B"), 0, last, 1, key="interp_b")
        with C.guarded(_("Loading test images")):
            (xa, ya), (xb, yb) = cache.test_images([a], ds.name), cache.test_images([b], ds.name)
            with c3:
                C.digit_image(xa[0], scale=3, caption=f"A: #{a} ({ds.describe(ya[0])})")
            with c4:
                C.digit_image(xb[0], scale=3, caption=f"B: #{b} ({ds.describe(yb[0])})")
    elif source == "user":
        ua, ub = U.user_digit_pair((_("**Digit A**"), _("**Digit B**")), ("interp_user_a", "interp_user_b"))
        if ua is not None and ub is not None:
            xa, xb = ua, ub
        else:
            st.info(_("Upload or draw both digits A and B."))
    else:
        st.caption(_("z_A, z_B ~ P_Z drawn with seed {seed} (change it in the sidebar).").format(seed=seed))
    if not ds.takes_user_images:
        C.user_images_offered(ds)  # says why uploads / drawings are not among the sources
    if C.require_models(infos) and (source == "random" or xa is not None):
        paths(infos, source, xa, xb, seed)
    st.divider()
    grid_walk()


main()
