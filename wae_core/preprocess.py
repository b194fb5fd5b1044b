"""Turn any uploaded image into an MNIST-style 28x28 float array, safely.

Pure numpy + Pillow (no torch, no streamlit), so it can be used by the app, the tests and
command-line tools alike.

Two stages:

* :func:`decode_image` checks the raw bytes of an upload (size, type sniffing, declared pixel
  count *before* any pixel is decoded, full decode inside a ``try``) and returns a Pillow image.
  Every problem is reported as an :class:`ImageError` whose message can be shown to users as is.
* :func:`to_mnist` turns a Pillow image or a numpy array (e.g. the RGBA output of a drawing
  canvas) into a :class:`Preprocessed` result, following LeCun's MNIST preparation: greyscale,
  white ink on black, digit fitted into a 20x20 box and centred by centre of mass in 28x28.

:func:`preprocess_bytes` chains the two. Global Pillow state (``Image.MAX_IMAGE_PIXELS``,
``ImageFile.LOAD_TRUNCATED_IMAGES``...) is never modified.

Run ``python -m wae_core.preprocess`` for a small timing report.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image, ImageOps

from .errors import UserFacingError

__all__ = [
    "ALLOWED_FORMATS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "MAX_SIDE",
    "ImageError",
    "Preprocessed",
    "decode_image",
    "preprocess_bytes",
    "to_mnist",
]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
"""Largest accepted upload, in bytes (10 MiB)."""

DEFAULT_MAX_PIXELS = 40_000_000
"""Largest accepted declared image area (width * height), e.g. a 7300x5470 photo."""

MAX_SIDE = 20_000
"""Largest accepted width or height, in pixels."""

ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
"""Pillow format identifiers that :func:`decode_image` will open."""

# Pillow reports multi-picture JPEGs (many camera files) as "MPO" although it opens them
# through the JPEG plugin; they are plain JPEGs for our purposes.
_ACCEPTED_OPENED_FORMATS = frozenset(ALLOWED_FORMATS) | {"MPO"}

OUTPUT_SIZE = 28
"""Side of the output image (MNIST)."""

DIGIT_BOX = 20
"""The ink's bounding box is scaled so that its longer side is this many pixels (MNIST)."""

WORK_SIDE = 512
"""Images are downscaled so that their longer side is at most this before float work."""

_JPEG_DRAFT_SIDE = WORK_SIDE
_BORDER_FRACTION = 0.03  # thickness of the border ring used to estimate the background
_MIN_CONTRAST = 0.05  # ink must stand out from the background by at least this (0..1 scale)
_NOISE_FACTOR = 4.0  # ... and by this many times the background noise
_BBOX_THRESHOLD = 0.1  # a pixel counts as ink for the bounding box above this fraction of max
_BBOX_TRIM = 0.001  # fraction of the ink mass ignored at each side (stray specks)

_MIB = 1024 * 1024

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


# Everything Pillow's parsers and decoders are known to raise on hostile or broken input.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes UnidentifiedImageError and "image file is truncated"
    SyntaxError,
    ValueError,
    EOFError,
    TypeError,
    LookupError,  # IndexError, KeyError
    AttributeError,
    ArithmeticError,  # ZeroDivisionError, OverflowError
    AssertionError,
    RuntimeError,  # includes RecursionError, NotImplementedError
    struct.error,
    zlib.error,
    Image.DecompressionBombError,
    Warning,  # e.g. DecompressionBombWarning or "Corrupt EXIF data" when warnings are errors
)


class ImageError(UserFacingError, ValueError):
    """An upload that cannot be turned into a digit image.

    The message is meant to be shown to users verbatim: plain, specific, without traceback
    text or library internals.
    """


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
# Decoding
# --------------------------------------------------------------------------------------


def _format_mb(n_bytes: float) -> str:
    """Format a byte count in MB (MiB) with at most one decimal: 12.3, 10, 0.5."""
    value = n_bytes / _MIB
    text = f"{value:.1f}"
    return text.removesuffix(".0")


def _too_many_bytes_message(n_bytes: int, max_bytes: int) -> str:
    """E.g. "file is 12.3 MB, the limit is 10 MB" (more precision if they would look equal)."""
    limit = max_bytes / _MIB
    if limit < 0.1:
        return f"file is {n_bytes} bytes, the limit is {max_bytes} bytes"
    for decimals in (1, 2, 3):
        size = f"{n_bytes / _MIB:.{decimals}f}"
        if float(size) > limit:
            return f"file is {size} MB, the limit is {_format_mb(max_bytes)} MB"
    return f"file is {n_bytes} bytes, the limit is {max_bytes} bytes"


def _format_megapixels(pixels: float) -> str:
    """Format a pixel count in megapixels: 3600, 40, 0.5."""
    value = pixels / 1_000_000
    if value >= 10:
        return f"{value:.0f}"
    text = f"{value:.1f}"
    return text.removesuffix(".0")


