"""The Streamlit caches of models and their outputs: models, the classifiers, the test sets (one
per data set of :mod:`app.datasets`, by name), results, and the arrays derived from them (the
explorer's training-set caches: :mod:`app.explore_cache`; figures drawn once for every session:
:mod:`app.drawn`; the live page's frames: :mod:`app.live_frames`). Each function is keyed by
a :class:`app.catalog.Ref` (a model key and its version), so a retrained or re-uploaded model is
reloaded and what came from it recomputed.

Every function only *wraps* a call into :mod:`wae_core` behind a cache; no maths is derived here.
Models with ``st.cache_resource`` (one shared object), arrays with ``st.cache_data`` (numpy in,
numpy out).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import torch
from threadpoolctl import threadpool_limits

from app import catalog, datasets
from app.catalog import UPLOAD_PREFIX, CheckpointInfo, Ref
from app.i18n import N_, _
from wae_core.data.datasets import TensorData, load_dataset, stacked_label
from wae_core.evaluation import metrics
from wae_core.evaluation.latent_map import LatentMap
from wae_core.evaluation.lenet import LeNet
from wae_core.models import checkpoint as ckpt
from wae_core.models import divergences as div
from wae_core.models import latent_ops
from wae_core.models.generative import GenerativeModel, interpolate_codes

# One torch thread per process by default: Streamlit runs sessions and the live-training workers
# as threads of one process, and oversubscribed OpenMP teams were measured ~50x slower on 2 cores.
APP_THREADS = max(1, int(os.environ.get("WAE_LAB_THREADS", "1")))


def use_app_threads() -> None:
    """APP_THREADS for torch and for numpy's OpenBLAS alike: two OpenBLAS threads stalled a 384-wide
    eigensolver of the FID 2.4 s (one thread: 0.016 s) once the process had run a torch op with the
    other core busy, as a room's server always has it (metrics.frechet_distance)."""
    torch.set_num_threads(APP_THREADS)
    _limit_blas()


@functools.cache
def _limit_blas() -> None:
    """Process-wide, like torch's setting, so once: threadpoolctl finds the loaded libraries anew
    on each call (5 % of an app process's CPU under the room's load test when every run did)."""
    threadpool_limits(APP_THREADS, user_api="blas")


def array_key(a: np.ndarray) -> bytes:
    """What a cached function's array argument is keyed by (``hash_funcs=ARRAY_KEYS``): its dtype,
    shape and the SHA-1 of its bytes. Streamlit's own hash of an array (BLAKE2b) took ~390 µs for
    a 64-image batch here, SHA-1 ~130 µs (it runs on the CPU's SHA instructions). A page hashes
    such batches at every rerun, for every session (its grids, sharpness, reconstructions): 11 %
    of the pages' script CPU in a py-spy profile of the load test's tour (docs/speed.md)."""
    a = np.ascontiguousarray(a)
    return b"%s%r" % (a.dtype.str.encode(), a.shape) + hashlib.sha1(a, usedforsecurity=False).digest()


ARRAY_KEYS = {np.ndarray: array_key}


class _Translated(str):
    """A message fixed at import (a cache decorator's ``show_spinner``) that reads in the session's
    language when it is shown: Streamlit turns the spinner's text into a string with ``str()`` at
    the time it shows it, in the session's script thread."""

    __slots__ = ()

    def __str__(self) -> str:
        return _(str.__str__(self))


# --------------------------------------------------------------------------------------------
# Resources: models, classifier, test set
# --------------------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=16)
def _load_upload(digest: str, name: str, _data: bytes) -> GenerativeModel:
    return ckpt.load_bytes(_data, name)


@st.cache_resource(show_spinner=False, max_entries=32)
def _load_file(ref: Ref) -> GenerativeModel:
    return ckpt.load(ref.key)


def get_model(ref: Ref) -> GenerativeModel:
    """The model (eval mode, CPU) behind a reference. Raises
    :class:`wae_core.models.checkpoint.CheckpointError` with a user-readable message."""
    if not ref.key.startswith(UPLOAD_PREFIX):
        return _load_file(ref)
    up = catalog.uploads().get(ref.key)
    if up is None:
        raise ckpt.CheckpointError(_("this uploaded checkpoint is no longer in the session: "
                                     "upload it again"))
    return _load_upload(ref.version, up["name"], up["data"])


