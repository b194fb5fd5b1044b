"""Cached access to checkpoints, the classifier, the MNIST test set and derived arrays.

Every function here only *wraps* calls into :mod:`wae_core` (and scikit-learn / openTSNE for the
2-D projections) behind Streamlit's caches; no maths is re-derived in the app.

Models are referred to by a **model key** (a string):

* a checkpoint file: its absolute path (``str(Path)``);
* an uploaded checkpoint: ``"upload:<sha256 prefix>"``; its bytes live in the session
  (``st.session_state["wae_uploads"]``, see :func:`add_upload`).

Models are cached with ``st.cache_resource`` keyed by path + modification time, so a retrained
file is reloaded; arrays (samples, codes, projections) with ``st.cache_data`` keyed by the model
key and its *version* (mtime or digest), so they are recomputed when the file changes.

Where things are looked for (environment variables, read on every call):

* ``WAE_LAB_CHECKPOINT_DIRS``: ``os.pathsep``-separated folders of ``.safetensors`` generative
  checkpoints (default: ``checkpoints`` and ``runs`` under the repo root);
* ``WAE_LAB_CLASSIFIER``: the LeNet classifier (default ``checkpoints/lenet-mnist.safetensors``);
* ``WAE_LAB_RESULTS``: the evaluation results (default ``results/results.json``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import torch

from wae_core import checkpoint as ckpt
from wae_core import metrics
from wae_core.classifier import LeNet
from wae_core.data import TensorData, load_mnist
from wae_core.models import GenerativeModel, interpolate_codes

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT_DIRS = (REPO_ROOT / "checkpoints", REPO_ROOT / "runs")
DEFAULT_CLASSIFIER = REPO_ROOT / "checkpoints" / "lenet-mnist.safetensors"
DEFAULT_RESULTS = REPO_ROOT / "results" / "results.json"
RUNS_DIR = REPO_ROOT / "runs"

KIND_ORDER = ("vae", "wae-mmd", "wae-gan", "gan")
KIND_LABELS = {"vae": "VAE", "wae-mmd": "WAE-MMD", "wae-gan": "WAE-GAN", "gan": "GAN"}
# The four shipped MNIST models, in the deck's order (default selection of the picker).
SHIPPED_MNIST = ("mnist-vae", "mnist-wae-mmd", "mnist-wae-gan", "mnist-gan")
UPLOAD_PREFIX = "upload:"
UPLOADS_STATE_KEY = "wae_uploads"


# --------------------------------------------------------------------------------------------
# Locations
# --------------------------------------------------------------------------------------------
def checkpoint_dirs() -> list[Path]:
    """Folders searched for generative checkpoints (env ``WAE_LAB_CHECKPOINT_DIRS``)."""
    env = os.environ.get("WAE_LAB_CHECKPOINT_DIRS")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    return list(DEFAULT_CHECKPOINT_DIRS)


def classifier_path() -> Path:
    """Path of the LeNet classifier (env ``WAE_LAB_CLASSIFIER``)."""
    env = os.environ.get("WAE_LAB_CLASSIFIER")
    return Path(env).expanduser() if env else DEFAULT_CLASSIFIER


def results_path() -> Path:
    """Path of ``results/results.json`` (env ``WAE_LAB_RESULTS``)."""
    env = os.environ.get("WAE_LAB_RESULTS")
    return Path(env).expanduser() if env else DEFAULT_RESULTS


# --------------------------------------------------------------------------------------------
# Listing checkpoints
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckpointInfo:
    """What the picker needs to know about one generative checkpoint (file or upload).

    ``key`` identifies the model for every other function here; ``id`` is a short name for URLs
    (the file stem, e.g. ``mnist-vae``); ``label`` is what users see, e.g.
    ``"WAE-MMD · mnist-wae-mmd"`` (kind · file stem).
    """

    key: str
    id: str
    label: str
    kind: str
    dataset: str
    z_dim: int
    arch: str
    is_image: bool
    source: str  # folder name ("checkpoints", "runs", ...) or "upload"
    path: Path | None
    epochs_done: int | None
    version: str  # changes when the file changes (mtime_ns) / the upload digest

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def has_encoder(self) -> bool:
        return self.kind != "gan"


def _read_header(path: Path) -> dict[str, Any] | None:
    """The WAE Lab metadata from a file's header only (fast), or None for any unreadable file."""
    try:
        return ckpt.peek_meta(path)
    except ckpt.CheckpointError:
        return None


