"""Every Plotly figure of the app, and its one palette. The builders are plain functions of numpy
arrays (no Streamlit call), so ``scripts/bench_live.py`` can time them outside the app. Their
titles, axis labels and hover texts are in the session's language (:mod:`app.i18n`: English outside
a run); a cached figure is therefore cached per language (see :mod:`app.drawn`)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

from app.i18n import _
from wae_core.evaluation.latent_map import LatentMap
from wae_core.live import GroupSnapshot, RunSnapshot
from wae_core.models.latent_ops import prior_density

# --- the palette ---------------------------------------------------------------------------------
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")  # one per digit / class
REAL_COLOUR, FAKE_COLOUR, PRIOR_COLOUR, CODE_COLOUR = "#7f7f7f", "#d62728", "#1f77b4", "#ff7f0e"
PRIOR_MAP_COLOUR = "rgba(128, 128, 128, 0.45)"  # P_Z under coloured codes: reads on light and dark
MODEL_COLOURS = {"gan": "#d62728", "wae-mmd": "#2ca02c", "wae-gan": "#9467bd", "vae": "#1f77b4"}


def _layout_settings(height: int, title: str | None = None) -> dict[str, Any]:
    """Every chart's height, margins, legend above the plot, and kept zoom across redraws."""
    return {"height": height, "margin": {"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
            **({"title": {"text": title}} if title else {}),
            "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0}, "uirevision": "keep"}


def _layout(fig: go.Figure, height: int, title: str | None = None, **kw: Any) -> go.Figure:
    fig.update_layout(**_layout_settings(height, title), **kw)
    return fig


def class_histogram(counts: Sequence[int], title: str | None = None, height: int = 260,
                    labels: Sequence[str] | None = None) -> go.Figure:
    """Bars of predicted-class counts with the uniform share as a dashed line."""
    counts = list(counts)
    n, k = sum(counts), len(counts)
    labels = list(labels) if labels is not None else [str(i) for i in range(k)]
    fig = go.Figure(go.Bar(x=labels, y=counts, marker_color=[CLASS_COLOURS[i % 10] for i in range(k)],
                           hovertemplate=_("class %{x}: %{y} samples") + "<extra></extra>"))
    if n:
        fig.add_hline(y=n / k, line_dash="dash", line_color="#555",
                      annotation_text=_("uniform"), annotation_position="top left")
    fig.update_xaxes(type="category", title=_("predicted class"))
    fig.update_yaxes(title=_("samples"))
    return _layout(fig, height, title, showlegend=False)


def stacked_mode_map(counts: Sequence[int], title: str | None = None, height: int = 190) -> go.Figure:
    """Stacked MNIST's 1,000 modes as a 10 x 100 heat map: row r (the red channel's digit), column
    10 g + b (green, blue); colour = samples in the mode, on a log scale; a mode no sample hit is
    left blank, so a collapsed model shows as empty space."""
    c = np.asarray(counts, dtype=float).reshape(10, 100)
    z = np.where(c > 0, np.log10(np.maximum(c, 1)), np.nan)
    text = c.astype(int).astype(str).tolist()
    fig = go.Figure(go.Heatmap(  # lists, not arrays: NaN goes out as null (a blank cell)
        z=z.tolist(), x=[f"{gb:02d}" for gb in range(100)], y=[str(r) for r in range(10)], text=text,
        colorscale="Viridis", zmin=0, zmax=max(float(np.nanmax(z)) if np.isfinite(z).any() else 1, 1),
        xgap=1, ygap=1, colorbar={"title": "log₁₀ n", "thickness": 10},
        hovertemplate=_("mode %{y}-%{x}: %{text} samples") + "<extra></extra>"))
    fig.update_xaxes(title=_("green · blue digits"), type="category",
                     tickvals=[f"{10 * g:02d}" for g in range(10)], showgrid=False)
    fig.update_yaxes(title=_("red digit"), type="category", autorange="reversed", showgrid=False)
    return _layout(fig, height, title, plot_bgcolor="rgba(0,0,0,0)")


def _ellipses(mu: np.ndarray, half: np.ndarray, k: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned ellipses (centre mu, half-axes ``half``) as one polyline with NaN breaks."""
    t = np.linspace(0, 2 * np.pi, k)
    xs = mu[:, :1] + half[:, :1] * np.cos(t)[None]
    ys = mu[:, 1:2] + half[:, 1:2] * np.sin(t)[None]
    pad = np.full((len(mu), 1), np.nan)
    return np.hstack([xs, pad]).ravel(), np.hstack([ys, pad]).ravel()


def posterior_figure(vae: dict[str, np.ndarray] | None, wae_codes: np.ndarray | None,
                     wae_labels: np.ndarray | None, prior_sigmas: tuple[float, float] = (1.0, 1.0),
                     extent: float = 3.5, height: int = 560) -> go.Figure:
    """The deck's figure as a plot: (a) the 2-D VAE's posteriors Q(Z|X=x) as mu ± 2 sigma ellipses
    and (b) the 2-D WAE's codes, each over the density of its model's prior P_Z = N(0, σ_z² I)
    (``prior_sigmas``: the two models' σ_z), coloured by digit."""
    from plotly.subplots import make_subplots

    fig = make_subplots(1, 2, horizontal_spacing=0.08, subplot_titles=(
        "(a) VAE: Q(Z|X=x), μ ± 2σ", _("(b) WAE: codes, whose mixture is Q_Z")))
    g = np.linspace(-extent, extent, 80)
    for col, sigma_z in zip((1, 2), prior_sigmas):
        fig.add_trace(go.Contour(x=g, y=g, z=prior_density(g, sigma_z), showscale=False, ncontours=8,
                                 hoverinfo="skip",
                                 colorscale=[[0, "rgba(255,255,255,0)"], [1, "rgba(31,119,180,0.35)"]],
                                 contours={"coloring": "fill", "showlines": False},
                                 name=_("P_Z density"), showlegend=False), 1, col)
    if vae is not None:
        mu, sigma, lab = vae["mu"], vae["sigma"], vae["labels"]
        for c in range(10):
            m = lab == c
            if not m.any():
                continue
            xs, ys = _ellipses(mu[m], 2 * sigma[m])
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": CLASS_COLOURS[c], "width": 1},
                                     name=str(c), legendgroup=str(c), hoverinfo="skip"), 1, 1)
            fig.add_trace(go.Scatter(x=mu[m, 0], y=mu[m, 1], mode="markers", showlegend=False,
                                     marker={"color": CLASS_COLOURS[c], "size": 4}, legendgroup=str(c),
                                     hovertemplate=_("digit {digit}").format(digit=c)
                                     + "<extra>μ</extra>"), 1, 1)
    if wae_codes is not None and wae_labels is not None:
        for c in range(10):
            m = wae_labels == c
            if not m.any():
                continue
            fig.add_trace(go.Scatter(x=wae_codes[m, 0], y=wae_codes[m, 1], mode="markers",
                                     marker={"color": CLASS_COLOURS[c], "size": 6},
                                     name=str(c), legendgroup=str(c), showlegend=vae is None,
                                     hovertemplate=_("digit {digit}").format(digit=c)
                                     + "<extra>" + _("code") + "</extra>"), 1, 2)
    for col in (1, 2):
        fig.update_xaxes(range=[-extent, extent], title="z₁", row=1, col=col)
        fig.update_yaxes(range=[-extent, extent], title="z₂", row=1, col=col,
                         scaleanchor="x" if col == 1 else "x2")
    fig = _layout(fig, height, legend_title_text=_("digit"))
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
                             name=_("optimal coupling Γ"), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=real[:, 0], y=real[:, 1], mode="markers", name=_("real X ~ P_X"),
                             marker={"color": REAL_COLOUR, "size": 7}))
    fig.add_trace(go.Scatter(x=fake[:, 0], y=fake[:, 1], mode="markers", name=_("generated Y ~ P_G"),
                             marker={"color": FAKE_COLOUR, "size": 7, "symbol": "x"}))
    fig.update_yaxes(scaleanchor="x")
    return _layout(fig, height)


