"""Live toy training: a GAN and a WAE trained at the same time, side by side, on 2-D data.

The engine is :mod:`wae_core.live` (one background thread per session steps both models in
lockstep); this page only sets it up, sends the controls and redraws snapshots in fragments.
"""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import streamlit as st

from app import components as C
from app import export, figures, share
from app import toy_settings as T
from app import user_images as U
from app.i18n import N_, _
from app.live_frames import Entry, frames, translated
from wae_core import live
from wae_core.evaluation import metrics
from wae_core.models.config import KIND_LABELS
from wae_core.models.divergences import optimal_transport
from wae_core.models.generative import GAN, WAEGAN, WAEMMD
from wae_core.training import recipes

RUN_KEY = "toy_run"  # this session's run in the hub (an id)
SIG_KEY = "toy_run_sig"
MSG_KEY = "toy_message"
VIEWER_KEY = "toy_viewer"  # this session's name for the hub (heartbeats, watchers)
WATCH_KEY = "toy_watching"  # (room code, run id) this session watches, or None
ROOM_PARAM = "room"  # ?room=CODE: watch that run
# How often a running (or watched, or queued) page redraws. The scatter plots are PNGs
# (figures.scatter_png: a Plotly chart redrawn this often stayed blank on a busy machine); the
# slower-changing curves and per-mode bars are Plotly charts redrawn every 2 s.
REFRESH_S = live.hub.FRAME_SECONDS  # points view: as often as the hub takes a new snapshot
CURVES_S = 2.0  # loss / metric curves, per-mode bars
VIEW_POINTS = 600
CANVAS = 360

DATA_LABELS = {"ring": N_("Ring of 8 Gaussians"), "grid": N_("Grid of 25 Gaussians"),
               "draw": N_("Draw your own"), "csv": N_("Upload a CSV of x,y")}
# The live presets' names (wae_core.training.recipes.LIVE_PRESETS' keys, kept in the URL) as shown
PRESET_LABELS = {"as shipped": N_("as shipped"), "fast": N_("fast"), "paper settings": N_("paper settings"),
                 "deterministic encoder": N_("deterministic encoder")}


def preset_label(preset: str) -> str:
    return _(PRESET_LABELS[preset]) if preset in PRESET_LABELS else preset

def _viewer() -> str:
    return st.session_state.setdefault(VIEWER_KEY, uuid.uuid4().hex)


def _run() -> str | None:
    return st.session_state.get(RUN_KEY)


def _control(action: str) -> None:
    """A button's callback: one call to the hub; a plain sentence when it cannot be done. The
    buttons are never disabled, so a click always takes (a click on a button the page had not yet
    redrawn as enabled was lost under load)."""
    run, hub, s = _run(), live.get_hub(), st.session_state
    if run is None:
        return
    s[MSG_KEY] = None
    try:
        if action == "start":
            hub.start(run)
        elif action == "pause":
            hub.pause(run)
        elif action == "step":
            hub.step(run, s.get("toy_speed", 0) or 10)
        elif action == "reset":
            hub.reset(run)
        elif action == "share":
            hub.share(run)
    except live.RoomError as e:
        s[MSG_KEY] = translated(e)


def _watch(code: str) -> None:
    s = st.session_state
    s[MSG_KEY] = None
    try:
        run = live.get_hub().find(code)
    except live.RoomError as e:
        s[MSG_KEY] = translated(e)
        return
    if run == _run():
        s[MSG_KEY] = _("That is your own run: share its code with the others.")
        return
    s[WATCH_KEY] = (live.hub.normalize_code(code), run)


def _watch_typed() -> None:
    _watch(st.session_state.get("toy_watch_code", ""))


def _unwatch() -> None:
    st.session_state[WATCH_KEY] = None
    if ROOM_PARAM in st.query_params:
        del st.query_params[ROOM_PARAM]


