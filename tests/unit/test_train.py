"""Trainer: exact resume, NaN stop, unwritable output, kill -9 mid-run, the CLI."""

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from wae_core import ModelConfig, TrainConfig, Trainer, TrainingDiverged, build_model
from wae_core.data.datasets import load_dataset, load_mnist
from wae_core.models import checkpoint as C
from wae_core.training.trainer import Callback, OutputNotWritableError

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
    assert full.history == [{**h, "seconds": full.history[i]["seconds"]}
                            for i, h in enumerate(resumed.history)]  # epoch averages too


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


def test_lr_schedule_changes_rates_at_the_milestone_steps(data):
    """Milestones (1, 2) with factors (0.5, 0.1): 6 steps per epoch at lr, then 6 at lr / 2,
    then 6 at lr / 10; the adversary's rate follows the same factors."""
    seen = []

    class Record(Callback):
        def on_step(self, trainer, logs):
            seen.append((trainer.step, trainer.opt.param_groups[0]["lr"],
                         trainer.opt_adv.param_groups[0]["lr"]))

    cfg = _cfg(epochs=3, lr=1e-3, lr_adv=4e-4, lr_milestones=(1, 2), lr_factors=(0.5, 0.1))
    Trainer(_model("wae-gan"), data, cfg, callbacks=[Record()]).fit()
    expected = [(s, 1e-3 * f, 4e-4 * f) for s, f in
                zip(range(1, 19), [1.0] * 6 + [0.5] * 6 + [0.1] * 6)]
    assert [x[0] for x in seen] == [e[0] for e in expected]
    for got, want in zip(seen, expected):
        assert got[1:] == pytest.approx(want[1:], rel=1e-12), (got, want)


def test_resumed_history_counts_the_runs_total_seconds(data, tmp_path):
    """A resumed run's history keeps counting seconds from the first session (the results table
    reports a model's training time from it), while max_seconds caps each session."""
    class Slow(Callback):
        def on_step(self, trainer, logs):
            time.sleep(0.1)

    out = tmp_path / "t.safetensors"
    Trainer(_model("vae"), data, _cfg(epochs=1), out, [Slow()]).fit()  # 6 steps: >= 0.6 s
    first = C.read_meta(out)["history"][0]["seconds"]
    assert first >= 0.6
    t = Trainer.resume(out, data, epochs=2)
    t.fit()  # the second epoch without sleeping: milliseconds
    assert t.history[1]["seconds"] >= first and C.read_meta(out)["history"][1]["seconds"] >= first


def test_max_seconds_stops_and_saves(data, tmp_path):
    """A time limit stops the run after the step that crosses it and saves a usable checkpoint."""
    class Slow(Callback):
        def on_step(self, trainer, logs):
            time.sleep(0.1)

    out = tmp_path / "t.safetensors"
    t = Trainer(_model("wae-mmd"), data, _cfg(epochs=50, max_seconds=0.35), out, [Slow()])
    t.fit()
    assert 1 <= t.step < 10 and "time limit" in t.stop_reason  # 0.1 s a step, slower under load
    meta = C.read_meta(out)
    assert meta["step"] == t.step and meta["train_config"]["max_seconds"] == 0.35
    assert C.load(out).kind == "wae-mmd"


@pytest.mark.slow
def test_cli_max_minutes_stops_and_saves(tmp_path):
    out = tmp_path / "m.safetensors"
    p = _run_cli(["--model", "vae", "--subset", "20000", "--epochs", "5", "--threads", "1",
                  "--max-minutes", "0.05", "--out", str(out)])
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    meta = C.read_meta(out)
    assert meta["train_config"]["max_seconds"] == pytest.approx(3.0)
    assert 0 < meta["step"] < 5 * 200 and meta["epochs_done"] < 5


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
    # "Exact resume": the killed-and-resumed run is the same run as an uninterrupted one.
    ref = tmp_path / "ref" / "k.safetensors"
    full = _run_cli([a if a != str(out) else str(ref) for a in args])
    _, err = full.communicate(timeout=300)
    assert full.returncode == 0, err
    resumed_w, full_w = C.read(out)[1], C.read(ref)[1]
    assert resumed_w.keys() == full_w.keys()
    assert all(torch.equal(resumed_w[k], full_w[k]) for k in full_w), "resume is not exact"
    assert [h["total"] for h in C.read_meta(out)["history"]] == \
        [h["total"] for h in C.read_meta(ref)["history"]]