# Fonts with Hangul for the text drawn into PNGs on the server (``make fonts`` installs Debian's
# fonts-nanum): Pillow's built-in font has Latin letters only, so a Korean label would be boxes.
CJK_FONTS = ("/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
             "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/opentype/noto/NotoSansCJKkr-Regular.otf")


@functools.cache
def legend_font(size: int = 11) -> Any:
    """A Pillow font that draws Hangul (the first of :data:`CJK_FONTS` found), else Pillow's
    default font."""
    from PIL import ImageFont

    for path in CJK_FONTS:
        if Path(path).is_file():
            try:
                return ImageFont.truetype(path, size)
            except OSError:
                continue
    return ImageFont.load_default()


BACKGROUND, BORDER = "#ffffff", "#cccccc"
TEXT_SHADES = 8  # the legend's antialiased text: this many shades of black over white


def scatter_png(layers: Sequence[tuple[np.ndarray, str, float]], extent: float, size: int = 360,
                legend: Sequence[tuple[str, str]] = ()) -> bytes:
    """2-D points drawn into a square PNG: ``layers`` of (points (n, >=2), colour, radius px), in
    order, over [-extent, extent]^2, with an optional legend of (label, colour).

    The Live toy page redraws its scatter plots every refresh. As Plotly charts (WebGL, then SVG)
    a busy machine's browser could not finish one draw before the next arrived and showed blank
    plots (measured: 10 s and more with no marks); an image is swapped whole, never half drawn.

    Each app process draws three of them per frame of every run it shows, so they are drawn as
    palette images (one byte per pixel, a handful of colours): encoding an RGB PNG was three
    quarters of the drawing (2.9 of 3.9 ms), a palette PNG takes a sixth of that.
    """
    from io import BytesIO

    from PIL import Image, ImageColor

    colours = list(dict.fromkeys([BACKGROUND, BORDER, *(c for _p, c, _r in layers),
                                  *(c for _l, c in legend)]))
    index = {c: i for i, c in enumerate(colours)}
    canvas = np.zeros((size, size), np.uint8)  # every pixel the background (index 0)
    scale = (size - 1) / (2 * extent)
    for points, colour, radius in layers:
        p = np.asarray(points, dtype=float)
        if p.ndim != 2 or not len(p):
            continue
        xy = np.stack([(p[:, 0] + extent) * scale,
                       (extent - (p[:, 1] if p.shape[1] > 1 else 0 * p[:, 0])) * scale], 1)
        centre = np.rint(xy[np.isfinite(xy).all(1)]).astype(np.int64)
        # every point's dot at once (a Python loop of ellipses took 8 ms per 1,200 points)
        dy, dx = _dot(radius)
        ys, xs = (centre[:, 1:] + dy).ravel(), (centre[:, :1] + dx).ravel()
        inside = (ys >= 0) & (ys < size) & (xs >= 0) & (xs < size)
        canvas[ys[inside], xs[inside]] = index[colour]
    text = len(colours)  # the text's shades follow the colours: shade k is index text + k - 1
    for i, (label, colour) in enumerate(legend):
        canvas[6 + 14 * i:15 + 14 * i, 6:15] = index[colour]
        shades = _text_shades(label)[:max(0, size - 4 - 14 * i), :max(0, size - 18)]
        region = canvas[4 + 14 * i:4 + 14 * i + shades.shape[0], 18:18 + shades.shape[1]]
        region[shades > 0] = text + shades[shades > 0] - 1
    canvas[[0, -1], :] = index[BORDER]
    canvas[:, [0, -1]] = index[BORDER]
    rgb = [ImageColor.getrgb(c)[:3] for c in colours]
    rgb += [(v, v, v) for v in (round(255 * (1 - k / (TEXT_SHADES - 1))) for k in range(1, TEXT_SHADES))]
    img = Image.fromarray(canvas, "P")
    img.putpalette([v for c in rgb for v in c])
    buf = BytesIO()
    img.save(buf, format="PNG", compress_level=1)  # a new frame twice a second: speed over bytes
    return buf.getvalue()