def _source(choice: str) -> tuple[live.ToySource | None, str]:
    """The data source and a signature that changes when the data change."""
    if choice in ("ring", "grid"):
        return live.ToySource.builtin(choice), choice
    if choice == "draw":
        share.keep_in_url("toy-lab", {"toy_draw_mode": share.choice(["dots", "strokes"])})
        mode = st.radio(_("Drawing"), ["dots", "strokes"], horizontal=True, key="toy_draw_mode",
                        format_func={"dots": _("Dots: each dot is a mode"),
                                     "strokes": _("Strokes: the strokes are the data")}.get)
        # Imported here: the component registers itself with a running app only.
        from streamlit_drawable_canvas import st_canvas

        res = st_canvas(stroke_width=2 if mode == "dots" else 6, stroke_color="#d62728",
                        fill_color="#d62728", background_color="#ffffff", height=CANVAS,
                        width=CANVAS, drawing_mode="point" if mode == "dots" else "freedraw",
                        point_display_radius=5, key="toy_canvas")
        dots, strokes = U.canvas_points(getattr(res, "json_data", None), CANVAS)
        pts = np.concatenate([dots, strokes]) if len(dots) + len(strokes) else dots
        if len(pts) < 2:
            st.info(_("Click at least two dots (or draw a stroke) on the canvas: they become the data."))
            return None, "draw-empty"
        src = live.ToySource.from_points(pts, "drawing")
        return src, "draw-" + hashlib.sha1(pts.tobytes()).hexdigest()[:12]
    up = st.file_uploader(_("CSV of x,y rows"), type=["csv", "txt"], key="toy_csv",
                          help=_("One point per row: x,y (a header row is fine). Up to 64 distinct "
                                 "points become the modes of a mixture; more are the data themselves."))
    if up is None:
        st.info(_("Upload a CSV file of x,y points to train on it."))
        return None, "csv-empty"
    data = up.getvalue()
    try:
        src = live.ToySource.from_points(live.parse_points_csv(data), up.name)
    except live.BadPointsError as e:
        st.error(f"{up.name}: {e}")
        return None, "csv-bad"
    return src, "csv-" + hashlib.sha1(data).hexdigest()[:12]


def sync_run(src: live.ToySource, sig: tuple, wae_kind: str) -> str:
    """This session's run in the hub (a new one when the data / structure changed); pushes the
    live settings."""
    hub, s = live.get_hub(), st.session_state
    gan, wae = T.recipes_for(wae_kind)
    speed = int(s.get("toy_speed", 0))
    run = _run()
    if run is not None and s.get(SIG_KEY) == sig:
        try:
            hub.update(run, 0, {"lr": gan.train.lr, "lr_adv": gan.train.lr_adv})
            hub.update(run, 1, {"lam": wae.model.lam, "kernel": wae.model.kernel,
                                "kernel_scales": wae.model.kernel_scales, "lr": wae.train.lr,
                                "lr_adv": wae.train.lr_adv})
            hub.set_speed(run, speed, REFRESH_S)
            return run
        except live.RoomError:
            pass  # the hub let it go (nobody looked at it for a long time): make a fresh one
    run = hub.create(_viewer(), src, [gan, wae], ["GAN", KIND_LABELS[wae_kind]],
                     view_points=VIEW_POINTS, steps_per_tick=speed, tick_seconds=REFRESH_S)
    s[RUN_KEY], s[SIG_KEY] = run, sig
    return run


def controls() -> None:
    c = st.columns([1, 1, 1, 1, 1.6, 3.4], vertical_alignment="center")
    c[0].button(_("Start"), key="toy_start", on_click=_control, args=("start",), type="primary",
                icon=":material/play_arrow:", width="stretch",
                help=_("Train in the background; when every core is busy the run waits its turn."))
    c[1].button(_("Pause"), key="toy_pause", on_click=_control, args=("pause",), icon=":material/pause:",
                width="stretch")
    c[2].button(_("Step"), key="toy_step", on_click=_control, args=("step",), icon=":material/skip_next:",
                help=_("Train a few steps (the speed setting; 10 at 'max') and stop"), width="stretch")
    c[3].button(_("Reset"), key="toy_reset", on_click=_control, args=("reset",),
                icon=":material/restart_alt:", help=_("Fresh weights, empty history"), width="stretch")
    c[4].button(_("Share this run"), key="toy_share", on_click=_control, args=("share",),
                icon=":material/group:", width="stretch",
                help=_("A room code: every other session can watch this run live."))
    msg = st.session_state.get(MSG_KEY)
    if msg:
        c[5].warning(msg, icon="⚠️")


