"""Images the benchmarks and the load test upload, and the pieces the held-out digit sets are
drawn with (scripts/make_heldout_digits*.py)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def digit_png() -> bytes:
    """A white "7" on black, 28x28: an MNIST-style PNG (the upload of the benchmarks)."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (112, 112), 0)
    ImageDraw.Draw(img).line([(25, 20), (88, 20), (45, 95)], fill=255, width=11, joint="curve")
    buf = io.BytesIO()
    img.resize((28, 28), Image.Resampling.LANCZOS).save(buf, "PNG")
    return buf.getvalue()


def font_mask(digit: int, rng: np.random.Generator, size: tuple[int, int], height: float,
              font_list: list[Path]) -> np.ndarray:
    """Ink coverage of ``digit`` printed in a random font, glyph about ``height`` px tall,
    rotated a little, anywhere that it fits in ``size``."""
    font = ImageFont.truetype(str(font_list[rng.integers(len(font_list))]), max(8, round(height * 1.35)))
    side = int(height * 2) + 8
    layer = Image.new("L", (side, side), 0)
    ImageDraw.Draw(layer).text((side / 2, side / 2), str(digit), fill=255, font=font, anchor="mm")
    layer = layer.rotate(rng.uniform(-7, 7), resample=Image.Resampling.BICUBIC)
    canvas = Image.new("L", size, 0)
    x = int(rng.integers(-side // 4, max(-side // 4 + 1, size[0] - 3 * side // 4)))
    y = int(rng.integers(-side // 4, max(-side // 4 + 1, size[1] - 3 * side // 4)))
    canvas.paste(layer, (x, y))
    return np.asarray(canvas, dtype=np.float32) / 255.0


def grey_image(arr: np.ndarray) -> Image.Image:
    """An 8-bit greyscale image (Pillow blurs only 8-bit images)."""
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))


def encode_image(arr: np.ndarray, fmt: str, quality: int = 90) -> bytes:
    """The file an upload would be: an array (grey, or RGB) saved as ``fmt`` (JPEG at ``quality``)."""
    img = grey_image(arr) if arr.ndim == 2 else Image.fromarray(
        np.clip(np.rint(arr), 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buf.getvalue()