@functools.lru_cache(maxsize=64)
def _text_shades(label: str) -> np.ndarray:
    """``label`` in the legend's font, black on white: per pixel its shade 0 (background) to
    ``TEXT_SHADES - 1`` (black), from the antialiased glyphs; drawn once per label (and language)."""
    from PIL import Image, ImageDraw

    font = legend_font()
    _left, _top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), label, font=font)
    mask = Image.new("L", (max(right, 1), max(bottom, 1)), 0)
    ImageDraw.Draw(mask).text((0, 0), label, fill=255, font=font)
    return np.rint(np.asarray(mask, dtype=float) * (TEXT_SHADES - 1) / 255).astype(np.uint8)


def _dot(radius: float) -> tuple[np.ndarray, np.ndarray]:
    """The pixel offsets (dy, dx) of a dot of ``radius`` pixels around its centre pixel."""
    r = int(np.ceil(radius))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    inside = dy ** 2 + dx ** 2 <= radius ** 2 + 0.5
    return dy[inside], dx[inside]


def points_png(real: np.ndarray, fake: np.ndarray, extent: float,
               modes: np.ndarray | None = None) -> bytes:
    """Real (grey) vs generated (red) 2-D points, the modes as black dots, as a PNG."""
    layers = [(real, REAL_COLOUR, 1.5), (fake, FAKE_COLOUR, 1.5)]
    if modes is not None:
        layers.append((modes, "black", 3.0))
    return scatter_png(layers, extent, legend=[(_("real"), REAL_COLOUR), (_("generated"), FAKE_COLOUR)])


