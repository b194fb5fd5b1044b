"""MMD and KL against naive references."""

import math

import pytest
import torch

from wae_core.models import divergences as D
from wae_core.models.config import PAPER_KERNEL_SCALES


def naive_mmd(x, y, kernel, consts, unbiased=True):
    def k(a, b):
        d2 = float(((a - b) ** 2).sum())
        if kernel == "imq":
            return sum(c / (c + d2) for c in consts)
        return sum(math.exp(-d2 / c) for c in consts)

    n, m = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j or not unbiased)
    syy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j or not unbiased)
    sxy = sum(k(x[i], y[j]) for i in range(n) for j in range(m))
    if unbiased:
        return sxx / (n * (n - 1)) + syy / (m * (m - 1)) - 2 * sxy / (n * m)
    return sxx / n**2 + syy / m**2 - 2 * sxy / (n * m)


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
@pytest.mark.parametrize("scales", [(1.0,), (0.1, 1.0, 10.0), PAPER_KERNEL_SCALES])
@pytest.mark.parametrize("unbiased", [True, False])
def test_mmd_matches_double_loop(kernel, scales, unbiased):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(13, 4, generator=g, dtype=torch.float64)
    y = torch.randn(11, 4, generator=g, dtype=torch.float64) + 0.3
    consts = D.kernel_constants(4, 1.0, scales)
    fast = float(D.mmd(x, y, kernel, consts, unbiased=unbiased))
    assert fast == pytest.approx(naive_mmd(x, y, kernel, consts, unbiased), abs=1e-5)


def test_paper_kernel_constants():
    assert D.kernel_constants(8) == pytest.approx([2 * 8 * s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10)])
    assert D.kernel_constants(2, sigma_z=2.0, scales=(1.0,)) == [16.0]


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_unbiased_estimator_is_zero_on_average(kernel):
    """Two samples of one distribution: the U-statistic averages to 0 within 3 standard errors,
    while the biased V-statistic is positive on average."""
    g = torch.Generator().manual_seed(1)
    u, v = [], []
    for _ in range(400):
        x, y = torch.randn(20, 3, generator=g), torch.randn(20, 3, generator=g)
        u.append(float(D.mmd(x, y, kernel)))
        v.append(float(D.mmd(x, y, kernel, unbiased=False)))
    u_t = torch.tensor(u)
    se = float(u_t.std() / math.sqrt(len(u)))
    assert abs(float(u_t.mean())) < 3 * se
    assert float(torch.tensor(v).mean()) > 3 * se


def test_mmd_grows_with_mean_shift_and_is_symmetric():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(200, 8, generator=g), torch.randn(200, 8, generator=g)
    values = [float(D.mmd(x + s, y)) for s in (0.0, 0.25, 0.5, 1.0, 2.0)]
    assert all(a < b for a, b in zip(values, values[1:]))
    assert float(D.mmd(x, y + 1)) == pytest.approx(float(D.mmd(y + 1, x)), rel=1e-5)
    assert float(D.mmd(x, x.clone(), unbiased=False)) == pytest.approx(0.0, abs=1e-6)


def test_mmd_rejects_bad_shapes():
    with pytest.raises(ValueError):
        D.mmd(torch.randn(5, 2), torch.randn(5, 3))
    with pytest.raises(ValueError):
        D.mmd(torch.randn(1, 2), torch.randn(5, 2))


def test_kl_normal_matches_monte_carlo():
    g = torch.Generator().manual_seed(3)
    mu = torch.randn(4, 3, generator=g, dtype=torch.float64)
    logvar = torch.randn(4, 3, generator=g, dtype=torch.float64) * 0.5
    std = torch.exp(0.5 * logvar)
    z = mu + std * torch.randn(200_000, 4, 3, generator=g, dtype=torch.float64)
    log_q = torch.distributions.Normal(mu, std).log_prob(z).sum(-1)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    mc = (log_q - log_p).mean(0)
    closed = D.kl_normal(mu, logvar)
    assert torch.allclose(closed, mc, atol=0.02)
    assert float(D.kl_normal(torch.zeros(1, 5), torch.zeros(1, 5))) == 0.0


def test_adversary_losses_are_stable_and_match_bce():
    logits = torch.tensor([-1e4, -3.0, 0.0, 3.0, 1e4])
    a = D.adversary_loss(logits, logits)
    assert torch.isfinite(a)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    ref = bce(logits, torch.ones(5)) + bce(logits, torch.zeros(5))
    assert float(a) == pytest.approx(float(ref))
    assert float(D.fooling_loss(logits)) == pytest.approx(float(bce(logits, torch.ones(5))))


def test_latex_of_returns_docstring_formulas():
    formulas = D.latex_of(D.mmd)
    assert len(formulas) == 2 and "MMD" in formulas[0]
    assert D.latex_of(D.kl_normal)[0].startswith(r"\mathrm{KL}")
