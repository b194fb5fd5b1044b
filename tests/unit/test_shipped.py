"""The shipped checkpoints, evaluated fast: the seed's claims must keep holding.

Targets from the evaluation issue that the shipped models meet are asserted; the ones they miss
(see docs/results.md) are strict xfails, so meeting them later is noticed as well.
"""

import hashlib
from pathlib import Path

import pytest
import torch

from wae_core.evaluation.lenet import load_classifier
from wae_core.evaluation.protocol import CKPT_DIR, MNIST_MODELS, evaluate_mnist, evaluate_toys
from wae_core.models import checkpoint as C

N = 3000
# Every test here scores the shipped checkpoints (~25 s for the fixture): not in make test-fast.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rows():
    torch.manual_seed(0)
    found, _ = evaluate_mnist(CKPT_DIR, CKPT_DIR / "lenet-mnist.safetensors", N, log=False)
    return {r["model"]: r for r in found}


def test_all_shipped_checkpoints_load_and_are_small():
    files = sorted(CKPT_DIR.glob("*.safetensors"))
    assert {f"{stem}.safetensors" for _, stem in MNIST_MODELS} <= {f.name for f in files}
    for f in files:
        assert f.stat().st_size < 8 * 2**20, f"{f.name} is over 8 MiB"
        meta = C.read_meta(f) if not f.name.startswith("lenet") else None
        if meta is not None:
            assert meta["command"].startswith("python -m wae_core.train"), f.name
            C.load(f)
    assert load_classifier(CKPT_DIR / "lenet-mnist.safetensors").meta["test_accuracy"] >= 0.99


def test_wae_beats_vae_on_fid_and_sharpness(rows):
    vae, mmd, gan_wae = rows["VAE"], rows["WAE-MMD"], rows["WAE-GAN"]
    assert mmd["fid_lenet"] <= 0.87 * vae["fid_lenet"]
    assert gan_wae["fid_lenet"] < vae["fid_lenet"]
    assert mmd["sharpness"] > vae["sharpness"] and gan_wae["sharpness"] > vae["sharpness"]
    real = next(r for name, r in rows.items() if name.startswith("True data"))
    # Real data far ahead of every auto-encoder (at n = 3,000 its FID carries ~10 of sample bias).
    assert real["fid_lenet"] < 0.25 * min(r["fid_lenet"] for r in (vae, mmd, gan_wae))
    assert real["sharpness"] > max(r["sharpness"] for r in (vae, mmd, gan_wae))


def test_waes_cover_every_digit(rows):
    for name in ("WAE-MMD", "WAE-GAN"):
        assert rows[name]["classes_covered"] == 10 and rows[name]["kl_uniform"] < 0.05, name


def test_latent_match_and_reconstruction(rows):
    assert rows["GAN"]["mmd_qz_pz"] is None and rows["GAN"]["recon_mse"] is None
    for name in ("VAE", "WAE-MMD", "WAE-GAN"):
        assert 0 < rows[name]["recon_mse"] < 0.05
        assert rows[name]["mmd_qz_pz"] < 0.2
        real = next(r for n, r in rows.items() if n.startswith("True data"))
        assert 0 < rows[name]["recon_sharpness"] < real["sharpness"]


@pytest.fixture(scope="module")
def toys():
    return {(r["toy"], r["model"]): r for r in evaluate_toys(CKPT_DIR, n=2500, seeds=2)}


# The shipped toy WAEs' share of samples on a mode, from P_Z (python -m wae_core.evaluate, 5 sampling
# seeds: ring WAE-MMD 88 %, WAE-GAN 63 %; grid 80 % and 61 %), asserted with ~5 points of margin.
TOY_HQ_FLOOR = {("ring", "WAE-MMD"): 0.83, ("ring", "WAE-GAN"): 0.57,
                ("grid", "WAE-MMD"): 0.74, ("grid", "WAE-GAN"): 0.55}