def _info_from_meta(meta: dict[str, Any], *, key: str, id_: str, name: str, source: str,
                    path: Path | None, version: str) -> CheckpointInfo | None:
    if meta.get("format") != ckpt.FORMAT or meta.get("kind") not in KIND_LABELS:
        return None  # the classifier, foreign files...
    cfg = meta.get("config") or {}
    arch = str(cfg.get("arch", "small"))
    kind = str(meta["kind"])
    epochs = meta.get("epochs_done")
    return CheckpointInfo(
        key=key, id=id_, label=f"{KIND_LABELS[kind]} · {name}", kind=kind,
        dataset=str(meta.get("dataset", "?")), z_dim=int(cfg.get("z_dim", 8)), arch=arch,
        is_image=arch != "mlp", source=source, path=path,
        epochs_done=int(epochs) if isinstance(epochs, int | float) else None, version=version)


def _sort_key(info: CheckpointInfo) -> tuple:
    kind_rank = KIND_ORDER.index(info.kind) if info.kind in KIND_ORDER else 99
    return (info.source == "upload", info.dataset != "mnist", info.z_dim == 2, kind_rank, info.id)


def list_checkpoints(*, image: bool | None = None, dataset: str | None = None,
                     kinds: tuple[str, ...] | None = None,
                     include_uploads: bool = True) -> list[CheckpointInfo]:
    """Generative checkpoints found in :func:`checkpoint_dirs` (plus this session's uploads).

    Filters: ``image`` (True: image models, False: 2-D toy models), ``dataset`` (e.g. "mnist",
    "ring"), ``kinds``. Skips the classifier and anything that is not a WAE Lab model checkpoint.
    Sorted: files before uploads, MNIST first, then VAE, WAE-MMD, WAE-GAN, GAN, then name.
    Only headers are read, so listing is cheap; loading may still fail (see :func:`get_model`).
    """
    found: list[CheckpointInfo] = []
    seen_ids: set[str] = set()
    for folder in checkpoint_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.safetensors")):
            try:
                stat = path.stat()
            except OSError:
                continue
            meta = _read_header(path)
            if meta is None:
                continue
            id_ = path.stem if path.stem not in seen_ids else f"{folder.name}/{path.stem}"
            info = _info_from_meta(meta, key=str(path.resolve()), id_=id_, name=id_,
                                   source=folder.name, path=path.resolve(),
                                   version=f"{stat.st_mtime_ns}-{stat.st_size}")
            if info is not None:
                seen_ids.add(id_)
                found.append(info)
    if include_uploads:
        found.extend(u["info"] for u in _uploads().values())
    out = [i for i in found
           if (image is None or i.is_image == image)
           and (dataset is None or i.dataset == dataset)
           and (kinds is None or i.kind in kinds)]
    return sorted(out, key=_sort_key)


def checkpoint_info(key: str) -> CheckpointInfo | None:
    """The :class:`CheckpointInfo` of a model key (None if it vanished)."""
    for info in list_checkpoints():
        if info.key == key:
            return info
    return None


def default_model_keys(infos: list[CheckpointInfo]) -> list[str]:
    """The default comparison: the shipped ``mnist-{vae,wae-mmd,wae-gan,gan}`` models in that
    order; for a kind whose shipped file is missing, the first MNIST image model of that kind
    with z_dim != 2."""
    keys = []
    for kind, stem in zip(KIND_ORDER, SHIPPED_MNIST):
        cands = [i for i in infos if i.kind == kind and i.is_image and i.source != "upload"]
        exact = [i for i in cands if i.id == stem]
        other = [i for i in cands if i.z_dim != 2 and i.dataset == "mnist"]
        pick = (exact or other)[:1]
        keys.extend(i.key for i in pick)
    return keys


