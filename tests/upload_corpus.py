"""A corpus of upload test files, generated in code (no downloads).

Used by the unit tests of the upload ingest (``wae_core.data.uploads``, ``.ingest``) and by browser
tests that upload the files (see :func:`write_corpus`). Every case is deterministic (fixed random seeds).

Run ``python -m tests.upload_corpus DIR`` to write the files into DIR.
"""

from __future__ import annotations

import functools
import io
import struct
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    "Case",
    "digit_image",
    "make_corpus",
    "png_bomb",
    "write_corpus",
]

# Digit strokes in unit coordinates (x, y) inside a square box; y grows downwards.
_STROKES: dict[str, tuple[tuple[tuple[float, float], ...], ...]] = {
    "7": (((0.15, 0.1), (0.85, 0.1), (0.4, 0.9)),),
    "1": (((0.35, 0.25), (0.55, 0.1), (0.55, 0.9)),),
    "4": (((0.65, 0.9), (0.65, 0.1), (0.15, 0.62), (0.85, 0.62)),),
}


@dataclass(frozen=True)
class Case:
    """One upload test file.

    Attributes:
        name: file name with extension, e.g. ``"rgba_transparent.png"`` (unique in the corpus).
        data: the file's bytes.
        ok: True if the file must preprocess; False if it must raise ``ImageError``.
        expect: for ``ok=False`` a lowercase substring of the error message; for ``ok=True`` a
            lowercase substring expected in one of the notes, or ``""``.
    """

    name: str
    data: bytes
    ok: bool
    expect: str = ""


def digit_image(
    size: tuple[int, int],
    *,
    digit: str = "7",
    ink: int | tuple[int, ...] = 255,
    paper: int | tuple[int, ...] = 0,
    mode: str = "L",
    box: float = 0.7,
) -> Image.Image:
    """Draw a handwritten-looking digit ("7", "1" or "4") centred in an image.

    Args:
        size: (width, height) of the image.
        digit: which digit to draw.
        ink: stroke colour (in ``mode``).
        paper: background colour (in ``mode``).
        mode: Pillow mode of the image, e.g. "L", "RGB" or "RGBA".
        box: side of the digit's box as a fraction of the shorter image side.
    """
    w, h = size
    img = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(img)
    side = box * min(w, h)
    x0 = (w - side) / 2
    y0 = (h - side) / 2
    width = max(1, round(side / 9))
    for stroke in _STROKES[digit]:
        points = [(x0 + x * side, y0 + y * side) for x, y in stroke]
        draw.line(points, fill=ink, width=width, joint="curve")
        r = width / 2
        for x, y in (points[0], points[-1]):  # round caps
            draw.ellipse((x - r, y - r, x + r, y + r), fill=ink)
    return img


