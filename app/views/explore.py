"""Latent explorer: start from a code (a test image's, an upload's or a random z), move it one
coordinate at a time or along a random direction and watch every selected model decode it; latent
arithmetic with class-mean codes ("x + t·(mean(b) − mean(a))") and with two uploads (an analogy)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from app import cache, explore_cache, export, share
from app import components as C
from app import user_images as U
from app.catalog import CheckpointInfo
from app.datasets import ImageDataset
from app.i18n import N_, _
from wae_core.models import latent_ops

SOURCES = {"test": N_("A test image"), "user": N_("An uploaded / drawn digit"), "random": N_("A random z")}
ARITH_MODES = {"classes": N_("Class a → class b"), "uploads": N_("Two uploads (an analogy)")}
SLIDER_RANGE = 3.0  # every offset slider spans ±3 sigma_z: the bulk of the prior
SLIDER_STEP = 0.1
OFFSET_KEY = "explore_dz_{}"  # one slider per latent coordinate
STEP_KEY = "explore_step"  # the step along the random direction
DIRECTION_KEY = "explore_direction"  # the random direction's seed; None: no direction yet
STRIP = " · ".join(f"t = {t:g}" for t in latent_ops.ARITHMETIC_STEPS)


# --------------------------------------------------------------------------------------------
# Start codes
# --------------------------------------------------------------------------------------------
def show_image(x: np.ndarray, scale: int, caption: str | None = None) -> None:
    """One image (1, C, 28, 28), greyscale or RGB, upscaled."""
    C.image_grid(x, ncol=1, scale=scale, pad=0, caption=caption, width="content")


def start_image(source: str, ds: ImageDataset) -> tuple[np.ndarray | None, str]:
    """The image the encoder models start from ((1, C, 28, 28) or None) and what it is."""
    if source == "test":
        c1, c2 = st.columns([1, 4], vertical_alignment="bottom")
        share.keep_in_url("explore", {"explore_index": share.integer(0, len(cache.test_set(ds.name)) - 1)})
        i = c1.number_input(_("Test image"), 0, len(cache.test_set(ds.name)) - 1, 0, key="explore_index")
        x, y = cache.test_images([i], ds.name)
        with c2:
            show_image(x, 3, _("#{i} ({item} {name})").format(i=i, item=_(ds.item),
                                                              name=_(ds.class_name(int(y[0])))))
        return x, _("test image #{i}").format(i=i)
    if source == "user":
        digits = U.user_digits("explore_user", multiple=False)
        if digits:
            return digits[0].batch, digits[0].name
        st.info(_("Upload or draw a digit; until then every model starts from a random z."))
    return None, _("a random z")


def start_code(info: CheckpointInfo, x: np.ndarray | None, seed: int) -> np.ndarray:
    """The model's code of ``x``, or a draw of its prior (no image, or no encoder)."""
    if x is not None and info.has_encoder:
        return cache.encode(info.ref, x)[0]
    return cache.prior_draws(info.ref, 1, seed)[0]


# --------------------------------------------------------------------------------------------
# Sliders
# --------------------------------------------------------------------------------------------
def reset() -> None:
    """Button callback: every offset, the step and the random direction back to none."""
    for k in [k for k in st.session_state if str(k).startswith("explore_dz_")]:
        st.session_state[k] = 0.0
    st.session_state[STEP_KEY] = 0.0
    st.session_state[DIRECTION_KEY] = None


def new_direction() -> None:
    """Button callback: a new random direction (the next seed), walked by the step slider."""
    prev = st.session_state.get(DIRECTION_KEY)
    st.session_state[DIRECTION_KEY] = C.current_seed() if prev is None else prev + 1
    if not st.session_state.get(STEP_KEY):
        st.session_state[STEP_KEY] = 1.0  # show a move at once


def sliders(d: int) -> tuple[list[float], int | None, float]:
    """The offset sliders (one per coordinate), the buttons and the step along the random
    direction: (offsets Δ, direction seed or None, step s)."""
    moves = share.number(-SLIDER_RANGE, SLIDER_RANGE)
    share.keep_in_url("explore", {**{OFFSET_KEY.format(i): moves for i in range(d)}, STEP_KEY: moves,
                                  DIRECTION_KEY: share.integer(0, C.MAX_SEED)})
    b1, b2 = st.columns(2)
    b1.button(_("Reset"), key="explore_reset", on_click=reset, icon=":material/restart_alt:",
              help=_("Every slider back to 0, no random direction"))
    b2.button(_("Random direction"), key="explore_random_direction", on_click=new_direction,
              icon=":material/explore:", help=_("A new random unit vector u in z space"))
    offsets = []
    for i in range(d):
        key = OFFSET_KEY.format(i)
        st.session_state.setdefault(key, 0.0)
        offsets.append(st.slider(f"Δz{i + 1}", -SLIDER_RANGE, SLIDER_RANGE, step=SLIDER_STEP, key=key))
    direction = st.session_state.get(DIRECTION_KEY)
    step = 0.0
    if direction is not None:
        st.session_state.setdefault(STEP_KEY, 0.0)
        step = st.slider(_("Step s along the random direction u"), -SLIDER_RANGE, SLIDER_RANGE,
                         step=SLIDER_STEP, key=STEP_KEY)
        st.caption(_("Direction #{direction}: a random unit vector, the same for models of the same "
                     "latent size. The Δ sliders still apply on top.").format(direction=direction))
    return offsets, direction, step