# --------------------------------------------------------------------------------------------
# Uploaded checkpoints (kept in the session)
# --------------------------------------------------------------------------------------------
def _uploads() -> dict[str, dict[str, Any]]:
    try:
        return st.session_state.setdefault(UPLOADS_STATE_KEY, {})
    except Exception:  # outside a Streamlit run (bare import in tests)
        return {}


def add_upload(name: str, data: bytes) -> CheckpointInfo:
    """Validate an uploaded checkpoint with :func:`wae_core.checkpoint.load_bytes` and keep it
    in the session; returns its info. Raises :class:`wae_core.checkpoint.CheckpointError` with a
    user-readable message (foreign, truncated, pickle, NaN...)."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    key = UPLOAD_PREFIX + digest
    uploads = _uploads()
    if key in uploads:
        return uploads[key]["info"]
    model = _load_upload(digest, name, data)
    info = _info_from_meta(model.meta, key=key, id_=f"upload-{Path(name).stem}",
                           name=f"{Path(name).stem} (uploaded)", source="upload", path=None,
                           version=digest)
    if info is None:  # load_bytes accepted it, so this should not happen
        raise ckpt.CheckpointError(f"{name}: not a WAE Lab generative model")
    uploads[key] = {"name": name, "data": data, "info": info}
    return info


@st.cache_resource(show_spinner=False, max_entries=16)
def _load_upload(digest: str, name: str, _data: bytes) -> GenerativeModel:
    return ckpt.load_bytes(_data, name)


# --------------------------------------------------------------------------------------------
# Resources: models, classifier, test set
# --------------------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=32)
def _load_file(path: str, version: str) -> GenerativeModel:
    return ckpt.load(path)


def model_version(key: str) -> str:
    """A string that changes when the model behind ``key`` changes."""
    if key.startswith(UPLOAD_PREFIX):
        return key[len(UPLOAD_PREFIX):]
    try:
        s = Path(key).stat()
    except OSError as e:
        raise ckpt.CheckpointError(f"checkpoint not found: {Path(key).name}") from e
    return f"{s.st_mtime_ns}-{s.st_size}"


def get_model(key: str) -> GenerativeModel:
    """The model (eval mode, CPU) for a model key; cached, reloaded when the file changes.
    Raises :class:`wae_core.checkpoint.CheckpointError` with a user-readable message."""
    if key.startswith(UPLOAD_PREFIX):
        up = _uploads().get(key)
        if up is None:
            raise ckpt.CheckpointError("this uploaded checkpoint is no longer in the session: "
                                       "upload it again")
        return _load_upload(key[len(UPLOAD_PREFIX):], up["name"], up["data"])
    return _load_file(key, model_version(key))


@st.cache_resource(show_spinner=False, max_entries=4)
def _load_classifier(path: str, version: str) -> LeNet:
    from wae_core.classifier import load_classifier as _load

    return _load(path)


def load_classifier() -> LeNet | None:
    """The LeNet classifier, or None when its file does not exist. A broken file raises
    :class:`wae_core.checkpoint.CheckpointError`. See ``components.classifier_or_info``."""
    path = classifier_path()
    if not path.is_file():
        return None
    s = path.stat()
    return _load_classifier(str(path), f"{s.st_mtime_ns}-{s.st_size}")


@st.cache_resource(show_spinner="Loading the MNIST test set…")
def test_set() -> TensorData:
    """The 10,000 MNIST test images (N, 1, 28, 28) in [0, 1] and their labels."""
    return load_mnist("test")


def test_images(indices: tuple[int, ...] | list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 1, 28, 28) float32, labels (n,)) of test-set items by index."""
    ds = test_set()
    idx = torch.as_tensor(list(indices), dtype=torch.long)
    return ds.x[idx].numpy(), ds.y[idx].numpy()