def _save(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of the given size whose pixels are all black.

    The zlib stream is assembled from identical, independently compressed (full-flush) blocks
    of zero rows, so a 60000x60000 image (450 MB of raw rows) takes well under a second to
    build and about 450 KB on disk. The Adler-32 checksum of n zero bytes is computed
    directly: (n mod 65521) << 16 | 1.
    """
    row_bytes = 1 + (width + 7) // 8  # filter byte + packed pixels
    total = row_bytes * height
    rows_per_block = max(1, (4 << 20) // row_bytes)
    block = bytes(row_bytes * rows_per_block)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    piece = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    n_blocks, rest = divmod(height, rows_per_block)
    if n_blocks >= 2 and first != piece:  # never expected: fall back to honest compression
        piece = first
    parts = [b"\x78\xda"]
    if n_blocks >= 1:
        parts.append(first)
    if n_blocks >= 2:
        parts.append(piece * (n_blocks - 1))
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts.append(tail.compress(bytes(row_bytes * rest)) + tail.flush(zlib.Z_FINISH))
    parts.append(struct.pack(">I", ((total % 65521) << 16) | 1))
    idat = b"".join(parts)
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _paper_photo(
    size: tuple[int, int], *, digit: str = "7", seed: int = 0, noise: float = 5.0
) -> Image.Image:
    """A "photo" of a dark digit on grey paper with a lighting gradient and sensor noise."""
    w, h = size
    rng = np.random.default_rng(seed)
    ink_mask = np.asarray(digit_image(size, digit=digit, ink=255, paper=0), dtype=np.int32)
    gx = np.linspace(-25, 25, w, dtype=np.float32)[None, :]
    gy = np.linspace(-10, 10, h, dtype=np.float32)[:, None]
    paper = (185 + gx + gy).astype(np.int32)
    ink = 45
    grey = paper - ((paper - ink) * ink_mask) // 255
    grey += rng.integers(-round(2 * noise), round(2 * noise) + 1, size=(h, w), dtype=np.int32)
    rgb = np.clip(grey, 0, 255).astype(np.uint8)[..., None]
    tint = np.array([1.0, 0.97, 0.9], dtype=np.float32)  # warm indoor light
    return Image.fromarray((rgb * tint).astype(np.uint8))


def _corrupt_jpeg(valid: bytes, seed: int = 1) -> bytes:
    """Keep a JPEG's headers up to and including the SOS segment, then random garbage."""
    sos = valid.index(b"\xff\xda")
    (length,) = struct.unpack(">H", valid[sos + 2 : sos + 4])
    header = valid[: sos + 2 + length]
    garbage = np.random.default_rng(seed).integers(0, 255, size=4000, dtype=np.uint8)
    garbage[garbage == 0xFF] = 0x00  # no accidental markers
    return header + garbage.tobytes()


def _exif_rotated_jpeg() -> bytes:
    """A portrait photo stored sideways, with EXIF orientation 6 (rotate 90 degrees CW)."""
    upright = _paper_photo((240, 320), seed=3)
    stored = upright.rotate(90, expand=True)  # counter-clockwise: what a sideways camera saves
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(stored, "JPEG", quality=90, exif=exif.tobytes())


def _palette_transparent() -> bytes:
    mask = np.asarray(digit_image((112, 112)), dtype=np.uint8) > 127
    img = Image.fromarray(mask.astype(np.uint8), mode="P")
    img.putpalette([255, 255, 255, 0, 0, 0] + [0, 0, 0] * 254)
    return _save(img, "PNG", transparency=0)


def _grey16() -> bytes:
    level = np.asarray(digit_image((112, 112)), dtype=np.float32) / 255
    arr = (2000 + level * 48000).astype(np.uint16)
    img = Image.fromarray(arr)
    assert img.mode == "I;16"
    return _save(img, "PNG")


def _animated(fmt: str) -> bytes:
    frames = [digit_image((112, 112), digit=d) for d in ("7", "1", "4")]
    if fmt == "GIF":
        frames = [f.convert("P") for f in frames]
        return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=200)
    return _save(
        frames[0], fmt, save_all=True, append_images=frames[1:], duration=200, lossless=True
    )


def _svg() -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">\n'
        b'  <rect width="28" height="28" fill="black"/>\n'
        b'  <path d="M6 5 H22 L12 23" stroke="white" stroke-width="3" fill="none"/>\n'
        b"</svg>\n"
    )


def _heic_header() -> bytes:
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + bytes(64)


