"""wae_core.training.bench's per-step profile: its timed forward is the model's own loss, and the table
has every part of every kind (a tiny run). The throughput table itself: tests/unit/test_shipped.py."""

from __future__ import annotations

import pytest
import torch

from wae_core.models.config import MODEL_KINDS, ModelConfig
from wae_core.models.generative import build_model
from wae_core.training import bench

torch.set_num_threads(1)


@pytest.mark.parametrize("cfg", [ModelConfig(kind=k) for k in MODEL_KINDS]
                         + [ModelConfig(kind="vae", vae_likelihood="gaussian"),
                            ModelConfig(kind="wae-mmd", stochastic_encoder=True)],
                         ids=[*MODEL_KINDS, "vae-gaussian", "wae-mmd-stochastic"])
def test_split_loss_is_the_models_loss(cfg):
    """Same terms, same random draws: what the profile times is what the Trainer computes."""
    torch.manual_seed(0)
    model = build_model(cfg).train()
    x = torch.rand(16, 1, 28, 28)
    laps = []
    torch.manual_seed(1)
    split = bench.split_loss(model, x, laps.append)
    torch.manual_seed(1)
    ref = model.loss(x)
    assert split.keys() == ref.keys()
    for k in ref:
        torch.testing.assert_close(split[k], ref[k])
    assert set(laps) <= set(bench.PARTS) and laps[-1] == "losses"
    assert laps.count("decoder") == 1 and laps.count("encoder") == (cfg.kind != "gan")


def test_profile_table_tiny_run(capsys):
    assert bench.main(["--profile", "--archs", "small", "--kinds", "vae", "wae-gan", "--steps", "2",
                       "--threads", "1", "--disc-hidden", "512", "64"]) == 0
    out = capsys.readouterr().out
    assert "load average" in out.splitlines()[0]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in out.splitlines() if line.startswith("| ")}
    header = rows.pop("part (small, ms per step of 100)")
    assert header == ["vae", "wae-gan (D 4 × 512)", "wae-gan (D 4 × 64)"]
    assert rows[bench.PARTS["adversary"]][0] == "–"  # the VAE has no adversary
    for label in bench.PARTS.values():
        for cell in rows[label][1:]:
            assert float(cell.split()[0]) > 0, (label, cell)
    parts = [[float(rows[label][i].split()[0]) for label in bench.PARTS.values() if rows[label][i] != "–"]
             for i in range(3)]
    sums = [float(c.strip("*")) for c in rows["**sum of the parts**"]]
    assert sums == pytest.approx([sum(p) for p in parts], abs=0.05)
    whole = [float(c) for c in rows["Trainer.train_step, whole"]]
    # The parts add up to about one whole step (loose: two steps on a shared machine).
    assert all(w / 3 < s < 3 * w for s, w in zip(sums, whole)), (sums, whole)
    # The paper's 4 x 512 adversary holds most of the WAE-GAN's parameters; 4 x 64 far fewer.
    big, small = (float(c.split()[0]) for c in rows["parameters (adversary's)"][1:])
    assert big > 5 * small


def test_throughput_rows_per_adversary_width(capsys):
    assert bench.main(["--archs", "small", "--kinds", "wae-gan", "--steps", "1", "--threads", "1",
                       "--disc-hidden", "32"]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1]
    assert row.startswith("| wae-gan (D 4 × 32) | small |")


def test_recipe_archs_read_their_recipes():
    """The "own" and "shipped" rows time the nets of the Train-your-own and shipped recipes."""
    from wae_core.training import recipes
    from wae_core.training.bench import bench_config

    for kind in ("wae-mmd", "wae-gan"):
        assert bench_config(kind, "own") == recipes.get(f"own-{kind}").model
        assert bench_config(kind, "shipped") == recipes.get(f"mnist-{kind}").model
    assert bench_config("wae-gan", "own", disc_hidden=128).disc_hidden == 128