def watch_bar() -> None:
    """Watch another session's run by its room code (or ``?room=CODE`` in the link)."""
    s = st.session_state
    code = st.query_params.get(ROOM_PARAM)
    if code and s.get("toy_room_param") != code:  # a new link: watch what it names
        s["toy_room_param"] = code
        _watch(code)
    watching = s.get(WATCH_KEY)
    c = st.columns([2, 1, 4], vertical_alignment="bottom")
    if watching:
        c[0].markdown(_("Watching run **{code}**").format(code=watching[0]))
        c[1].button(_("Stop watching"), key="toy_unwatch", on_click=_unwatch, icon=":material/close:",
                    width="stretch")
    else:
        c[0].text_input(_("Watch a run: its room code"), key="toy_watch_code", max_chars=12,
                        placeholder="K7QX2M", help=_("The code the lecturer's screen shows after "
                                                     "“Share this run”."))
        c[1].button(_("Watch"), key="toy_watch", on_click=_watch_typed, icon=":material/visibility:",
                    width="stretch")


def _shown(run: str) -> tuple[live.RunState, Entry, str]:
    """What the page shows: this session's run while it trains (or when it watches nothing),
    else the run it watches. Returns (own state, shown frame, watched code or "")."""
    hub, cache, viewer = live.get_hub(), frames(), _viewer()
    own, entry = cache.get(hub, run, viewer)
    watching = st.session_state.get(WATCH_KEY)
    if watching and not own.running:
        try:
            entry = cache.get(hub, watching[1], viewer)[1]
            return own, entry, watching[0]
        except live.RoomError as e:
            st.session_state[WATCH_KEY] = None
            st.session_state[MSG_KEY] = translated(e)
    return own, entry, ""


def _active(own: live.RunState) -> bool:
    """Whether the page needs its timers: its run trains or waits, or it watches one."""
    return own.running or own.queued or bool(st.session_state.get(WATCH_KEY))


WHY_NOTE = N_(
    "**Reading the scores.** The bars count each mode's share of the samples that land on a mode; "
    "an empty bar is a dropped mode. The GAN is sharp early (it only has to fool its "
    "discriminator, and a few modes do that) and pays with the modes it drops, often for good. "
    "The WAE covers every mode from the start (its encoder sends every real point to the latent "
    "space, and the reconstruction cost needs all of them back), but its share on the modes rises "
    "more slowly: its continuous decoder must tear the single Gaussian P_Z into one island per "
    "mode, and samples drawn between the islands decode between the modes until those "
    "boundaries sharpen.")


def _queue_note(own: live.RunState) -> None:
    if own.queued:
        note = (_("Queued: position {position} of {length} · training starts in about {eta:.0f} s. Every "
                  "core is training; your run starts by itself.") if own.eta is not None else
                _("Queued: position {position} of {length} · training starts when the room's run stops. "
                  "Every core is training; your run starts by itself."))
        st.info(note.format(position=own.queue_position, length=own.queue_length, eta=own.eta or 0.0),
                icon=":material/hourglass_top:")


def _room_note(state: live.RunState, watched: str) -> None:
    if watched:
        st.markdown(_("Live: run **{code}** as its owner trains it · the controls stay with the "
                      "lecturer").format(code=watched))
    elif state.code:
        st.markdown(_("Room code **{code}** · others open [this link](./toy-lab?room={code}) or type the "
                      "code under *Watch a run* · {n} watching").format(code=state.code, n=state.watchers))


