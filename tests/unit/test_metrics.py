"""Metrics against straightforward references."""

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import torch
import torch.nn.functional as F

from wae_core.data.datasets import TOY_STD, load_mnist, sample_toy, toy_modes
from wae_core.evaluation import metrics as M
from wae_core.evaluation.lenet import LeNet


def naive_frechet(f1, f2):
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_frechet_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 6))
    b = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)) * 0.5 + 0.3
    fast = M.fid_from_features(torch.from_numpy(a), torch.from_numpy(b))
    assert fast == pytest.approx(naive_frechet(a, b), rel=1e-6, abs=1e-8)


@pytest.fixture(scope="module")
def lenet_and_test():
    """An untrained but fixed LeNet is enough to test the FID's properties; its features are
    still a deterministic, non-trivial function of the image."""
    torch.manual_seed(0)
    return LeNet().eval(), load_mnist("test")


def test_fid_of_a_set_with_itself_is_zero_and_train_vs_test_small(lenet_and_test):
    net, test = lenet_and_test
    x = test.x[:2000]
    assert M.fid(x, x, net) == pytest.approx(0.0, abs=1e-6)
    train = load_mnist("train").x[:2000]
    noise = torch.rand_like(x)
    assert M.fid(train, x, net) < 0.1 * M.fid(noise, x, net)


def _blur(x, k):
    w = torch.ones(1, 1, k, k) / k**2
    return F.conv2d(x, w, padding=k // 2)


@pytest.mark.slow
def test_fid_rises_monotonically_with_blur_and_noise(lenet_and_test):
    net, test = lenet_and_test
    x, ref = test.x[:1500], test.x[1500:3000]
    g = torch.Generator().manual_seed(0)
    blur = [M.fid(_blur(x, k) if k > 1 else x, ref, net) for k in (1, 3, 5, 7)]
    noise = [M.fid((x + s * torch.randn(x.shape, generator=g)).clamp(0, 1), ref, net)
             for s in (0.0, 0.1, 0.2, 0.4)]
    assert all(a < b for a, b in zip(blur, blur[1:])), blur
    assert all(a < b for a, b in zip(noise, noise[1:])), noise


def test_sharpness_matches_scipy():
    rng = np.random.default_rng(1)
    imgs = rng.random((5, 28, 28)).astype(np.float32)
    lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)
    ref = np.mean([scipy.signal.convolve2d(im, lap, mode="valid").var() for im in imgs])
    assert M.sharpness(torch.from_numpy(imgs).unsqueeze(1)) == pytest.approx(ref, rel=1e-5)
    # blur lowers it; a constant image has none
    x = load_mnist("test").x[:200]
    assert M.sharpness(_blur(x, 3)) < M.sharpness(x)
    assert M.sharpness(torch.full((2, 1, 28, 28), 0.5)) == 0.0


def test_mode_coverage():
    k = 10
    uniform = F.one_hot(torch.arange(1000) % k, k).float()
    c = M.mode_coverage(uniform)
    assert c.classes_covered == 10 and c.kl_to_uniform == pytest.approx(0.0, abs=1e-12)
    assert c.confident_share == 1.0 and sum(c.counts) == 1000
    collapsed = F.one_hot(torch.tensor([3] * 990 + list(range(10))), k).float()
    c = M.mode_coverage(collapsed)
    assert c.classes_covered == 1  # 1 sample of a class is not coverage
    p = np.array(c.counts) / 1000
    assert c.kl_to_uniform == pytest.approx(float(np.sum(p[p > 0] * np.log(p[p > 0] * k))))
    soft = torch.full((10, k), 1.0 / k)
    assert M.mode_coverage(soft).confident_share == 0.0


def test_toy_quality_protocol():
    modes, std = toy_modes("ring"), TOY_STD["ring"]
    real = sample_toy("ring", 2500, torch.Generator().manual_seed(0)).x
    q = M.toy_quality(real, modes, std)
    assert q.modes_covered == 8 and q.high_quality_share > 0.98  # 3 sigma in 2-D: 98.9 %
    between = torch.zeros(100, 2)  # the centre is 2 away from every mode
    q = M.toy_quality(between, modes, std)
    assert q.modes_covered == 0 and q.high_quality_share == 0.0
    one = modes[:1].repeat(50, 1)
    q = M.toy_quality(one, modes, std)
    assert q.modes_covered == 1 and q.per_mode[0] == 50


def test_latent_mmd_and_recon_error_of_models():
    from wae_core import ModelConfig, build_model

    torch.manual_seed(0)
    x = load_mnist("test").x[:400]
    wae = build_model(ModelConfig(kind="wae-mmd")).eval()
    gan = build_model(ModelConfig(kind="gan")).eval()
    assert np.isnan(M.latent_mmd(gan, x)) and np.isnan(M.reconstruction_mse(gan, x))
    with torch.no_grad():
        ref = float((wae.reconstruct(x) - x).pow(2).mean())
    assert M.reconstruction_mse(wae, x, batch_size=150) == pytest.approx(ref, rel=1e-5)
    assert np.isfinite(M.latent_mmd(wae, x, batch_size=200))


def test_latent_mmd_of_a_stochastic_encoder_is_reproducible():
    """The seed fixes the encoder's draws too, and the caller's RNG is left as it was."""
    from wae_core import ModelConfig, build_model

    torch.manual_seed(0)
    vae = build_model(ModelConfig(kind="vae")).eval()
    x = load_mnist("test").x[:300]
    state = torch.get_rng_state()
    a, b = M.latent_mmd(vae, x, seed=3), M.latent_mmd(vae, x, seed=3)
    assert a == b and M.latent_mmd(vae, x, seed=4) != a
    assert torch.equal(torch.get_rng_state(), state)
