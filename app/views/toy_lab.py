"""Live toy training: a GAN and a WAE trained at the same time, side by side, on 2-D data.

The engine is :mod:`wae_core.live` (one background thread per session steps both models in
lockstep); this page only sets it up, sends the controls and redraws snapshots in fragments.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import streamlit as st

from app import components as C
from app import export, figures, share
from wae_core import live, metrics, recipes
from wae_core.config import KERNELS, KIND_LABELS, PAPER_KERNEL_SCALES
from wae_core.divergences import optimal_transport
from wae_core.models import GAN, WAEGAN, WAEMMD

GROUP_KEY = "toy_group"
SIG_KEY = "toy_group_sig"
MSG_KEY = "toy_message"
# How often the running page redraws. The scatter plots are PNGs (figures.scatter_png: a Plotly
# chart redrawn this often stayed blank on a busy machine); the slower-changing curves and per-mode
# bars are Plotly charts redrawn every 2 s.
REFRESH_S = 0.5  # points view
CURVES_S = 2.0  # loss / metric curves, per-mode bars
VIEW_POINTS = 600
CANVAS = 360

DATA_LABELS = {"ring": "Ring of 8 Gaussians", "grid": "Grid of 25 Gaussians",
               "draw": "Draw your own", "csv": "Upload a CSV of x,y"}
WAE_LABELS = {"wae-mmd": "WAE-MMD (kernel MMD)", "wae-gan": "WAE-GAN (latent adversary)"}
WAE_KINDS = list(WAE_LABELS)
SPEEDS = [1, 2, 5, 10, 20, 50, 100, 0]  # steps per refresh; 0 = as fast as the CPU allows
# The values the settings offer (a preset's own value is always added, see _options).
LAMBDAS = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
SCALES = [(s,) for s in (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)] + [PAPER_KERNEL_SCALES]
Z_DIMS = [1, 2, 4, 8]
GAN_LRS = [5e-5, 1e-4, 2e-4, 5e-4, 1e-3]
WAE_LRS = [1e-4, 3e-4, 1e-3, 3e-3]
BATCHES = [64, 128, 256]


def _group() -> live.LiveGroup | None:
    return st.session_state.get(GROUP_KEY)


def _start() -> None:
    g = _group()
    if g is None:
        return
    try:
        g.start()
        st.session_state[MSG_KEY] = None
    except live.TooManyRunsError as e:
        st.session_state[MSG_KEY] = (f"{e} on this server. Pause a run in another tab or try again "
                                     "in a minute.")
    except RuntimeError as e:
        st.session_state[MSG_KEY] = str(e)


def _pause() -> None:
    g = _group()
    if g is not None:
        g.pause()


def _step() -> None:
    g = _group()
    if g is not None:
        speed = st.session_state.get("toy_speed", 0)
        g.step(speed if speed else 10)


def _reset() -> None:
    g = _group()
    if g is not None:
        g.reset()
        st.session_state[MSG_KEY] = None


def _source(choice: str) -> tuple[live.ToySource | None, str]:
    """The data source and a signature that changes when the data change."""
    if choice in ("ring", "grid"):
        return live.ToySource.builtin(choice), choice
    if choice == "draw":
        share.keep_in_url("toy-lab", {"toy_draw_mode": share.choice(["dots", "strokes"])})
        mode = st.radio("Drawing", ["dots", "strokes"], horizontal=True, key="toy_draw_mode",
                        format_func={"dots": "Dots: each dot is a mode",
                                     "strokes": "Strokes: the strokes are the data"}.get)
        # Imported here: the component registers itself with a running app only.
        from streamlit_drawable_canvas import st_canvas

        res = st_canvas(stroke_width=2 if mode == "dots" else 6, stroke_color="#d62728",
                        fill_color="#d62728", background_color="#ffffff", height=CANVAS,
                        width=CANVAS, drawing_mode="point" if mode == "dots" else "freedraw",
                        point_display_radius=5, key="toy_canvas")
        dots, strokes = C.canvas_points(getattr(res, "json_data", None), CANVAS)
        pts = np.concatenate([dots, strokes]) if len(dots) + len(strokes) else dots
        if len(pts) < 2:
            st.info("Click at least two dots (or draw a stroke) on the canvas: they become the data.")
            return None, "draw-empty"
        src = live.ToySource.from_points(pts, "drawing")
        return src, "draw-" + hashlib.sha1(pts.tobytes()).hexdigest()[:12]
    up = st.file_uploader("CSV of x,y rows", type=["csv", "txt"], key="toy_csv",
                          help="One point per row: x,y (a header row is fine). Up to 64 distinct "
                               "points become the modes of a mixture; more are the data themselves.")
    if up is None:
        st.info("Upload a CSV file of x,y points to train on it.")
        return None, "csv-empty"
    data = up.getvalue()
    try:
        src = live.ToySource.from_points(live.parse_points_csv(data), up.name)
    except live.BadPointsError as e:
        st.error(f"{up.name}: {e}")
        return None, "csv-bad"
    return src, "csv-" + hashlib.sha1(data).hexdigest()[:12]


def _preset_recipes(wae_kind: str) -> tuple[recipes.Recipe, recipes.Recipe]:
    preset = st.session_state.get("toy_preset", recipes.DEFAULT_LIVE_PRESET)
    return recipes.live_recipe(preset, "gan"), recipes.live_recipe(preset, wae_kind)


def _apply_preset() -> None:
    """Callback of the preset and WAE choices: set the settings' widgets to the preset's values."""
    s = st.session_state
    gan, wae = _preset_recipes(s.get("toy_wae_kind", WAE_KINDS[0]))
    s["toy_lam"], s["toy_kernel"] = wae.model.lam, wae.model.kernel
    s["toy_kernel_scales"] = _scales_label(wae.model.kernel_scales)
    s["toy_lr_gan"], s["toy_lr_wae"] = gan.train.lr, wae.train.lr
    s["toy_z_dim"], s["toy_batch"] = wae.model.z_dim, wae.train.batch_size


def _with(r: recipes.Recipe, lr: float, **model: object) -> recipes.Recipe:
    """The recipe with the page's settings; the adversary keeps the preset's ratio of rates."""
    s = st.session_state
    train = replace(r.train, batch_size=int(s["toy_batch"]), lr=lr, lr_adv=lr * r.train.lr_adv / r.train.lr)
    return replace(r, model=replace(r.model, z_dim=int(s["toy_z_dim"]), **model), train=train)


def _recipes(wae_kind: str) -> list[recipes.Recipe]:
    s = st.session_state
    gan, wae = _preset_recipes(wae_kind)
    return [_with(gan, float(s["toy_lr_gan"])),
            _with(wae, float(s["toy_lr_wae"]), lam=float(s["toy_lam"]), kernel=s["toy_kernel"],
                  kernel_scales=_scales_of(s["toy_kernel_scales"]))]


def _options(values: list, current: object) -> list:
    """A slider's values, with the preset's own value among them."""
    return values if current in values else sorted([*values, current])


def _describe(r: recipes.Recipe) -> str:
    m = r.model
    encoder = "a Gaussian encoder" if m.stochastic_encoder else "a deterministic encoder"
    adversary = f", latent adversary {m.disc_depth} × {m.disc_hidden}" if m.kind == "wae-gan" else ""
    return f"MLPs of {m.depth} × {m.hidden} units, {encoder}{adversary} (`{r.name}`)"


def settings(wae_kind: str) -> None:
    s = st.session_state
    if "toy_lam" not in s:
        _apply_preset()  # the preset's values first: the URL may set some of them
    share.keep_in_url("toy-lab", url_settings())
    gan, wae = _preset_recipes(wae_kind)
    with st.expander("Settings", expanded=False, icon=":material/tune:"):
        c1, c2, c3, c4 = st.columns(4)
        c1.select_slider("λ (weight of D_Z)", _options(LAMBDAS, s["toy_lam"]), key="toy_lam",
                         help="WAE only; changes apply while training.")
        c1.radio("Kernel", KERNELS, horizontal=True, key="toy_kernel",
                 help="WAE-MMD only: inverse multiquadratics or Gaussian.")
        labels = [_scales_label(v) for v in SCALES]
        c2.select_slider("Kernel scales s (C = 2·d_z·s)", _options(labels, s["toy_kernel_scales"]),
                         key="toy_kernel_scales",
                         help="One scale, or the sum over the paper's scales.")
        c2.select_slider("Latent size d_z", _options(Z_DIMS, s["toy_z_dim"]), key="toy_z_dim",
                         help="Both models; changing it resets the runs.")
        c3.select_slider("GAN learning rate", _options(GAN_LRS, s["toy_lr_gan"]), key="toy_lr_gan",
                         format_func=lambda v: f"{v:g}")
        c3.select_slider("WAE learning rate", _options(WAE_LRS, s["toy_lr_wae"]), key="toy_lr_wae",
                         format_func=lambda v: f"{v:g}",
                         help="Its latent adversary (WAE-GAN) learns at "
                              f"{wae.train.lr_adv / wae.train.lr:g}× this rate.")
        c4.select_slider("Speed (steps per refresh)", SPEEDS, value=0, key="toy_speed",
                         format_func=lambda v: "max" if v == 0 else str(v),
                         help=f"The view refreshes every {REFRESH_S:g} s; 'max' trains as fast as "
                              "the CPU allows.")
        c4.select_slider("Batch size", _options(BATCHES, s["toy_batch"]), key="toy_batch",
                         help="Smaller batches train faster per step; changing it resets the runs.")
        st.caption(f"GAN: {_describe(gan)}. WAE: {_describe(wae)}. Adam with β₁ = {wae.train.beta1:g}. "
                   "λ, kernel, scales and learning rates apply live; the preset, data, latent size, "
                   "batch size and WAE penalty reset the runs.")


def url_settings() -> dict[str, share.Param]:
    """The settings kept in the URL (a preset's own value is among a slider's values, so any
    value in range is one)."""
    positive = share.number(1e-6, 1e6)
    scales = share.Param(lambda t: _scales_label(tuple(map(positive.parse, t.split(" + ")))))
    return {"toy_lam": positive, "toy_kernel": share.choice(KERNELS), "toy_kernel_scales": scales,
            "toy_z_dim": share.integer(1, 64), "toy_lr_gan": share.number(1e-7, 1.0),
            "toy_lr_wae": share.number(1e-7, 1.0), "toy_speed": share.choice(SPEEDS),
            "toy_batch": share.integer(2, 4096)}


def _scales_label(scales: tuple[float, ...]) -> str:
    """A slider label that names a kernel's scales (a tuple cannot be a select_slider value: it
    would be read as a range)."""
    return " + ".join(f"{v:g}" for v in scales)


def _scales_of(label: str) -> tuple[float, ...]:
    return tuple(float(v) for v in label.split(" + "))


def sync_group(src: live.ToySource, sig: tuple, wae_kind: str) -> live.LiveGroup:
    """Create the group (or a new one when the data / structure changed); push live settings."""
    g = _group()
    gan, wae = _recipes(wae_kind)
    if g is None or st.session_state.get(SIG_KEY) != sig:
        if g is not None:
            g.close()
        g = live.LiveGroup(src, [gan, wae], labels=["GAN", KIND_LABELS[wae_kind]],
                           view_points=VIEW_POINTS)
        st.session_state[GROUP_KEY], st.session_state[SIG_KEY] = g, sig
    else:
        g.update(0, lr=gan.train.lr, lr_adv=gan.train.lr_adv)
        g.update(1, lam=wae.model.lam, kernel=wae.model.kernel, kernel_scales=wae.model.kernel_scales,
                 lr=wae.train.lr, lr_adv=wae.train.lr_adv)
    g.steps_per_tick = int(st.session_state.get("toy_speed", 0))
    g.tick_seconds = REFRESH_S
    return g


def controls(g: live.LiveGroup) -> None:
    c = st.columns([1, 1, 1, 1, 4], vertical_alignment="center")
    c[0].button("Start", key="toy_start", on_click=_start, type="primary", icon=":material/play_arrow:",
                disabled=g.running, width="stretch")
    c[1].button("Pause", key="toy_pause", on_click=_pause, icon=":material/pause:",
                disabled=not g.running, width="stretch")
    c[2].button("Step", key="toy_step", on_click=_step, icon=":material/skip_next:",
                help="Train a few steps (the speed setting; 10 at 'max') and stop", width="stretch")
    c[3].button("Reset", key="toy_reset", on_click=_reset, icon=":material/restart_alt:",
                help="Fresh weights, empty history", width="stretch")
    msg = st.session_state.get(MSG_KEY)
    if msg:
        c[4].warning(msg, icon="⚠️")


WHY_NOTE = (
    "**Reading the scores.** The bars count each mode's share of the samples that land on a mode; "
    "an empty bar is a dropped mode. The GAN is sharp early (it only has to fool its "
    "discriminator, and a few modes do that) and pays with the modes it drops, often for good. "
    "The WAE covers every mode from the start (its encoder sends every real point to the latent "
    "space, and the reconstruction cost needs all of them back), but its share on the modes rises "
    "more slowly: its continuous decoder must tear the single Gaussian P_Z into one island per "
    "mode, and samples drawn between the islands decode between the modes until those "
    "boundaries sharpen.")


def view(g: live.LiveGroup, src: live.ToySource, was_running: bool) -> None:
    snap = g.snapshot()
    if was_running and not snap.running:
        st.rerun()  # the run paused itself (error, idle, limit): redraw the page, stop the timer
    modes = src.modes.numpy() if src.modes is not None else None
    ext = max(1.0, 1.3 * float(np.abs(src.points.numpy()).max()))
    rate = f" · {snap.steps_per_second:,.0f} steps/s per model" if snap.running else ""
    st.markdown(f"**Step {snap.step:,}**{rate}")
    if snap.status:
        st.warning(snap.status, icon="⚠️")
    cols = st.columns(len(snap.runs), gap="medium")
    for i, (col, r) in enumerate(zip(cols, snap.runs)):
        with col:
            st.markdown(f"#### {r.label}")
            m = r.metrics
            mc = st.columns(3)
            if r.n_modes:
                mc[0].metric("Modes covered", f"{int(m['modes_covered'][-1])}/{r.n_modes}")
                mc[1].metric("High quality", f"{m['high_quality_share'][-1]:.0%}",
                             help="Share of samples within 3σ of a mode (metrics.toy_quality)")
            mc[2].metric("OT cost to real", f"{m['ot'][-1]:.3f}",
                         help="Exact W₂² between 256 real points and 256 samples "
                              "(divergences.optimal_transport)")
            points = figures.points_png(r.real, r.fake, ext, modes)
            st.container(key=f"toy_points_{i}").image(points, width="stretch")
            export.png_button(lambda b=points: b, f"toy_points_png_{i}", f"toy-points-{r.kind}")
            if r.codes is not None:
                st.caption("Latent space: codes of real points (Q_Z) vs prior draws (P_Z)")
                latent = figures.latent_png(r.codes, r.prior)
                st.container(key=f"toy_latent_{i}").image(latent, width="stretch")
                export.png_button(lambda b=latent: b, f"toy_latent_png_{i}", f"toy-latent-{r.kind}")
            else:
                st.caption("A GAN has no encoder: there is no Q_Z to compare with P_Z.")
            if r.error:
                st.error(r.error)


def curves(g: live.LiveGroup) -> None:
    snap = g.snapshot()
    if any(r.per_mode is not None for r in snap.runs):
        cols = st.columns(len(snap.runs), gap="medium")
        for i, (col, r) in enumerate(zip(cols, snap.runs)):
            if r.per_mode is not None:
                step = r.metrics["step"][-1]
                col.caption(f"{r.label}: share of the on-mode samples per mode (step {step:,.0f})")
                with col:
                    export.chart(figures.per_mode_figure(r.per_mode, r.kind), f"toy_modes_{i}",
                                 {"mode": range(1, len(r.per_mode) + 1), "high_quality_samples": r.per_mode},
                                 name=f"toy-per-mode-{r.kind}")
        st.caption(WHY_NOTE)
    cols = st.columns(len(snap.runs) + 1, gap="medium")
    for i, (col, r) in enumerate(zip(cols, snap.runs)):
        with col:
            st.caption(f"{r.label} losses (averaged over the logging interval)")
            export.chart(figures.losses_figure(r.history), f"toy_loss_{i}", r.history,
                         name=f"toy-losses-{r.kind}")
    with cols[-1]:
        st.caption("Scores over training")
        scores = export.labelled_rows({r.label: r.metrics for r in snap.runs}, "run")
        if any(r.n_modes for r in snap.runs):
            export.chart(figures.metrics_figure(snap.runs), "toy_metrics", scores, name="toy-scores")
        else:
            export.chart(figures.ot_figure(snap.runs), "toy_ot", scores, name="toy-ot-cost")


def explain() -> None:
    with st.expander("What is being trained, and how it is scored", icon=":material/functions:"):
        c1, c2 = st.columns(2)
        with c1:
            st.markdown("**GAN** (generator and discriminator on the data plane)")
            C.latex(GAN)
            st.markdown("**WAE-MMD**")
            C.latex(WAEMMD)
            st.markdown("**WAE-GAN** (the adversary lives in the latent space)")
            C.latex(WAEGAN)
        with c2:
            st.markdown("**Scores** (mixtures only): a sample is *high quality* within 3σ of a mode; "
                        "a mode is *covered* when it gets one high-quality sample.")
            C.latex(metrics.toy_quality)
            st.markdown("**OT cost to real**: the exact optimal transport cost between a real batch "
                        "and a generated batch.")
            C.latex(optimal_transport, 2)


def main() -> None:
    st.title("Live toy training")
    st.markdown("A **GAN** and a **WAE** learn the same 2-D distribution **at the same time**. Watch "
                "the GAN's points gather on a few modes (mode collapse: *the same digit again and "
                "again*) while the WAE, which must encode every point, spreads over all of them.")
    share.keep_in_url("toy-lab", {"toy_data": share.choice(DATA_LABELS),
                                  "toy_wae_kind": share.choice(WAE_KINDS),
                                  "toy_preset": share.choice(recipes.LIVE_PRESETS)})
    c1, c2, c3 = st.columns([3, 2, 2])
    choice = c1.radio("Data", list(DATA_LABELS), format_func=DATA_LABELS.get, horizontal=True,
                      key="toy_data")
    wae_kind = c2.radio("WAE penalty D_Z", WAE_KINDS, format_func=WAE_LABELS.get,
                        horizontal=True, key="toy_wae_kind", on_change=_apply_preset)
    preset = c3.selectbox("Preset", list(recipes.LIVE_PRESETS), key="toy_preset", on_change=_apply_preset,
                          help="Where the settings start: the recipe of the shipped toy checkpoints, "
                               "the paper's settings, or a fast deterministic encoder for contrast.")
    settings(wae_kind)
    src, data_sig = _source(choice)
    if src is None:
        g = _group()
        if g is not None and g.running:
            g.pause()
        return
    s = st.session_state
    sig = (data_sig, preset, wae_kind, int(s["toy_z_dim"]), int(s["toy_batch"]))
    try:
        g = sync_group(src, sig, wae_kind)
    except Exception as e:  # noqa: BLE001 - never a traceback on the projector
        C.show_error(e, "Setting up the runs")
        return
    st.caption(f"Running the preset **{preset}**: " + ", ".join(f"`{r.recipe.name}`" for r in g.runs)
               + " (with the settings above).")
    controls(g)
    running = g.running
    st.fragment(run_every=REFRESH_S if running else None)(view)(g, src, running)
    st.fragment(run_every=CURVES_S if running else None)(curves)(g)
    explain()


main()
