r"""Data augmentation for digits: what users' uploads and drawings do that MNIST's did not.

MNIST's digits are centred by centre of mass, fitted into 20 x 20 and drawn with one kind of pen.
The app's uploads go through the same preparation (:mod:`wae_core.data.uploads`), but a printed
font, a canvas stroke or a phone photo still arrives a little off-centre, tilted, larger or
smaller and with a thicker or thinner stroke than any training digit. An encoder that never saw
such images maps them off Q_Z's support, and the decoder returns another digit. So the encoder
reads each training image moved by a random affine map, some strokes thickened or thinned,

$$\tilde x = s_w\big(x \circ A^{-1}\big),\quad A = \text{shift} \cdot \text{rotation} \cdot
\text{scale},\quad s_w \in \{\text{thicken}, \text{thin}, \text{id}\},$$

and the decoder must return the original: the cost is $c\big(x, G(E(\tilde x))\big)$. This is
still the paper's objective: Q(Z|X=x) is now the law of $E(\tilde x)$, a random encoder, which
the WAE's infimum over Q(Z|X) allows, and the decoder keeps generating MNIST's centred digits (a
6-minute pilot that reconstructed the augmented image instead spent its code on pose: FID 363
against 154 without augmentation; docs/experiments.md). The random numbers come from torch's global
generator, which the trainer checkpoints, so a resumed run augments exactly as an uninterrupted one.

Measured and not shipped: it blurred every reconstruction more than it helped (docs/experiments.md).
:func:`degrade` adds what the upload path leaves of a photo or a small scan (lower resolution, blur,
faint or patchy ink), for the encoder refit (``--init CKPT --no-train-decoder --augment
--augment-uploads``): measured and not shipped either.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MAX_SHIFT_PX = 2.5  # MNIST's centring is by centre of mass: uploads land within a few pixels
MAX_ROTATION_DEG = 15.0  # slanted handwriting and tilted photos
SCALE_RANGE = (0.85, 1.15)  # digits smaller or larger than MNIST's 20 x 20 box
P_THICKEN, P_THIN = 0.25, 0.15  # share of a batch whose strokes are made thicker / thinner
# What the upload path leaves (``degrade``), each step applied to a share P_DEGRADE of the images.
P_DEGRADE = 0.35
LOW_RES_SIDES = (10, 18)  # a digit of 7-13 px across the 28 x 28 frame, enlarged: UCI's 8 x 8 scans
BLUR_SIGMA = (0.4, 1.0)
INK_GAMMA = (0.5, 2.0)
MAX_GRAIN = 0.6


def random_affine(x: torch.Tensor) -> torch.Tensor:
    """Each image of ``x`` (N, C, H, W) shifted, rotated and scaled at random (bilinear,
    zeros outside: MNIST's background)."""
    n, _, h, w = x.shape
    rand = torch.rand(n, 4, device=x.device) * 2 - 1  # uniform in [-1, 1]
    angle = rand[:, 0] * math.radians(MAX_ROTATION_DEG)
    lo, hi = SCALE_RANGE
    scale = lo + (rand[:, 1] + 1) / 2 * (hi - lo)
    # affine_grid maps output to input coordinates in [-1, 1]: dividing by the scale enlarges
    # the digit; a shift of k pixels is 2k / size in these units.
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    tx, ty = rand[:, 2] * 2 * MAX_SHIFT_PX / w, rand[:, 3] * 2 * MAX_SHIFT_PX / h
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def dilate(x: torch.Tensor) -> torch.Tensor:
    """Strokes one pixel thicker: the maximum over each pixel's 3 x 3 neighbourhood."""
    return F.max_pool2d(x, 3, stride=1, padding=1)


def erode(x: torch.Tensor) -> torch.Tensor:
    """Strokes thinner: the minimum over each pixel and its 4 neighbours (a 3 x 3 square would
    erase MNIST's thinnest strokes)."""
    padded = F.pad(x, (1, 1, 1, 1))
    h, w = x.shape[-2:]
    shifts = [padded[..., 1:h + 1, 1:w + 1], padded[..., :h, 1:w + 1], padded[..., 2:, 1:w + 1],
              padded[..., 1:h + 1, :w], padded[..., 1:h + 1, 2:]]
    return torch.stack(shifts).amin(0)


def random_stroke_width(x: torch.Tensor) -> torch.Tensor:
    """A random P_THICKEN of the images dilated, P_THIN thinned, the rest unchanged. Thinning is
    half an erosion (the mean of the image and its erosion): a full one keeps only ~30 % of
    MNIST's ink and breaks its thinnest strokes."""
    u = torch.rand(x.shape[0], 1, 1, 1, device=x.device)
    thin = 0.5 * (x + erode(x))
    return torch.where(u < P_THICKEN, dilate(x), torch.where(u > 1 - P_THIN, thin, x))


def _per_image(n: int, lo: float, hi: float, device: torch.device) -> torch.Tensor:
    return lo + torch.rand(n, 1, 1, 1, device=device) * (hi - lo)


def lower_resolution(x: torch.Tensor) -> torch.Tensor:
    """Each image shrunk to a random side in LOW_RES_SIDES (area average) and enlarged back
    (bilinear): a small scan or thumbnail, whose digit the upload path enlarges to 20 px."""
    out = x.clone()
    h, w = x.shape[-2:]
    sides = torch.randint(LOW_RES_SIDES[0], LOW_RES_SIDES[1] + 1, (x.shape[0],))
    for side in sides.unique().tolist():
        i = (sides == side).nonzero().flatten()
        small = F.interpolate(x[i], size=(side, side), mode="area")
        out[i] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    return out


def gaussian_blur(x: torch.Tensor) -> torch.Tensor:
    """Each image blurred by a Gaussian of a random σ in BLUR_SIGMA (pixels): lens blur and the
    upload path's resampling."""
    n, c, h, w = x.shape
    sigma = _per_image(n, *BLUR_SIGMA, x.device).flatten()
    r = torch.arange(-3, 4, device=x.device, dtype=x.dtype)
    k1 = torch.exp(-(r[None] ** 2) / (2 * sigma[:, None] ** 2))
    k1 = k1 / k1.sum(1, keepdim=True)
    kernel = (k1[:, :, None] * k1[:, None, :]).repeat_interleave(c, 0)[:, None]  # (n*c, 1, 7, 7)
    out = F.conv2d(F.pad(x.reshape(1, n * c, h, w), (3, 3, 3, 3)), kernel, groups=n * c)
    return out.reshape(n, c, h, w)


def ink_level(x: torch.Tensor) -> torch.Tensor:
    """Each image's ink curve bent by a random γ in INK_GAMMA (x ↦ x^γ): faint ballpoint and
    pencil strokes (γ > 1 thins their grey edges), saturated marker (γ < 1 widens them)."""
    gamma = torch.exp(_per_image(x.shape[0], *(math.log(g) for g in INK_GAMMA), x.device))
    return x.clamp(min=0.0).pow(gamma)


def patchy_ink(x: torch.Tensor) -> torch.Tensor:
    """Ink with gaps: each pixel kept at 1 - g·u, u smooth noise in [0, 1], g random up to
    MAX_GRAIN (graphite on the paper's tooth, a drying pen)."""
    n = x.shape[0]
    u = F.avg_pool2d(torch.rand_like(x), 3, stride=1, padding=1, count_include_pad=False)
    return x * (1 - _per_image(n, 0.0, MAX_GRAIN, x.device) * u)


def degrade(x: torch.Tensor) -> torch.Tensor:
    """What the upload path leaves of a photo, a scan or a small screenshot: each of
    :func:`lower_resolution`, :func:`gaussian_blur`, :func:`ink_level` and :func:`patchy_ink` with
    probability P_DEGRADE, then the ink's peak scaled back to 1 (as the upload path does)."""
    for step in (lower_resolution, gaussian_blur, ink_level, patchy_ink):
        pick = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < P_DEGRADE
        x = torch.where(pick, step(x), x)
    peak = x.amax(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6)
    return (x / peak).clamp_(0.0, 1.0)


def augment_digits(x: torch.Tensor, share: float, uploads: bool = False) -> torch.Tensor:
    """A random ``share`` of a batch of digit images (N, C, H, W) in [0, 1] augmented (the
    TrainConfig's ``augment_share``), the rest as they are; ``uploads``: also :func:`degrade`-d."""
    aug = random_stroke_width(random_affine(x)).clamp_(0.0, 1.0)
    if uploads:
        aug = degrade(aug)
    pick = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < share
    return torch.where(pick, aug, x)


__all__ = ["augment_digits", "degrade", "dilate", "erode", "gaussian_blur", "ink_level",
           "lower_resolution", "patchy_ink", "random_affine", "random_stroke_width"]