def view(run: str, was_active: bool) -> None:
    own, entry, watched = _shown(run)
    if _active(own) != was_active:
        st.rerun()  # started, paused itself, or left the queue: redraw with(out) the timers
    _queue_note(own)
    snap = entry.snapshot
    _room_note(own, watched)
    if snap.running:
        st.markdown(_("**Step {step:,}** · {rate:,.0f} steps/s per model").format(
            step=snap.step, rate=snap.steps_per_second))
    else:
        st.markdown(_("**Step {step:,}**").format(step=snap.step))
    if snap.status:
        st.warning(translated(snap.status), icon="⚠️")
    cols = st.columns(len(snap.runs), gap="medium")
    for i, (col, r) in enumerate(zip(cols, snap.runs)):
        with col:
            st.markdown(f"#### {r.label}")
            m = r.metrics
            mc = st.columns(3)
            if r.n_modes:
                mc[0].metric(_("Modes covered"), f"{int(m['modes_covered'][-1])}/{r.n_modes}")
                mc[1].metric(_("High quality"), f"{m['high_quality_share'][-1]:.0%}",
                             help=_("Share of samples within 3σ of a mode (metrics.toy_quality)"))
            mc[2].metric(_("OT cost to real"), f"{m['ot'][-1]:.3f}",
                         help=_("Exact W₂² between 256 real points and 256 samples "
                                "(divergences.optimal_transport)"))
            points = entry.once(("points", i), lambda r=r: figures.points_png(
                r.real, r.fake, snap.extent, snap.modes))
            st.container(key=f"toy_points_{i}").image(C.png_url(points), width="stretch")
            export.png_button(lambda b=points: b, f"toy_points_png_{i}", f"toy-points-{r.kind}")
            if r.codes is not None:
                st.caption(_("Latent space: codes of real points (Q_Z) vs prior draws (P_Z)"))
                latent = entry.once(("latent", i), lambda r=r: figures.latent_png(r.codes, r.prior))
                st.container(key=f"toy_latent_{i}").image(C.png_url(latent), width="stretch")
                export.png_button(lambda b=latent: b, f"toy_latent_png_{i}", f"toy-latent-{r.kind}")
            else:
                st.caption(_("A GAN has no encoder: there is no Q_Z to compare with P_Z."))
            if r.error:
                st.error(translated(r.error))


def curves(run: str) -> None:
    _own, latest, watched = _shown(run)
    entry = frames().every(watched or run, latest, CURVES_S)  # (the room code names the run watched)
    snap = entry.snapshot
    if any(r.per_mode is not None for r in snap.runs):
        cols = st.columns(len(snap.runs), gap="medium")
        for i, (col, r) in enumerate(zip(cols, snap.runs)):
            if r.per_mode is not None:
                step = r.metrics["step"][-1]
                col.caption(_("{model}: share of the on-mode samples per mode (step {step:,.0f})").format(
                    model=r.label, step=step))
                with col:
                    fig = entry.once(("modes", i), lambda r=r: figures.per_mode_figure(r.per_mode, r.kind))
                    export.chart(fig, f"toy_modes_{i}",
                                 {"mode": range(1, len(r.per_mode) + 1), "high_quality_samples": r.per_mode},
                                 name=f"toy-per-mode-{r.kind}")
        st.caption(_(WHY_NOTE))
    cols = st.columns(len(snap.runs) + 1, gap="medium")
    for i, (col, r) in enumerate(zip(cols, snap.runs)):
        with col:
            st.caption(_("{model} losses (averaged over the logging interval)").format(model=r.label))
            fig = entry.once(("losses", i), lambda r=r: figures.losses_figure(r.history))
            export.chart(fig, f"toy_loss_{i}", r.history, name=f"toy-losses-{r.kind}")
    with cols[-1]:
        st.caption(_("Scores over training"))
        scores = export.labelled_rows({r.label: r.metrics for r in snap.runs}, "run")
        if any(r.n_modes for r in snap.runs):
            fig = entry.once("scores", lambda: figures.metrics_figure(snap.runs))
            export.chart(fig, "toy_metrics", scores, name="toy-scores")
        else:
            fig = entry.once("ot", lambda: figures.ot_figure(snap.runs))
            export.chart(fig, "toy_ot", scores, name="toy-ot-cost")


