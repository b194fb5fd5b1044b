"""Checkpoints: round trip, typed errors for bad files, atomic writes."""

import json
import pickle

import pytest
import torch
from safetensors.torch import save as st_save

from wae_core import ModelConfig, build_model
from wae_core.models import checkpoint as C


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


def _header_blob(header: bytes) -> bytes:
    """A safetensors prefix: 8-byte little-endian length, then the header bytes themselves."""
    return len(header).to_bytes(8, "little") + header


def _bad_files(model, tmp_path):
    good = tmp_path / "good.safetensors"
    C.save(model, good)
    data = good.read_bytes()
    files = {
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "garbage": b"\x00\x01not a checkpoint at all" * 10,
        "pickle": pickle.dumps({"weights": [1, 2, 3]}),
        # claims a terabyte of header but holds two bytes
        "huge_header": (10**12).to_bytes(8, "little") + b"{}",
        # a header that is really there, valid JSON, but over MAX_HEADER_BYTES: the size check
        "over_limit_header": _header_blob(b" " * (C.MAX_HEADER_BYTES + 1) + b"{}"),
        # valid JSON whose tensor offsets point past the end of the data
        "lying_offsets": _header_blob(json.dumps({
            "w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]},
            "__metadata__": {C.META_KEY: json.dumps({"format": C.FORMAT})}}).encode()) + b"\0" * 16,
        # offsets that overlap one another
        "overlapping_offsets": _header_blob(json.dumps({
            "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
            "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}).encode()) + b"\0" * 24,
    }
    buf = tmp_path / "t.pt"
    torch.save(model.state_dict(), buf)
    files["torch_save"] = buf.read_bytes()
    return files


@pytest.mark.parametrize("name", ["empty", "truncated", "garbage", "pickle", "huge_header",
                                  "over_limit_header", "lying_offsets", "overlapping_offsets",
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
    from wae_core.data.datasets import load_mnist

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


def test_header_size_check_is_what_refuses(model, tmp_path, monkeypatch):
    """The over-limit header is refused by our own size check (its message), for read, bytes and
    peek; a header just under the limit reaches the parser instead."""
    blob = _header_blob(b" " * (C.MAX_HEADER_BYTES + 1) + b"{}")
    p = tmp_path / "big.safetensors"
    p.write_bytes(blob)
    for call in (lambda: C.load(p), lambda: C.load_bytes(blob, "big"), lambda: C.peek_meta(p)):
        with pytest.raises(C.CorruptCheckpointError, match="limit|not a safetensors"):
            call()
    at_limit = _header_blob(b" " * (C.MAX_HEADER_BYTES - 2) + b"{}")  # exactly the limit: parsed
    with pytest.raises(C.ForeignCheckpointError, match="no 'wae_lab' metadata"):
        C.load_bytes(at_limit, "at_limit")


def _wae_lab_file(tmp_path, model, name, meta_update=None, raw_meta=None, tensors=None):
    """A file written with safetensors itself, so every field can be made wrong."""
    meta = {"format": C.FORMAT, "version": "0", "kind": model.kind, "config": model.cfg.to_dict()}
    meta.update(meta_update or {})
    if tensors is None:
        tensors = {C.MODEL_PREFIX + k: v.contiguous() for k, v in model.state_dict().items()}
    p = tmp_path / f"{name}.safetensors"
    p.write_bytes(st_save(tensors, metadata={C.META_KEY: raw_meta if raw_meta is not None
                                             else json.dumps(meta)}))
    return p


LOADER_ERRORS = [
    # (case, error class, message pattern)
    ("missing", C.CheckpointError, "not found"),
    ("too_big", C.CheckpointError, "limit"),
    ("meta_not_json", C.CorruptCheckpointError, "not valid JSON"),
    ("meta_not_object", C.CorruptCheckpointError, "not a JSON object"),
    ("no_meta_key", C.ForeignCheckpointError, "not a WAE Lab checkpoint"),
    ("other_format", C.ForeignCheckpointError, "not a 'wae-lab"),
    ("unknown_kind", C.IncompatibleCheckpointError, "unknown model kind"),
    ("bad_config", C.IncompatibleCheckpointError, "invalid model config"),
    ("config_kind_differs", C.IncompatibleCheckpointError, "config kind"),
    ("wrong_weights", C.IncompatibleCheckpointError, "do not match"),
    ("nan_weights", C.IncompatibleCheckpointError, "NaN"),
    ("expect_other_kind", C.IncompatibleCheckpointError, "not a vae"),
]


@pytest.mark.parametrize("case,error,pattern", LOADER_ERRORS, ids=[c[0] for c in LOADER_ERRORS])
def test_every_loader_error_type(model, tmp_path, case, error, pattern):
    """Each way a file can be wrong maps to its own error class and a plain message; all of them
    are CheckpointErrors (the app shows those verbatim)."""
    kw = {}
    if case == "missing":
        p = tmp_path / "nope.safetensors"
    elif case == "too_big":
        p = _wae_lab_file(tmp_path, model, case)
        kw["max_bytes"] = 100
    elif case == "meta_not_json":
        p = _wae_lab_file(tmp_path, model, case, raw_meta="{not json")
    elif case == "meta_not_object":
        p = _wae_lab_file(tmp_path, model, case, raw_meta="[1, 2]")
    elif case == "no_meta_key":
        p = tmp_path / "foreign.safetensors"
        p.write_bytes(st_save({"w": torch.zeros(3)}, metadata={"framework": "other"}))
    elif case == "other_format":
        p = _wae_lab_file(tmp_path, model, case, {"format": "someone-else"})
    elif case == "unknown_kind":
        p = _wae_lab_file(tmp_path, model, case, {"kind": "diffusion"})
    elif case == "bad_config":
        p = _wae_lab_file(tmp_path, model, case, {"config": {"kind": "wae-gan", "z_dim": 0}})
    elif case == "config_kind_differs":
        p = _wae_lab_file(tmp_path, model, case, {"kind": "vae"})
    elif case == "wrong_weights":
        p = _wae_lab_file(tmp_path, model, case, tensors={C.MODEL_PREFIX + "w": torch.zeros(3)})
    elif case == "nan_weights":
        sd = {C.MODEL_PREFIX + k: v.clone().contiguous() for k, v in model.state_dict().items()}
        next(v for v in sd.values() if v.is_floating_point()).fill_(float("nan"))
        p = _wae_lab_file(tmp_path, model, case, tensors=sd)
    else:
        p = _wae_lab_file(tmp_path, model, case)
    with pytest.raises(error, match=pattern) as info:
        if "max_bytes" in kw:
            C.read(p, **kw)
        else:
            C.load(p, expect_kind="vae" if case == "expect_other_kind" else None)
    assert isinstance(info.value, C.CheckpointError) and "Traceback" not in str(info.value)
    if p.exists() and case not in ("too_big", "expect_other_kind"):  # the upload path agrees
        with pytest.raises(error, match=pattern):
            C.load_bytes(p.read_bytes(), p.name)
