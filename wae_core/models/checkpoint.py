"""Checkpoints: one safetensors file holding the weights, optional training state, and JSON
metadata in the safetensors header. Loading never executes code from the file (no pickle).

Writes are atomic: bytes go to a temporary file in the same folder, which is fsync'ed and then
renamed over the target, so a crash leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from wae_core.errors import UserFacingError
from wae_core.models.config import MODEL_KINDS, VERSION, ModelConfig
from wae_core.models.generative import GenerativeModel, build_model

FORMAT = "wae-lab/1"
META_KEY = "wae_lab"
MODEL_PREFIX = "model."
STATE_PREFIX = "train."
MAX_CHECKPOINT_BYTES = 512 * 1024 * 1024
# A WAE Lab header is a few KiB; anything this large is a hostile or foreign file (safetensors
# itself would accept up to 100 MB of JSON before looking at a single tensor).
MAX_HEADER_BYTES = 16 * 2**20



class CheckpointError(UserFacingError, ValueError):
    """Base of every checkpoint problem; its message is meant for users."""


class CorruptCheckpointError(CheckpointError):
    """Not a readable safetensors file: truncated, garbage, pickle, empty..."""


class ForeignCheckpointError(CheckpointError):
    """A valid safetensors file, but not one written by WAE Lab."""


class IncompatibleCheckpointError(CheckpointError):
    """A WAE Lab file whose weights do not fit its config, or are not finite, or the wrong kind."""


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename + fsync of the folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; a checkpoint is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def save(model: GenerativeModel, path: Path | str, meta: dict[str, Any] | None = None,
         train_state: dict[str, torch.Tensor] | None = None) -> None:
    """Save weights (+ optional training state tensors) and metadata, atomically."""
    tensors = {MODEL_PREFIX + k: v.detach().cpu().contiguous()
               for k, v in model.state_dict().items()}
    for k, v in (train_state or {}).items():
        tensors[STATE_PREFIX + k] = v.detach().cpu().contiguous()
    header = {"format": FORMAT, "version": VERSION, "kind": model.kind,
              "config": model.cfg.to_dict(), **(meta or {})}
    write_tensors(path, tensors, header)


def write_tensors(path: Path | str, tensors: dict[str, torch.Tensor], header: dict[str, Any]) -> None:
    """Tensors + a JSON header (under the ``wae_lab`` metadata key), atomically."""
    atomic_write_bytes(path, st_save(tensors, metadata={META_KEY: json.dumps(header)}))


def read(path: Path | str, max_bytes: int = MAX_CHECKPOINT_BYTES, fmt: str = FORMAT
         ) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Parse and validate a file: (metadata, model tensors, training-state tensors)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise CheckpointError(f"{path.name} is {size / 2**20:.0f} MiB, over the "
                              f"{max_bytes / 2**20:.0f} MiB limit for a checkpoint")
    return parse(path.read_bytes(), path.name, fmt)


def parse(data: bytes, name: str = "checkpoint", fmt: str = FORMAT
          ) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Validate checkpoint bytes (an upload, say) without touching the file system."""
    if len(data) < 16:
        raise CorruptCheckpointError(f"{name} is empty or truncated ({len(data)} bytes)")
    # A safetensors file is an 8-byte little-endian header length, then a JSON object.
    if data[8:9] != b"{" and (data[:1] == b"\x80" or data[:2] == b"PK"):
        raise CorruptCheckpointError(
            f"{name} looks like a pickle / torch.save file: WAE Lab only loads safetensors "
            "checkpoints, because unpickling can execute code")
    header_len = int.from_bytes(data[:8], "little")
    if header_len > MAX_HEADER_BYTES:
        raise CorruptCheckpointError(
            f"{name} declares a {header_len / 2**20:,.0f} MiB header, over the "
            f"{MAX_HEADER_BYTES / 2**20:.0f} MiB limit: not a WAE Lab checkpoint")
    try:
        tensors = st_load(data)
        raw_meta = json.loads(data[8:8 + header_len]).get("__metadata__") or {}
    except (SafetensorError, ValueError, OverflowError, UnicodeDecodeError, MemoryError) as e:
        raise CorruptCheckpointError(f"{name} is not a readable safetensors file "
                                     f"(truncated or corrupt): {e}") from e
    if META_KEY not in raw_meta:
        raise ForeignCheckpointError(
            f"{name} is a safetensors file but not a WAE Lab checkpoint (no '{META_KEY}' metadata)")
    try:
        meta = json.loads(raw_meta[META_KEY])
    except json.JSONDecodeError as e:
        raise CorruptCheckpointError(f"{name}: its metadata is not valid JSON") from e
    if not isinstance(meta, dict):
        raise CorruptCheckpointError(f"{name}: its metadata is not a JSON object")
    if meta.get("format") != fmt:
        raise ForeignCheckpointError(
            f"{name} is a {meta.get('format')!r} file, not a {fmt!r} checkpoint")
    model_t = {k[len(MODEL_PREFIX):]: v for k, v in tensors.items() if k.startswith(MODEL_PREFIX)}
    state_t = {k[len(STATE_PREFIX):]: v for k, v in tensors.items() if k.startswith(STATE_PREFIX)}
    return meta, model_t, state_t


