"""Each model's loss is exactly its formula, with the configured λ, kernel scales, σ_z and cost
scale, checked against naive loops on tiny inputs (the models draw their noise from the global
RNG; the references replay the same draws from the same seed)."""

import math

import pytest
import torch

from wae_core import ModelConfig, build_model

# Deliberately not the defaults, so a loss that ignored one of them would be caught.
ODD = dict(arch="mlp", x_dim=2, z_dim=3, hidden=16, depth=2, disc_hidden=16, disc_depth=2,
           lam=3.7, recon_scale=0.7, sigma_z=1.5, kernel_scales=(0.3, 2.0))


def _model(kind, **kw):
    torch.manual_seed(0)
    return build_model(ModelConfig(kind=kind, **{**ODD, **kw}))


def _x(n=5):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(1))


def _run_then_reseed(fn, x, seed):
    """``fn(x)`` (no grad) from ``seed``, then the global RNG set back to ``seed``: the naive
    reference that follows replays the same noise draws."""
    torch.manual_seed(seed)
    with torch.no_grad():
        out = fn(x)
    torch.manual_seed(seed)
    return out


def naive_cost(x, y, scale):
    return sum(scale * sum((float(x[i, j]) - float(y[i, j])) ** 2 for j in range(x.shape[1]))
               for i in range(len(x))) / len(x)


def naive_kernel(a, b, kernel, z_dim, sigma_z, scales):
    d2 = sum((float(a[j]) - float(b[j])) ** 2 for j in range(len(a)))
    cs = [2 * z_dim * sigma_z**2 * s for s in scales]
    if kernel == "imq":
        return sum(c / (c + d2) for c in cs)
    return sum(math.exp(-d2 / c) for c in cs)


