"""Make ``data/heldout-digits.npz``: non-MNIST digits that look like what users upload to the app.

Four families, each digit 0-9 ``PER_DIGIT`` times, from fixed seeds (the same file every run):

* ``font``   printed digits in the machine's DejaVu / Liberation TrueType fonts (regular, bold,
             italic, mono, serif, condensed), random size, offset and small rotation; mostly dark
             ink on white paper, some light on dark.
* ``canvas`` the app's drawing canvas: 280x280, white round brush on a transparent background
             (what ``streamlit_drawable_canvas`` returns), hand-written-looking strokes with
             jitter, slant, varying width, not centred.
* ``scan``   low-resolution scans: a digit rendered 12-16 px tall, upscaled, blurred, noisy,
             grey paper, JPEG-compressed.
* ``photo``  phone photos: uneven lighting across the paper, grey ink, noise, slight blur, the
             digit small and off-centre in a big frame, JPEG.

Every image goes through the app's own path: files through ``preprocess_bytes`` (decode +
``to_mnist``, as an upload), the canvas RGBA array through ``to_mnist`` (as a drawing). Nothing
here is tuned against the generative models; the LeNet classifier only checks that the digits
are readable (``--report``).

    .venv/bin/python scripts/make_heldout_digits.py            # writes data/heldout-digits.npz
    .venv/bin/python scripts/make_heldout_digits.py --out /tmp/h.npz --report
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from harness.images import encode_image, font_mask, grey_image  # noqa: E402
from wae_core.data.ingest import preprocess_bytes, to_mnist  # noqa: E402

OUT = REPO_ROOT / "data" / "heldout-digits.npz"
FAMILIES = ("font", "canvas", "scan", "photo")
PER_DIGIT = 15  # per family: 4 families x 10 digits x 15 = 600 images
SEED = 20_250_117  # one seed for the whole set; image (family f, digit d, i) uses [SEED, f, d, i]

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
# Math and extra-light faces are not what people print digits in.
FONT_SKIP = ("MathTeXGyre", "ExtraLight")
# The committed file was drawn from these Debian packages' 36 faces (20 DejaVu, 16 Liberation);
# another set of fonts draws other digits from the same seeds (``make fonts`` installs them).
FONT_PACKAGES = ("fonts-dejavu-core", "fonts-dejavu-extra", "fonts-liberation")
FONT_COUNT = 36

CANVAS_SIZE, CANVAS_STROKE = 280, 18  # app.components: the app's canvas and its brush


def fonts() -> list[Path]:
    found = sorted(p for d in FONT_DIRS for p in d.glob("*.ttf")
                   if not any(s in p.name for s in FONT_SKIP))
    if len(found) != FONT_COUNT:
        raise SystemExit(f"{len(found)} TrueType fonts in {', '.join(map(str, FONT_DIRS))}, not the "
                         f"{FONT_COUNT} the committed set was made with: install the Debian packages "
                         f"{' '.join(FONT_PACKAGES)} (make fonts)")
    return found


# --- hand-written strokes ----------------------------------------------------------------------
def _arc(cx: float, cy: float, rx: float, ry: float, t0: float, t1: float, n: int = 24):
    """Points of an elliptic arc, angles in degrees, y down (90 = bottom, 270 = top)."""
    t = np.radians(np.linspace(t0, t1, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


def hand_strokes(digit: int, rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    """One way of writing ``digit``: strokes in a unit box (y down), with a little randomness in
    the shape itself (open 4, flagged 1, closed or open loops...)."""
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    if digit == 0:
        return [_arc(0.5, 0.5, u(0.24, 0.34), 0.42, -90, 275 + u(0, 25), 40)]
    if digit == 1:
        stem = [(0.52, 0.08), (0.5 - u(0, 0.06), 0.92)]
        return [[(0.32, u(0.2, 0.32)), *stem]] if rng.random() < 0.6 else [stem]
    if digit == 2:
        top = _arc(0.5, 0.3, 0.26, 0.22, 195, 385, 20)
        return [top + [(u(0.15, 0.22), 0.9), (u(0.8, 0.9), u(0.86, 0.92))]]
    if digit == 3:
        upper = _arc(0.48, 0.29, 0.24, 0.2, 200, 450, 20)
        lower = _arc(0.48, 0.7, 0.28, 0.22, 270, 505, 22)
        return [upper + lower]
    if digit == 4:
        if rng.random() < 0.5:  # one stroke, closed top
            return [[(0.62, 0.92), (0.62, 0.08), (0.15, 0.64), (0.88, 0.64)]]
        return [[(0.3, 0.08), (0.2, 0.6), (0.85, 0.6)], [(0.65, 0.3), (0.63, 0.94)]]
    if digit == 5:
        bowl = _arc(0.48, 0.64, 0.27, 0.26, 228, 495, 22)
        return [[(0.8, 0.1), (0.32, 0.1), (0.29, 0.45)] + bowl]
    if digit == 6:
        lead = [(0.7, 0.08), (0.45, 0.24), (0.3, 0.48), (0.26, 0.68)]
        return [lead + _arc(0.5, 0.68, 0.24, 0.23, 180, -175, 26)]
    if digit == 7:
        tail = [(u(0.35, 0.5), 0.92)]
        bar = [(0.5, 0.5), (0.72, 0.5)] if rng.random() < 0.25 else None
        strokes = [[(0.15, 0.12), (0.85, 0.1), *tail]]
        return strokes + ([bar] if bar else [])
    if digit == 8:
        if rng.random() < 0.5:  # two loops
            return [_arc(0.5, 0.28, 0.2, 0.2, 0, 365, 24), _arc(0.5, 0.71, 0.26, 0.22, 0, 365, 24)]
        # one stroke: S down, then back up
        s = _arc(0.5, 0.28, 0.2, 0.2, 20, -200, 16) + _arc(0.5, 0.71, 0.26, 0.22, -90, 250, 22)
        return [s + [(0.5, 0.28 + 0.2)]]
    if digit == 9:
        loop = _arc(0.47, 0.3, 0.22, 0.21, 0, -360, 26)
        return [loop + [(0.69, 0.3), (u(0.58, 0.68), 0.93)]]
    raise ValueError(digit)


def _transform(strokes, rng: np.random.Generator, box: tuple[float, float, float, float]):
    """Jitter, slant, squash and rotate the unit-box strokes, then map them into ``box`` =
    (x, y, width, height) in pixels."""
    slant = rng.uniform(-0.3, 0.1)  # most people lean to the right: x += slant * (y - 0.5)
    angle = math.radians(rng.uniform(-8, 8))
    squash = rng.uniform(0.75, 1.1)
    ca, sa = math.cos(angle), math.sin(angle)
    x0, y0, w, h = box
    out = []
    for stroke in strokes:
        p = np.asarray(stroke, dtype=np.float64)
        # wobble: a smooth random walk, so lines bend a bit like a hand's
        p = p + np.cumsum(rng.normal(0, 0.012, p.shape), 0) + rng.normal(0, 0.01, p.shape)
        px, py = (p[:, 0] - 0.5) * squash, p[:, 1] - 0.5
        px = px - slant * py
        px, py = ca * px - sa * py, sa * px + ca * py
        out.append([(x0 + w * (0.5 + a), y0 + h * (0.5 + b)) for a, b in zip(px, py)])
    return out


def draw_strokes(size: tuple[int, int], strokes, width: float, supersample: int = 2) -> np.ndarray:
    """Ink coverage in [0, 1] of round-brush strokes (anti-aliased by supersampling)."""
    s = supersample
    img = Image.new("L", (size[0] * s, size[1] * s), 0)
    d = ImageDraw.Draw(img)
    r = width * s / 2
    for stroke in strokes:
        pts = [(x * s, y * s) for x, y in stroke]
        d.line(pts, fill=255, width=max(1, round(width * s)), joint="curve")
        for x, y in (pts[0], pts[-1]):  # round caps
            d.ellipse((x - r, y - r, x + r, y + r), fill=255)
    img = img.resize(size, Image.Resampling.BOX)
    return np.asarray(img, dtype=np.float32) / 255.0


def hand_mask(digit: int, rng: np.random.Generator, size: tuple[int, int], height: float,
              width: float) -> np.ndarray:
    """A hand-written ``digit`` about ``height`` px tall, anywhere that it fits in ``size``."""
    h = height
    w = h * rng.uniform(0.6, 0.8)
    x = rng.uniform(0.05 * size[0], max(0.05 * size[0], size[0] - w - 0.05 * size[0]))
    y = rng.uniform(0.05 * size[1], max(0.05 * size[1], size[1] - h - 0.05 * size[1]))
    strokes = _transform(hand_strokes(digit, rng), rng, (x, y, w, h))
    return draw_strokes(size, strokes, width)


# --- printed digits ----------------------------------------------------------------------------
def _any_mask(digit, rng, size, height, font_list) -> np.ndarray:
    """Printed or hand-written, half and half (scans and photos are of both)."""
    if rng.random() < 0.5:
        return font_mask(digit, rng, size, height, font_list)
    return hand_mask(digit, rng, size, height, width=height * rng.uniform(0.08, 0.16))


def _compose(mask: np.ndarray, ink: float | np.ndarray, paper: float | np.ndarray) -> np.ndarray:
    return paper + (ink - paper) * mask


def _size(rng: np.random.Generator, lo: int, hi: int) -> tuple[int, int]:
    """Random (width, height), longer side in [lo, hi], aspect ratio between 1:2 and 2:1."""
    long_side = int(rng.integers(lo, hi + 1))
    short = int(long_side * rng.uniform(0.5, 1.0))
    return (long_side, short) if rng.random() < 0.5 else (short, long_side)


# --- the four families: each returns the app's 28x28 float image -------------------------------
def make_font(digit: int, rng: np.random.Generator, font_list: list[Path]) -> np.ndarray:
    size = _size(rng, 64, 300)
    height = min(size) * rng.uniform(0.4, 0.75)
    mask = font_mask(digit, rng, size, height, font_list)
    if rng.random() < 0.2:  # light on dark (a screenshot of dark mode, chalk on a board)
        ink, paper = rng.uniform(200, 255), rng.uniform(0, 60)
    else:
        ink, paper = rng.uniform(0, 70), rng.uniform(215, 255)
    return preprocess_bytes(encode_image(_compose(mask, ink, paper), "PNG")).image


def make_canvas(digit: int, rng: np.random.Generator) -> np.ndarray:
    size = (CANVAS_SIZE, CANVAS_SIZE)
    height = CANVAS_SIZE * rng.uniform(0.4, 0.85)
    width = CANVAS_STROKE * rng.uniform(0.7, 1.5)
    alpha = hand_mask(digit, rng, size, height, width)
    # the component returns white strokes on a transparent background (RGBA)
    rgba = np.zeros((*alpha.shape, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[..., 3] = np.rint(alpha * 255).astype(np.uint8)
    return to_mnist(rgba).image


def make_scan(digit: int, rng: np.random.Generator, font_list: list[Path]) -> np.ndarray:
    height = rng.uniform(12, 16)
    small_size = (int(rng.integers(18, 30)), int(rng.integers(18, 30)))
    mask = _any_mask(digit, rng, small_size, height, font_list)
    small = _compose(mask, rng.uniform(20, 90), rng.uniform(160, 225))
    scale = rng.uniform(3, 7)
    big_size = (round(small_size[0] * scale), round(small_size[1] * scale))
    resample = Image.Resampling.NEAREST if rng.random() < 0.3 else Image.Resampling.BILINEAR
    big = grey_image(small).resize(big_size, resample)
    big = big.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0)))
    arr = np.asarray(big) + rng.normal(0, rng.uniform(2, 10), (big_size[1], big_size[0]))
    return preprocess_bytes(encode_image(arr, "JPEG", int(rng.integers(20, 65)))).image


def make_photo(digit: int, rng: np.random.Generator, font_list: list[Path]) -> np.ndarray:
    size = _size(rng, 200, 300)
    w, h = size
    height = min(size) * rng.uniform(0.25, 0.5)
    mask = _any_mask(digit, rng, size, height, font_list)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # light falls off across the sheet (a lamp on one side) and towards the corners
    a = rng.uniform(0, 2 * math.pi)
    ramp = ((xx / w - 0.5) * math.cos(a) + (yy / h - 0.5) * math.sin(a))
    vignette = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2)
    paper = rng.uniform(170, 235) * (1 + rng.uniform(0.1, 0.35) * ramp - rng.uniform(0, 0.3) * vignette)
    ink = rng.uniform(30, 100) * (1 + 0.2 * ramp)
    arr = _compose(mask, ink, paper)
    img = grey_image(arr).filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.5)))
    arr = np.asarray(img) + rng.normal(0, rng.uniform(2, 8), (h, w))
    rgb = np.stack([arr * rng.uniform(0.95, 1.05) for _ in range(3)], -1)  # a slight colour cast
    return preprocess_bytes(encode_image(rgb, "JPEG", int(rng.integers(60, 92)))).image


def make_heldout(per_digit: int = PER_DIGIT, seed: int = SEED) -> dict[str, np.ndarray]:
    """The whole set: ``x`` uint8 (N, 28, 28), ``y`` int64, ``source`` (family names)."""
    font_list = fonts()
    makers = {"font": lambda d, r: make_font(d, r, font_list),
              "canvas": make_canvas,
              "scan": lambda d, r: make_scan(d, r, font_list),
              "photo": lambda d, r: make_photo(d, r, font_list)}
    xs, ys, sources = [], [], []
    for f, family in enumerate(FAMILIES):
        for digit in range(10):
            for i in range(per_digit):
                rng = np.random.default_rng([seed, f, digit, i])
                xs.append(np.rint(makers[family](digit, rng) * 255).astype(np.uint8))
                ys.append(digit)
                sources.append(family)
    return {"x": np.stack(xs), "y": np.asarray(ys, np.int64), "source": np.asarray(sources)}


def report(arrays: dict[str, np.ndarray]) -> None:
    """Share of images the shipped LeNet reads correctly, per family (a sanity check only)."""
    import torch

    from wae_core.evaluation.lenet import load_classifier

    net = load_classifier(REPO_ROOT / "checkpoints" / "lenet-mnist.safetensors")
    x = torch.from_numpy(arrays["x"]).float().div(255).unsqueeze(1)
    pred = net.embed(x)[1].argmax(1).numpy()
    ok = pred == arrays["y"]
    for family in FAMILIES:
        m = arrays["source"] == family
        print(f"{family:7s} {m.sum():4d} images, recognised {ok[m].mean():.1%}")
    print(f"all     {len(ok):4d} images, recognised {ok.mean():.1%}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--report", action="store_true", help="print the LeNet's recognition per family")
    a = p.parse_args(argv)
    arrays = make_heldout()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, **arrays)
    print(f"wrote {a.out}: {len(arrays['y'])} images", file=sys.stderr)
    if a.report:
        report(arrays)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
