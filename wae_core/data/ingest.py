"""Turn a decoded upload (or a drawing's array) into an MNIST-style 28x28 float array, following
LeCun's MNIST preparation: greyscale, white ink on black, digit fitted into a 20x20 box and centred
by centre of mass in 28x28 (the decoding and its checks: :mod:`wae_core.data.uploads`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from wae_core.data.paper_light import border_mask, box3, fit_background, ink_is_dark, opened_background
from wae_core.data.paper_rules import BBOX_THRESHOLD, remove_rules
from wae_core.data.uploads import (
    DECODE_ERRORS,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    MAX_SIDE,
    WORK_SIDE,
    ImageError,
    decode_image,
)

__all__ = ["Preprocessed", "preprocess_bytes", "to_mnist"]

OUTPUT_SIZE = 28
"""Side of the output image (MNIST)."""

DIGIT_BOX = 20
"""The ink's bounding box is scaled so that its longer side is this many pixels (MNIST)."""

_MIN_CONTRAST = 0.05  # ink must stand out from the background by at least this (0..1 scale)
_NOISE_FACTOR = 4.0  # ... and by this many times the background noise
_BBOX_TRIM = 0.001  # fraction of the ink mass ignored at each side (stray specks)
_SPECK_MASS = 0.02  # a separate piece of ink with less than this share of the largest piece's
# mass is a speck (noise, paper grain, a rule's remains) and left out of the bounding box

# Uneven light (developed on the validation split of scripts/make_heldout_digits_2.py).
_SHADOW_MIN_CONTRAST = 0.1  # in uneven light the ink must stand out twice _MIN_CONTRAST ...
_SHADOW_BORDER_FACTOR = 2.0  # ... and twice as far as anything in the border ring, where the
# background errs most (blank sheets in shadow: their peak is 1-1.5 times the ring's; digits
# the plane missed: mostly 2.5-8 times)


@dataclass(frozen=True)
class Preprocessed:
    """Result of :func:`to_mnist`.

    Attributes:
        image: float32 array of shape (28, 28), values in [0, 1], white ink on black
            (MNIST convention), ink centred by centre of mass.
        notes: human-readable notes about what was done to the input, e.g.
            ``"inverted: dark ink on a light background"``.
        original_size: (width, height) of the input as uploaded (after EXIF rotation).
    """

    image: np.ndarray
    notes: tuple[str, ...]
    original_size: tuple[int, int]


# --------------------------------------------------------------------------------------
# MNIST-style preparation
# --------------------------------------------------------------------------------------

_HIGH_DEPTH_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})


def _scale_by_range(arr: np.ndarray) -> np.ndarray:
    """Map the finite values of ``arr`` linearly onto [0, 1] by their actual range."""
    arr = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    lo = float(arr.min())
    hi = float(arr.max())
    if hi - lo <= 0:
        return np.zeros_like(arr)
    return (arr - lo) / (hi - lo)


def _downscale_float(grey: np.ndarray) -> np.ndarray:
    """Downscale a float image so that its longer side is at most WORK_SIDE (area filter)."""
    h, w = grey.shape
    if max(h, w) <= WORK_SIDE:
        return grey
    img = Image.fromarray(np.ascontiguousarray(grey, dtype=np.float32))
    img.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
    return np.asarray(img, dtype=np.float32)


def _flatten_alpha(rgb: np.ndarray, alpha: np.ndarray, notes: list[str]) -> np.ndarray:
    """Composite float RGB (HxWx3 or HxW) with float alpha (HxW) onto white or black.

    Transparent areas become white (dark ink on a transparent background, the usual case),
    unless practically all opaque pixels are light (light ink on a transparent background, e.g.
    white strokes on a canvas), in which case they become black so the ink stays visible.
    """
    lum = rgb if rgb.ndim == 2 else rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if float(alpha.min()) >= 1.0:
        return lum
    opaque = lum[alpha > 0.5]
    light_ink = opaque.size > 0 and float(np.percentile(opaque, 2)) > 0.5
    background = 0.0 if light_ink else 1.0
    notes.append(f"flattened transparency onto {'black' if light_ink else 'white'}")
    return lum * alpha + background * (1.0 - alpha)


def _pil_to_grey(img: Image.Image, notes: list[str]) -> np.ndarray:
    """Convert a Pillow image of any mode to a float32 greyscale array in [0, 1]."""
    mode = img.mode
    if mode in _HIGH_DEPTH_MODES:
        arr = np.asarray(img)
        grey = _scale_by_range(arr)
        if mode.startswith("I;16") or (mode == "I" and float(arr.max(initial=0)) > 255):
            notes.append("16-bit greyscale: scaled to its actual range")
        return _downscale_float(grey)
    if img.has_transparency_data:
        rgba = img.convert("RGBA")
        if max(rgba.size) > WORK_SIDE:
            rgba.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
        arr = np.asarray(rgba, dtype=np.float32) / 255.0
        return _flatten_alpha(arr[..., :3], arr[..., 3], notes)
    if mode not in ("L", "RGB", "1", "P"):
        img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV...
    grey_img = img.convert("L")
    if max(grey_img.size) > WORK_SIDE:
        grey_img.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
    return np.asarray(grey_img, dtype=np.float32) / 255.0