def test_toys_wae_keeps_every_mode_on_the_modes_gan_collapses(toys):
    """The 2-D toys' trade-off (docs/results.md): both WAEs keep every mode with most samples on
    them, decoded from an ex-post mixture on Q_Z almost all are; the GAN drops modes."""
    for toy, n_modes in (("ring", 8), ("grid", 25)):
        for wae in ("WAE-MMD", "WAE-GAN"):
            r = toys[toy, wae]
            assert r["modes_covered_mean"] == n_modes, (toy, wae)
            assert r["hq_share_mean"] >= TOY_HQ_FLOOR[toy, wae], (toy, wae, r["hq_share_mean"])
            assert r["gmm_modes_covered_mean"] == n_modes and r["gmm_hq_share_mean"] > 0.95, (toy, wae)
        gan = toys[toy, "GAN"]
        assert gan["modes_covered_mean"] < n_modes - 2, toy
        assert gan["hq_share_mean"] > 0.85, toy  # sharp where it is: collapse, not blur


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="missed: ring 88 / 63 %, grid 80 / 61 % (docs/results.md, 2-D toys)")
def test_toy_wae_quality_target(toys):
    """Issue 14's target: both WAEs at >= 90 % of samples on a mode on both toys, from P_Z."""
    for toy in ("ring", "grid"):
        for wae in ("WAE-MMD", "WAE-GAN"):
            assert toys[toy, wae]["hq_share_mean"] >= 0.90, (toy, wae)


def test_paper_margin_wae_gan_fid(rows):
    assert rows["WAE-GAN"]["fid_lenet"] <= 0.67 * rows["VAE"]["fid_lenet"]


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="missed: 1.31 x (WAE-MMD), 1.20 x (WAE-GAN) the VAE (docs/results.md)")
def test_paper_margin_sharpness(rows):
    for name in ("WAE-MMD", "WAE-GAN"):
        assert rows[name]["sharpness"] >= 2 * rows["VAE"]["sharpness"]


# Re-measured numbers must match the stored ones this closely (relative): the spot check runs the
# same code on the same seed, so only float summation order differs between machines (measured:
# identical to 4 digits with 1 and 2 threads here); 1 % leaves room for other CPUs' kernels.
SPOT_TOLERANCE = 0.01


def test_results_table_is_re_measured(rows):
    """FID and sharpness of the VAE, both WAEs and the GAN at the spot-check size, and the
    classifier's accuracy on the whole test set, recomputed now and compared with
    ``results/results.json`` (written by ``python -m wae_core.evaluate``)."""
    import json

    from wae_core.data.datasets import load_mnist
    from wae_core.evaluation.lenet import accuracy
    from wae_core.evaluation.protocol import SPOT_CHECK_N

    res = json.loads((Path(CKPT_DIR).parent / "results" / "results.json").read_text())
    spot = res["spot_check"]
    assert spot["n"] == N == SPOT_CHECK_N and spot["seed"] == 0
    for name in ("VAE", "WAE-MMD", "WAE-GAN", "GAN"):
        for key in ("fid_lenet", "sharpness"):
            assert rows[name][key] == pytest.approx(spot["rows"][name][key], rel=SPOT_TOLERANCE), (
                f"{name} {key}: measured {rows[name][key]:.4f}, results.json says "
                f"{spot['rows'][name][key]:.4f}: run python -m wae_core.evaluate")
    test = load_mnist("test")
    measured = accuracy(load_classifier(CKPT_DIR / "lenet-mnist.safetensors"), test.x, test.y)
    assert measured == pytest.approx(res["classifier"]["test_accuracy"], abs=0.002)


