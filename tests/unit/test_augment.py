"""Digit augmentation (wae_core.data.augment) against plain loops, and in the trainer."""

import math

import pytest
import torch

from wae_core import ModelConfig, TrainConfig, Trainer, build_model
from wae_core.data import augment as A
from wae_core.data.datasets import load_mnist


def _naive_filter(x, offsets, reduce):
    """reduce() over the pixels at ``offsets`` around each pixel, zeros outside: plain loops."""
    out = torch.zeros_like(x)
    h, w = x.shape
    for i in range(h):
        for j in range(w):
            vals = [x[i + di, j + dj].item() if 0 <= i + di < h and 0 <= j + dj < w else 0.0
                    for di, dj in offsets]
            out[i, j] = reduce(vals)
    return out


def test_dilate_and_erode_match_loops():
    torch.manual_seed(0)
    x = torch.rand(7, 6)
    square = [(di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)]
    plus = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]
    assert torch.equal(A.dilate(x[None, None])[0, 0], _naive_filter(x, square, max))
    assert torch.equal(A.erode(x[None, None])[0, 0], _naive_filter(x, plus, min))


def test_random_affine_moves_by_the_drawn_shift(monkeypatch):
    """With rotation and scale switched off and every uniform draw at its maximum, each image is
    shifted by exactly MAX_SHIFT_PX pixels on both axes (affine_grid samples input at output +
    shift, so the content moves up-left), zeros filling in."""
    monkeypatch.setattr(A, "MAX_ROTATION_DEG", 0.0)
    monkeypatch.setattr(A, "SCALE_RANGE", (1.0, 1.0))
    monkeypatch.setattr(A, "MAX_SHIFT_PX", 2.0)
    monkeypatch.setattr(A.torch, "rand", lambda *s, **k: torch.ones(*s))
    x = torch.rand(3, 1, 10, 12)
    want = torch.zeros_like(x)
    want[..., :-2, :-2] = x[..., 2:, 2:]
    assert torch.allclose(A.random_affine(x), want, atol=1e-6)


def test_random_affine_rotates_and_scales_about_the_centre(monkeypatch):
    """Every draw at its maximum, no shift: a point at offset v from the centre lands at
    s R(theta) v (a bright pixel, followed by its centre of mass)."""
    monkeypatch.setattr(A, "MAX_SHIFT_PX", 0.0)
    monkeypatch.setattr(A.torch, "rand", lambda *s, **k: torch.ones(*s))
    x = torch.zeros(1, 1, 41, 41)
    x[0, 0, 20, 30] = 1.0  # 10 px right of the centre
    y = A.random_affine(x)[0, 0]
    ii, jj = torch.meshgrid(torch.arange(41.0), torch.arange(41.0), indexing="ij")
    ci, cj = (y * ii).sum() / y.sum(), (y * jj).sum() / y.sum()
    s, t = A.SCALE_RANGE[1], math.radians(A.MAX_ROTATION_DEG)
    # theta maps output to input by R(t) / s, so content moves by s R(-t) in (x right, y down)
    assert cj.item() - 20 == pytest.approx(10 * s * math.cos(t), abs=0.3)
    assert ci.item() - 20 == pytest.approx(-10 * s * math.sin(t), abs=0.3)


def test_augment_digits_stays_in_range_and_varies():
    x = load_mnist("test").x[:64]
    torch.manual_seed(0)
    a = A.augment_digits(x, share=1.0)
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    assert not torch.equal(a, x)
    # ink is moved, not lost: the ink mass changes by the scale squared and the stroke width only
    ratio = a.sum((1, 2, 3)) / x.sum((1, 2, 3))
    assert ratio.min() > 0.5 and ratio.max() < 3.0


def test_trainer_augments_images_only_when_asked(tmp_path):
    """augment=True changes what the model sees (other losses from the same seed), and a resumed
    augmented run equals an uninterrupted one (the draws come from the checkpointed generator)."""
    data = load_mnist("test").subset(300)
    cfg = dict(epochs=2, batch_size=50, lr_milestones=(), lr_factors=(), seed=3)

    def run(out=None, **kw):
        torch.manual_seed(0)
        t = Trainer(build_model(ModelConfig(kind="wae-mmd")), data, TrainConfig(**{**cfg, **kw}), out)
        t.fit()
        return t

    plain, aug = run(), run(augment=True)
    assert plain.history[0]["recon"] != aug.history[0]["recon"]
    run(tmp_path / "half.safetensors", augment=True, epochs=1)
    resumed = Trainer.resume(tmp_path / "half.safetensors", data, epochs=2)
    resumed.fit()
    a, b = aug.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_cosine_budget_anneals_by_time_or_steps_whichever_is_further():
    cfg = TrainConfig(lr_schedule="cosine-budget", max_seconds=100.0)
    cos = lambda p: 0.5 * (1 + math.cos(math.pi * p))  # noqa: E731
    assert cfg.lr_multiplier(0, step=10, total_steps=100, seconds=50.0) == pytest.approx(cos(0.5))
    assert cfg.lr_multiplier(0, step=80, total_steps=100, seconds=50.0) == pytest.approx(cos(0.8))
    assert cfg.lr_multiplier(0, step=1, total_steps=100, seconds=150.0) == 0.0
    # without a time cap it is the step cosine
    plain = TrainConfig(lr_schedule="cosine-budget")
    assert plain.lr_multiplier(0, step=30, total_steps=100, seconds=1e9) == pytest.approx(cos(0.3))


def test_degrade_keeps_the_digit_in_range_with_its_peak_at_one():
    """Each upload degradation on its own, and all of them: values in [0, 1], the ink's peak
    scaled back to 1 (as the upload path scales it), the ink where it was (no shift)."""
    x = load_mnist("test").x[:32]
    torch.manual_seed(0)
    centre = torch.arange(28.0)
    for step in (A.lower_resolution, A.gaussian_blur, A.ink_level, A.patchy_ink, A.degrade):
        d = step(x)
        assert d.shape == x.shape and d.min() >= 0 and not torch.equal(d, x), step.__name__
        rows = lambda t: (t.sum((1, 3)) * centre).sum(1) / t.sum((1, 2, 3))  # noqa: E731
        assert (rows(d) - rows(x)).abs().max() < 1.0, step.__name__
    d = A.degrade(x)
    assert torch.allclose(d.amax((1, 2, 3)), torch.ones(32))
    assert (A.augment_digits(x, share=1.0, uploads=True) <= 1).all()
