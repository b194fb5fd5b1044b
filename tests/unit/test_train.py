"""Trainer: exact resume, NaN stop, unwritable output, kill -9 mid-run, the CLI."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from wae_core import ModelConfig, TrainConfig, Trainer, TrainingDiverged, build_model
from wae_core import checkpoint as C
from wae_core.data import load_mnist
from wae_core.train import Callback, OutputNotWritableError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data():
    return load_mnist("test").subset(300)


def _model(kind):
    torch.manual_seed(0)
    return build_model(ModelConfig(kind=kind))


def _cfg(**kw):
    base = dict(epochs=2, batch_size=50, lr_milestones=(1,), lr_factors=(0.5,), seed=3)
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("kind", ["wae-gan", "vae"])
def test_resume_equals_uninterrupted_run(kind, data, tmp_path):
    full = Trainer(_model(kind), data, _cfg(), tmp_path / "full.safetensors")
    full.fit()
    half = Trainer(_model(kind), data, _cfg(epochs=1),
                   tmp_path / "half.safetensors")
    half.fit()
    resumed = Trainer.resume(tmp_path / "half.safetensors", data, epochs=2)
    assert resumed.epoch == 1 and resumed.step == 6
    resumed.fit()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [h["total"] for h in full.history] == [h["total"] for h in resumed.history]


def test_mid_epoch_resume_is_exact(data, tmp_path):
    full = Trainer(_model("wae-mmd"), data, _cfg(epochs=1))
    full.fit()
    part = Trainer(_model("wae-mmd"), data, _cfg(epochs=1, max_steps=4),
                   tmp_path / "p.safetensors")
    part.fit()
    assert part.step == 4 and part.epoch == 0
    resumed = Trainer.resume(tmp_path / "p.safetensors", data, max_steps=0)
    resumed.fit()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


class ExplodeAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_step(self, trainer, logs):
        if trainer.step == self.step:  # poison the weights: the next loss is NaN
            with torch.no_grad():
                for p in trainer.model.decoder.parameters():
                    p.fill_(float("nan"))


def test_nan_stops_and_keeps_last_good_checkpoint(data, tmp_path):
    out = tmp_path / "run.safetensors"
    t = Trainer(_model("wae-mmd"), data, _cfg(epochs=3), out,
                [ExplodeAt(8)])
    with pytest.raises(TrainingDiverged, match=r"step 9 .*last good checkpoint"):
        t.fit()
    m = C.load(out)  # the epoch-1 checkpoint, finite
    assert m.meta["epochs_done"] == 1 and m.meta["step"] == 6


def test_unwritable_output_fails_before_training(data, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    t = Trainer(build_model(ModelConfig(kind="vae")), data, _cfg(), blocker / "sub" / "m.safetensors")
    with pytest.raises(OutputNotWritableError, match="cannot write"):
        t.fit()
    assert t.step == 0


def test_request_stop_saves_usable_checkpoint(data, tmp_path):
    class StopAt(Callback):
        def on_step(self, trainer, logs):
            if trainer.step == 3:
                trainer.request_stop("cancelled")

    out = tmp_path / "c.safetensors"
    t = Trainer(build_model(ModelConfig(kind="gan")), data, _cfg(), out, [StopAt()])
    t.fit()
    assert t.step == 3 and C.load(out).meta["step"] == 3


def _run_cli(args, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "wae_core.train", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow
def test_kill_9_then_resume(tmp_path):
    """SIGKILL while training (checkpoints every step): the file on disk is always a complete,
    loadable checkpoint, and --resume continues from it to the end."""
    out = tmp_path / "k.safetensors"
    args = ["--model", "wae-mmd", "--subset", "2000", "--epochs", "3", "--threads", "1",
            "--checkpoint-every", "1", "--out", str(out)]
    proc = _run_cli(args)
    deadline = time.time() + 120
    while time.time() < deadline and not (out.exists() and C.read_meta(out)["step"] >= 5):
        time.sleep(0.2)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = C.read_meta(out)["step"]  # loads and validates the whole file
    assert 5 <= killed_at < 60
    assert not [f for f in tmp_path.iterdir() if f.name != out.name and not f.name.startswith(".")]
    done = _run_cli([*args, "--resume"])
    _, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    assert f"resuming {out} at epoch" in err
    meta = C.read_meta(out)
    assert meta["epochs_done"] == 3 and meta["step"] == 60


def test_cli_help_and_errors(tmp_path):
    p = _run_cli(["--help"])
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0 and "--model {vae,wae-mmd,wae-gan,gan}" in out
    # offline here: torchvision's download fails and the CLI names the embedded data set
    p = _run_cli(["--model", "vae", "--dataset", "mnist-download", "--out", str(tmp_path / "x")])
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2 and "--dataset mnist" in err and "Traceback" not in err
