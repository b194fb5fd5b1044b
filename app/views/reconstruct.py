"""Reconstructions: test images, uploads and drawings through each model's encoder and decoder."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from app import cache, class_kept, datasets, export, share
from app import components as C
from app import user_images as U
from app.catalog import CheckpointInfo
from app.i18n import _

DRAW_KEY = "recon_draw"
N_CHOICES = [4, 8, 16, 32]


def _new_draw() -> None:
    st.session_state[DRAW_KEY] = st.session_state.get(DRAW_KEY, 0) + 1


def comparison(x: np.ndarray, infos: Sequence[CheckpointInfo], *, key: str, ncol: int,
               input_caption: str | None = None) -> None:
    """One row per model under the input row, images aligned column by column (readable on a
    projector: a digit is ~110 px wide), with the mean and per-image MSE of each model."""
    width = int(min(len(x), ncol) * 28 * 4)
    label, imgs = st.columns([1, 6], vertical_alignment="center")
    label.markdown("#### " + _("Input"))
    label.caption(_("Input") if input_caption is None else input_caption)
    with imgs:
        C.image_grid(x, ncol=ncol, scale=4, width=width, key=f"{key}_input_download",
                     download_name=f"{key}-inputs.png")
    rows = []
    for i, info in enumerate(infos):
        label, imgs = st.columns([1, 6], vertical_alignment="center")
        label.markdown(f"#### {info.kind_label}")
        label.caption(C.model_caption(info))
        with imgs:
            if not info.has_encoder:
                C.no_encoder_note(info)
                continue
            with C.guarded(_("{model} reconstruction").format(model=info.kind_label)):
                rec = cache.reconstruct(info.ref, x)
                C.image_grid(rec, ncol=ncol, scale=4, width=width, key=f"{key}_download_{i}",
                             download_name=f"reconstructions-{info.id}.png")
                mse = cache.reconstruction_errors(x, rec)
                label.markdown(_("Mean MSE: **{value}**").format(value=C.fmt(float(mse.mean()), ".4f")))
                st.caption(_("MSE per image: {values}").format(
                    values=" · ".join(C.fmt(float(v), ".3f") for v in mse)))
                rows += [{"image": j + 1, "model": info.id, "mse": float(v)} for j, v in enumerate(mse)]
    if rows:
        export.csv_button(rows, f"{key}_mse_csv", f"{key}-mse", _("Download the errors (CSV)"))


def kept_by_model(infos: Sequence[CheckpointInfo]) -> None:
    """Per model, how often an upload comes back as the same digit (measured, results.json)."""
    try:
        rows = (cache.load_results() or {}).get("rows") or []
    except ValueError:  # an unreadable results.json: the Results page says why
        return
    for info in infos:
        row = class_kept.row_of(rows, info.key)
        line = class_kept.sentence(row) if row is not None else None
        if line is not None:
            st.caption(f"**{info.kind_label}**: {line}")


def main() -> None:
    st.title(_("Reconstructions"))
    st.markdown(_("Each model encodes the input to a code z and decodes it back: **x → E(x) → G(E(x))**. "
                  "The GAN has no encoder, so it cannot reconstruct."))
    infos = C.selected_models()
    if not C.require_models(infos):
        return
    ds = C.current_dataset()

    st.subheader(_("{label} test images").format(label=ds.label))
    share.keep_in_url("reconstructions", {"recon_n": share.choice(N_CHOICES),
                                          DRAW_KEY: share.integer(0, C.MAX_SEED)})
    c1, c2, c3 = st.columns([1, 1, 3], vertical_alignment="bottom")
    n = c1.selectbox(_("Images"), N_CHOICES, index=1, key="recon_n")
    c2.button(_("Pick random"), key="recon_random", on_click=_new_draw, icon=":material/casino:")
    seed = C.current_seed() * 1000 + st.session_state.get(DRAW_KEY, 0)
    with C.guarded(_("Loading test images")):
        idx = cache.random_test_indices(n, seed, ds.name)
        x, y = cache.test_images(idx, ds.name)
        c3.caption(_("Test images {numbers}").format(numbers=", ".join(f"#{i}" for i in idx)))
        sep = " " if ds.name == datasets.MNIST.name else " · "
        with st.spinner(_("Reconstructing…")):
            comparison(x, infos, key="recon_test", ncol=min(n, 16),
                       input_caption=_("Labels: {labels}").format(
                           labels=sep.join(_(ds.class_name(v)) for v in y)))

    st.subheader(_("Your own digits") if ds.name == datasets.MNIST.name else _("Your own images"))
    if not C.user_images_offered(ds):
        return
    st.caption(_("Upload photos or scans of handwritten digits, or draw one. Each is turned into an "
                 "MNIST-style 28×28 image first (shown with what was done to it).")
               + ("" if ds.name == datasets.MNIST.name else
                  " " + _("The {label} models see it as one of their greyscale 28×28 images.").format(
                      label=ds.label)))
    kept_by_model(infos)
    digits = U.user_digits("recon_user", multiple=True)
    if digits:
        xu = np.concatenate([d.batch for d in digits])
        with st.spinner(_("Reconstructing…")):
            comparison(xu, infos, key="recon_user", ncol=min(len(digits), 16),
                       input_caption=", ".join(d.name for d in digits))


main()