def explain() -> None:
    with st.expander(_("What is being trained, and how it is scored"), icon=":material/functions:"):
        c1, c2 = st.columns(2)
        with c1:
            st.markdown(_("**GAN** (generator and discriminator on the data plane)"))
            C.latex(GAN)
            st.markdown("**WAE-MMD**")
            C.latex(WAEMMD)
            st.markdown(_("**WAE-GAN** (the adversary lives in the latent space)"))
            C.latex(WAEGAN)
        with c2:
            st.markdown(_("**Scores** (mixtures only): a sample is *high quality* within 3σ of a mode; "
                          "a mode is *covered* when it gets one high-quality sample."))
            C.latex(metrics.toy_quality)
            st.markdown(_("**OT cost to real**: the exact optimal transport cost between a real batch "
                          "and a generated batch."))
            C.latex(optimal_transport, 2)


def main() -> None:
    st.title(_("Live toy training"))
    st.markdown(_("A **GAN** and a **WAE** learn the same 2-D distribution **at the same time**. Watch "
                  "the GAN's points gather on a few modes (mode collapse: *the same digit again and "
                  "again*) while the WAE, which must encode every point, spreads over all of them."))
    share.keep_in_url("toy-lab", {"toy_data": share.choice(DATA_LABELS),
                                  "toy_wae_kind": share.choice(T.WAE_KINDS),
                                  "toy_preset": share.choice(recipes.LIVE_PRESETS)})
    c1, c2, c3 = st.columns([3, 2, 2])
    # the options' labels translated here, in the script's run (not in a format_func called later)
    choice = c1.radio(_("Data"), list(DATA_LABELS), format_func={d: _(v) for d, v in DATA_LABELS.items()}.get,
                      horizontal=True, key="toy_data")
    wae_kind = c2.radio(_("WAE penalty D_Z"), T.WAE_KINDS,
                        format_func={k: _(v) for k, v in T.WAE_LABELS.items()}.get,
                        horizontal=True, key="toy_wae_kind", on_change=T.apply_preset)
    preset = c3.selectbox(_("Preset"), list(recipes.LIVE_PRESETS), key="toy_preset", on_change=T.apply_preset,
                          format_func={p: preset_label(p) for p in recipes.LIVE_PRESETS}.get,
                          help=_("Where the settings start: the recipe of the shipped toy checkpoints, "
                                 "the paper's settings, or a fast deterministic encoder for contrast."))
    T.settings(wae_kind, REFRESH_S)
    watch_bar()
    src, data_sig = _source(choice)
    if src is None:
        run = _run()
        if run is not None:
            C.safe_call(live.get_hub().pause, run, what=_("Pausing the run"))
        return
    s = st.session_state
    sig = (data_sig, preset, wae_kind, int(s["toy_z_dim"]), int(s["toy_batch"]))
    try:
        run = sync_run(src, sig, wae_kind)
        own = live.get_hub().state(run, _viewer())
    except Exception as e:  # noqa: BLE001 - never a traceback on the projector
        C.show_error(e, _("Setting up the runs"))
        return
    names = ", ".join(f"`{r.name}`" for r in T.recipes_for(wae_kind))
    st.caption(_("Running the preset **{preset}**: {names} (with the settings above).").format(
        preset=preset_label(preset), names=names))
    controls()
    active = _active(own)
    st.fragment(run_every=REFRESH_S if active else None)(view)(run, active)
    st.fragment(run_every=CURVES_S if active else None)(curves)(run)
    explain()


main()