def decoded(info: CheckpointInfo, z0: np.ndarray, offsets: Sequence[float], direction: int | None,
            step: float) -> bytes:
    """One model's decoded moved code and the code itself; returns the PNG."""
    u = latent_ops.random_direction(info.z_dim, direction) if direction is not None else None
    sigma = cache.get_model(info.ref).cfg.sigma_z
    z = latent_ops.move(z0, offsets, u, step, scale=sigma).numpy()
    # uncached on purpose: a slider's codes rarely repeat (see explore_cache.decode_live)
    png = C.png_bytes(C.grid_array(explore_cache.decode_live(info.ref, z[None]), 1, 0), 8)
    st.image(C.png_url(png), width="stretch")
    st.caption("z = (" + ", ".join(f"{v:.2f}" for v in z) + ")")
    return png


@C.fragment
def explorer(infos: Sequence[CheckpointInfo], starts: dict[str, np.ndarray], random_start: set[str]) -> None:
    """Sliders on the left, every model's decoded code on the right (a fragment: moving a slider
    re-runs only this). ``random_start``: keys of the models that start from a random z."""
    d = max(i.z_dim for i in infos)
    left, right = st.columns([1, 3], gap="large")
    with left:
        offsets, direction, step = sliders(d)
    with right:
        for j, (col, info) in enumerate(C.model_columns(infos)):
            what = _("{model} decoding").format(model=info.kind_label)
            with col, C.guarded(what), st.container(key=f"explore_decoded_{j}"):
                png = decoded(info, starts[info.key], offsets, direction, step)
                # the bytes on click only: a slider redraws this often
                export.png_button(lambda png=png: png, f"explore_decoded_png_{j}", f"explore-{info.id}")
                if info.key in random_start:
                    st.caption(_("Starts from a random z ~ P_Z.") if info.has_encoder
                               else _("Starts from a random z ~ P_Z (no encoder)."))
                if info.z_dim < d:
                    st.caption(_("z_dim {d}: only Δz1–Δz{d} move it.").format(d=info.z_dim))


# --------------------------------------------------------------------------------------------
# Latent arithmetic
# --------------------------------------------------------------------------------------------
def arithmetic_inputs(mode: str, ds: ImageDataset
                      ) -> tuple[np.ndarray, tuple[int, int] | tuple[np.ndarray, np.ndarray] | None]:
    """x (a test image) and either the classes (a, b) or the two uploads' images (None: missing)."""
    cols = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
    classes = range(ds.n_classes)
    share.keep_in_url("explore", {"explore_arith_x": share.integer(0, len(cache.test_set(ds.name)) - 1),
                                  "explore_arith_a": share.choice(classes),
                                  "explore_arith_b": share.choice(classes)})
    i = cols[0].number_input(_("Image x (test set #)"), 0, len(cache.test_set(ds.name)) - 1, 0,
                             key="explore_arith_x")
    x, y = cache.test_images([i], ds.name)
    with cols[3]:
        show_image(x, 3, _("x: #{i} ({item} {name})").format(i=i, item=_(ds.item),
                                                             name=_(ds.class_name(int(y[0])))))
    if mode == "classes":
        names = {c: _(ds.class_name(c)) for c in classes}  # (translated here, in the script's run)
        a = cols[1].selectbox(_("From class a"), classes, index=int(y[0]), format_func=names.get,
                              key="explore_arith_a")
        b = cols[2].selectbox(_("To class b"), classes, index=(int(y[0]) + 1) % ds.n_classes,
                              format_func=names.get, key="explore_arith_b")
        return x, (a, b)
    u1, u2 = U.user_digit_pair((_("**Upload 1** (from)"), _("**Upload 2** (to)")),
                               ("explore_arith_u1", "explore_arith_u2"))
    if u1 is None or u2 is None:
        st.info(_("Upload or draw both digits: x moves by code(upload 2) − code(upload 1)."))
        return x, None
    return x, (u1, u2)


