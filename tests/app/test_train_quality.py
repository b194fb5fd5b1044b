"""AppTest of Train your own's rate and quality outputs: images/s while it runs, and once it is over
the FID (LeNet) and sharpness of the model just trained beside the shipped model's (from
results.json, or measured the same way), with the sentence saying which is better. The fixtures'
checkpoints and LeNet are untrained (tests/app/conftest.py): the numbers only have to be the ones
the protocol gives."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from app import train_quality
from tests.app.support import wait_done
from wae_core.data.datasets import load_mnist
from wae_core.evaluation import metrics
from wae_core.evaluation.lenet import load_classifier
from wae_core.models import checkpoint

PAGE = Path(__file__).resolve().parents[2] / "app" / "views" / "train.py"


def _train(kind: str, name: str, subset: int = 200) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    at.selectbox(key="train_kind").set_value(kind)
    at.number_input(key="train_subset").set_value(subset)
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_name").set_value(name)
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _evaluate(path: Path, clf: Path, n: int, seed: int) -> tuple[float, float]:
    """The results table's protocol, written out: n samples vs the first n test images."""
    net = load_classifier(clf)
    with torch.inference_mode():
        x = metrics.generate(checkpoint.load(path), n, seed)
        fid = metrics.fid_from_features(net.embed(x)[0], net.embed(load_mnist("test").x[:n])[0])
    return fid, metrics.sharpness(x)


def test_running_shows_images_per_second_and_eta(app_env):
    at = _train("wae-mmd", "rate-run", subset=0)  # the whole MNIST: still running when looked at
    job = at.session_state["train_job"]
    t0 = time.time()
    while job.progress().step < 3 and time.time() - t0 < 60:
        time.sleep(0.1)
    at.run()
    text = at.get("progress")[0].text
    ips = float(re.search(r"· ([\d,]+) img/s ·", text).group(1).replace(",", ""))
    p = job.progress()
    assert ips > 0 and re.search(r"ETA \d+:\d\d", text), text
    # images/s is the measured step rate times the recipe's batch (loose: a later snapshot)
    assert ips == pytest.approx(p.steps_per_second * job.train_cfg.batch_size, rel=0.5)
    job.cancel()
    job.join(60)
    (app_env["runs"] / "rate-run.safetensors").unlink(missing_ok=True)


def test_finished_run_is_scored_against_results_json(app_env):
    """The VAE has a row in the fixture's results.json (n = 1,000): the shipped numbers are the
    file's, the new model is scored on its protocol, the sentence follows the numbers."""
    at = _train("vae", "quality-vae")
    wait_done(at, 120)
    assert not at.exception and not at.error, at.exception or [e.value for e in at.error]
    out = app_env["runs"] / "quality-vae.safetensors"
    m = _metrics(at)
    assert m["FID (LeNet), shipped VAE"] == "12.5" and m["Sharpness, shipped VAE"] == "0.0030"
    fid, sharp = _evaluate(out, app_env["classifier"], 1000, 0)
    assert m["FID (LeNet), your model"] == f"{fid:.1f}" and m["Sharpness, your model"] == f"{sharp:.4f}"
    said = " ".join(md.value for md in at.markdown)
    better = "**Your model beats the shipped VAE**" if fid < 12.5 else "**The shipped VAE is better**"
    assert better in said and ("sharper" if sharp > 0.003 else "blurrier") in said
    assert any("1,000 samples each (seed 0)" in c.value and "VAE in results.json" in c.value
               for c in at.caption)
    assert "img/s" in at.success[0].value
    out.unlink()


def test_without_a_results_row_the_shipped_model_is_measured_the_same_way(app_env):
    """The fixture's results.json has no WAE-MMD row: both models are scored here on FALLBACK_N."""
    at = _train("wae-mmd", "quality-mmd")
    wait_done(at, 120)
    assert not at.exception and not at.error
    out = app_env["runs"] / "quality-mmd.safetensors"
    m = _metrics(at)
    n = train_quality.FALLBACK_N
    shipped = _evaluate(app_env["checkpoints"] / "mnist-wae-mmd.safetensors", app_env["classifier"], n, 0)
    new = _evaluate(out, app_env["classifier"], n, 0)
    assert m["FID (LeNet), shipped WAE-MMD"] == f"{shipped[0]:.1f}"
    assert m["FID (LeNet), your model"] == f"{new[0]:.1f}"
    assert m["Sharpness, shipped WAE-MMD"] == f"{shipped[1]:.4f}"
    assert m["Sharpness, your model"] == f"{new[1]:.4f}"
    assert any(f"{n:,} samples each" in c.value and "`mnist-wae-mmd` measured here" in c.value
               for c in at.caption)
    out.unlink()


@pytest.mark.parametrize(("new", "shipped", "winner", "looks"), [
    (30.0, 40.0, "Your model beats the shipped WAE-GAN", "sharper"),
    (50.0, 40.0, "The shipped WAE-GAN is better", "blurrier"),
])
def test_verdict_follows_the_numbers(new, shipped, winner, looks):
    sharpness = 0.06 if looks == "sharper" else 0.04
    s = train_quality.verdict("wae-gan", {"fid_lenet": new, "sharpness": sharpness},
                              {"fid_lenet": shipped, "sharpness": 0.05})
    assert winner in s and f"are {looks}" in s


def test_results_sections():
    res = {"rows": [{"kind": "vae", "fid_lenet": 1.0, "sharpness": 0.1}, {"kind": "gan", "fid_lenet": None}],
           "fashion": {"rows": [{"kind": "gan", "fid_lenet": 2.0, "sharpness": 0.2}]}}
    mnist, fashion = (train_quality.results_section(res, d) for d in ("mnist", "fashion-mnist"))
    assert train_quality.shipped_row(mnist, "vae")["fid_lenet"] == 1.0
    assert train_quality.shipped_row(mnist, "gan") is None  # no FID: not a row to compare with
    assert train_quality.shipped_row(fashion, "gan")["sharpness"] == 0.2
    assert train_quality.results_section(None, "fashion-mnist") is None
