"""Helpers of the idea / mode-collapse / toy-lab / train pages: cached computations that wrap
:mod:`wae_core` and Plotly figure builders. The builders are plain functions of numpy arrays (no
Streamlit call), so ``scripts/bench_live.py`` can time them outside the app.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from app import cache
from wae_core import divergences as D
from wae_core import metrics
from wae_core.live import GroupSnapshot, RunSnapshot, warm_up

warm_up()  # the first optimiser imports torch._dynamo (~5 s): do it while the idea page is read

MAKE_CHECKPOINTS = "make checkpoints"
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
REAL_COLOR, FAKE_COLOR, PRIOR_COLOR, CODE_COLOR = "#7f7f7f", "#d62728", "#1f77b4", "#ff7f0e"
MODEL_COLORS = {"gan": "#d62728", "wae-mmd": "#2ca02c", "wae-gan": "#9467bd", "vae": "#1f77b4"}


# --- locations -------------------------------------------------------------------------------
def runs_dir() -> Path:
    """Where "Train your own" saves: ``WAE_LAB_RUNS_DIR``, else the folder named ``runs`` among
    the checkpoint folders (so new runs show up in the sidebar), else the repo's ``runs``."""
    env = os.environ.get("WAE_LAB_RUNS_DIR")
    if env:
        return Path(env).expanduser()
    dirs = cache.checkpoint_dirs()
    for d in dirs:
        if d.name == "runs":
            return d
    return dirs[-1] if dirs else cache.RUNS_DIR


def shipped(stem: str) -> cache.CheckpointInfo | None:
    """The checkpoint file named ``<stem>.safetensors`` in the checkpoint folders, if any."""
    for info in cache.list_checkpoints(include_uploads=False):
        if info.id == stem or (info.path is not None and info.path.stem == stem):
            return info
    return None


def missing_note(stems: Sequence[str], what: str = "this part") -> None:
    """The st.info shown instead of a live number when shipped checkpoints are missing."""
    names = ", ".join(f"`{s}.safetensors`" for s in stems)
    dirs = ", ".join(f"`{d}`" for d in cache.checkpoint_dirs())
    st.info(f"{what[:1].upper() + what[1:]} needs {names} (looked in {dirs}). Create the shipped checkpoints "
            f"with `{MAKE_CHECKPOINTS}` (or `scripts/make_checkpoints.sh`).", icon="ℹ️")


def formulas(fn: object) -> list[str]:
    """The ``$$`` blocks of a wae_core docstring (the one source of every formula shown)."""
    return D.latex_of(fn)


def latex(fn: object, index: int | None = None) -> None:
    """``st.latex`` every formula of ``fn``'s docstring (or only the one at ``index``)."""
    blocks = formulas(fn)
    for f in blocks if index is None else blocks[index:index + 1]:
        st.latex(f)


# --- cached computations on shipped / selected models ------------------------------------------
def _version(key: str) -> str:
    return cache.model_version(key)


def classifier_version() -> str:
    p = cache.classifier_path()
    try:
        s = p.stat()
    except OSError:
        return "missing"
    return f"{s.st_mtime_ns}-{s.st_size}"


@st.cache_data(show_spinner=False, max_entries=64)
def _coverage(key: str, version: str, n: int, seed: int, clf_version: str) -> dict[str, Any]:
    net = cache.load_classifier()
    if net is None:
        raise FileNotFoundError(f"no classifier at {cache.classifier_path()}")
    x = torch.as_tensor(cache.samples(key, n, seed))
    _, probs = net.embed(x)
    cov = metrics.mode_coverage(probs)
    pred = probs.argmax(1).numpy()
    return {"coverage": cov.as_dict(), "pred": pred, "conf": probs.max(1).values.numpy()}


def coverage(key: str, n: int, seed: int) -> dict[str, Any]:
    """Classifier verdict on n samples (``metrics.mode_coverage``), cached per
    (checkpoint, mtime, n, seed, classifier): {"coverage": Coverage dict, "pred", "conf"}."""
    return _coverage(key, _version(key), int(n), int(seed), classifier_version())