def _array_to_grey(arr: np.ndarray, notes: list[str]) -> np.ndarray:
    """Convert an HxW, HxWx1, HxWx2, HxWx3 or HxWx4 array to float32 greyscale in [0, 1].

    uint8 and bool are taken as is (0..255 / 0..1); floats already in [0, 1] are kept;
    other integer types and out-of-range floats are scaled by their actual range.
    """
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (2, 3, 4)):
        raise ImageError(
            f"expected an image array of shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}"
        )
    h, w = arr.shape[:2]
    if not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise ImageError(
            f"the image is {w}x{h} pixels: each side must be between 1 and {MAX_SIDE} pixels"
        )
    if arr.dtype == np.bool_:
        values = arr.astype(np.float32)
    elif arr.dtype == np.uint8:
        values = arr.astype(np.float32) / 255.0
    elif np.issubdtype(arr.dtype, np.integer):
        values = _scale_by_range(arr)
    elif np.issubdtype(arr.dtype, np.floating):
        values = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        if float(values.min()) < 0.0 or float(values.max()) > 1.0:
            values = _scale_by_range(values)
    else:
        raise ImageError(f"expected a numeric image array, got dtype {arr.dtype}")

    if values.ndim == 2:
        grey = values
    elif values.shape[2] == 2:
        grey = _flatten_alpha(values[..., 0], values[..., 1], notes)
    elif values.shape[2] == 3:
        grey = values @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    else:
        grey = _flatten_alpha(values[..., :3], values[..., 3], notes)
    return _downscale_float(np.ascontiguousarray(grey, dtype=np.float32))


def _trimmed_range(mass: np.ndarray) -> tuple[int, int]:
    """Index range [start, stop) holding all but _BBOX_TRIM of ``mass`` at each end."""
    cum = np.cumsum(mass, dtype=np.float64)
    total = cum[-1]
    start = int(np.searchsorted(cum, total * _BBOX_TRIM, side="right"))
    stop = int(np.searchsorted(cum, total * (1.0 - _BBOX_TRIM), side="left")) + 1
    start = min(start, len(mass) - 1)
    return start, max(stop, start + 1)


def _normalise_ink(grey: np.ndarray, notes: list[str]) -> tuple[np.ndarray, float]:
    """Make the ink bright on a black background, with contrast stretched so that the ink is 1.

    Returns the ink, not clipped (the background is about 0, a little below, and faint lines
    under it are still there for :func:`~wae_core.data.paper_rules.remove_rules` to follow),
    and the ink's contrast on the 0..1 scale of ``grey`` (what was stretched to 1).
    """
    h, w = grey.shape
    ring = border_mask(h, w)
    smooth = box3(grey) if min(h, w) >= 3 else grey
    if ink_is_dark(grey, smooth, ring):
        grey = 1.0 - grey
        smooth = 1.0 - smooth
        notes.append("inverted: dark ink on a light background")

    background, noise = fit_background(grey, ring)
    peak = float((smooth - background).max())
    min_contrast = _MIN_CONTRAST
    if peak <= max(min_contrast, _NOISE_FACTOR * noise):
        # Blank against a plane; but a shadow's edge or dark corners, which a plane cannot
        # follow, may hide the ink in the noise they add around it (with a wrong polarity, why
        # the dev split's generator redrew 35 of 1,000 photos). A second look, with a background that
        # follows the light; it follows it less surely, so the ink must stand out further.
        background, noise, border = opened_background(grey, smooth, ring)
        peak = float((smooth - background).max())
        min_contrast = max(_SHADOW_MIN_CONTRAST, _SHADOW_BORDER_FACTOR * border)
    if peak <= max(min_contrast, _NOISE_FACTOR * noise):
        raise ImageError("no ink found: the image is blank")

    ink = grey - background
    floor = min(3.0 * noise, 0.5 * peak)
    strong = ink[ink >= 0.5 * peak]
    top = float(np.percentile(strong, 90)) if strong.size else peak
    scale = max(top - floor, 1e-6)
    return (ink - floor) / scale, scale


def _drop_specks(mask: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """``mask`` without its small pieces: 8-connected parts whose ink is under _SPECK_MASS of the
    largest part's (noise, paper grain, a rule's leftovers far from the digit)."""
    from scipy import ndimage  # lazy, as the app imports this module early and may not preprocess

    labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if n <= 1:
        return mask
    mass = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=n + 1)
    mass[0] = 0.0
    keep = mass >= _SPECK_MASS * float(mass.max())
    keep[0] = False
    return keep[labels]


