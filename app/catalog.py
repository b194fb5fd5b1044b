"""Which models there are: where checkpoints are looked for, the list the picker shows, and the
references (:class:`Ref`) that every cache in :mod:`app.cache` is keyed by.

Where things are looked for (environment variables, read on every call):

* ``WAE_LAB_CHECKPOINT_DIRS``: ``os.pathsep``-separated folders of ``.safetensors`` generative
  checkpoints (default: ``checkpoints`` and ``runs`` under the repo root);
* ``WAE_LAB_CLASSIFIER``: the MNIST LeNet (default ``checkpoints/lenet-mnist.safetensors``), which
  also judges Stacked MNIST channel by channel; ``WAE_LAB_FASHION_CLASSIFIER``: the Fashion-MNIST
  LeNet (default ``checkpoints/lenet-fashion-mnist.safetensors``); see :mod:`app.datasets`;
* ``WAE_LAB_RESULTS``: the evaluation results (default ``results/results.json``);
* ``WAE_LAB_RUNS_DIR``: where the Train-your-own page saves (default: the ``runs`` folder).

Uploaded checkpoints live in the session (``st.session_state["wae_uploads"]``) under the key
``"upload:<sha256 prefix>"``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import streamlit as st

from app import datasets
from wae_core.models import checkpoint as ckpt
from wae_core.models.config import KIND_LABELS, MODEL_KINDS, ModelConfig, is_image_arch
from wae_core.models.generative import MODEL_CLASSES

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT_DIRS = (REPO_ROOT / "checkpoints", REPO_ROOT / "runs")
DEFAULT_CLASSIFIER = REPO_ROOT / "checkpoints" / f"{datasets.MNIST.classifier}.safetensors"
DEFAULT_RESULTS = REPO_ROOT / "results" / "results.json"
RUNS_DIR = REPO_ROOT / "runs"
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


def classifier_path(dataset: str = datasets.DEFAULT) -> Path:
    """Path of the LeNet that judges ``dataset`` (env ``WAE_LAB_CLASSIFIER`` for MNIST and Stacked
    MNIST, ``WAE_LAB_FASHION_CLASSIFIER`` for Fashion-MNIST; see :mod:`app.datasets`)."""
    ds = datasets.get(dataset)
    env = os.environ.get(ds.classifier_env)
    return Path(env).expanduser() if env else REPO_ROOT / "checkpoints" / f"{ds.classifier}.safetensors"


def results_path() -> Path:
    """Path of ``results/results.json`` (env ``WAE_LAB_RESULTS``)."""
    env = os.environ.get("WAE_LAB_RESULTS")
    return Path(env).expanduser() if env else DEFAULT_RESULTS


def runs_dir() -> Path:
    """Where "Train your own" saves: ``WAE_LAB_RUNS_DIR``, else the folder named ``runs`` among
    the checkpoint folders (so new runs show up in the sidebar), else the repo's ``runs``."""
    env = os.environ.get("WAE_LAB_RUNS_DIR")
    if env:
        return Path(env).expanduser()
    dirs = checkpoint_dirs()
    for d in dirs:
        if d.name == "runs":
            return d
    return dirs[-1] if dirs else RUNS_DIR


# --------------------------------------------------------------------------------------------
# References: what every cached function is keyed by
# --------------------------------------------------------------------------------------------
class Ref(NamedTuple):
    """A model (or the classifier, or the results file) and its version: the key of every cache
    in :mod:`app.cache`. ``key`` is a file's absolute path or ``upload:<digest>``; ``version``
    changes whenever what is behind the key changes (a file's mtime and size, an upload's
    digest), so a retrained file is reloaded and everything derived from it recomputed."""

    key: str
    version: str


def file_version(path: Path) -> str:
    """The version of a file (the one place it is defined); "missing" if it does not exist."""
    try:
        return _version(path.stat())
    except OSError:
        return "missing"


def _version(st: os.stat_result) -> str:
    return f"{st.st_mtime_ns}-{st.st_size}"


def file_ref(path: Path) -> Ref | None:
    """The reference of a file, None when it does not exist."""
    return Ref(str(path), file_version(path)) if path.is_file() else None


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
    img_channels: int
    arch: str
    is_image: bool
    source: str  # folder name ("checkpoints", "runs", ...) or "upload"
    path: Path | None
    epochs_done: int | None
    version: str  # changes when the file changes (mtime_ns) / the upload digest

    @property
    def ref(self) -> Ref:
        return Ref(self.key, self.version)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def has_encoder(self) -> bool:
        return MODEL_CLASSES[self.kind].has_encoder


# folder -> (its files' names and versions; what _scan found then). Every page run lists the
# models several times (sidebar, picker, page): reading each header and resolving each path again
# took 40 % of an app process's CPU under the room's load test (py-spy, docs/speed.md).
_SCANS: dict[Path, tuple[tuple, list[tuple[Path, dict[str, Any], str]]]] = {}
_SCANS_LOCK = threading.Lock()


def _scan(folder: Path) -> list[tuple[Path, dict[str, Any], str]]:
    """(resolved path, header metadata, :func:`file_version`) of the readable ``*.safetensors``
    files in ``folder``, sorted by name; headers are read again only when a file's name or version
    changed (one ``os.scandir``, no file opened, when nothing did)."""
    try:
        with os.scandir(folder) as it:
            entries = sorted((e for e in it if e.name.endswith(".safetensors") and e.is_file()),
                             key=lambda e: e.name)
            signature = tuple((e.name, _version(e.stat())) for e in entries)
    except OSError:  # missing, or not a folder
        return []
    with _SCANS_LOCK:
        cached = _SCANS.get(folder)
    if cached is not None and cached[0] == signature:
        return cached[1]
    files = []
    for name, version in signature:
        path = folder / name
        meta = _read_header(path)
        if meta is not None:
            files.append((path.resolve(), meta, version))
    with _SCANS_LOCK:
        _SCANS[folder] = (signature, files)
    return files