@functools.cache
def _build_corpus() -> tuple[Case, ...]:
    clean = digit_image((112, 112)).resize((28, 28), Image.Resampling.LANCZOS)
    clean_png = _save(clean, "PNG")
    photo = _paper_photo((640, 480))
    photo_jpeg = _save(photo, "JPEG", quality=88)
    noisy_png = _save(_paper_photo((200, 200), seed=5, noise=20), "PNG")

    rgba = digit_image((280, 280), ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")
    la = digit_image((280, 280), ink=(255, 255), paper=(0, 0), mode="LA")
    palette = digit_image((112, 112), ink=(255, 250, 240), paper=(20, 30, 80), mode="RGB")
    palette = palette.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    cmyk = digit_image((200, 200), ink=(0, 0, 0), paper=(255, 255, 255), mode="RGB")
    pages = [digit_image((100, 100), digit=d) for d in ("7", "1")]

    cases = [
        # --- files that must preprocess -------------------------------------------------
        Case("mnist_digit.png", clean_png, True),
        Case("photo_dark_on_light.jpg", photo_jpeg, True, "inverted"),
        Case("rgba_transparent.png", _save(rgba, "PNG"), True, "flattened transparency onto white"),
        Case("la_white_ink_transparent.png", _save(la, "PNG"), True, "transparency onto black"),
        Case("palette.png", _save(palette, "PNG"), True),
        Case("palette_transparent.png", _palette_transparent(), True, "flattened transparency"),
        Case("grey16.png", _grey16(), True, "16-bit"),
        Case("cmyk.jpg", _save(cmyk.convert("CMYK"), "JPEG", quality=92), True, "inverted"),
        Case("animated.gif", _animated("GIF"), True, "first of 3 frames"),
        Case("animated.webp", _animated("WEBP"), True, "first of 3 frames"),
        Case("exif_rotated.jpg", _exif_rotated_jpeg(), True, "rotated by exif orientation"),
        Case("digit.bmp", _save(digit_image((64, 64), ink=0, paper=255), "BMP"), True, "inverted"),
        Case("digit.webp", _save(digit_image((96, 96)), "WEBP", quality=90), True),
        Case("digit.tiff", _save(digit_image((96, 96)), "TIFF", compression="tiff_lzw"), True),
        Case(
            "multipage.tiff",
            _save(pages[0], "TIFF", save_all=True, append_images=pages[1:]),
            True,
            "first of 2 pages",
        ),
        Case(
            "large_photo.jpg",
            _save(_paper_photo((4000, 3000), seed=7), "JPEG", quality=85),
            True,
            "inverted",
        ),
        # --- files that must be rejected ------------------------------------------------
        # A 1x1 image has no contrast between ink and background: always "blank".
        Case("one_pixel.png", _save(Image.new("L", (1, 1), 255), "PNG"), False, "no ink found"),
        Case(
            "blank_white.png",
            _save(Image.new("RGB", (64, 64), "white"), "PNG"),
            False,
            "no ink found",
        ),
        Case("empty.png", b"", False, "empty"),
        Case(
            "text_renamed.png", b"These are my notes, not a picture.\n" * 20, False, "not an image"
        ),
        Case("document_renamed.png", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(200), False, "pdf"),
        Case("iphone_photo.heic", _heic_header(), False, "heic"),
        Case("digit.ico", _save(digit_image((32, 32)), "ICO"), False, "supported format"),
        Case("truncated.png", noisy_png[: len(noisy_png) // 2], False, "damaged or incomplete"),
        Case("corrupt.jpg", _corrupt_jpeg(photo_jpeg), False, "damaged or incomplete"),
        Case("drawing.svg", _svg(), False, "svg"),
        Case("svg_renamed.png", _svg(), False, "svg"),
        Case("bomb.png", png_bomb(60000, 60000), False, "megapixels"),
        Case(
            "absurd_width.png", _save(Image.new("L", (30000, 1)), "PNG"), False, "each side must be"
        ),
        Case("oversized.png", clean_png + bytes(11 * 1024 * 1024), False, "the limit is 10 mb"),
    ]
    names = [case.name for case in cases]
    assert len(set(names)) == len(names), "corpus file names must be unique"
    return tuple(cases)


def make_corpus() -> list[Case]:
    """All test cases (built once per process, then cached)."""
    return list(_build_corpus())


def write_corpus(directory: Path) -> list[Path]:
    """Write every case of the corpus into ``directory`` (created if needed).

    Returns:
        The written paths, in corpus order.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in make_corpus():
        path = directory / case.name
        path.write_bytes(case.data)
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the corpus into the given directory."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m tests.upload_corpus DIRECTORY", file=sys.stderr)
        return 2
    for path in write_corpus(Path(args[0])):
        print(f"{path.stat().st_size:>10}  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