def naive_mmd(q, p, kernel, z_dim, sigma_z, scales):
    n, m = len(q), len(p)
    k = lambda a, b: naive_kernel(a, b, kernel, z_dim, sigma_z, scales)
    sqq = sum(k(q[i], q[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    spp = sum(k(p[i], p[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    sqp = sum(k(q[i], p[j]) for i in range(n) for j in range(m)) / (n * m)
    return sqq + spp - 2 * sqp


def softplus(t):
    return math.log1p(math.exp(-abs(t))) + max(t, 0.0)


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
@pytest.mark.parametrize("stochastic", [False, True])
def test_wae_mmd_total_is_recon_plus_lambda_mmd(kernel, stochastic):
    m = _model("wae-mmd", kernel=kernel, stochastic_encoder=stochastic)
    x = _x()
    out = _run_then_reseed(m.loss, x, 7)  # replay: the encoder's noise (if any), then the prior draws
    with torch.no_grad():
        h = m.encoder(x)
        if stochastic:
            mu, logvar = h.chunk(2, dim=1)
            codes = mu + torch.exp(0.5 * logvar.clamp(-12, 8)) * torch.randn_like(mu)
        else:
            codes = h
        prior = torch.randn(len(x), 3) * 1.5
        recon = naive_cost(x, m.decoder(codes), 0.7)
        mmd = naive_mmd(codes, prior, kernel, 3, 1.5, (0.3, 2.0))
    assert float(out["recon"]) == pytest.approx(recon, rel=1e-5)
    assert float(out["mmd"]) == pytest.approx(mmd, rel=1e-4, abs=1e-6)
    assert float(out["total"]) == pytest.approx(recon + 3.7 * mmd, rel=1e-5)


def test_wae_gan_total_is_recon_plus_lambda_fooling_and_adversary_scaled():
    m = _model("wae-gan")
    x = _x()
    with torch.no_grad():
        out = m.loss(x)
    with torch.no_grad():
        codes = m.encoder(x)
        recon = naive_cost(x, m.decoder(codes), 0.7)
        logits = m.adversary(codes).reshape(-1).tolist()
        fool = sum(-math.log(1 / (1 + math.exp(-t))) for t in logits) / len(logits)
    assert float(out["recon"]) == pytest.approx(recon, rel=1e-5)
    assert float(out["adv"]) == pytest.approx(fool, rel=1e-5)
    assert float(out["total"]) == pytest.approx(recon + 3.7 * fool, rel=1e-5)
    adv = _run_then_reseed(m.adversary_loss, x, 3)
    with torch.no_grad():
        prior = torch.randn(len(x), 3) * 1.5
        lp = m.adversary(prior).reshape(-1).tolist()
        lq = m.adversary(codes).reshape(-1).tolist()
    d = sum(softplus(-t) for t in lp) / len(lp) + sum(softplus(t) for t in lq) / len(lq)
    assert float(adv["disc"]) == pytest.approx(d, rel=1e-5)
    assert float(adv["total"]) == pytest.approx(3.7 * d, rel=1e-5)


def test_vae_total_is_nll_plus_kl_to_the_configured_prior():
    """KL(N(mu, s^2) || N(0, sigma_z^2)) per dimension, summed; Gaussian NLL = the cost."""
    m = _model("vae")
    x = _x()
    out = _run_then_reseed(m.loss, x, 5)
    with torch.no_grad():
        mu, logvar = m.encoder(x).chunk(2, dim=1)
        logvar = logvar.clamp(-12, 8)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        recon = naive_cost(x, m.decoder(z), 0.7)
    kl = 0.0
    for i in range(len(x)):
        for j in range(3):
            s2, p2 = math.exp(float(logvar[i, j])), 1.5**2
            kl += 0.5 * (float(mu[i, j]) ** 2 / p2 + s2 / p2 - 1 - math.log(s2 / p2))
    kl /= len(x)
    assert float(out["recon"]) == pytest.approx(recon, rel=1e-5)
    assert float(out["kl"]) == pytest.approx(kl, rel=1e-5)
    assert float(out["total"]) == pytest.approx(recon + kl, rel=1e-5)


def test_gan_generator_loss_is_non_saturating():
    m = _model("gan")
    x = _x()
    out = _run_then_reseed(m.loss, x, 9)
    with torch.no_grad():
        fake = m.decoder(torch.randn(len(x), 3) * 1.5)
        logits = m.adversary(fake).reshape(-1).tolist()
    assert float(out["gen"]) == pytest.approx(sum(softplus(-t) for t in logits) / len(logits), rel=1e-5)
    assert torch.equal(out["total"], out["gen"])


def test_stochastic_encoder_path():
    """A Gaussian Q(Z|X): encode gives the mean, encode_sample draws around it with the encoder's
    variance (mean and spread of many draws match), and training uses the draws, not the mean."""
    m = _model("wae-mmd", stochastic_encoder=True)
    x = _x(1)
    with torch.no_grad():
        mu, logvar = m.encoder(x).chunk(2, dim=1)
        assert torch.equal(m.encode(x), mu)
        draws = torch.cat([m.encode_sample(x) for _ in range(4000)])
    assert torch.allclose(draws.mean(0), mu[0], atol=0.1 * float(logvar.exp().sqrt().max()))
    assert torch.allclose(draws.std(0), torch.exp(0.5 * logvar[0]), rtol=0.1)
    with torch.no_grad():
        torch.manual_seed(1)
        a = m.loss(_x())["recon"]
        torch.manual_seed(2)
        b = m.loss(_x())["recon"]
    assert float(a) != float(b)  # the noise reaches the loss
    det = _model("wae-mmd")
    assert det.encoder(x).shape[1] == 3 and m.encoder(x).shape[1] == 6
    with torch.no_grad():
        assert torch.equal(det.encode_sample(x), det.encode(x))


def test_mmd_term_depends_on_configured_scales():
    """Another set of kernel scales gives another MMD term for the same codes (the config is used)."""
    x = _x()
    outs = []
    for scales in ((0.3, 2.0), (5.0,)):
        m = _model("wae-mmd", kernel_scales=scales)
        torch.manual_seed(7)
        with torch.no_grad():
            outs.append(float(m.loss(x)["mmd"]))
    assert outs[0] != pytest.approx(outs[1], rel=1e-3)


def test_cost_power_and_warmup_factor():
    """c(x, y) = gamma ||x - y||^p with the configured p (here 1: W1), and lambda times the
    trainer's warm-up factor; the VAE's Gaussian likelihood stays squared whatever p is."""
    m = _model("wae-mmd", cost_power=1.0)
    x = _x()
    m.lam_scale = 0.25
    torch.manual_seed(7)
    with torch.no_grad():
        out = m.loss(x)
        y = m.decoder(m.encoder(x))
    naive = sum(0.7 * math.sqrt(sum((float(x[i, j]) - float(y[i, j])) ** 2 for j in range(2)))
                for i in range(len(x))) / len(x)
    assert float(out["recon"]) == pytest.approx(naive, rel=1e-5)
    assert float(out["total"]) == pytest.approx(naive + 3.7 * 0.25 * float(out["mmd"]), rel=1e-5)
    vae = _model("vae", cost_power=1.0)
    z = torch.zeros(len(x), 3)
    with torch.no_grad():
        assert torch.allclose(vae.neg_log_likelihood(x, z), 0.7 * (x - vae.decoder(z)).pow(2).sum(1))


def test_logvar_floor_bounds_the_encoder_noise():
    m = _model("wae-mmd", stochastic_encoder=True, logvar_min=-2.0)
    with torch.no_grad():
        for p in m.encoder[-1].parameters():  # make the encoder ask for a tiny variance
            p.zero_()
        m.encoder[-1].bias[3:] = -20.0
        x = _x(1).repeat(4000, 1)
        draws = m.encode_sample(x)
    assert float(draws.std(0).mean()) == pytest.approx(math.exp(-1.0), rel=0.05)