def model_from(meta: dict[str, Any], weights: dict[str, torch.Tensor], name: str = "checkpoint",
               expect_kind: str | None = None) -> GenerativeModel:
    """Build the model the metadata describes and load ``weights`` strictly into it."""
    if meta.get("kind") not in MODEL_KINDS:
        raise IncompatibleCheckpointError(f"{name}: unknown model kind {meta.get('kind')!r}")
    if expect_kind is not None and meta["kind"] != expect_kind:
        raise IncompatibleCheckpointError(f"{name} holds a {meta['kind']} model, not a {expect_kind}")
    try:
        cfg = ModelConfig.from_dict(meta["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise IncompatibleCheckpointError(f"{name}: invalid model config: {e}") from e
    if cfg.kind != meta["kind"]:
        raise IncompatibleCheckpointError(f"{name}: config kind {cfg.kind} != {meta['kind']}")
    model = build_model(cfg)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    bad_shape = [k for k in set(expected) & set(weights) if expected[k].shape != weights[k].shape]
    if missing or unexpected or bad_shape:
        raise IncompatibleCheckpointError(
            f"{name}: weights do not match the {cfg.kind} / {cfg.arch} architecture "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]}, wrong shape {bad_shape[:3]})")
    for k, v in weights.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise IncompatibleCheckpointError(f"{name}: tensor {k} contains NaN or inf values")
    model.load_state_dict(weights, strict=True)
    return model


def load(path: Path | str, device: str | torch.device = "cpu",
         expect_kind: str | None = None) -> GenerativeModel:
    """Load a checkpoint into a model in eval mode; ``model.meta`` holds its metadata.

    Raises a :class:`CheckpointError` subclass with a clear message for a missing, corrupt,
    foreign, mismatched or non-finite file.
    """
    meta, weights, _ = read(path)
    model = model_from(meta, weights, Path(path).name, expect_kind)
    model.meta = meta
    return model.to(device).eval()


def load_bytes(data: bytes, name: str = "upload", device: str | torch.device = "cpu",
               max_bytes: int = MAX_CHECKPOINT_BYTES) -> GenerativeModel:
    """Like :func:`load` for an uploaded file's bytes."""
    if len(data) > max_bytes:
        raise CheckpointError(f"{name} is over the {max_bytes / 2**20:.0f} MiB checkpoint limit")
    meta, weights, _ = parse(data, name)
    model = model_from(meta, weights, name)
    model.meta = meta
    return model.to(device).eval()


def read_meta(path: Path | str) -> dict[str, Any]:
    """Only the metadata (still validates the whole file)."""
    return read(path)[0]


def strip_training_state(path: Path | str) -> int:
    """Rewrite a checkpoint without its optimiser/RNG state (for shipping); returns bytes saved."""
    path = Path(path)
    meta, weights, state = read(path, fmt=peek_meta(path).get("format", FORMAT))
    if not state:
        return 0
    before = path.stat().st_size
    write_tensors(path, {MODEL_PREFIX + k: v for k, v in weights.items()}, meta)
    return before - path.stat().st_size


def peek_meta(path: Path | str, max_header: int = MAX_HEADER_BYTES) -> dict[str, Any]:
    """The WAE Lab metadata of a file, reading only its header (fast: for listing many files).
    Unlike :func:`read` it does not validate the tensors."""
    name = Path(path).name
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if not 0 < n <= max_header:
                raise CorruptCheckpointError(f"{name} is not a safetensors file")
            raw = json.loads(f.read(n)).get("__metadata__") or {}
    except (OSError, ValueError, AttributeError) as e:
        raise CorruptCheckpointError(f"{name} cannot be read: {e}") from e
    try:
        meta = json.loads(raw[META_KEY])
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise ForeignCheckpointError(f"{name} is not a WAE Lab file") from e
    if not isinstance(meta, dict):
        raise ForeignCheckpointError(f"{name} is not a WAE Lab file")
    return meta


if __name__ == "__main__":
    import sys

    if len(sys.argv) < 3 or sys.argv[1] != "strip":
        sys.exit("usage: python -m wae_core.models.checkpoint strip FILE...")
    for p in sys.argv[2:]:
        print(f"{p}: {strip_training_state(p) / 2**20:.1f} MiB of training state removed")