def test_cli_help_and_errors(tmp_path):
    p = _run_cli(["--help"])
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0 and "--model {vae,wae-mmd,wae-gan,gan}" in out
    # offline here: torchvision's download fails and the CLI names the embedded data set
    p = _run_cli(["--model", "vae", "--dataset", "mnist-download", "--out", str(tmp_path / "x")])
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2 and "--dataset mnist" in err and "Traceback" not in err


def test_image_channels_come_from_the_data_and_misfits_are_refused(tmp_path):
    # Stacked MNIST (3 channels) through the CLI: the model is built with 3 channels.
    out = tmp_path / "s.safetensors"
    p = _run_cli(["--recipe", "stacked-wae-mmd", "--max-steps", "2", "--subset", "200", "--out", str(out)])
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert C.load(out).cfg.img_channels == 3
    # A 1-channel model is never fed 3-channel data: a clear error before any step.
    with pytest.raises(ValueError, match=r"takes items of shape \(1, 28, 28\).*\(3, 28, 28\)"):
        Trainer(build_model(ModelConfig()), load_dataset("stacked-mnist", "test").subset(10), _cfg())
    p = _run_cli(["--resume", "--dataset", "mnist", "--model", "wae-mmd", "--subset", "200",
                  "--out", str(out)])  # resuming the 3-channel model on MNIST
    _, err = p.communicate(timeout=300)
    assert p.returncode == 2 and "takes items of shape (3, 28, 28)" in err and "Traceback" not in err


def test_cosine_schedule_and_lambda_warmup_per_step(data):
    """lr_schedule "cosine": lr * (1 + cos(pi t / T)) / 2 at step t of T, set before each step;
    lam_warmup_steps: lambda grows linearly to its value, then stays."""
    seen = []

    class Record(Callback):
        def on_step(self, trainer, logs):
            seen.append((trainer.opt.param_groups[0]["lr"], trainer.model.lam_scale, trainer.model.lam))

    cfg = _cfg(epochs=2, lr=1e-3, lr_schedule="cosine", lam_warmup_steps=4)
    t = Trainer(_model("wae-mmd"), data, cfg, callbacks=[Record()])
    t.fit()
    total = t.total_steps
    assert len(seen) == total == 12
    for step, (lr, scale, lam) in enumerate(seen):
        assert lr == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * step / total)), rel=1e-12)
        assert scale == pytest.approx(min(1.0, (step + 1) / 4)) and lam == pytest.approx(10.0 * scale)
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="linear")


def test_init_and_a_frozen_decoder_keep_the_samples(tmp_path):
    """``--init CKPT --no-train-decoder``: training starts from the checkpoint's weights, moves the
    encoder only (so G(z) for every z stays the same), and the new file records where it began."""
    first, refit = tmp_path / "first.safetensors", tmp_path / "refit.safetensors"
    common = ["--model", "wae-mmd", "--subset", "200", "--epochs", "1", "--threads", "1"]
    p = _run_cli([*common, "--out", str(first)])
    assert p.communicate(timeout=300)[1] is not None and p.returncode == 0
    p = _run_cli([*common, "--init", str(first), "--no-train-decoder", "--augment", "--augment-uploads",
                  "--out", str(refit)])
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    a, b = C.load(first), C.load(refit)
    z = torch.randn(8, a.cfg.z_dim)
    with torch.no_grad():
        assert torch.equal(a.decode(z), b.decode(z))
        x = load_mnist("test").x[:8]
        assert not torch.equal(a.encode(x), b.encode(x))
    init = b.meta["init"]
    assert init["file"] == "first.safetensors" and init["epochs_done"] == 1
    assert init["command"] == a.meta["command"] and not b.meta["train_config"]["train_decoder"]