def latent_png(codes: np.ndarray, prior: np.ndarray, extent: float = 4.0) -> bytes:
    """Q_Z (codes of real points, orange) vs P_Z (prior draws, blue), first two coordinates."""
    return scatter_png([(prior, PRIOR_COLOUR, 1.5), (codes, CODE_COLOUR, 1.5)], extent,
                       legend=[(_("P_Z (prior)"), PRIOR_COLOUR), (_("Q_Z (codes)"), CODE_COLOUR)])


def _built(data: list[dict[str, Any]], height: int, layout: dict[str, Any],
           title: str | None = None) -> go.Figure:
    """A figure in one constructor call, with :func:`_layout_settings`: the live page rebuilds
    its curves for every frame of every run it shows (every 2 s, in each app process), and adding
    traces and updating the layout call by call took twice as long (Plotly validates each call)."""
    return go.Figure({"data": data, "layout": {**layout, **_layout_settings(height, title)}})


def losses_figure(history: dict[str, list[float]], title: str | None = None,
                  height: int = 280) -> go.Figure:
    """Every loss term of one run (history dict: "step" + one list per term)."""
    data = [{"type": "scatter", "x": history["step"], "y": v, "mode": "lines", "name": k}
            for k, v in history.items() if k != "step" and v]
    return _built(data, height, {"xaxis": {"title": {"text": _("step")}}}, title)


def per_mode_figure(per_mode: Sequence[int], kind: str, height: int = 160) -> go.Figure:
    """High-quality samples per mode at the last evaluation: an empty bar is a dropped mode."""
    total, n = max(sum(per_mode), 1), len(per_mode)
    uniform = 100 / max(n, 1)
    bars = {"type": "bar", "x": [str(i + 1) for i in range(n)], "y": [100 * c / total for c in per_mode],
            "marker": {"color": MODEL_COLOURS.get(kind)},
            "hovertemplate": _("mode %{x}: %{y:.1f} % of the high-quality samples") + "<extra></extra>"}
    xaxis = {"title": {"text": _("mode")}, "type": "category", "tickangle": 0}
    if n > 10:
        xaxis["tickvals"] = [str(i + 1) for i in range(0, n, 5)]
    return _built([bars], height, {  # the uniform share: a dotted line across, labelled at its right
        "shapes": [{"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": uniform,
                    "y1": uniform, "line": {"color": "#999", "dash": "dot"}}],
        "annotations": [{"text": _("uniform"), "showarrow": False, "xref": "x domain", "x": 1,
                         "xanchor": "right", "yref": "y", "y": uniform, "yanchor": "bottom"}],
        "xaxis": xaxis, "yaxis": {"title": {"text": _("% of HQ samples")}, "rangemode": "tozero"}})