def add_upload(name: str, data: bytes) -> CheckpointInfo:
    """Validate an uploaded checkpoint with :func:`wae_core.models.checkpoint.load_bytes` and keep it
    in the session; returns its info. Raises :class:`wae_core.models.checkpoint.CheckpointError` with a
    user-readable message (foreign, truncated, pickle, NaN...)."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    key = UPLOAD_PREFIX + digest
    uploads = catalog.uploads()
    if key in uploads:
        return uploads[key]["info"]
    model = _load_upload(digest, name, data)
    info = catalog.info_from_meta(model.meta, key=key, id_=f"upload-{Path(name).stem}",
                                  name=f"{Path(name).stem} (uploaded)", source="upload", path=None,
                                  version=digest)
    if info is None:  # load_bytes accepted it, so this should not happen
        raise ckpt.CheckpointError(_("{name}: not a WAE Lab generative model").format(name=name))
    uploads[key] = {"name": name, "data": data, "info": info}
    return info


@st.cache_resource(show_spinner=False, max_entries=4)
def classifier_at(ref: Ref) -> LeNet:
    from wae_core.evaluation.lenet import load_classifier as _load

    return _load(ref.key)


def load_classifier(dataset: str = datasets.DEFAULT) -> LeNet | None:
    """The LeNet that judges ``dataset`` (:mod:`app.datasets`), or None when its file does not
    exist. A broken file raises :class:`wae_core.models.checkpoint.CheckpointError`. See
    ``components.classifier_or_info``."""
    ref = catalog.classifier_ref(dataset)
    return None if ref is None else classifier_at(ref)


@st.cache_resource(show_spinner=_Translated(N_("Loading the test set…")), max_entries=len(datasets.DATASETS))
def test_set(dataset: str = datasets.DEFAULT) -> TensorData:
    """The 10,000 test images (N, C, 28, 28) in [0, 1] of an app data set and their labels
    (``wae_core.data.datasets.load_dataset``; offline for every one of them)."""
    return load_dataset(datasets.get(dataset).name, "test")


def test_images(indices: tuple[int, ...] | list[int],
                dataset: str = datasets.DEFAULT) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, C, 28, 28) float32, labels (n,)) of test-set items by index."""
    ds = test_set(dataset)
    idx = torch.as_tensor(list(indices), dtype=torch.long)
    return ds.x[idx].numpy(), ds.y[idx].numpy()


