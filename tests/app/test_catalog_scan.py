"""app.catalog lists the checkpoint folders from a cache that follows the files: a header is read
once per file version, and a file added, replaced, removed or corrupted shows at the next listing."""

from __future__ import annotations

import os

import torch

from app import catalog
from wae_core.models import checkpoint
from wae_core.models.config import ModelConfig
from wae_core.models.generative import build_model


def _save(path, kind="wae-mmd", dataset="ring", z_dim=2):
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind=kind, z_dim=z_dim, arch="mlp")).eval()
    checkpoint.save(model, path, {"dataset": dataset})


def _listed(folder):
    return {i.id: (i.kind, i.dataset, i.version) for i in catalog.list_checkpoints(include_uploads=False)
            if i.path is not None and i.path.parent == folder.resolve()}


def test_listing_follows_the_files_and_reads_each_header_once(tmp_path, monkeypatch):
    monkeypatch.setenv("WAE_LAB_CHECKPOINT_DIRS", str(tmp_path))
    reads = []
    real = catalog._read_header
    monkeypatch.setattr(catalog, "_read_header", lambda p: reads.append(p.name) or real(p))
    _save(tmp_path / "a.safetensors")
    assert _listed(tmp_path) == {"a": ("wae-mmd", "ring", catalog.file_version(tmp_path / "a.safetensors"))}
    assert _listed(tmp_path) and _listed(tmp_path)
    assert reads == ["a.safetensors"]  # listed three times, read once

    _save(tmp_path / "b.safetensors", kind="gan")  # added
    assert set(_listed(tmp_path)) == {"a", "b"}
    _save(tmp_path / "a.safetensors", kind="vae", dataset="moons")  # replaced (atomic rename)
    st = (tmp_path / "a.safetensors").stat()
    os.utime(tmp_path / "a.safetensors", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a later mtime
    assert _listed(tmp_path)["a"][:2] == ("vae", "moons")
    (tmp_path / "b.safetensors").write_bytes(b"not a checkpoint")  # overwritten in place: unreadable
    assert set(_listed(tmp_path)) == {"a"}
    (tmp_path / "a.safetensors").unlink()  # removed
    assert _listed(tmp_path) == {}


def test_a_missing_folder_lists_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("WAE_LAB_CHECKPOINT_DIRS", str(tmp_path / "gone"))
    assert catalog.list_checkpoints(include_uploads=False) == []
