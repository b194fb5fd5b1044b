"""The caches of the Latent explorer and the memorisation check (app/views/explore.py,
app/views/samples.py): the training set, its LeNet features in a nearest-neighbour index, the
ex-post mixture fitted to Q_Z, class-mean codes. Like :mod:`app.cache`, each only wraps a
:mod:`wae_core` call behind a cache, keyed by a :class:`app.catalog.Ref`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import torch

from app import cache, datasets
from app.catalog import Ref
from wae_core.data.datasets import TensorData, load_mnist
from wae_core.evaluation import expost
from wae_core.evaluation.neighbours import NeighbourIndex
from wae_core.models import latent_ops

NEIGHBOURS_K = 3  # nearest training images shown per sample


@st.cache_resource(show_spinner=False)
def train_set() -> TensorData:
    """The 60,000 MNIST training images (N, 1, 28, 28) in [0, 1] and their labels."""
    return load_mnist("train")


def train_images(indices: np.ndarray | list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(images (..., 1, 28, 28) float32, labels (...)) of training-set items by index (any shape)."""
    ds = train_set()
    idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
    return ds.x[idx.reshape(-1)].reshape(*idx.shape, *ds.x.shape[1:]).numpy(), ds.y[idx].numpy()


# The ex-post mixture of the Samples page is fitted to the codes of this many training images:
# ~2-3 s a model on one thread, against ~15 s for all 60,000 (evaluate's table fits to all of them).
EXPOST_FIT_IMAGES = 10_000


@st.cache_resource(show_spinner=False, max_entries=16)
def latent_gmm(ref: Ref) -> Any:
    """The ex-post Gaussian mixture (``expost.GMM_COMPONENTS`` components, full covariance) fitted
    to Q_Z: the codes of the first ``EXPOST_FIT_IMAGES`` MNIST training images (encoder models)."""
    with torch.inference_mode():
        return expost.fit_latent_gmm(cache.get_model(ref), train_set().x[:EXPOST_FIT_IMAGES],
                                     expost.GMM_COMPONENTS)


@st.cache_data(show_spinner=False, max_entries=64)
def ex_post_samples(ref: Ref, n: int, seed: int) -> np.ndarray:
    """n samples G(z) with z drawn from :func:`latent_gmm` instead of P_Z (same shape as
    :func:`samples`)."""
    with torch.inference_mode():
        return expost.generate_ex_post(cache.get_model(ref), latent_gmm(ref), int(n), int(seed)).numpy()


def features_cache_dir() -> Path:
    """Where the training set's classifier features are kept between server runs (env
    ``WAE_LAB_CACHE_DIR``, default ``~/.cache/wae-lab``)."""
    env = os.environ.get("WAE_LAB_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "wae-lab"


@st.cache_resource(show_spinner=False, max_entries=2)
def neighbour_index(classifier: Ref) -> NeighbourIndex:
    """The classifier's features of every training image in a
    :class:`~wae_core.evaluation.neighbours.NeighbourIndex`, computed once per classifier version and training
    set: 60,000 LeNet passes take 15 s to a minute on one thread (scripts/bench_explore.py), so
    they are also saved under :func:`features_cache_dir` (a later server loads them in well under
    a second) and a page shows a spinner around the first call. ``classifier``:
    ``catalog.classifier_ref()``."""
    ds = train_set()
    tag = hashlib.sha256(f"{classifier.key}|{classifier.version}|{ds.name}|{len(ds)}".encode()).hexdigest()
    path = features_cache_dir() / f"train-features-{tag[:20]}.npy"
    try:
        index = NeighbourIndex.load(path)
        if len(index) == len(ds):
            return index
    except (OSError, ValueError):
        pass  # not there yet, or unreadable: compute it
    with torch.inference_mode():
        index = NeighbourIndex().fit(cache.classifier_at(classifier).embed(ds.x)[0])
    from contextlib import suppress

    with suppress(OSError):  # a read-only home: the in-memory cache still holds it
        index.save(path)
    return index


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=cache.ARRAY_KEYS)
def nearest_training(images: np.ndarray, classifier: Ref, k: int = NEIGHBOURS_K) -> dict[str, np.ndarray]:
    """The k nearest training images of each image (n, 1, 28, 28) in the classifier's feature
    space: {"dist": (n, k) feature distances, "idx": (n, k) training-set indices}, nearest first."""
    with torch.inference_mode():
        feats = cache.classifier_at(classifier).embed(torch.as_tensor(images))[0]
    dist, idx = neighbour_index(classifier).query(feats, int(k))
    return {"dist": dist, "idx": idx}


def decode_live(ref: Ref, z: np.ndarray) -> np.ndarray:
    """G(z) for a few codes, *not* cached: the Latent explorer's sliders make a new code at every
    position, so a cache would only miss, and a miss through ``st.cache_data`` (hashing, copying)
    measured 1.2 ms against 0.7 ms for the decode alone."""
    with torch.inference_mode():
        return cache.get_model(ref).decode(torch.as_tensor(z, dtype=torch.float32)).numpy()


@st.cache_data(show_spinner=False, max_entries=32)
def class_mean_codes(ref: Ref, dataset: str = datasets.DEFAULT) -> np.ndarray:
    """The mean code of the test images of each class of ``dataset`` (:mod:`app.datasets`;
    :func:`wae_core.models.latent_ops.class_means` of the posterior means): (n_classes, z_dim), a row of
    NaN for a class without test images. Needs an encoder."""
    ds, model = cache.test_set(dataset), cache.get_model(ref)
    with torch.inference_mode():
        codes = torch.cat([model.encode(ds.x[i:i + 1000]) for i in range(0, len(ds), 1000)])
    return latent_ops.class_means(codes, ds.y, datasets.get(dataset).n_classes).numpy()


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=cache.ARRAY_KEYS)
def arithmetic(ref: Ref, z: np.ndarray, z_from: np.ndarray, z_to: np.ndarray) -> np.ndarray:
    """Decode :func:`wae_core.models.latent_ops.arithmetic_path`: z + t·(z_to − z_from) for t in
    ``latent_ops.ARITHMETIC_STEPS``. Images (steps, 1, 28, 28)."""
    return cache.decode(ref, latent_ops.arithmetic_path(z, z_from, z_to).numpy())