def random_test_indices(n: int, seed: int) -> list[int]:
    """n distinct random test-set indices, reproducible from ``seed``."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randperm(len(test_set()), generator=g)[:n].tolist()


# One torch thread per process by default: Streamlit runs sessions and the live-training workers
# as threads of one process, and oversubscribed OpenMP teams were measured ~50x slower on 2 cores.
APP_THREADS = max(1, int(os.environ.get("WAE_LAB_THREADS", "1")))


def warm() -> None:
    """Fill the caches every page starts from, outside any session (``app/serve.py`` runs this in
    a thread while the server starts): the MNIST test set, the classifier and every listed
    checkpoint, each run once on a small batch (the CPU's convolution kernels are
    set up on first use)."""
    torch.set_num_threads(APP_THREADS)
    x = torch.as_tensor(test_images(random_test_indices(100, 0))[0])
    net = load_classifier()
    with torch.inference_mode():
        if net is not None:
            net.embed(x)
        for info in list_checkpoints(include_uploads=False):
            model = get_model(info.key)
            model.sample(8)
            if info.has_encoder and info.is_image:
                model.encode(x)


# --------------------------------------------------------------------------------------------
# Cached arrays (numpy in, numpy out)
# --------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=64)
def _samples(key: str, version: str, n: int, seed: int) -> np.ndarray:
    with torch.inference_mode():
        return metrics.generate(get_model(key), n, seed).numpy()


def samples(key: str, n: int, seed: int) -> np.ndarray:
    """n samples of P_G: decoded draws of P_Z, via :func:`wae_core.metrics.generate`.

    The prior draws depend only on (seed, z_dim, sigma_z), so models with the same z_dim decode
    the *same* z for a given seed. Images (n, 1, 28, 28) in [0, 1], or points (n, 2)."""
    return _samples(key, model_version(key), int(n), int(seed))


def prior_codes(z_dim: int, n: int, seed: int, sigma_z: float = 1.0) -> np.ndarray:
    """n draws of P_Z = N(0, sigma_z^2 I) with the generator ``generate`` uses (same seed,
    same z)."""
    g = torch.Generator().manual_seed(int(seed))
    return (torch.randn(n, z_dim, generator=g) * sigma_z).numpy()


@st.cache_data(show_spinner=False, max_entries=64)
def _decode(key: str, version: str, z: np.ndarray) -> np.ndarray:
    model = get_model(key)
    with torch.inference_mode():
        return model.decode(torch.as_tensor(z, dtype=torch.float32)).numpy()


def decode(key: str, z: np.ndarray) -> np.ndarray:
    """G(z) for codes z (n, z_dim)."""
    return _decode(key, model_version(key), np.ascontiguousarray(z, dtype=np.float32))


@st.cache_data(show_spinner=False, max_entries=64)
def _reconstruct(key: str, version: str, x: np.ndarray) -> np.ndarray:
    model = get_model(key)
    with torch.inference_mode():
        return model.reconstruct(torch.as_tensor(x, dtype=torch.float32)).numpy()


def reconstruct(key: str, x: np.ndarray) -> np.ndarray:
    """G(E(x)) for images x (n, 1, 28, 28). Check ``info.has_encoder`` first (the GAN's
    ``encode`` raises :class:`wae_core.models.NoEncoderError`)."""
    return _reconstruct(key, model_version(key), np.ascontiguousarray(x, dtype=np.float32))


@st.cache_data(show_spinner=False, max_entries=64)
def _encode(key: str, version: str, x: np.ndarray, draw: bool, seed: int) -> np.ndarray:
    model = get_model(key)
    with torch.inference_mode():
        xt = torch.as_tensor(x, dtype=torch.float32)
        if not draw:
            return model.encode(xt).numpy()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            return model.encode_sample(xt).numpy()


def encode(key: str, x: np.ndarray, *, draw: bool = False, seed: int = 0) -> np.ndarray:
    """Codes of images x: the posterior mean (``draw=False``) or one draw of Q(Z|X=x)
    (``draw=True``; for a VAE the reparameterised sample; codes of a data batch drawn this way
    are a sample of the aggregate Q_Z)."""
    return _encode(key, model_version(key), np.ascontiguousarray(x, dtype=np.float32),
                   bool(draw), int(seed))


@st.cache_data(show_spinner=False, max_entries=64)
def _interpolate(key: str, version: str, za: np.ndarray, zb: np.ndarray, steps: int,
                 mode: str) -> np.ndarray:
    path = interpolate_codes(torch.as_tensor(za, dtype=torch.float32).reshape(-1),
                             torch.as_tensor(zb, dtype=torch.float32).reshape(-1), steps, mode)
    return _decode(key, version, path.numpy())


def interpolate(key: str, za: np.ndarray, zb: np.ndarray, steps: int, mode: str = "linear") -> np.ndarray:
    """Decode the path of ``steps`` codes from ``za`` to ``zb`` (linear or slerp, see
    :func:`wae_core.models.interpolate_codes`): images (steps, 1, 28, 28)."""
    return _interpolate(key, model_version(key), np.ascontiguousarray(za, np.float32),
                        np.ascontiguousarray(zb, np.float32), int(steps), mode)


def grid_walk(key: str, n: int, extent: float = 3.0) -> np.ndarray:
    """For a z_dim = 2 model: decode an n × n grid over [-extent, extent]², row-major with z₂
    decreasing down the rows (top = +extent) and z₁ increasing along a row. (n², 1, 28, 28)."""
    v = np.linspace(-extent, extent, n, dtype=np.float32)
    z1, z2 = np.meshgrid(v, v[::-1])
    return decode(key, np.stack([z1.ravel(), z2.ravel()], 1))


@st.cache_data(show_spinner=False, max_entries=32)
def _latent_mmd(key: str, version: str, n: int, seed: int) -> float:
    ds = test_set()
    idx = random_test_indices(n, seed)
    return metrics.latent_mmd(get_model(key), ds.x[idx], batch_size=n, seed=seed)


def latent_mmd(key: str, n: int, seed: int) -> float:
    """MMD(Q_Z, P_Z) of n random test images (:func:`wae_core.metrics.latent_mmd`, one batch
    of n); NaN without an encoder."""
    return _latent_mmd(key, model_version(key), int(n), int(seed))


def sharpness(images: np.ndarray) -> float:
    """:func:`wae_core.metrics.sharpness` of images (n, 1, 28, 28)."""
    return metrics.sharpness(torch.as_tensor(images))


def mse_per_image(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean squared error per image (mean over pixels), as in
    :func:`wae_core.metrics.reconstruction_mse`."""
    return ((np.asarray(x, np.float64) - np.asarray(y, np.float64)) ** 2).reshape(len(x), -1).mean(1)


