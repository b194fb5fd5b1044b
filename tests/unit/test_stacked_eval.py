"""The Stacked-MNIST benchmark's scoring (wae_core.evaluation.stacked) against plain references."""

import math

import pytest
import torch

from wae_core.data.datasets import REPO_ROOT, load_stacked_mnist
from wae_core.evaluation import metrics as M
from wae_core.evaluation import stacked as S
from wae_core.evaluation.lenet import load_classifier


@pytest.fixture(scope="module")
def clf():
    return load_classifier(REPO_ROOT / "checkpoints" / "lenet-mnist.safetensors")


@pytest.fixture(scope="module")
def test_set():
    return load_stacked_mnist("test")


def test_features_are_each_channels_features_side_by_side(clf, test_set):
    x = test_set.x[:7]
    feats, probs = M.stacked_features(x, clf)
    assert feats.shape == (7, 3 * 128) and probs.shape == (7, 3, 10)
    for i in range(7):
        for c in range(3):
            f, p = clf.embed(x[i:i + 1, c:c + 1])
            assert torch.allclose(feats[i, 128 * c:128 * (c + 1)], f[0], atol=1e-5)
            assert torch.allclose(probs[i, c], p[0], atol=1e-5)


def test_sharpness_of_three_channels_is_the_mean_over_channels(test_set):
    x = test_set.x[:20]
    per_channel = [M.sharpness(x[:, c:c + 1]) for c in range(3)]
    assert M.sharpness(x) == pytest.approx(sum(per_channel) / 3, rel=1e-6)


def test_real_data_scores_itself_perfectly_and_a_copy_covers_one_mode(clf, test_set):
    # (Real Stacked MNIST covering all 1,000 modes: tests/unit/test_fidelity_metrics.py.)
    x = test_set.x[:1000]
    ref = M.stacked_features(x, clf)[0]
    real = S.score(x, ref, clf)
    assert real["fid"] < 1e-6 and real["modes"] > 600  # 1,000 draws of 1,000 modes: ~632 expected
    copy = S.score(x[:1].expand(500, -1, -1, -1).contiguous(), ref, clf)
    assert copy["modes"] == 1 and copy["kl"] == pytest.approx(math.log(1000), rel=1e-9)
    assert copy["fid"] > 100 and sum(copy["counts"]) == 500


def test_seed_files_and_the_table(tmp_path, clf):
    # A model with two training seeds: the spread is over training seeds; another with one file:
    # over sampling seeds. Tiny untrained models, 200 samples: the mechanics, not the numbers.
    from wae_core import ModelConfig, build_model
    from wae_core.models import checkpoint

    (tmp_path / S.SEED_DIR).mkdir()
    for path, kind in [(tmp_path / "stacked-gan.safetensors", "gan"),
                       (tmp_path / S.SEED_DIR / "stacked-gan-seed1.safetensors", "gan"),
                       (tmp_path / "stacked-wae-mmd.safetensors", "wae-mmd")]:
        torch.manual_seed(len(str(path)))
        arch = "unrolled-dcgan" if kind == "gan" else "small"
        m = build_model(ModelConfig(kind=kind, arch=arch, img_channels=3, z_dim=4))
        checkpoint.save(m, path, meta={"dataset": "stacked-mnist"})
    assert [p.name for p in S.seed_files(tmp_path, "stacked-gan")] == [
        "stacked-gan.safetensors", "stacked-gan-seed1.safetensors"]
    assert S.seed_files(tmp_path, "stacked-vae") == []
    rows = S.evaluate_stacked(tmp_path, REPO_ROOT / "checkpoints" / "lenet-mnist.safetensors",
                              n=200, sample_seeds=2, n_ref=300, log=False)
    by = {r["kind"]: r for r in rows}
    assert set(by) == {"data", "gan", "wae-mmd"}
    assert by["gan"]["spread_over"] == "training seeds" and by["gan"]["runs"] == 2
    assert by["wae-mmd"]["spread_over"] == "sampling seeds" and by["wae-mmd"]["runs"] == 2
    assert len(by["gan"]["modes_each"]) == 2 and sum(by["gan"]["counts"]) == 200
    table = S.markdown(rows)
    assert table.count("\n| ") == 4 and "2 training seeds" in table and "not** Inception" in table