def _sniff_signature(data: bytes) -> str | None:
    """Name of the supported raster format whose magic bytes start ``data``, if any."""
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _webp_declared_size(data: bytes) -> tuple[int, int] | None:
    """Canvas size declared in a WEBP header, read without decoding.

    Needed because Pillow's WEBP plugin creates libwebp's decoder, which allocates the whole
    canvas, inside ``Image.open`` (it only applies Pillow's global limit first).
    """
    if not (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _check_declared_size(width: int, height: int, max_pixels: int) -> None:
    """Reject absurd or too large declared dimensions (before any pixel is decoded)."""
    pixels = width * height
    if pixels > max_pixels:
        raise ImageError(_bomb_message(pixels, max_pixels, (width, height)))
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ImageError(
            f"the image is {width}x{height} pixels: each side must be between 1 and "
            f"{MAX_SIDE} pixels"
        )


def _looks_like_svg(data: bytes) -> bool:
    """Whether ``data`` is (most likely) an SVG / XML document."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype svg")):
        return True
    return head.startswith(b"<") and b"<svg" in head


def _unsupported_message(data: bytes) -> str:
    """Explain why bytes that Pillow could not identify are not accepted."""
    fmt = _sniff_signature(data)
    if fmt is not None:
        return f"the {fmt} file is damaged or incomplete and could not be decoded"
    head = data[:4096]
    if head.startswith(b"%PDF"):
        return "PDF files are not supported: please upload a PNG or JPEG image"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith((b"hei", b"hev", b"mif1", b"msf1")):
            return "HEIC images are not supported: please convert the photo to PNG or JPEG"
        if brand.startswith(b"avi"):
            return "AVIF images are not supported: please upload a PNG or JPEG image"
        return "this file is a video or other media file, not an image: upload a PNG or JPEG"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return "this file contains text, not an image: please upload a PNG or JPEG"
    supported = ", ".join(ALLOWED_FORMATS[:-1]) + " or " + ALLOWED_FORMATS[-1]
    return f"this file is not an image in a supported format ({supported})"


def _bomb_message(pixels: int | None, max_pixels: int, size: tuple[int, int] | None) -> str:
    """Message for an image that declares more pixels than allowed."""
    limit = _format_megapixels(max_pixels)
    if size is not None and pixels is not None:
        w, h = size
        return (
            f"the image is too large: {w}x{h} pixels is {_format_megapixels(pixels)} "
            f"megapixels, the limit is {limit} megapixels"
        )
    if pixels is not None:
        return (
            f"the image is too large: {_format_megapixels(pixels)} megapixels, "
            f"the limit is {limit} megapixels"
        )
    return f"the image is too large: the limit is {limit} megapixels"


def _pillow_bomb_message(exc: BaseException, max_pixels: int) -> str:
    """User message for Pillow's DecompressionBombError (or the warning turned into an error).

    Pillow's limit is global and may be stricter than ``max_pixels``; report the stricter one.
    """
    text = str(exc)
    size = re.search(r"\((\d+) pixels\)", text)
    limit = re.search(r"limit of (\d+) pixels", text)
    pixels = int(size.group(1)) if size else None
    if limit:
        max_pixels = min(max_pixels, int(limit.group(1)))
    return _bomb_message(pixels, max_pixels, None)


def _exif_orientation(img: Image.Image) -> int:
    """EXIF orientation tag (1..8), 1 when absent or unreadable."""
    try:
        value = img.getexif().get(ExifTags.Base.Orientation, 1)
        orientation = int(value)
    except _DECODE_ERRORS:  # malformed EXIF must never prevent using the pixels
        return 1
    return orientation if 1 <= orientation <= 8 else 1


def decode_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[Image.Image, list[str]]:
    """Safely decode an uploaded file into a fully loaded Pillow image.

    Checks, in order: non-empty, at most ``max_bytes`` bytes, not SVG/XML, a supported format
    (PNG, JPEG, GIF, BMP, WEBP, TIFF), the *declared* size (every side 1..20000 pixels and
    ``width * height <= max_pixels``, checked from the header before any pixel is decoded),
    then a full decode. Animated / multi-page files use their first frame; EXIF orientation is
    applied. Large JPEGs are decoded at a reduced scale (DCT scaling) for speed.

    The upload's size (width, height) after EXIF rotation is recorded in
    ``img.info["original_size"]`` (the returned image may be smaller).

    Args:
        data: the raw bytes of the upload.
        max_bytes: largest accepted file size in bytes.
        max_pixels: largest accepted declared image area, in pixels.

    Returns:
        (image, notes): the loaded image (any Pillow mode) and human-readable notes.

    Raises:
        ImageError: with a message that can be shown to users as is.
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise ImageError(f"expected the file's bytes, got {type(data).__name__}")
    if not data:
        raise ImageError("the file is empty")
    if len(data) > max_bytes:
        raise ImageError(_too_many_bytes_message(len(data), max_bytes))
    if _looks_like_svg(data):
        raise ImageError("SVG images are not supported: please upload a PNG or JPEG image")

    webp_size = _webp_declared_size(data)
    if webp_size is not None:
        _check_declared_size(*webp_size, max_pixels)

    notes: list[str] = []
    try:
        img = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own (global) limit fired while reading the header: nothing was decoded.
        raise ImageError(_pillow_bomb_message(exc, max_pixels)) from exc
    except Image.UnidentifiedImageError as exc:
        raise ImageError(_unsupported_message(data)) from exc
    except _DECODE_ERRORS as exc:  # any other parser failure on hostile input
        fmt = _sniff_signature(data) or "image"
        raise ImageError(
            f"the {fmt} file is damaged or incomplete and could not be decoded"
        ) from exc

    fmt = img.format or "image"
    if fmt not in _ACCEPTED_OPENED_FORMATS:  # defensive: `formats=` already restricts this
        raise ImageError(_unsupported_message(data))

    # Header-only checks: Image.open is lazy, nothing has been decoded yet.
    width, height = img.size
    _check_declared_size(width, height, max_pixels)

    try:
        n_frames = int(getattr(img, "n_frames", 1))
        if n_frames > 1:
            img.seek(0)
            if fmt == "TIFF":
                notes.append(f"multi-page TIFF: used the first of {n_frames} pages")
            elif fmt == "MPO":
                notes.append(f"multi-picture JPEG: used the first of {n_frames} images")
            else:
                notes.append(f"animated {fmt}: used the first of {n_frames} frames")
        if fmt in ("JPEG", "MPO") and max(width, height) > 2 * _JPEG_DRAFT_SIDE:
            # Decode big JPEGs at 1/2, 1/4 or 1/8 scale directly (and straight to greyscale
            # when possible): a 4000x3000 photo decodes as 1000x750 in a fraction of the time.
            img.draft("L" if img.mode in ("RGB", "L") else img.mode, (_JPEG_DRAFT_SIDE,) * 2)
        img.load()  # force the full decode here, inside the try
        if img.size[0] < 1 or img.size[1] < 1:
            raise ImageError(f"the {fmt} file has no pixels")
        if n_frames > 1:
            img = img.copy()  # detach the first frame from the multi-frame file
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(_pillow_bomb_message(exc, max_pixels)) from exc
    except MemoryError as exc:
        raise ImageError("the image is too large to decode") from exc
    except _DECODE_ERRORS as exc:  # OSError, SyntaxError, ValueError, EOFError, zlib.error...
        raise ImageError(
            f"the {fmt} file is damaged or incomplete and could not be decoded"
        ) from exc

    orientation = _exif_orientation(img)
    if orientation != 1:
        try:
            img = ImageOps.exif_transpose(img)
        except _DECODE_ERRORS:  # keep the pixels as stored if the transform cannot be applied
            notes.append("ignored unusable EXIF orientation")
        else:
            if orientation in (2, 4):
                notes.append("flipped by EXIF orientation")
            elif orientation == 3:
                notes.append("rotated by EXIF orientation (180 degrees)")
            elif orientation in (5, 7):
                notes.append("rotated and flipped by EXIF orientation")
            else:
                degrees = 90 if orientation == 6 else 270
                notes.append(f"rotated by EXIF orientation ({degrees} degrees clockwise)")
            if orientation >= 5:
                width, height = height, width

    if img.size != (width, height):
        notes.append(f"large image: processed at {img.size[0]}x{img.size[1]}")
    img.info["original_size"] = (width, height)
    return img, notes


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


def _box3(a: np.ndarray) -> np.ndarray:
    """3x3 mean filter with edge replication."""
    p = np.pad(a, 1, mode="edge")
    h, w = a.shape
    out = np.zeros_like(a)
    for dy in range(3):
        for dx in range(3):
            out += p[dy : dy + h, dx : dx + w]
    return out / 9.0


def _border_mask(h: int, w: int) -> np.ndarray:
    """Boolean mask of a ring along the image border, about 3% of the shorter side thick."""
    t = max(1, round(min(h, w) * _BORDER_FRACTION))
    mask = np.zeros((h, w), dtype=bool)
    mask[:t] = mask[-t:] = True
    mask[:, :t] = mask[:, -t:] = True
    return mask


def _fit_background(a: np.ndarray, ring: np.ndarray) -> tuple[np.ndarray, float]:
    """Fit a plane to the border ring of ``a`` (ink = bright outliers, ignored).

    Returns the background plane over the whole image and the background noise level
    (robust standard deviation of the ring around the plane).
    """
    h, w = a.shape
    ys, xs = np.nonzero(ring)
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


def _trimmed_range(mass: np.ndarray) -> tuple[int, int]:
    """Index range [start, stop) holding all but _BBOX_TRIM of ``mass`` at each end."""
    cum = np.cumsum(mass, dtype=np.float64)
    total = cum[-1]
    start = int(np.searchsorted(cum, total * _BBOX_TRIM, side="right"))
    stop = int(np.searchsorted(cum, total * (1.0 - _BBOX_TRIM), side="left")) + 1
    start = min(start, len(mass) - 1)
    return start, max(stop, start + 1)


def _normalise_ink(grey: np.ndarray, notes: list[str]) -> np.ndarray:
    """Make the ink bright on a black background, with contrast stretched to [0, 1]."""
    h, w = grey.shape
    ring = _border_mask(h, w)
    smooth = _box3(grey) if min(h, w) >= 3 else grey
    bg_level = float(np.median(grey[ring]))
    bright_extent = float(smooth.max()) - bg_level
    dark_extent = bg_level - float(smooth.min())
    if dark_extent > bright_extent:
        grey = 1.0 - grey
        smooth = 1.0 - smooth
        notes.append("inverted: dark ink on a light background")

    background, noise = _fit_background(grey, ring)
    ink = grey - background
    peak = float((smooth - background).max())
    if peak <= max(_MIN_CONTRAST, _NOISE_FACTOR * noise):
        raise ImageError("no ink found: the image is blank")

    floor = min(3.0 * noise, 0.5 * peak)
    strong = ink[ink >= 0.5 * peak]
    top = float(np.percentile(strong, 90)) if strong.size else peak
    scale = max(top - floor, 1e-6)
    return np.clip((ink - floor) / scale, 0.0, 1.0)


def _centre_in_canvas(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink, fit into a DIGIT_BOX box and centre by mass in the output canvas."""
    mask = ink > _BBOX_THRESHOLD * float(ink.max())
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
    downscaled to at most 512 px) -> polarity (inverted when the ink is darker than the
    background estimated from the border) -> contrast normalisation (a plane fitted to the
    border is subtracted, so lighting gradients in photos are removed; the ink level is scaled
    to 1) -> crop to the ink's bounding box -> resize (Lanczos) so that the longer side is
    20 px -> paste into a black 28x28 canvas so that the centre of mass is at (14, 14), as in
    LeCun's MNIST preparation.

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
        except _DECODE_ERRORS as exc:  # Pillow errors while converting / decoding a lazy image
            raise ImageError("the image is damaged or incomplete and could not be decoded") from exc
    elif isinstance(img, np.ndarray):
        arr_shape = img.shape
        original_size = (int(arr_shape[1]), int(arr_shape[0])) if img.ndim >= 2 else (0, 0)
        grey = _array_to_grey(img, all_notes)
    else:
        raise ImageError(f"expected a Pillow image or a numpy array, got {type(img).__name__}")

    ink = _normalise_ink(grey, all_notes)
    image = _centre_in_canvas(ink)
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


def _timing_report() -> None:
    """Print how long preprocessing takes for a large photo and a small PNG."""
    import time

    from PIL import ImageDraw

    def digit(size: tuple[int, int], ink: int, paper: int) -> Image.Image:
        w, h = size
        img = Image.new("L", size, paper)
        draw = ImageDraw.Draw(img)
        s = min(w, h)
        x0, y0 = (w - 0.6 * s) / 2, 0.2 * s
        pts = [(x0, y0), (x0 + 0.6 * s, y0), (x0 + 0.25 * s, y0 + 0.6 * s)]
        draw.line(pts, fill=ink, width=max(1, s // 12), joint="curve")
        return img

    rng = np.random.default_rng(0)
    photo = np.asarray(digit((4000, 3000), 50, 190), dtype=np.float32)
    photo = photo + np.linspace(-20, 20, 4000, dtype=np.float32)[None, :]
    photo += rng.normal(0, 6, photo.shape).astype(np.float32)
    rgb = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).convert("RGB")
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", quality=90)
    big_jpeg = buf.getvalue()
    buf = io.BytesIO()
    digit((28, 28), 255, 0).save(buf, "PNG")
    small_png = buf.getvalue()

    for name, data in (("4000x3000 JPEG photo", big_jpeg), ("28x28 PNG", small_png)):
        preprocess_bytes(data)  # warm-up
        times = []
        for _ in range(7):
            start = time.perf_counter()
            preprocess_bytes(data)
            times.append(time.perf_counter() - start)
        print(
            f"{name:22s} {len(data) / 1024:8.1f} KiB  median {1000 * float(np.median(times)):7.2f} ms"
            f"  min {1000 * min(times):7.2f} ms"
        )


if __name__ == "__main__":
    _timing_report()
