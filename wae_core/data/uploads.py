"""Decode an uploaded image safely: the first of the two stages of the upload ingest (the second,
:mod:`wae_core.data.ingest`, makes it an MNIST-style 28x28 float array).

Pure numpy + Pillow (no torch, no streamlit), so it can be used by the app, the tests and
command-line tools alike.

* :func:`decode_image` checks the raw bytes of an upload (size, type sniffing, declared pixel
  count *before* any pixel is decoded, full decode inside a ``try``) and returns a Pillow image.
  Every problem is reported as an :class:`ImageError` whose message can be shown to users as is.
* :func:`to_mnist` turns a Pillow image or a numpy array (e.g. the RGBA output of a drawing
  canvas) into a :class:`Preprocessed` result, following LeCun's MNIST preparation: greyscale,
  white ink on black, digit fitted into a 20x20 box and centred by centre of mass in 28x28.

:func:`preprocess_bytes` chains the two. Global Pillow state (``Image.MAX_IMAGE_PIXELS``,
``ImageFile.LOAD_TRUNCATED_IMAGES``...) is never modified.

``scripts/bench_uploads.py`` prints how long the two stages take.
"""

from __future__ import annotations

import io
import re
import struct
import zlib

from PIL import ExifTags, Image, ImageOps

from wae_core.errors import UserFacingError

__all__ = [
    "ALLOWED_FORMATS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "MAX_SIDE",
    "ImageError",
    "decode_image",
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

WORK_SIDE = 512
"""Images are downscaled so that their longer side is at most this before float work."""

_JPEG_DRAFT_SIDE = WORK_SIDE

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
DECODE_ERRORS: tuple[type[BaseException], ...] = (
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
    except DECODE_ERRORS:  # malformed EXIF must never prevent using the pixels
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
    except DECODE_ERRORS as exc:  # any other parser failure on hostile input
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
    except DECODE_ERRORS as exc:  # OSError, SyntaxError, ValueError, EOFError, zlib.error...
        raise ImageError(
            f"the {fmt} file is damaged or incomplete and could not be decoded"
        ) from exc

    orientation = _exif_orientation(img)
    if orientation != 1:
        try:
            img = ImageOps.exif_transpose(img)
        except DECODE_ERRORS:  # keep the pixels as stored if the transform cannot be applied
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