def _read_header(path: Path) -> dict[str, Any] | None:
    """The WAE Lab metadata from a file's header only (fast), or None for any unreadable file."""
    try:
        return ckpt.peek_meta(path)
    except ckpt.CheckpointError:
        return None


def info_from_meta(meta: dict[str, Any], *, key: str, id_: str, name: str, source: str,
                    path: Path | None, version: str) -> CheckpointInfo | None:
    if meta.get("format") != ckpt.FORMAT or meta.get("kind") not in KIND_LABELS:
        return None  # the classifier, foreign files...
    cfg = meta.get("config") or {}
    arch = str(cfg.get("arch", ModelConfig.arch))
    kind = str(meta["kind"])
    epochs = meta.get("epochs_done")
    return CheckpointInfo(
        key=key, id=id_, label=f"{KIND_LABELS[kind]} · {name}", kind=kind,
        dataset=str(meta.get("dataset", "?")), z_dim=int(cfg.get("z_dim", ModelConfig.z_dim)),
        img_channels=int(cfg.get("img_channels", ModelConfig.img_channels)),
        arch=arch, is_image=is_image_arch(arch), source=source, path=path,
        epochs_done=int(epochs) if isinstance(epochs, int | float) else None, version=version)


def _sort_key(info: CheckpointInfo) -> tuple:
    kind_rank = MODEL_KINDS.index(info.kind)
    return (info.source == "upload", info.dataset != "mnist", info.z_dim == 2, kind_rank, info.id)


def fits(info: CheckpointInfo, data: str) -> bool:
    """Whether an image model is shown with the app's data set ``data`` (:func:`app.datasets.fits`:
    its own data set, right number of channels)."""
    return info.is_image and datasets.fits(info.dataset, info.img_channels, datasets.get(data))


def list_checkpoints(*, image: bool | None = None, dataset: str | None = None,
                     kinds: tuple[str, ...] | None = None, include_uploads: bool = True,
                     for_data: str | None = None) -> list[CheckpointInfo]:
    """Generative checkpoints found in :func:`checkpoint_dirs` (plus this session's uploads).

    Filters: ``image`` (True: image models, False: 2-D toy models), ``dataset`` (e.g. "mnist",
    "ring"), ``kinds``, ``for_data`` (the image models shown with that data set of the app:
    :func:`fits`). Skips the classifier and anything that is not a WAE Lab model checkpoint.
    Sorted: files before uploads, MNIST first, then VAE, WAE-MMD, WAE-GAN, GAN, then name.
    Only headers are read, so listing is cheap; loading may still fail (see :func:`get_model`).
    """
    found: list[CheckpointInfo] = []
    seen_ids: set[str] = set()
    for folder in checkpoint_dirs():
        for path, meta, version in _scan(folder):
            id_ = path.stem if path.stem not in seen_ids else f"{folder.name}/{path.stem}"
            info = info_from_meta(meta, key=str(path), id_=id_, name=id_, source=folder.name,
                                  path=path, version=version)
            if info is not None:
                seen_ids.add(id_)
                found.append(info)
    if include_uploads:
        found.extend(u["info"] for u in uploads().values())
    out = [i for i in found
           if (image is None or i.is_image == image)
           and (dataset is None or i.dataset == dataset)
           and (kinds is None or i.kind in kinds)
           and (for_data is None or fits(i, for_data))]
    return sorted(out, key=_sort_key)


def checkpoint_info(key: str) -> CheckpointInfo | None:
    """The :class:`CheckpointInfo` of a model key (None if it vanished)."""
    for info in list_checkpoints():
        if info.key == key:
            return info
    return None


def default_model_keys(infos: list[CheckpointInfo], data: str = datasets.DEFAULT) -> list[str]:
    """The default comparison for the app's data set ``data``: its shipped
    ``<prefix>-{vae,wae-mmd,wae-gan,gan}`` models in that order (``mnist-*``, ``fashion-*``,
    ``stacked-*``); for a kind whose shipped file is missing, the first image model of that kind
    trained on that data set with z_dim != 2."""
    keys = []
    ds = datasets.get(data)
    for kind, stem in zip(MODEL_KINDS, ds.shipped):
        cands = [i for i in infos if i.kind == kind and i.source != "upload" and fits(i, ds.name)]
        exact = [i for i in cands if i.id == stem]
        other = [i for i in cands if i.z_dim != 2 and datasets.home(i.dataset) == ds.name]
        pick = (exact or other)[:1]
        keys.extend(i.key for i in pick)
    return keys


# --------------------------------------------------------------------------------------------
# Uploaded checkpoints (kept in the session)
# --------------------------------------------------------------------------------------------
def uploads() -> dict[str, dict[str, Any]]:
    """This session's uploaded checkpoints: key -> {"name", "data", "info"} (see
    :func:`app.cache.add_upload`)."""
    try:
        return st.session_state.setdefault(UPLOADS_STATE_KEY, {})
    except Exception:  # outside a Streamlit run (bare import in tests)
        return {}


def shipped(stem: str) -> CheckpointInfo | None:
    """The checkpoint file named ``<stem>.safetensors`` in the checkpoint folders, if any."""
    for info in list_checkpoints(include_uploads=False):
        if info.id == stem or (info.path is not None and info.path.stem == stem):
            return info
    return None


def classifier_ref(dataset: str = datasets.DEFAULT) -> Ref | None:
    """The reference of the classifier that judges ``dataset``, None when its file does not exist."""
    return file_ref(classifier_path(dataset))


def results_ref() -> Ref | None:
    return file_ref(results_path())