def arithmetic_row(i: int, info: CheckpointInfo, mode: str, x: np.ndarray, ends: tuple,
                   ds: ImageDataset) -> None:
    """One model's strip z(x) + t·(z_to − z_from) and the decoded ends it moves between."""
    label, strip, refs = st.columns([1, 4, 2], vertical_alignment="center")
    label.markdown(f"#### {info.kind_label}")
    label.caption(C.model_caption(info))
    if not info.has_encoder:
        with strip:
            C.no_encoder_note(info, _("no code of x for latent arithmetic"))
        return
    with strip, C.guarded(_("{model} latent arithmetic").format(model=info.kind_label)):
        z = cache.encode(info.ref, x)[0]
        if mode == "classes":
            means = explore_cache.class_mean_codes(info.ref, ds.name)
            z_from, z_to = means[ends[0]], means[ends[1]]
            if np.isnan(z_from).any() or np.isnan(z_to).any():
                st.info(_("A class without test images has no mean code: choose another."))
                return
            names = tuple(f"G(mean({_(ds.class_name(c))}))" for c in ends)
        else:
            z_from, z_to = cache.encode(info.ref, ends[0])[0], cache.encode(info.ref, ends[1])[0]
            names = (_("G(code(upload 1))"), _("G(code(upload 2))"))
        C.image_grid(explore_cache.arithmetic(info.ref, z, z_from, z_to),
                     ncol=len(latent_ops.ARITHMETIC_STEPS), scale=4, caption=STRIP,
                     key=f"explore_arith_download_{i}", download_name=f"latent-arithmetic-{info.id}.png",
                     width="content")
        with refs:
            C.image_grid(cache.decode(info.ref, np.stack([z_from, z_to])), ncol=2, scale=3,
                         caption=" · ".join(names), width="content", key=f"explore_arith_ends_png_{i}",
                         download_name=f"latent-arithmetic-ends-{info.id}.png")


@C.fragment
def arithmetic(infos: Sequence[CheckpointInfo], ds: ImageDataset) -> None:
    """The latent arithmetic section (a fragment of its own)."""
    st.subheader(_("Latent arithmetic"))
    st.markdown(_("Move the code of a test image **x** by the difference of two codes: the class "
                  "means **mean(b) − mean(a)** (the average code of the test images of each digit), "
                  "or **code(upload 2) − code(upload 1)**: *upload 1 : upload 2 :: x : ?*, "
                  "answered at t = 1. Encoder models only."))
    C.formulas(latent_ops.class_means, latent_ops.arithmetic_path)
    modes = list(ARITH_MODES) if ds.takes_user_images else ["classes"]
    share.keep_in_url("explore", {"explore_arith_mode": share.choice(modes)})
    mode = st.radio(_("Difference of"), modes, format_func={m: _(ARITH_MODES[m]) for m in modes}.get,
                    horizontal=True,
                    key="explore_arith_mode")
    x, ends = arithmetic_inputs(mode, ds)
    if ends is None:
        return
    if mode == "classes" and ends[0] == ends[1]:
        st.caption(_("a = b: the difference is 0, every step is x's own reconstruction."))
    with st.spinner(_("Encoding the test set for the class means (once per model)…")):
        for i, info in enumerate(infos):
            arithmetic_row(i, info, mode, x, ends, ds)


def main() -> None:
    st.title(_("Latent explorer"))
    st.markdown(_(
        "Pick a starting code, then move it: **one slider per latent coordinate** adds Δ·σ_z to "
        "that coordinate (σ_z: the prior's scale, so ±3 spans the bulk of P_Z), and every selected "
        "model decodes the moved code side by side. **Random direction** draws a random unit "
        "vector u in z space and adds one more slider, the step s along it: z' = z + σ_z (Δ + s u) "
        "— a straight walk through the code in a direction no coordinate axis favours. "
        "**Reset** puts everything back to z."))
    C.formulas(latent_ops.move, latent_ops.random_direction)
    infos = C.selected_models()
    if not C.require_models(infos):
        return
    ds = C.current_dataset()
    sources = [s for s in SOURCES if s != "user" or ds.takes_user_images]
    share.keep_in_url("explore", {"explore_source": share.choice(sources)})
    source = st.radio(_("Start from"), sources, format_func={s: _(SOURCES[s]) for s in sources}.get,
                      horizontal=True,
                      key="explore_source")
    seed = C.current_seed()
    with C.guarded(_("Loading the start image")):
        x, what = start_image(source, ds)
        starts = {info.key: start_code(info, x, seed) for info in infos}
        random_start = {i.key for i in infos if x is None or not i.has_encoder}
        no_encoder = [i.kind_label for i in infos if not i.has_encoder]
        if x is not None and no_encoder:
            st.caption(_("{models}: no encoder, so it cannot encode {what}: it starts "
                         "from a random z ~ P_Z (seed {seed}, change it in the sidebar).").format(
                           models=", ".join(no_encoder), what=what, seed=seed))
        elif x is None:
            st.caption(_("Every model starts from a random z ~ P_Z (seed {seed}; models with the same "
                         "z_dim start from the same z).").format(seed=seed))
        explorer(infos, starts, random_start)
    st.divider()
    arithmetic(infos, ds)


main()