def sorted_by_class(images: np.ndarray, pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` samples reordered by predicted class (stable): a collapse shows as long
    runs of one digit."""
    order = np.argsort(pred[:k], kind="stable")
    return images[:k][order], pred[:k][order]


@st.cache_data(show_spinner=False, max_entries=16)
def _vae_posteriors(key: str, version: str, n: int, seed: int) -> dict[str, np.ndarray]:
    model = cache.get_model(key)
    x, y = cache.test_images(cache.random_test_indices(n, seed))
    with torch.inference_mode():
        mu, logvar = model.encode_dist(torch.as_tensor(x))
        kl = D.kl_normal(mu, logvar)
    return {"mu": mu.numpy(), "sigma": np.exp(0.5 * logvar.numpy()), "labels": y, "kl": kl.numpy()}


def vae_posteriors(key: str, n: int, seed: int) -> dict[str, np.ndarray]:
    """(mu, sigma) of Q(Z|X=x) for n test images, their labels and per-image KL to P_Z."""
    return _vae_posteriors(key, _version(key), int(n), int(seed))


@st.cache_data(show_spinner=False, max_entries=16)
def _ot_costs(keys: tuple[str, ...], versions: tuple[str, ...], n: int, seed: int) -> list[float]:
    x, _ = cache.test_images(cache.random_test_indices(n, seed + 7))
    out = []
    for key in keys:
        model = cache.get_model(key)
        fake = torch.as_tensor(cache.samples(key, n, seed))
        out.append(D.optimal_transport(torch.as_tensor(x), fake, scale=model.cfg.recon_scale)[0])
    return out


def ot_costs(keys: Sequence[str], n: int, seed: int) -> list[float]:
    """Exact OT cost (``divergences.optimal_transport``, the model's c) between n real test images
    and n samples of each model."""
    keys = tuple(keys)
    return _ot_costs(keys, tuple(_version(k) for k in keys), int(n), int(seed))


@st.cache_data(show_spinner=False, max_entries=16)
def _latent_js(key: str, version: str, n: int, seed: int) -> dict[str, float]:
    model = cache.get_model(key)
    x, _ = cache.test_images(cache.random_test_indices(n, seed))
    with torch.inference_mode(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        loss = float(model.adversary_loss(torch.as_tensor(x))["disc"])
    return {"disc_loss": loss, "js": max((math.log(4.0) - loss) / 2.0, 0.0)}


def latent_js(key: str, n: int, seed: int) -> dict[str, float]:
    """The WAE-GAN's latent discriminator on n test codes vs n prior draws: its loss L_D and the
    JS estimate (log 4 - L_D) / 2 (exact at the optimal discriminator; clipped at 0)."""
    return _latent_js(key, _version(key), int(n), int(seed))


def toy_points(key: str, n: int, seed: int) -> np.ndarray:
    return cache.samples(key, n, seed)


# --- figures ---------------------------------------------------------------------------------
def _layout(fig: go.Figure, height: int, title: str | None = None, **kw: Any) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
                      title={"text": title} if title else None,
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
                      uirevision="keep", **kw)
    return fig


def class_histogram(counts: Sequence[int], title: str | None = None, height: int = 260,
                    labels: Sequence[str] | None = None) -> go.Figure:
    """Bars of predicted-class counts with the uniform share as a dashed line."""
    counts = list(counts)
    n, k = sum(counts), len(counts)
    labels = list(labels) if labels is not None else [str(i) for i in range(k)]
    fig = go.Figure(go.Bar(x=labels, y=counts, marker_color=[CLASS_COLORS[i % 10] for i in range(k)],
                           hovertemplate="class %{x}: %{y} samples<extra></extra>"))
    if n:
        fig.add_hline(y=n / k, line_dash="dash", line_color="#555",
                      annotation_text="uniform", annotation_position="top left")
    fig.update_xaxes(type="category", title="predicted class")
    fig.update_yaxes(title="samples")
    return _layout(fig, height, title, showlegend=False)


def _ellipses(mu: np.ndarray, half: np.ndarray, k: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned ellipses (centre mu, half-axes ``half``) as one polyline with NaN breaks."""
    t = np.linspace(0, 2 * np.pi, k)
    xs = mu[:, :1] + half[:, :1] * np.cos(t)[None]
    ys = mu[:, 1:2] + half[:, 1:2] * np.sin(t)[None]
    pad = np.full((len(mu), 1), np.nan)
    return np.hstack([xs, pad]).ravel(), np.hstack([ys, pad]).ravel()


def posterior_figure(vae: dict[str, np.ndarray] | None, wae_codes: np.ndarray | None,
                     wae_labels: np.ndarray | None, extent: float = 3.5,
                     height: int = 560) -> go.Figure:
    """The deck's figure as a plot: (a) the 2-D VAE's posteriors Q(Z|X=x) as mu ± 2 sigma ellipses
    and (b) the 2-D WAE's codes, both over the density of P_Z = N(0, I), coloured by digit."""
    from plotly.subplots import make_subplots

    fig = make_subplots(1, 2, horizontal_spacing=0.08, subplot_titles=(
        "(a) VAE: Q(Z|X=x), μ ± 2σ", "(b) WAE: codes, whose mixture is Q_Z"))
    g = np.linspace(-extent, extent, 80)
    dens = np.exp(-0.5 * (g[None, :] ** 2 + g[:, None] ** 2)) / (2 * np.pi)
    for col in (1, 2):
        fig.add_trace(go.Contour(x=g, y=g, z=dens, showscale=False, ncontours=8, hoverinfo="skip",
                                 colorscale=[[0, "rgba(255,255,255,0)"], [1, "rgba(31,119,180,0.35)"]],
                                 contours={"coloring": "fill", "showlines": False},
                                 name="P_Z density", showlegend=False), 1, col)
    if vae is not None:
        mu, sigma, lab = vae["mu"], vae["sigma"], vae["labels"]
        for c in range(10):
            m = lab == c
            if not m.any():
                continue
            xs, ys = _ellipses(mu[m], 2 * sigma[m])
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": CLASS_COLORS[c], "width": 1},
                                     name=str(c), legendgroup=str(c), hoverinfo="skip"), 1, 1)
            fig.add_trace(go.Scatter(x=mu[m, 0], y=mu[m, 1], mode="markers", showlegend=False,
                                     marker={"color": CLASS_COLORS[c], "size": 4}, legendgroup=str(c),
                                     hovertemplate=f"digit {c}<extra>μ</extra>"), 1, 1)
    if wae_codes is not None and wae_labels is not None:
        for c in range(10):
            m = wae_labels == c
            if not m.any():
                continue
            fig.add_trace(go.Scatter(x=wae_codes[m, 0], y=wae_codes[m, 1], mode="markers",
                                     marker={"color": CLASS_COLORS[c], "size": 6},
                                     name=str(c), legendgroup=str(c), showlegend=vae is None,
                                     hovertemplate=f"digit {c}<extra>code</extra>"), 1, 2)
    for col in (1, 2):
        fig.update_xaxes(range=[-extent, extent], title="z₁", row=1, col=col)
        fig.update_yaxes(range=[-extent, extent], title="z₂", row=1, col=col,
                         scaleanchor="x" if col == 1 else "x2")
    fig = _layout(fig, height, legend_title_text="digit")
    fig.update_layout(legend={"orientation": "v", "x": 1.02, "y": 1, "yanchor": "top"},
                      margin={"l": 10, "r": 10, "t": 50, "b": 10})
    fig.update_annotations(font_size=16)
    return fig


def ot_matching_figure(real: np.ndarray, fake: np.ndarray, sigma: np.ndarray,
                       height: int = 360) -> go.Figure:
    """Two point clouds and the optimal coupling (a permutation) as segments."""
    fig = go.Figure()
    seg_x = np.stack([real[:, 0], fake[sigma, 0], np.full(len(real), np.nan)], 1).ravel()
    seg_y = np.stack([real[:, 1], fake[sigma, 1], np.full(len(real), np.nan)], 1).ravel()
    fig.add_trace(go.Scatter(x=seg_x, y=seg_y, mode="lines", line={"color": "#999", "width": 1},
                             name="optimal coupling Γ", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=real[:, 0], y=real[:, 1], mode="markers", name="real X ~ P_X",
                             marker={"color": REAL_COLOR, "size": 7}))
    fig.add_trace(go.Scatter(x=fake[:, 0], y=fake[:, 1], mode="markers", name="generated Y ~ P_G",
                             marker={"color": FAKE_COLOR, "size": 7, "symbol": "x"}))
    fig.update_yaxes(scaleanchor="x")
    return _layout(fig, height)


def points_figure(real: np.ndarray, fake: np.ndarray, title: str | None = None,
                  extent: float | None = None, height: int = 360,
                  modes: np.ndarray | None = None) -> go.Figure:
    """Real vs generated 2-D points (WebGL scatter: cheap to rebuild at 5 fps)."""
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=real[:, 0], y=real[:, 1], mode="markers", name="real",
                               marker={"color": REAL_COLOR, "size": 4, "opacity": 0.5}))
    fig.add_trace(go.Scattergl(x=fake[:, 0], y=fake[:, 1], mode="markers", name="generated",
                               marker={"color": FAKE_COLOR, "size": 4, "opacity": 0.6}))
    if modes is not None:
        fig.add_trace(go.Scattergl(x=modes[:, 0], y=modes[:, 1], mode="markers", name="modes",
                                   marker={"color": "black", "size": 9, "symbol": "circle-open"}))
    ext = extent if extent is not None else _extent(real)
    fig.update_xaxes(range=[-ext, ext], showgrid=False, zeroline=False)
    fig.update_yaxes(range=[-ext, ext], showgrid=False, zeroline=False, scaleanchor="x")
    return _layout(fig, height, title)


def latent_figure(codes: np.ndarray, prior: np.ndarray, title: str | None = None,
                  height: int = 300) -> go.Figure:
    """Q_Z (codes of real points) vs P_Z (prior draws), first two latent coordinates."""
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=prior[:, 0], y=prior[:, 1] if prior.shape[1] > 1 else 0 * prior[:, 0],
                               mode="markers", name="P_Z (prior)",
                               marker={"color": PRIOR_COLOR, "size": 4, "opacity": 0.4}))
    fig.add_trace(go.Scattergl(x=codes[:, 0], y=codes[:, 1] if codes.shape[1] > 1 else 0 * codes[:, 0],
                               mode="markers", name="Q_Z (codes)",
                               marker={"color": CODE_COLOR, "size": 4, "opacity": 0.6}))
    fig.update_xaxes(range=[-4, 4], title="z₁", showgrid=False, zeroline=False)
    fig.update_yaxes(range=[-4, 4], title="z₂", showgrid=False, zeroline=False, scaleanchor="x")
    return _layout(fig, height, title)


def _extent(p: np.ndarray) -> float:
    r = float(np.abs(p).max()) if p.size else 1.0
    return max(1.0, 1.25 * r)


def curves_figure(runs: Sequence[RunSnapshot] | Sequence[dict[str, Any]], field: str,
                  names: Sequence[str], title: str | None = None, height: int = 260,
                  y_title: str | None = None, log_y: bool = False) -> go.Figure:
    """One line per run for a history field (``history`` dicts with a "step" list)."""
    fig = go.Figure()
    for hist, name in zip(runs, names):
        h = hist.history if isinstance(hist, RunSnapshot) else hist
        ys = h.get(field)
        if not ys:
            continue
        fig.add_trace(go.Scatter(x=h["step"], y=ys, mode="lines", name=name))
    fig.update_xaxes(title="step")
    fig.update_yaxes(title=y_title or field, type="log" if log_y else None)
    return _layout(fig, height, title)


def losses_figure(history: dict[str, list[float]], title: str | None = None,
                  height: int = 280) -> go.Figure:
    """Every loss term of one run (history dict: "step" + one list per term)."""
    fig = go.Figure()
    for k, v in history.items():
        if k == "step" or not v:
            continue
        fig.add_trace(go.Scatter(x=history["step"], y=v, mode="lines", name=k))
    fig.update_xaxes(title="step")
    return _layout(fig, height, title)


def metrics_figure(snaps: Sequence[RunSnapshot], height: int = 260) -> go.Figure:
    """Modes covered (left axis) and high-quality share (right axis) of each run over steps."""
    fig = go.Figure()
    for s in snaps:
        m = s.metrics
        color = MODEL_COLORS.get(s.kind)
        fig.add_trace(go.Scatter(x=m["step"], y=m["modes_covered"], mode="lines+markers",
                                   name=f"{s.label} modes covered", line={"color": color},
                                   marker={"size": 4}))
        fig.add_trace(go.Scatter(x=m["step"], y=[100 * v for v in m["high_quality_share"]],
                                   mode="lines", name=f"{s.label} % high quality", yaxis="y2",
                                   line={"color": color, "dash": "dot"}))
    n_modes = next((s.n_modes for s in snaps if s.n_modes), None)
    fig.update_layout(yaxis={"title": "modes covered", "range": [0, (n_modes or 1) + 0.5]},
                      yaxis2={"title": "% within 3σ", "overlaying": "y", "side": "right",
                              "range": [0, 105], "tickvals": [0, 25, 50, 75, 100], "showgrid": False})
    fig.update_xaxes(title="step")
    return _layout(fig, height)


def ot_figure(snaps: Sequence[RunSnapshot], height: int = 260) -> go.Figure:
    """The exact OT cost to a real batch of each run over steps (every data set has it)."""
    fig = go.Figure()
    for s in snaps:
        fig.add_trace(go.Scatter(x=s.metrics["step"], y=s.metrics["ot"], mode="lines+markers",
                                   name=s.label, line={"color": MODEL_COLORS.get(s.kind)},
                                   marker={"size": 4}))
    fig.update_xaxes(title="step")
    fig.update_yaxes(title="OT cost to real (W₂²)", type="log")
    return _layout(fig, height)


def toy_view_figures(snap: GroupSnapshot, modes: np.ndarray | None = None,
                     extent: float | None = None) -> list[go.Figure]:
    """The animated view of one refresh: per run real-vs-generated, then Q_Z vs P_Z for each run
    with an encoder (what the toy page redraws every ~0.2 s)."""
    figs: list[go.Figure] = []
    for r in snap.runs:
        figs.append(points_figure(r.real, r.fake, f"{r.label}: real vs generated", extent, modes=modes))
    for r in snap.runs:
        if r.codes is not None:
            figs.append(latent_figure(r.codes, r.prior, f"{r.label}: Q_Z vs P_Z"))
    return figs


__all__ = [
    "class_histogram", "coverage", "curves_figure", "latent_figure", "latent_js", "losses_figure",
    "metrics_figure", "missing_note", "ot_costs", "ot_figure", "ot_matching_figure",
    "points_figure", "posterior_figure", "runs_dir", "shipped", "sorted_by_class",
    "toy_view_figures", "vae_posteriors",
]


# --- canvas -> points ----------------------------------------------------------------------------
_ORIGIN = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}


def canvas_points(json_data: dict[str, Any] | None, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(dots, stroke points) of a drawable-canvas drawing, in x-right / y-up coordinates.

    Dots are the centres of ``point``-mode circles; stroke points are the vertices of freehand
    paths, densified so that long straight segments weigh as much as curly ones.
    """
    dots: list[tuple[float, float]] = []
    strokes: list[tuple[float, float]] = []
    for obj in (json_data or {}).get("objects", []) or []:
        kind = str(obj.get("type", "")).lower()
        if kind == "circle":
            r = float(obj.get("radius", 0)) + float(obj.get("strokeWidth", 0)) / 2
            w, h = 2 * r * float(obj.get("scaleX", 1)), 2 * r * float(obj.get("scaleY", 1))
            cx = float(obj.get("left", 0)) + (0.5 - _ORIGIN.get(obj.get("originX", "left"), 0)) * w
            cy = float(obj.get("top", 0)) + (0.5 - _ORIGIN.get(obj.get("originY", "top"), 0)) * h
            dots.append((cx, height - cy))
        elif kind == "path":
            prev: tuple[float, float] | None = None
            for cmd in obj.get("path") or []:
                if not isinstance(cmd, list | tuple) or len(cmd) < 3:
                    continue
                try:
                    x, y = float(cmd[-2]), float(cmd[-1])
                except (TypeError, ValueError):
                    continue
                if prev is not None:
                    d = math.hypot(x - prev[0], y - prev[1])
                    for t in np.linspace(0, 1, max(int(d / 4), 1), endpoint=False)[1:]:
                        strokes.append((prev[0] + t * (x - prev[0]), height - (prev[1] + t * (y - prev[1]))))
                strokes.append((x, height - y))
                prev = (x, y)
    return np.asarray(dots, dtype=np.float32).reshape(-1, 2), np.asarray(strokes, np.float32).reshape(-1, 2)
