"""Images the benchmarks and the load test upload."""

from __future__ import annotations

import io


def digit_png() -> bytes:
    """A white "7" on black, 28x28: an MNIST-style PNG (the upload of the benchmarks)."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (112, 112), 0)
    ImageDraw.Draw(img).line([(25, 20), (88, 20), (45, 95)], fill=255, width=11, joint="curve")
    buf = io.BytesIO()
    img.resize((28, 28), Image.Resampling.LANCZOS).save(buf, "PNG")
    return buf.getvalue()
