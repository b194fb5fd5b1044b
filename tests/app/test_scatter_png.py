"""The live page's scatter PNGs (app.figures.scatter_png): every point's dot in its colour where a
naive loop over the pixels puts it, a white background and a grey border, the legend's swatches
and text; drawn as a palette image (the encoding of an RGB PNG was most of a frame's drawing)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageColor

from app import figures

SIZE, EXTENT = 60, 2.0
LAYERS = [(np.array([[0.0, 0.0], [1.0, -1.0], [-1.9, 1.9], [5.0, 5.0]]), "#7f7f7f", 1.5),
          (np.array([[0.5, 0.5], [1.0, -1.0], [np.nan, 0.0]]), "#d62728", 2.0)]


def naive(layers, extent: float, size: int) -> np.ndarray:  # noqa: ANN001
    """Each dot pixel by pixel: within ``radius`` (+ half a pixel's slack) of its rounded centre."""
    rgb = np.full((size, size, 3), 255, np.uint8)
    scale = (size - 1) / (2 * extent)
    for points, colour, radius in layers:
        for x, y in points:
            if not (np.isfinite(x) and np.isfinite(y)):
                continue
            cx, cy = round((x + extent) * scale), round((extent - y) * scale)
            for row in range(size):
                for col in range(size):
                    if (row - cy) ** 2 + (col - cx) ** 2 <= radius ** 2 + 0.5:
                        rgb[row, col] = ImageColor.getrgb(colour)
    rgb[[0, -1], :] = rgb[:, [0, -1]] = ImageColor.getrgb(figures.BORDER)
    return rgb


def decoded(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def test_dots_background_and_border_match_a_naive_drawing():
    img = decoded(figures.scatter_png(LAYERS, EXTENT, size=SIZE))
    assert img.mode == "P"  # one byte per pixel: the cheap encoding
    np.testing.assert_array_equal(np.asarray(img.convert("RGB")), naive(LAYERS, EXTENT, SIZE))


def test_the_legend_has_its_swatches_and_dark_text():
    legend = [("real", "#7f7f7f"), ("generated", "#d62728")]
    rgb = np.asarray(decoded(figures.scatter_png([], EXTENT, size=200, legend=legend)).convert("RGB"))
    for i, (_label, colour) in enumerate(legend):
        assert (rgb[6 + 14 * i:15 + 14 * i, 6:15] == ImageColor.getrgb(colour)).all()
        text = rgb[4 + 14 * i:18 + 14 * i, 18:120].min(axis=2)
        assert text.min() < 80 and (text < 250).sum() > 20  # dark, antialiased glyphs
    assert (rgb[40:-1, 1:-1] == 255).all()  # nothing else drawn