def random_test_indices(n: int, seed: int, dataset: str = datasets.DEFAULT) -> list[int]:
    """n distinct random test-set indices, reproducible from ``seed``."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randperm(len(test_set(dataset)), generator=g)[:n].tolist()


def warm() -> None:
    """Fill the caches every page starts from, outside any session: :func:`warm_steps`, all of
    them."""
    for _step in warm_steps():
        pass


def warm_steps() -> Iterator[str]:
    """Fill the caches every page starts from, outside any session, one step (a model, a data set)
    at a time; yields what it did after each step, so that ``app/serve.py`` can wait between steps
    while a tab's page runs. The MNIST test set, the classifier and every listed checkpoint, each
    run once on a small batch of its own data set's test images (the CPU's convolution kernels are
    set up on first use)."""
    use_app_threads()
    x = {datasets.DEFAULT: torch.as_tensor(test_images(random_test_indices(100, 0))[0])}
    net = load_classifier()
    with torch.inference_mode():
        if net is not None:
            net.embed(x[datasets.DEFAULT])
    yield "the MNIST test set and classifier"
    for info in catalog.list_checkpoints(include_uploads=False):
        with torch.inference_mode():
            model = get_model(info.ref)
            model.sample(8)
            data = datasets.home(info.dataset) if info.is_image else None
            if info.has_encoder and data is not None and catalog.fits(info, data):
                if data not in x:
                    x[data] = torch.as_tensor(test_images(random_test_indices(100, 0, data), data)[0])
                model.encode(x[data])
        yield info.id


# --------------------------------------------------------------------------------------------
# Arrays of one model
# --------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=64)
def samples(ref: Ref, n: int, seed: int) -> np.ndarray:
    """n samples of P_G: decoded draws of P_Z, via :func:`wae_core.evaluation.metrics.generate`.

    The prior draws depend only on (seed, z_dim, sigma_z), so models with the same z_dim decode
    the *same* z for a given seed. Images (n, 1, 28, 28) in [0, 1], or points (n, 2)."""
    with torch.inference_mode():
        return metrics.generate(get_model(ref), int(n), int(seed)).numpy()


@st.cache_data(show_spinner=False, max_entries=64)
def prior_draws(ref: Ref, n: int, seed: int) -> np.ndarray:
    """n draws of the model's own prior P_Z (its sigma_z), with the generator ``samples`` uses
    (same seed, same z)."""
    return get_model(ref).sample_prior(int(n), torch.Generator().manual_seed(int(seed))).numpy()


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=ARRAY_KEYS)
def decode(ref: Ref, z: np.ndarray) -> np.ndarray:
    """G(z) for codes z (n, z_dim)."""
    with torch.inference_mode():
        return get_model(ref).decode(torch.as_tensor(z, dtype=torch.float32)).numpy()


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=ARRAY_KEYS)
def reconstruct(ref: Ref, x: np.ndarray) -> np.ndarray:
    """G(E(x)) for images x (n, 1, 28, 28). Check ``info.has_encoder`` first (the GAN's
    ``encode`` raises :class:`wae_core.models.generative.NoEncoderError`)."""
    with torch.inference_mode():
        return get_model(ref).reconstruct(torch.as_tensor(x, dtype=torch.float32)).numpy()


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=ARRAY_KEYS)
def encode(ref: Ref, x: np.ndarray, *, draw: bool = False, seed: int = 0) -> np.ndarray:
    """Codes of images x: the posterior mean (``draw=False``) or one draw of Q(Z|X=x)
    (``draw=True``; for a VAE the reparameterised sample; codes of a data batch drawn this way
    are a sample of the aggregate Q_Z)."""
    model = get_model(ref)
    with torch.inference_mode():
        xt = torch.as_tensor(x, dtype=torch.float32)
        if not draw:
            return model.encode(xt).numpy()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            return model.encode_sample(xt).numpy()


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=ARRAY_KEYS)
def interpolate(ref: Ref, za: np.ndarray, zb: np.ndarray, steps: int, mode: str = "linear") -> np.ndarray:
    """Decode the path of ``steps`` codes from ``za`` to ``zb`` (linear or slerp, see
    :func:`wae_core.models.generative.interpolate_codes`): images (steps, 1, 28, 28)."""
    path = interpolate_codes(torch.as_tensor(za, dtype=torch.float32).reshape(-1),
                             torch.as_tensor(zb, dtype=torch.float32).reshape(-1), int(steps), mode)
    return decode(ref, path.numpy())


def grid_walk(ref: Ref, n: int, extent: float) -> np.ndarray:
    """For a z_dim = 2 model: decode an n × n grid over [-extent, extent]², row-major with z₂
    decreasing down the rows (top = +extent) and z₁ increasing along a row. (n², 1, 28, 28)."""
    return decode(ref, latent_ops.grid_codes(n, extent))


@st.cache_data(show_spinner=False, max_entries=256, hash_funcs=ARRAY_KEYS)
def sharpness(images: np.ndarray) -> float:
    """:func:`wae_core.evaluation.metrics.sharpness` of images (n, C, 28, 28)."""
    return metrics.sharpness(torch.as_tensor(images))


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=ARRAY_KEYS)
def reconstruction_errors(x: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """The squared error of each image (:func:`wae_core.evaluation.metrics.squared_error_per_item`)."""
    return metrics.squared_error_per_item(torch.as_tensor(x_hat), torch.as_tensor(x)).numpy()


@st.cache_data(show_spinner=False, max_entries=32)
def latent_mmd(ref: Ref, n: int, seed: int, dataset: str = datasets.DEFAULT) -> float:
    """MMD(Q_Z, P_Z) of n random test images of ``dataset`` (:func:`wae_core.evaluation.metrics.latent_mmd`,
    one batch of n); NaN without an encoder."""
    idx = random_test_indices(n, seed, dataset)
    return metrics.latent_mmd(get_model(ref), test_set(dataset).x[idx], batch_size=n, seed=seed)


@st.cache_resource(show_spinner=False, max_entries=24)
def latent_map(ref: Ref, n: int, seed: int, method: str = "PCA", draw: bool = True,
               dataset: str = datasets.DEFAULT) -> LatentMap:
    """The :class:`~wae_core.evaluation.latent_map.LatentMap` of n random test images of ``dataset``
    (seeded) for one model with an encoder, against as many draws of its prior. A t-SNE takes
    seconds (scripts/bench_app.py): show a spinner around the first call. ``draw``: codes are
    draws of Q(Z|X) (the aggregate Q_Z) rather than posterior means."""
    idx = random_test_indices(n, seed, dataset)
    x, y = test_images(idx, dataset)
    codes = encode(ref, x, draw=draw, seed=seed)
    return LatentMap(codes, prior_draws(ref, n, seed + 1), y, np.asarray(idx), method, seed)


@st.cache_data(show_spinner=False, max_entries=64)
def coverage(ref: Ref, n: int, seed: int, classifier: Ref) -> dict[str, Any]:
    """The classifier's verdict on n samples (``metrics.mode_coverage``): {"coverage": Coverage
    dict, "pred", "conf"}. ``classifier``: ``catalog.classifier_ref()``."""
    probs = classifier_at(classifier).embed(torch.as_tensor(samples(ref, n, seed)))[1]
    return {"coverage": metrics.mode_coverage(probs).as_dict(), "pred": probs.argmax(1).numpy(),
            "conf": probs.max(1).values.numpy()}


@st.cache_data(show_spinner=False, max_entries=32)
def stacked_coverage(ref: Ref, n: int, seed: int, classifier: Ref, first: int = 200) -> dict[str, Any]:
    """Stacked MNIST: the MNIST LeNet's digit in each channel of n samples
    (``metrics.classify_stacked``) and the 1,000-mode coverage (``metrics.stacked_mode_coverage``):
    {"coverage": Coverage dict, "mode": each sample's mode 100 r + 10 g + b, "first": the first
    ``first`` samples (a cache hit then copies kilobytes, not the n images)}."""
    x = samples(ref, n, seed)
    probs = metrics.classify_stacked(torch.as_tensor(x), classifier_at(classifier))
    return {"coverage": metrics.stacked_mode_coverage(probs).as_dict(),
            "mode": stacked_label(probs.argmax(2)).numpy(), "first": x[:first]}


@st.cache_data(show_spinner=False, max_entries=16)
def vae_posteriors(ref: Ref, n: int, seed: int) -> dict[str, np.ndarray]:
    """(mu, sigma) of Q(Z|X=x) for n test images, their labels and per-image KL to P_Z."""
    x, y = test_images(random_test_indices(n, seed))
    with torch.inference_mode():
        model = get_model(ref)
        mu, logvar = model.encode_dist(torch.as_tensor(x))
        kl = div.kl_normal(mu, logvar, model.cfg.sigma_z)
    return {"mu": mu.numpy(), "sigma": latent_ops.posterior_std(logvar), "labels": y, "kl": kl.numpy()}


@st.cache_data(show_spinner=False, max_entries=16)
def ot_costs(refs: tuple[Ref, ...], n: int, seed: int) -> list[float]:
    """Exact OT cost (``divergences.optimal_transport``, the model's c) between n real test images
    and n samples of each model."""
    x = torch.as_tensor(test_images(random_test_indices(n, seed + 7))[0])
    return [div.optimal_transport(x, torch.as_tensor(samples(r, n, seed)),
                                  scale=get_model(r).cfg.recon_scale)[0] for r in refs]


@st.cache_data(show_spinner=False, max_entries=16)
def latent_js(ref: Ref, n: int, seed: int) -> dict[str, float]:
    """The WAE-GAN's latent discriminator on n test codes vs n prior draws: its loss L_D and the
    JS estimate it implies (:func:`wae_core.models.divergences.js_estimate`)."""
    x = test_images(random_test_indices(n, seed))[0]
    with torch.inference_mode(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        loss = float(get_model(ref).adversary_loss(torch.as_tensor(x))["disc"])
    return {"disc_loss": loss, "js": div.js_estimate(loss)}


# --------------------------------------------------------------------------------------------
# Results file
# --------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=4)
def _results(ref: Ref) -> dict[str, Any]:
    with open(ref.key, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(_("results.json does not hold a JSON object"))
    return data


def load_results() -> dict[str, Any] | None:
    """``results/results.json`` as a dict (None if missing). Raises ValueError if unreadable."""
    ref = catalog.results_ref()
    if ref is None:
        return None
    try:
        return _results(ref)
    except json.JSONDecodeError as e:
        raise ValueError(_("{file} is not valid JSON ({error}, line {line}): re-run "
                           "`python -m wae_core.evaluate`").format(file=Path(ref.key).name, error=e.msg,
                                                                   line=e.lineno)) from e
