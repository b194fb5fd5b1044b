"""wae_core.latent_ops: class-mean codes (against a naive loop), the arithmetic path
x + t·(b − a), random unit directions and the explorer's moved code."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wae_core import latent_ops as L


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