# --------------------------------------------------------------------------------------------
# Latent maps: Q_Z vs P_Z projected to 2-D
# --------------------------------------------------------------------------------------------
PROJECTIONS = ("PCA", "t-SNE")
TSNE_JOBS = min(2, os.cpu_count() or 1)


class LatentMap:
    """Codes of test images (Q_Z) and prior draws (P_Z) of one model, in 2-D.

    ``codes`` / ``prior`` are the raw latent vectors; ``codes_xy`` / ``prior_xy`` their 2-D
    positions (raw plane for z_dim = 2, else PCA or t-SNE fitted on codes ∪ prior);
    ``labels`` / ``indices`` the digit class and test-set index of each code.
    :meth:`place` puts new codes (an uploaded digit) on the same map.
    """

    def __init__(self, codes: np.ndarray, prior: np.ndarray, labels: np.ndarray,
                 indices: np.ndarray, method: str, seed: int) -> None:
        self.codes, self.prior, self.labels, self.indices = codes, prior, labels, indices
        self.z_dim = codes.shape[1]
        self.method = "raw" if self.z_dim == 2 else method
        both = np.concatenate([codes, prior]).astype(np.float64)
        self._projector: Any = None
        if self.method == "raw":
            xy = both
        elif self.method == "PCA":
            from sklearn.decomposition import PCA

            self._projector = PCA(n_components=2, random_state=seed).fit(both)
            xy = self._projector.transform(both)
        elif self.method == "t-SNE":
            from openTSNE import TSNE

            # Barnes-Hut on both cores (openTSNE's FFT variant is 3x slower at these sizes here),
            # exact neighbours (faster than Annoy below ~5,000 points), theta 0.8 and 150 + 300
            # iterations instead of 250 + 500: for 1,000 codes + 1,000 prior draws the fit drops
            # from 4.7 s (openTSNE's defaults but BH) to 2.1 s, final KL divergence within 1 %.
            tsne = TSNE(n_components=2, perplexity=30, negative_gradient_method="bh", theta=0.8,
                        neighbors="exact", n_jobs=TSNE_JOBS, early_exaggeration_iter=150, n_iter=300,
                        random_state=seed, verbose=False)
            self._projector = tsne.fit(both)
            xy = np.asarray(self._projector)
        else:
            raise ValueError(f"unknown projection {method!r}; use one of {PROJECTIONS}")
        n = len(codes)
        self.codes_xy, self.prior_xy = np.asarray(xy[:n]), np.asarray(xy[n:])

    def place(self, new_codes: np.ndarray) -> np.ndarray:
        """2-D positions of new codes (k, z_dim) on this map."""
        z = np.asarray(new_codes, dtype=np.float64).reshape(-1, self.z_dim)
        if self.method == "raw":
            return z
        return np.asarray(self._projector.transform(z))

    @property
    def axis_names(self) -> tuple[str, str]:
        return {"raw": ("z₁", "z₂"), "PCA": ("PC 1", "PC 2")}.get(self.method, ("t-SNE 1", "t-SNE 2"))