def _centre_in_canvas(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink, fit into a DIGIT_BOX box and centre by mass in the output canvas."""
    mask = _drop_specks(ink > BBOX_THRESHOLD * float(ink.max()), ink)
    weighted = np.where(mask, ink, 0.0)
    r0, r1 = _trimmed_range(weighted.sum(axis=1))
    c0, c1 = _trimmed_range(weighted.sum(axis=0))
    crop = np.ascontiguousarray(ink[r0:r1, c0:c1], dtype=np.float32)

    ch, cw = crop.shape
    factor = DIGIT_BOX / max(ch, cw)
    new_w = min(DIGIT_BOX, max(1, round(cw * factor)))
    new_h = min(DIGIT_BOX, max(1, round(ch * factor)))
    small = Image.fromarray(crop).resize((new_w, new_h), Image.Resampling.LANCZOS)
    digit = np.clip(np.asarray(small, dtype=np.float32), 0.0, None)
    peak = float(digit.max())
    if peak <= 0:
        raise ImageError("no ink found: the image is blank")
    digit = np.clip(digit / peak, 0.0, 1.0)

    total = float(digit.sum())
    cy = float((digit.sum(axis=1) * np.arange(new_h)).sum()) / total
    cx = float((digit.sum(axis=0) * np.arange(new_w)).sum()) / total
    centre = OUTPUT_SIZE / 2
    top = min(max(round(centre - cy), 0), OUTPUT_SIZE - new_h)
    left = min(max(round(centre - cx), 0), OUTPUT_SIZE - new_w)
    canvas = np.zeros((OUTPUT_SIZE, OUTPUT_SIZE), dtype=np.float32)
    canvas[top : top + new_h, left : left + new_w] = digit
    return canvas


def to_mnist(img: Image.Image | np.ndarray, notes: list[str] | None = None) -> Preprocessed:
    """Convert an image to an MNIST-style 28x28 float32 array (white ink on black).

    Pipeline: greyscale (transparency flattened, 16-bit scaled by its range, large inputs
    downscaled to at most 512 px) -> polarity (inverted when the ink is darker than the paper,
    by the majority of three estimates of the paper's level: the border's median, a plane fitted
    to the border, a local median) -> contrast normalisation (a plane fitted to the border is
    subtracted, so lighting gradients in photos are removed; where that leaves no ink, a
    background that follows a shadow's edge, with a stricter test for blank images; the ink
    level is scaled to 1) -> paper rules removed (straight thin lines across the whole image,
    horizontal or vertical, slanted by up to ~17 degrees, fainter than the ink: lined and
    squared paper; a ruled sheet with nothing else on it is blank) -> crop to the ink's
    bounding box (small separate specks left out) -> resize (Lanczos) so that the longer side
    is 20 px -> paste into a black 28x28 canvas so that the centre of mass is at (14, 14), as
    in LeCun's MNIST preparation.

    Args:
        img: a Pillow image (any mode; ``img.info["original_size"]`` is used as the reported
            size when present, see :func:`decode_image`) or a numpy array of shape HxW, HxWx3
            or HxWx4 (uint8, bool, other integers or floats), e.g. the RGBA output of a drawing
            canvas with a transparent background.
        notes: notes collected so far (e.g. from :func:`decode_image`); not modified.

    Returns:
        The :class:`Preprocessed` image with all notes.

    Raises:
        ImageError: for unusable input, including a blank image ("no ink found: ...").
            A 1x1 image has no contrast between ink and background, so it is always blank.
    """
    all_notes = list(notes or [])
    if isinstance(img, Image.Image):
        original = img.info.get("original_size", img.size)
        try:
            original_size = (int(original[0]), int(original[1]))
        except (TypeError, ValueError, IndexError):
            original_size = img.size
        w, h = img.size
        if not (1 <= w <= MAX_SIDE and 1 <= h <= MAX_SIDE):
            raise ImageError(
                f"the image is {w}x{h} pixels: each side must be between 1 and {MAX_SIDE} pixels"
            )
        try:
            grey = _pil_to_grey(img, all_notes)
        except ImageError:
            raise
        except MemoryError as exc:
            raise ImageError("the image is too large to decode") from exc
        except DECODE_ERRORS as exc:  # Pillow errors while converting / decoding a lazy image
            raise ImageError("the image is damaged or incomplete and could not be decoded") from exc
    elif isinstance(img, np.ndarray):
        arr_shape = img.shape
        original_size = (int(arr_shape[1]), int(arr_shape[0])) if img.ndim >= 2 else (0, 0)
        grey = _array_to_grey(img, all_notes)
    else:
        raise ImageError(f"expected a Pillow image or a numpy array, got {type(img).__name__}")

    ink, contrast = _normalise_ink(grey, all_notes)
    ink, rules = remove_rules(ink, contrast)
    if rules:
        all_notes.append(f"paper rules removed (lined or squared paper): {rules}")
    image = _centre_in_canvas(np.clip(ink, 0.0, 1.0))
    return Preprocessed(image=image, notes=tuple(all_notes), original_size=original_size)


def preprocess_bytes(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Preprocessed:
    """Decode an uploaded file and convert it to MNIST style: :func:`decode_image` + :func:`to_mnist`.

    Raises:
        ImageError: with a message that can be shown to users as is.
    """
    img, notes = decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    return to_mnist(img, notes)
