"""What every session draws the same: Plotly figures and PNGs built once per input and shared.

A page rerun (a click, another tab, sixty students on the same page) used to rebuild its Plotly
figures and re-encode its image grids every time: building a figure is most of a warm rerun of
the pages that show them (plotly validates every property it is given). Here each is built once
per input and kept:

* figures with ``st.cache_resource``: one object for every session, never copied (a copy through
  ``st.cache_data`` would be unpickled, that is validated, again). ``st.plotly_chart`` only reads
  a figure, and so must every caller: never update a figure from here;
* PNG bytes and CSV bytes with ``st.cache_data`` (bytes copy cheaply);
* the arrays behind them come from :mod:`app.cache`, keyed by :class:`app.catalog.Ref`;
* a figure with text (titles, axis labels, hover texts: :mod:`app.figures` translates them) is
  cached per language (:func:`app.i18n.per_language` passes the session's language as the last
  argument), so a Korean session never gets an English figure or the other way round.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from app import cache, figures
from app import components as C
from app.catalog import Ref
from app.i18n import _, per_language
from wae_core.data.datasets import sample_toy
from wae_core.models import divergences as div


# --- The idea ------------------------------------------------------------------------------------
@per_language
@st.cache_resource(show_spinner=False, max_entries=16)
def ot_ring(ref: Ref, n: int, seed: int, lang: str) -> tuple[go.Figure, dict[str, np.ndarray], float]:
    """n points of the ring and n samples of a ring model, matched optimally
    (``divergences.optimal_transport``): (figure, the matched pairs as CSV columns, mean cost)."""
    real = sample_toy("ring", n, torch.Generator().manual_seed(seed)).x
    fake = torch.as_tensor(cache.samples(ref, n, seed))
    cost, sigma = div.optimal_transport(real, fake)
    real, fake, sigma = real.numpy(), fake.numpy(), sigma.numpy()
    pairs = {"real_x": real[:, 0], "real_y": real[:, 1],  # each point and its match
             "matched_x": fake[sigma, 0], "matched_y": fake[sigma, 1]}
    return figures.ot_matching_figure(real, fake, sigma), pairs, float(cost)


def posterior_rows(post: dict | None, codes: np.ndarray | None, labels: np.ndarray | None) -> list[dict]:
    """The posterior figure's numbers: (a) each VAE posterior's μ and σ, (b) each WAE code."""
    rows = []
    if post is not None:
        rows += [{"panel": "a: VAE", "digit": int(d), "z1": m[0], "z2": m[1], "sigma1": s[0], "sigma2": s[1]}
                 for m, s, d in zip(post["mu"], post["sigma"], post["labels"])]
    if codes is not None:
        rows += [{"panel": "b: WAE", "digit": int(d), "z1": c[0], "z2": c[1]} for c, d in zip(codes, labels)]
    return rows


@per_language
@st.cache_resource(show_spinner=False, max_entries=16)
def posteriors(vae: Ref | None, wae: Ref | None, n: int, seed: int,
               lang: str) -> tuple[go.Figure, list[dict]]:
    """The deck's posterior figure (:func:`app.figures.posterior_figure`) of n test images for a
    z_dim = 2 VAE and WAE (either may be None), and its numbers as CSV rows."""
    post = cache.vae_posteriors(vae, n, seed) if vae is not None else None
    codes = labels = None
    if wae is not None:
        x, labels = cache.test_images(cache.random_test_indices(n, seed))
        codes = cache.encode(wae, x)
    sigmas = tuple(cache.get_model(r).cfg.sigma_z if r is not None else 1.0 for r in (vae, wae))
    return figures.posterior_figure(post, codes, labels, sigmas), posterior_rows(post, codes, labels)


# --- classifier verdicts (The idea, Mode collapse) -----------------------------------------------
@st.cache_data(show_spinner=False, max_entries=64)
def sorted_samples_png(ref: Ref, n: int, seed: int, classifier: Ref, k: int, ncol: int,
                       scale: int) -> bytes:
    """PNG of the first k of n samples sorted by the classifier's class (a collapse shows as long
    runs of one class), drawn here so that a rerun copies kilobytes, not the n samples."""
    pred = cache.coverage(ref, n, seed, classifier)["pred"]
    imgs, _pred = C.sorted_by_class(cache.samples(ref, n, seed), pred, k)
    return C.grid_png(imgs, ncol, scale)


@per_language
@st.cache_resource(show_spinner=False, max_entries=64)
def class_histogram(counts: tuple[int, ...], labels: tuple[str, ...] | None, lang: str) -> go.Figure:
    """:func:`app.figures.class_histogram`, once per counts (and language)."""
    return figures.class_histogram(counts, labels=labels)


@per_language
@st.cache_resource(show_spinner=False, max_entries=16)
def stacked_mode_map(counts: tuple[int, ...], title: str, lang: str) -> go.Figure:
    """:func:`app.figures.stacked_mode_map`, once per counts (and language)."""
    return figures.stacked_mode_map(counts, title=title)


# --- Latent space --------------------------------------------------------------------------------
@per_language
@st.cache_resource(show_spinner=False, max_entries=48, hash_funcs=cache.ARRAY_KEYS)
def latent_map(ref: Ref, n: int, seed: int, method: str, draw: bool, dataset: str,
               user_xy: np.ndarray | None, user_names: tuple[str, ...], lang: str) -> go.Figure:
    """The latent page's map of one model (:func:`app.figures.latent_map_figure` of
    :func:`app.cache.latent_map`), codes coloured by the data set's groups, the user's digits
    (``user_xy``, already placed on the map) as stars."""
    from app import datasets

    m, ds = cache.latent_map(ref, n, seed, method, draw, dataset), datasets.get(dataset)
    group_names = ([f"{_(ds.group_title)} {d}" for d in range(10)] if ds.per_channel
                   else [_(c) for c in ds.class_names])
    return figures.latent_map_figure(m, user_xy, list(user_names), groups=ds.groups(m.labels),
                                     group_names=group_names,
                                     label_names=[_(ds.class_name(v)) for v in m.labels])


@st.cache_data(show_spinner=False, max_entries=32)
def latent_csv(models: tuple[tuple[str, Ref], ...], n: int, seed: int, method: str, draw: bool,
               dataset: str) -> bytes:
    """The latent page's embedding as CSV: per (label, model) its codes and prior draws on the map."""
    import pandas as pd

    frames: list[Any] = []
    for label, ref in models:
        m = cache.latent_map(ref, n, seed, method, draw, dataset)
        frames.append(pd.DataFrame({"model": label, "kind": "code", "x": m.codes_xy[:, 0],
                                    "y": m.codes_xy[:, 1], "label": m.labels, "test_index": m.indices}))
        frames.append(pd.DataFrame({"model": label, "kind": "prior", "x": m.prior_xy[:, 0],
                                    "y": m.prior_xy[:, 1], "label": -1, "test_index": -1}))
    return pd.concat(frames, ignore_index=True).to_csv(index=False).encode()