def test_results_file_matches_shipped_checkpoints():
    """The committed results table was made from the committed checkpoints."""
    import json

    res = json.loads((Path(CKPT_DIR).parent / "results" / "results.json").read_text())
    names = {r["model"] for r in res["rows"]}
    assert {"VAE", "WAE-MMD", "WAE-GAN", "GAN"} <= names
    for r in res["rows"]:
        if r.get("checkpoint"):
            path = Path(CKPT_DIR).parent / r["checkpoint"]
            assert C.read_meta(path)["epochs_done"] == r["epochs"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == r["sha256"], (
                f"{r['checkpoint']} changed since results/results.json: run python -m wae_core.evaluate")


def test_bench_runs_the_shipped_nets(capsys):
    """``python -m wae_core.training.bench --archs shipped`` times the shipped checkpoints' own nets."""
    from wae_core.training import bench

    cfg = bench.bench_config("wae-mmd", "shipped")
    shipped = C.read_meta(CKPT_DIR / "mnist-wae-mmd.safetensors")["config"]
    assert (cfg.channels, cfg.dec_channels) == (tuple(shipped["channels"]), tuple(shipped["dec_channels"]))
    assert bench.main(["--archs", "shipped", "--kinds", "wae-mmd", "--steps", "2", "--threads", "1"]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1]
    assert row.startswith("| wae-mmd | shipped |") and float(row.split("|")[4].replace(",", "")) > 0


# Stacked MNIST (1,000 modes; docs/results.md, "Stacked MNIST"): the shipped models re-measured on the
# benchmark's protocol. The bounds sit below the WAEs' / above the GAN's measured numbers (all
# runs in results.json) with a margin; the issue's own target (1,000 / 1,000 and KL <= 0.06 for
# both WAEs) is a strict xfail while it is missed.
STACKED_WAE_MIN_MODES = 990
STACKED_GAN_MAX_MODES = 300
STACKED_TARGET_KL = 0.06


@pytest.fixture(scope="module")
def stacked():
    """results.json's Stacked-MNIST rows, and the first run (sampling seed 0 of the shipped file) of
    the WAE-MMD classified again now (modes and KL; ~20 s; the GAN's row is re-measured by
    ``python -m wae_core.evaluate`` alone: the suite's time)."""
    import json

    from wae_core.evaluation import metrics as M

    res = json.loads((Path(CKPT_DIR).parent / "results" / "results.json").read_text())
    stored = {r["kind"]: r for r in res["stacked"]}
    clf = load_classifier(CKPT_DIR / "lenet-mnist.safetensors")
    now, threads = {}, torch.get_num_threads()
    torch.set_num_threads(2)  # 156,000 LeNet passes: both of CI's cores (the suite runs serially)
    try:
        for kind in ("wae-mmd",):
            model = C.load(CKPT_DIR / f"stacked-{kind}.safetensors")
            with torch.inference_mode():
                samples = M.generate(model, stored[kind]["n"], 0)
            now[kind] = M.stacked_mode_coverage(M.classify_stacked(samples, clf))
    finally:
        torch.set_num_threads(threads)
    return stored, now


def test_stacked_results_are_re_measured_and_files_match(stacked):
    stored, now = stacked
    for kind in ("vae", "wae-mmd", "wae-gan", "gan"):
        s = stored[kind]
        path = Path(CKPT_DIR).parent / s["checkpoint"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == s["sha256"], (
            f"{s['checkpoint']} changed since results/results.json: run python -m wae_core.evaluate")
        assert all((Path(CKPT_DIR).parent / rel).is_file() for rel in s["seed_checkpoints"])
    for kind, cov in now.items():  # run 0: sampling seed 0 (training seed 0 for the GAN)
        # another CPU's float order may flip a borderline digit: a mode or two, no more
        assert abs(cov.classes_covered - stored[kind]["modes_each"][0]) <= 2
        assert cov.kl_to_uniform == pytest.approx(stored[kind]["kl_each"][0], abs=0.01)


def test_stacked_waes_cover_the_modes_the_gan_drops(stacked):
    stored, now = stacked
    assert now["wae-mmd"].classes_covered >= STACKED_WAE_MIN_MODES
    for kind in ("wae-mmd", "wae-gan"):
        assert min(stored[kind]["modes_each"]) >= STACKED_WAE_MIN_MODES
    assert max(stored["gan"]["modes_each"]) <= STACKED_GAN_MAX_MODES
    assert stored["gan"]["runs"] >= 3 and stored["gan"]["spread_over"] == "training seeds"


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="missed: KL WAE-MMD 0.089, WAE-GAN 0.194 > 0.06 (docs/results.md, Stacked MNIST)")
def test_stacked_wae_target(stacked):
    stored, _ = stacked
    for kind in ("wae-mmd", "wae-gan"):
        assert stored[kind]["modes_mean"] == 1000 and stored[kind]["kl_mean"] <= STACKED_TARGET_KL
