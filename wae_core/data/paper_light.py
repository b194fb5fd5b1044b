"""The paper under an upload's ink: its level and its light, for the upload path
(:func:`wae_core.data.ingest.to_mnist`): the border ring it is read on, a plane fitted to it,
whether the ink is darker than the paper, and a background that follows a shadow's edge where a
plane cannot. The polarity vote and the shadow's background were developed on the validation split
of scripts/make_heldout_digits_2.py (``--validation``), never on the set itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["border_mask", "box3", "fit_background", "ink_is_dark", "interp_weights", "opened_background"]

_BORDER_FRACTION = 0.03  # thickness of the border ring used to estimate the background
_LOCAL_MEDIAN_SIDE = 128  # px: the local median for the polarity is taken on about this many
# pixels per side (a 512 px photo: every 4th pixel), enough for the paper's level
_POLARITY_EVERY = 7  # the plane for the polarity is fitted to every 7th border pixel (quicker;
# the polarity needs only its rough level and tilt)
_LIGHT_WINDOW = 0.1  # the window of the background that follows a shadow: this share of the
# shorter side, wider than a stroke of a digit that leaves a margin around it


def box3(a: np.ndarray) -> np.ndarray:
    """3x3 mean filter with edge replication."""
    p = np.pad(a, 1, mode="edge")
    h, w = a.shape
    out = np.zeros_like(a)
    for dy in range(3):
        for dx in range(3):
            out += p[dy : dy + h, dx : dx + w]
    return out / 9.0


def border_mask(h: int, w: int) -> np.ndarray:
    """Boolean mask of a ring along the image border, about 3% of the shorter side thick."""
    t = max(1, round(min(h, w) * _BORDER_FRACTION))
    mask = np.zeros((h, w), dtype=bool)
    mask[:t] = mask[-t:] = True
    mask[:, :t] = mask[:, -t:] = True
    return mask


def fit_background(a: np.ndarray, ring: np.ndarray, every: int = 1) -> tuple[np.ndarray, float]:
    """Fit a plane to the border ring of ``a`` (ink = bright outliers, ignored), to every
    ``every``-th pixel of it (a rougher, quicker fit).

    Returns the background plane over the whole image and the background noise level
    (robust standard deviation of the ring around the plane).
    """
    h, w = a.shape
    ys, xs = np.nonzero(ring)
    ys, xs = ys[::every], xs[::every]
    v = a[ys, xs].astype(np.float64)
    sx = 2.0 / max(w - 1, 1)
    sy = 2.0 / max(h - 1, 1)
    design = np.column_stack([np.ones_like(v), xs * sx - 1.0, ys * sy - 1.0])
    keep = np.ones(v.shape, dtype=bool)
    coef = np.array([float(np.median(v)), 0.0, 0.0])
    noise = 0.0
    for _ in range(3):
        if keep.sum() >= 3:
            coef = np.linalg.lstsq(design[keep], v[keep], rcond=None)[0]
        resid = v - design @ coef
        centre = float(np.median(resid[keep]))
        noise = 1.4826 * float(np.median(np.abs(resid[keep] - centre)))
        keep = resid <= centre + 3.0 * noise + 1e-3
    gx = (np.arange(w, dtype=np.float32) * sx - 1.0)[None, :]
    gy = (np.arange(h, dtype=np.float32) * sy - 1.0)[:, None]
    plane = np.float32(coef[0]) + np.float32(coef[1]) * gx + np.float32(coef[2]) * gy
    return plane.astype(np.float32), noise


def interp_weights(n: int, knots: Sequence[float]) -> np.ndarray:
    """(n, len(knots)) weights that interpolate linearly at 0..n-1 between values at ``knots``."""
    eye = np.eye(len(knots), dtype=np.float32)
    return np.stack([np.interp(np.arange(n), knots, eye[j]) for j in range(len(knots))], axis=1)


def _local_median(smooth: np.ndarray) -> np.ndarray:
    """The paper's level as it varies over the image: the medians of 3x3 overlapping windows of
    half the image's size (at its corners, edge middles and centre), interpolated between them."""
    h, w = smooth.shape
    step = max(1, -(-max(h, w) // _LOCAL_MEDIAN_SIDE))
    ys, xs = (0, h // 2, h - 1), (0, w // 2, w - 1)
    hh, hw = max(1, h // 4), max(1, w // 4)
    grid = np.array(
        [
            [np.median(smooth[max(0, y - hh) : y + hh + 1 : step, max(0, x - hw) : x + hw + 1 : step])
             for x in xs]
            for y in ys
        ],
        dtype=np.float32,
    )
    return interp_weights(h, ys) @ grid @ interp_weights(w, xs).T


def ink_is_dark(grey: np.ndarray, smooth: np.ndarray, ring: np.ndarray) -> bool:
    """Whether the ink is darker than the paper: something departs further below the paper's
    level than anything departs above it, for at least two of three estimates of that level.

    The border's median fails when a shadow or a lamp lights the border unevenly (the lit paper
    then departs furthest), a plane fitted to the border when the light is not a plane (a shadow's
    edge, dark corners), a local median when thick ink fills the frame (the median is ink); a
    photo seldom meets two of these at once.
    """
    references = [np.float32(np.median(grey[ring])), fit_background(grey, ring, every=_POLARITY_EVERY)[0]]
    if min(grey.shape) >= 3:
        references.append(_local_median(smooth))
    votes = [float((ref - smooth).max()) > float((smooth - ref).max()) for ref in references]
    return 2 * sum(votes) > len(votes)


def opened_background(
    grey: np.ndarray, smooth: np.ndarray, ring: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """The background under uneven light (a shadow's edge, dark corners), for bright ink: the
    smoothed image opened (min, then max filter) over a window wider than a stroke follows the
    light but not the strokes. Returns it, the noise around it in the border ring and the most
    anything in the ring stands above it (where the light is no simple slope, it errs: most where
    a shadow's edge meets the border, in a blank sheet too).
    """
    from scipy import ndimage  # lazy: only for photos in uneven light

    h, w = grey.shape
    size = max(1, round(min(h, w) * _LIGHT_WINDOW))
    opened = ndimage.grey_opening(smooth, size=(size, size), mode="nearest")
    resid = (grey - opened)[ring]
    centre = float(np.median(resid))
    noise = 1.4826 * float(np.median(np.abs(resid - centre)))
    background = opened + np.float32(centre)
    return background, noise, float((smooth - background)[ring].max())
