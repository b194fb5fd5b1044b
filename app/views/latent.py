"""Latent space: the aggregate posterior Q_Z (encoded test images) against the prior P_Z."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from app import cache, drawn, export, share
from app import components as C
from app import user_images as U
from app.catalog import CheckpointInfo
from app.i18n import N_, _, bound
from wae_core.evaluation.latent_map import PROJECTIONS, LatentMap
from wae_core.models import divergences

CODE_MODES = {"draw": N_("a draw of Q(Z|X) (the aggregate Q_Z)"), "mean": N_("posterior mean")}
MAX_SELECTED = 40
N_CHOICES = [300, 1000, 2000]


def selected_indices(event: object) -> list[int]:
    """Test-set indices of the points selected in a chart (box / lasso / click)."""
    try:
        points = event.selection.points  # type: ignore[attr-defined]
    except AttributeError:
        try:
            points = event["selection"]["points"]  # type: ignore[index]
        except (KeyError, TypeError):
            return []
    out = []
    for p in points or []:
        cd = p.get("customdata") if isinstance(p, dict) else None
        if cd is not None and len(cd) >= 1 and not (isinstance(cd[0], float) and math.isnan(cd[0])):
            out.append(int(cd[0]))
    return out


def model_map(info: CheckpointInfo, i: int, n: int, seed: int, method: str, draw: bool,
              digits: list) -> LatentMap:
    """One model's column: its map of Q_Z vs P_Z, MMD, the user's digits and the selection."""
    ds = C.current_dataset()
    proj = _("raw plane") if info.z_dim == 2 else method
    msg = (_("Fitting t-SNE on {n} points (seconds per model; cached afterwards)…").format(n=f"{2 * n:,}")
           if proj == "t-SNE" else _("{projection}: {n} points…").format(projection=proj, n=f"{2 * n:,}"))
    with st.spinner(msg, show_time=True):
        m = cache.latent_map(info.ref, n, seed, method, draw, ds.name)
        mmd = cache.latent_mmd(info.ref, n, seed, ds.name)
    st.metric("MMD²(Q_Z, P_Z)", C.fmt(mmd, ".2e"),
              help=_("Unbiased estimate with the model's kernel on these test images; "
                     "≈ 0 means Q_Z and P_Z are indistinguishable at this sample size."))
    user_xy = None
    if digits:
        xb = np.concatenate([d.batch for d in digits])
        user_xy = m.place(cache.encode(info.ref, xb))
    st.caption(_("{projection} · select points (lasso / box) to see their images · colour: {group}").format(
        projection=_("raw latent plane (z_dim = 2)") if m.method == "raw" else m.method,
        group=_(ds.group_title)))
    fig = drawn.latent_map(info.ref, n, seed, method, draw, ds.name, user_xy, tuple(d.name for d in digits))
    event = export.chart(fig, f"latent_plot_{i}", name=f"latent-{m.method}-{info.id}", full_mode_bar=True,
                         width="stretch", on_select="rerun", selection_mode=("points", "box", "lasso"))
    picked = selected_indices(event)
    if picked:
        x, _labels = cache.test_images(picked[:MAX_SELECTED], ds.name)
        C.image_grid(x, ncol=8, key=f"latent_selected_png_{i}",
                     download_name=f"latent-selected-{info.id}.png",
                     caption=_("{n} selected").format(n=len(picked))
                     + (" " + _("(first {n})").format(n=MAX_SELECTED) if len(picked) > MAX_SELECTED else ""))
    return m


def main() -> None:
    st.title(_("Latent space"))
    ds = C.current_dataset()
    st.markdown(_(
        "Grey: samples of the prior **P_Z**. Colours: codes of {label} test images, a sample of "
        "the aggregate posterior **Q_Z** (colour = {group}). The **VAE** pushes every "
        "single posterior Q(Z|X=x) towards P_Z, so codes of different classes overlap; the **WAE** "
        "only asks the aggregate Q_Z to match P_Z, so the classes can stay apart while the cloud as "
        "a whole fills the prior.").format(label=ds.label, group=_(ds.group_title)))
    infos = C.selected_models()
    share.keep_in_url("latent", {"latent_method": share.choice(PROJECTIONS),
                                 "latent_n": share.choice(N_CHOICES),
                                 "latent_codes": share.choice(CODE_MODES)})
    c1, c2, c3 = st.columns([1.2, 1, 2])
    method = c1.radio(_("Projection"), PROJECTIONS, horizontal=True, key="latent_method",
                      help=_("Codes of more than 2 dimensions are projected to 2-D, fitted on codes ∪ "
                             "prior samples. Models with z_dim = 2 show their raw latent plane."))
    # 1,000 by default: a t-SNE of 1,000 codes + 1,000 prior draws takes ~2 s per model here,
    # of 2,000 + 2,000 ~7 s (scripts/bench_app.py).
    tr = bound()  # (format_func: see app.i18n.bound)
    n = c2.selectbox(_("Points"), N_CHOICES, index=1, key="latent_n",
                     format_func=lambda v: tr(N_("{n} codes + {n} prior")).format(n=f"{v:,}"))
    mode = c3.radio(_("Codes"), list(CODE_MODES), format_func=lambda m: tr(CODE_MODES[m]), horizontal=True,
                    key="latent_codes", help=_("Differs only for the VAE (a stochastic encoder): "
                                               "a draw is μ + σ·ε, the mean is μ."))
    if not C.require_models(infos):
        return
    seed = C.current_seed()

    digits = []
    with st.expander(_("Place your own digit on the maps (upload or draw)")):
        if C.user_images_offered(ds):
            digits = U.user_digits("latent_user", multiple=True)
    mapped = []  # (label, model) of every map drawn, for the CSV
    for i, (col, info) in enumerate(C.model_columns(infos)):
        with col:
            if not info.has_encoder:
                C.no_encoder_note(info, _("no Q_Z to show (it cannot map data to z)"))
                continue
            with C.guarded(_("{model} latent map").format(model=info.kind_label)):
                model_map(info, i, n, seed, method, mode == "draw", digits)
                mapped.append((info.label, info.ref))
    if mapped:
        csv = drawn.latent_csv(tuple(mapped), n, seed, method, mode == "draw", ds.name)
        st.download_button(_("Download the embedding (CSV)"), lambda: csv,  # handed over on click
                           file_name=f"latent-{method}-seed{seed}.csv", mime="text/csv",
                           key="latent_csv", icon=":material/download:", on_click="ignore")
    with st.expander(_("MMD: the formula")):
        for f in divergences.latex_of(divergences.mmd):
            st.latex(f)


main()