def metrics_figure(snaps: Sequence[RunSnapshot], height: int = 260) -> go.Figure:
    """Modes covered (left axis) and high-quality share (right axis) of each run over steps."""
    data = []
    for s in snaps:
        m, color = s.metrics, MODEL_COLOURS.get(s.kind)
        data += [{"type": "scatter", "x": m["step"], "y": m["modes_covered"], "mode": "lines+markers",
                  "name": _("{model} modes covered").format(model=s.label), "line": {"color": color},
                  "marker": {"size": 4}},
                 {"type": "scatter", "x": m["step"], "y": [100 * v for v in m["high_quality_share"]],
                  "mode": "lines", "name": _("{model} % high quality").format(model=s.label),
                  "yaxis": "y2", "line": {"color": color, "dash": "dot"}}]
    n_modes = next((s.n_modes for s in snaps if s.n_modes), None)
    return _built(data, height, {
        "yaxis": {"title": {"text": _("modes covered")}, "range": [0, (n_modes or 1) + 0.5]},
        "yaxis2": {"title": {"text": _("% within 3σ")}, "overlaying": "y", "side": "right",
                   "range": [0, 105], "tickvals": [0, 25, 50, 75, 100], "showgrid": False},
        "xaxis": {"title": {"text": _("step")}}})


def ot_figure(snaps: Sequence[RunSnapshot], height: int = 260) -> go.Figure:
    """The exact OT cost to a real batch of each run over steps (every data set has it)."""
    data = [{"type": "scatter", "x": s.metrics["step"], "y": s.metrics["ot"], "mode": "lines+markers",
             "name": s.label, "line": {"color": MODEL_COLOURS.get(s.kind)}, "marker": {"size": 4}}
            for s in snaps]
    return _built(data, height, {"xaxis": {"title": {"text": _("step")}},
                                 "yaxis": {"title": {"text": _("OT cost to real (W₂²)")}, "type": "log"}})


def toy_view_images(snap: GroupSnapshot, modes: np.ndarray | None = None,
                    extent: float = 3.0) -> list[bytes]:
    """The animated view of one refresh as the toy page draws it: per run real-vs-generated, then
    Q_Z vs P_Z for each run with an encoder (PNGs)."""
    images = [points_png(r.real, r.fake, extent, modes) for r in snap.runs]
    return images + [latent_png(r.codes, r.prior) for r in snap.runs if r.codes is not None]


def latent_map_figure(m: LatentMap, user_xy: np.ndarray | None, user_names: list[str],
                      groups: np.ndarray | None = None, group_names: Sequence[str] | None = None,
                      label_names: Sequence[str] | None = None) -> go.Figure:
    """Prior samples in grey, codes coloured by group (customdata: test index, label, label
    name), the user's digits as stars. ``groups``: the colour group 0..9 of each code (default: its
    label, a digit); ``group_names``: the legend's names; ``label_names``: each code's label as
    text (default: "digit <label>")."""
    fig = go.Figure()
    fig.add_trace(go.Scattergl(
        x=m.prior_xy[:, 0], y=m.prior_xy[:, 1], mode="markers", name="P_Z",
        marker={"size": 4, "color": PRIOR_MAP_COLOUR}, hoverinfo="skip"))
    groups = m.labels if groups is None else np.asarray(groups)
    names = np.asarray(label_names if label_names is not None
                       else [_("digit {digit}").format(digit=v) for v in m.labels],
                       dtype=object)
    for d in range(10):
        sel = groups == d
        if not sel.any():
            continue
        fig.add_trace(go.Scattergl(
            x=m.codes_xy[sel, 0], y=m.codes_xy[sel, 1], mode="markers",
            name=group_names[d] if group_names is not None else str(d),
            marker={"size": 5, "color": CLASS_COLOURS[d % len(CLASS_COLOURS)], "opacity": 0.6},
            customdata=np.stack([m.indices[sel], m.labels[sel], names[sel]], 1),
            hovertemplate=_("%{customdata[2]} · test #%{customdata[0]}") + "<extra></extra>"))
    if user_xy is not None and len(user_xy):
        fig.add_trace(go.Scatter(
            x=user_xy[:, 0], y=user_xy[:, 1], mode="markers+text", name=_("your digit"),
            text=user_names, textposition="top center",
            marker={"symbol": "star", "size": 20, "color": "gold",
                    "line": {"width": 1.5, "color": "black"}},
            hovertemplate="%{text}<extra></extra>"))
    ax1, ax2 = m.axis_names
    fig.update_layout(height=520, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0,
                              "itemsizing": "constant", "entrywidth": 0.16, "entrywidthmode": "fraction",
                              "title": {"text": ""}},
                      xaxis_title=ax1, yaxis_title=ax2, dragmode="lasso")
    if m.method in ("raw", "PCA"):
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig
