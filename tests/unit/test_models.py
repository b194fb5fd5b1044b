"""Every model: the shared interface, shapes, value ranges, and that its loss falls."""

import pytest
import torch

from harness import stochastic as S
from wae_core import ModelConfig, NoEncoderError, build_model
from wae_core.models.generative import interpolate_codes

KINDS = ["vae", "wae-mmd", "wae-gan", "gan"]


@pytest.mark.parametrize("kind", KINDS)
def test_image_model_interface(kind):
    torch.manual_seed(0)
    m = build_model(ModelConfig(kind=kind)).eval()
    x = torch.rand(6, 1, 28, 28)
    s = m.sample(5)
    assert s.shape == (5, 1, 28, 28) and float(s.min()) >= 0 and float(s.max()) <= 1
    out = m.loss(x)
    assert "total" in out and all(v.dim() == 0 and torch.isfinite(v) for v in out.values())
    expected = {"vae": {"recon", "kl"}, "wae-mmd": {"recon", "mmd"}, "wae-gan": {"recon", "adv"},
                "gan": {"gen"}}[kind]
    assert expected <= set(out)
    if m.has_adversary:
        assert "disc" in m.adversary_loss(x)
        assert m.adversary_parameters() and not set(map(id, m.adversary_parameters())) & set(
            map(id, m.main_parameters()))
    if m.has_encoder:
        with torch.no_grad():
            z = m.encode(x)
        assert z.shape == (6, 8)
        assert m.reconstruct(x).shape == x.shape
        path = m.interpolate(x[0], x[1], steps=7, mode="slerp")
        assert path.shape == (7, 1, 28, 28)
    else:
        with pytest.raises(NoEncoderError):
            m.encode(x)
    path = m.interpolate(torch.randn(8), torch.randn(8), steps=4, inputs_are_codes=True)
    assert path.shape == (4, 1, 28, 28)


@pytest.mark.parametrize("kind", KINDS)
def test_point_model_interface(kind):
    m = build_model(ModelConfig(kind=kind, arch="mlp", z_dim=2, recon_scale=1.0))
    assert m.sample(9).shape == (9, 2)
    assert torch.isfinite(m.loss(torch.randn(16, 2))["total"])


def test_interpolation_paths():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    lin = interpolate_codes(a, b, 5, "linear")
    assert torch.allclose(lin[0], a) and torch.allclose(lin[-1], b)
    assert torch.allclose(lin[2], (a + b) / 2)
    sl = interpolate_codes(a, b, 5, "slerp")
    assert torch.allclose(sl[0], a, atol=1e-6) and torch.allclose(sl[-1], b, atol=1e-6)
    # slerp between unit vectors stays on the unit circle
    u = interpolate_codes(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), 9, "slerp")
    assert torch.allclose(u.norm(dim=1), torch.ones(9), atol=1e-6)
    with pytest.raises(ValueError):
        interpolate_codes(a, b, 5, "cubic")


def test_vae_encode_sample_is_stochastic_and_wae_deterministic():
    x = torch.rand(4, 1, 28, 28)
    vae = build_model(ModelConfig(kind="vae")).eval()
    wae = build_model(ModelConfig(kind="wae-mmd")).eval()
    with torch.no_grad():
        assert not torch.equal(vae.encode_sample(x), vae.encode_sample(x))
        assert torch.equal(wae.encode_sample(x), wae.encode(x))


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_mnist_models_learn(kind):
    """160 steps on 1,000 images: the samples move towards the data (LeNet-feature FID against
    test images falls, compared with the same model untrained) and, for auto-encoders, the
    reconstruction loss falls. Bounds: the sweep (scripts/sweep_stochastic_tests.py, 5 seeds,
    1 and 2 threads) with a margin, see harness/stochastic.BOUNDS."""
    stats = S.mnist_learning(kind, seed=0)
    assert stats["fid_ratio"] < S.MNIST_FID_RATIO_BOUND[kind], stats
    if kind != "gan":
        assert stats["recon_ratio"] < S.MNIST_RECON_RATIO_BOUND, stats


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_toy_models_learn_the_ring(kind):
    """A few hundred steps on the ring: generated points move towards the modes (mean distance to
    the nearest mode falls to a fraction of the untrained model's), and the reconstruction loss
    falls where there is one. Bounds from the sweep with a margin (harness/stochastic.BOUNDS)."""
    stats = S.ring_learning(kind, seed=0)
    assert stats["spread_ratio"] < S.RING_SPREAD_RATIO_BOUND, stats
    if kind != "gan":
        assert stats["recon_ratio"] < S.RING_RECON_RATIO_BOUND, stats
