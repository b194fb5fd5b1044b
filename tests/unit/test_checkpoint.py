"""Checkpoints: round trip, typed errors for bad files, atomic writes."""

import json
import pickle

import pytest
import torch
from safetensors.torch import save as st_save

from wae_core import ModelConfig, build_model
from wae_core import checkpoint as C


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model(ModelConfig(kind="wae-gan")).eval()


def test_round_trip_identical_outputs(model, tmp_path):
    p = tmp_path / "m.safetensors"
    C.save(model, p, {"dataset": "mnist", "note": "x"})
    loaded = C.load(p)
    assert loaded.kind == "wae-gan" and loaded.meta["dataset"] == "mnist"
    x = torch.rand(5, 1, 28, 28)
    z = torch.randn(5, 8)
    with torch.no_grad():
        assert torch.equal(model.encode(x), loaded.encode(x))
        assert torch.equal(model.decode(z), loaded.decode(z))
    assert C.read_meta(p)["config"]["z_dim"] == 8


def _bad_files(model, tmp_path):
    good = tmp_path / "good.safetensors"
    C.save(model, good)
    data = good.read_bytes()
    files = {
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "garbage": b"\x00\x01not a checkpoint at all" * 10,
        "pickle": pickle.dumps({"weights": [1, 2, 3]}),
        "huge_header": (10**12).to_bytes(8, "little") + b"{}",
    }
    buf = tmp_path / "t.pt"
    torch.save(model.state_dict(), buf)
    files["torch_save"] = buf.read_bytes()
    return files


@pytest.mark.parametrize("name", ["empty", "truncated", "garbage", "pickle", "huge_header",
                                  "torch_save"])
def test_corrupt_files_raise_typed_error(model, tmp_path, name):
    data = _bad_files(model, tmp_path)[name]
    p = tmp_path / f"{name}.safetensors"
    p.write_bytes(data)
    with pytest.raises(C.CorruptCheckpointError):
        C.load(p)
    with pytest.raises(C.CorruptCheckpointError):
        C.load_bytes(data, name)


def test_foreign_and_mismatched_files(model, tmp_path):
    foreign = tmp_path / "foreign.safetensors"
    foreign.write_bytes(st_save({"w": torch.zeros(3)}, metadata={"framework": "other"}))
    with pytest.raises(C.ForeignCheckpointError):
        C.load(foreign)
    # right format, wrong architecture: weights of a VAE under a WAE-GAN header
    vae = build_model(ModelConfig(kind="vae"))
    tensors = {C.MODEL_PREFIX + k: v.contiguous() for k, v in vae.state_dict().items()}
    header = {"format": C.FORMAT, "kind": "wae-gan", "config": model.cfg.to_dict()}
    mism = tmp_path / "mism.safetensors"
    C.write_tensors(mism, tensors, header)
    with pytest.raises(C.IncompatibleCheckpointError, match="do not match"):
        C.load(mism)
    ok = tmp_path / "ok.safetensors"
    C.save(model, ok)
    with pytest.raises(C.IncompatibleCheckpointError, match="not a vae"):
        C.load(ok, expect_kind="vae")
    bad_kind = tmp_path / "kind.safetensors"
    C.write_tensors(bad_kind, tensors, {**header, "kind": "diffusion"})
    with pytest.raises(C.IncompatibleCheckpointError, match="unknown model kind"):
        C.load(bad_kind)


def test_nan_weights_rejected(model, tmp_path):
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    p = tmp_path / "nan.safetensors"
    C.save(model, p)
    with pytest.raises(C.IncompatibleCheckpointError, match="NaN"):
        C.load(p)


def test_metadata_is_json_in_header(model, tmp_path):
    p = tmp_path / "m.safetensors"
    C.save(model, p, {"command": "python -m wae_core.train --model wae-gan"})
    raw = p.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    meta = json.loads(json.loads(raw[8:8 + n])["__metadata__"][C.META_KEY])
    assert meta["format"] == C.FORMAT and meta["command"].startswith("python -m")


def test_interrupted_write_keeps_previous_file(model, tmp_path, monkeypatch):
    p = tmp_path / "m.safetensors"
    C.save(model, p, {"generation": 1})
    before = p.read_bytes()

    def crash(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(C.os, "replace", crash)
    with pytest.raises(OSError):
        C.save(model, p, {"generation": 2})
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["m.safetensors"]  # no temp file left


def test_size_limit(model, tmp_path):
    p = tmp_path / "m.safetensors"
    C.save(model, p)
    with pytest.raises(C.CheckpointError, match="limit"):
        C.read(p, max_bytes=1000)
    with pytest.raises(C.CheckpointError, match="not found"):
        C.load(tmp_path / "missing.safetensors")


def test_strip_training_state_keeps_a_loadable_model(model, tmp_path):
    from wae_core import TrainConfig, Trainer
    from wae_core.data import load_mnist

    p = tmp_path / "run.safetensors"
    t = Trainer(model, load_mnist("test").subset(100), TrainConfig(epochs=1, batch_size=50), p)
    t.fit()
    assert C.read(p)[2]  # optimiser / RNG state present
    assert C.strip_training_state(p) > 0
    meta, _, state = C.read(p)
    assert not state and meta["epochs_done"] == 1
    assert C.peek_meta(p)["kind"] == "wae-gan"
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        # the trainer keeps the model channels-last on the CPU: same weights, other summation order
        assert torch.allclose(C.load(p).encode(x), t.model.eval().encode(x), atol=1e-6)
    with pytest.raises(C.ForeignCheckpointError):
        foreign = tmp_path / "f.safetensors"
        foreign.write_bytes(st_save({"w": torch.zeros(1)}))
        C.peek_meta(foreign)
