"""wae_core.models.latent_ops: class-mean codes (against a naive loop), the arithmetic path
x + t·(b − a), random unit directions and the explorer's moved code."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from wae_core.models import latent_ops as L


def test_class_means_equal_a_naive_loop() -> None:
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(500, 8)).astype(np.float32)
    labels = rng.integers(0, 10, size=500)
    got = L.class_means(codes, labels).numpy()
    assert got.shape == (10, 8)
    for c in range(10):
        total, n = np.zeros(8), 0
        for z, y in zip(codes, labels):
            if y == c:
                total += z
                n += 1
        assert np.allclose(got[c], total / n, atol=1e-6), c


def test_class_means_empty_class_is_nan_and_n_classes() -> None:
    got = L.class_means(torch.ones(4, 2), torch.tensor([0, 0, 2, 2]), n_classes=4)
    assert got.shape == (4, 2)
    assert torch.all(torch.isnan(got[1])) and torch.all(torch.isnan(got[3]))
    assert torch.equal(got[0], torch.ones(2))
    with pytest.raises(ValueError):
        L.class_means(torch.ones(3, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError):
        L.class_means(torch.ones(2, 2), torch.tensor([0, 5]), n_classes=3)


def test_arithmetic_path_ends_and_steps() -> None:
    rng = np.random.default_rng(1)
    z, a, b = (rng.normal(size=6).astype(np.float32) for _ in range(3))
    path = L.arithmetic_path(z, a, b).numpy()
    assert path.shape == (len(L.ARITHMETIC_STEPS), 6) and L.ARITHMETIC_STEPS == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert np.allclose(path[0], z)  # t = 0: x's own code
    assert np.allclose(path[-1], z + (b - a), atol=1e-6)  # t = 1: x + (b - a)
    assert np.allclose(path[2], z + 0.5 * (b - a), atol=1e-6)
    assert np.allclose(np.diff(path, axis=0), 0.25 * (b - a), atol=1e-6)  # equal steps
    with pytest.raises(ValueError, match="different sizes"):
        L.arithmetic_path(z, a[:3], b)


def test_analogy_with_class_means() -> None:
    # codes of class c sit at c * e_0: "x + (mean(7) - mean(2))" moves x by 5 along e_0
    codes = torch.zeros(20, 3)
    labels = torch.arange(20) % 10
    codes[:, 0] = labels.float()
    means = L.class_means(codes, labels)
    x = torch.tensor([2.0, 1.0, -1.0])
    moved = L.arithmetic_path(x, means[2], means[7], ts=[1.0])[0]
    assert torch.allclose(moved, torch.tensor([7.0, 1.0, -1.0]))


def test_random_direction_is_a_reproducible_unit_vector() -> None:
    u = L.random_direction(8, 3)
    assert u.shape == (8,) and abs(float(u.norm()) - 1) < 1e-6
    assert torch.equal(u, L.random_direction(8, 3)) and not torch.equal(u, L.random_direction(8, 4))
    # uniform on the sphere: the mean of many is near 0
    assert float(torch.stack([L.random_direction(8, s) for s in range(2000)]).mean(0).norm()) < 0.05


def test_move() -> None:
    z = torch.tensor([1.0, 2.0])
    assert torch.equal(L.move(z, [0.5, -1.0, 9.0]), torch.tensor([1.5, 1.0]))  # extra offsets ignored
    assert torch.equal(L.move(z, [0.5]), torch.tensor([1.5, 2.0]))  # missing offsets are 0
    u = torch.tensor([0.6, 0.8])
    assert torch.allclose(L.move(z, [0.0, 0.0], u, 2.0), torch.tensor([2.2, 3.6]))
    assert torch.equal(L.move(z, np.zeros(2)), z)
    assert torch.allclose(L.move(z, [1.0, 0.0], u, 1.0, scale=2.0), torch.tensor([4.2, 3.6]))
    with pytest.raises(ValueError, match="direction"):
        L.move(z, [0, 0], torch.ones(3), 1.0)


# --- the 2-D latent space's grid, the prior's density and a posterior's σ (the idea and latent pages)
def test_grid_codes_read_like_an_image() -> None:
    """Row-major, top row at z₂ = +extent, z₁ increasing along a row: a naive double loop."""
    n, extent = 4, 2.0
    v = [-extent + i * 2 * extent / (n - 1) for i in range(n)]
    want = [(v[j], v[n - 1 - i]) for i in range(n) for j in range(n)]
    np.testing.assert_allclose(L.grid_codes(n, extent), np.array(want, dtype=np.float32), atol=1e-6)


@pytest.mark.parametrize("sigma_z", [1.0, 0.5, 2.0])
def test_prior_density_is_the_gaussian_of_the_models_sigma(sigma_z: float) -> None:
    """Each entry against the formula at (grid[j], grid[i]); the density integrates to ≈ 1."""
    g = np.linspace(-6 * sigma_z, 6 * sigma_z, 201)
    dens = L.prior_density(g, sigma_z)
    for i, j in ((0, 0), (100, 100), (30, 170), (150, 20)):
        z1, z2 = g[j], g[i]
        want = math.exp(-(z1**2 + z2**2) / (2 * sigma_z**2)) / (2 * math.pi * sigma_z**2)
        assert dens[i, j] == pytest.approx(want, rel=1e-12)
    step = g[1] - g[0]
    assert dens.sum() * step**2 == pytest.approx(1.0, abs=1e-3)
    # σ_z = 1 is not what a model with another σ_z sees: the peak is 1 / (2π σ_z²)
    assert dens.max() == pytest.approx(1 / (2 * math.pi * sigma_z**2), rel=1e-3)


def test_posterior_std_from_logvar() -> None:
    logvar = torch.tensor([[0.0, math.log(4.0)], [math.log(0.01), -2.0]])
    np.testing.assert_allclose(L.posterior_std(logvar), [[1.0, 2.0], [0.1, math.exp(-1.0)]], rtol=1e-6)