@st.cache_resource(show_spinner=False, max_entries=24)
def _latent_map(key: str, version: str, n: int, seed: int, method: str, draw: bool) -> LatentMap:
    idx = random_test_indices(n, seed)
    x, y = test_images(idx)
    codes = encode(key, x, draw=draw, seed=seed)
    model = get_model(key)
    prior = prior_codes(model.cfg.z_dim, n, seed + 1, model.cfg.sigma_z)
    return LatentMap(codes, prior, y, np.asarray(idx), method, seed)


def latent_map(key: str, n: int, seed: int, method: str = "PCA", draw: bool = True) -> LatentMap:
    """The cached :class:`LatentMap` of n random test images (seeded) for one model with an
    encoder. A t-SNE takes seconds (scripts/bench_app.py): show a spinner around the first call.
    ``draw``: codes are draws of Q(Z|X) (the aggregate Q_Z) rather than posterior means."""
    return _latent_map(key, model_version(key), int(n), int(seed), method, bool(draw))


# --------------------------------------------------------------------------------------------
# Results file
# --------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=4)
def _results(path: str, version: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError("results.json does not hold a JSON object")
    return data


def load_results() -> dict[str, Any] | None:
    """``results/results.json`` as a dict (None if missing). Raises ValueError if unreadable."""
    path = results_path()
    if not path.is_file():
        return None
    s = path.stat()
    try:
        return _results(str(path), f"{s.st_mtime_ns}-{s.st_size}")
    except json.JSONDecodeError as e:
        raise ValueError(f"{path.name} is not valid JSON ({e.msg}, line {e.lineno}): "
                         "re-run `python -m wae_core.evaluate`") from e


def is_missing(v: Any) -> bool:
    """True for None / NaN / non-numbers: shown as "—"."""
    if v is None:
        return True
    if isinstance(v, bool):
        return False
    if isinstance(v, int | float):
        return isinstance(v, float) and not math.isfinite(v)
    return False
