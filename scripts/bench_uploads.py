"""How long the upload ingest takes for a large photo and a small PNG (decode + MNIST-style).

    python scripts/bench_uploads.py
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wae_core.data.ingest import preprocess_bytes  # noqa: E402


def main() -> None:
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
    main()
