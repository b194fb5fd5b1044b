"""Make ``data/heldout-digits-2.npz``: a second held-out set of non-MNIST digits, for reporting only.

The first set (``data/heldout-digits.npz``, ``scripts/make_heldout_digits.py``) is what the shipped
MNIST models were tuned against; this one is never used to choose anything (no model, recipe,
setting or threshold): it only reports how well "class kept" carries over to sources and kinds of
digit the first set lacks. Neither set, nor any bundled digit data set, is training data.

Five families, each digit 0-9 ``PER_DIGIT`` times, from fixed seeds (the same file every run):

* ``uci-8x8``   real handwritten digits: a fixed, balanced subset of scikit-learn's bundled copy of
                UCI "Optical Recognition of Handwritten Digits" (8x8, 0-16 ink counts; the test
                split, 13 writers), on grey paper with a margin, upscaled to 40-120 px as a
                low-resolution scan or thumbnail would be (bilinear / bicubic), blurred, noisy, JPEG.
* ``marker``    felt-tip / permanent-marker handwriting fonts on lined or squared paper, coloured
                ink, photographed at an angle (perspective) in poor light (dim, a lamp on one side,
                a soft shadow, a warm cast), noisy, JPEG.
* ``ballpoint`` thin handwriting-font strokes in blue or black ballpoint, faint (low contrast), on
                squared or lined paper, a slight angle, JPEG.
* ``pencil``    a pencil font in grey graphite with paper grain, low contrast, on lined or squared
                paper, a slight angle, JPEG.
* ``screen``    light-on-dark screenshots (a notes or drawing app in dark mode) of the handwriting
                fonts, some at low resolution shown on a 2x screen, PNG.

Every image is encoded as a file and goes through the app's own upload path
(``wae_core.data.ingest.preprocess_bytes``: decode + ``to_mnist``), exactly as an upload.

Sources and licences (``data/heldout-digits-2-LICENSES.txt`` has the attributions):

* UCI optdigits: E. Alpaydin, C. Kaynak (1998), CC BY 4.0, read from scikit-learn's bundled copy
  (``sklearn.datasets.load_digits``; checked against ``UCI_SHA256``).
* Fonts, all SIL Open Font License 1.1, from the Debian packages in ``FONT_PACKAGES`` (``make
  fonts`` installs them): Yusei Magic (fonts-yusei-magic), Klee One (fonts-klee), the six "Because
  We..." handwriting fonts (fonts-bwht), dkg handwriting (fonts-dkg-handwriting), Humor Sans
  (fonts-humor-sans). Images rendered with a font are not covered by its licence.

    .venv/bin/python scripts/make_heldout_digits_2.py            # writes data/heldout-digits-2.npz
    .venv/bin/python scripts/make_heldout_digits_2.py --out /tmp/h2.npz --report
    .venv/bin/python scripts/make_heldout_digits_2.py --report-only   # the committed file, as it is
    .venv/bin/python scripts/make_heldout_digits_2.py --validation --out /tmp/h2-val.npz --report

``--report`` prints the share of the inputs that the shipped LeNet reads, and the class kept of
each shipped MNIST auto-encoder, per family.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The first set's glyph placement and file encoding, shared with it (harness/images.py).
from harness import ROOT as REPO_ROOT  # noqa: E402
from harness.images import encode_image, font_mask  # noqa: E402
from wae_core.data.ingest import preprocess_bytes  # noqa: E402
from wae_core.data.uploads import ImageError  # noqa: E402

OUT = REPO_ROOT / "data" / "heldout-digits-2.npz"
FAMILIES = ("uci-8x8", "marker", "ballpoint", "pencil", "screen")
PER_DIGIT = 20  # per family: 5 families x 10 digits x 20 = 1,000 images
SEED = 20_261_220  # image (family f, digit d, i) uses [SEED, f, d, i]; the first set uses another
# The validation split: images PER_DIGIT.. of each (family, digit), the same generator's other draws
# and other UCI digits. Settings of the upload path and of the encoders may be chosen on it; the set
# itself (images 0..PER_DIGIT-1) is for reporting only.
VALIDATION_START = PER_DIGIT
MAX_REFUSED = 20  # draws of one image the app may refuse before the script gives up

# The Debian packages the fonts come from (``make fonts``), and the faces each family draws with.
FONT_PACKAGES = ("fonts-yusei-magic", "fonts-klee", "fonts-bwht", "fonts-dkg-handwriting",
                 "fonts-humor-sans")
FONT_FILES = {
    "YuseiMagic-Regular": "truetype/yusei-magic/YuseiMagic-Regular.ttf",
    "KleeOne-Regular": "truetype/klee/KleeOne-Regular.ttf",
    "KleeOne-SemiBold": "truetype/klee/KleeOne-SemiBold.ttf",
    **{f"BecauseWe{w}": f"opentype/bwht/BecauseWe{w}-Regular.otf"
       for w in ("Build", "Connect", "Create", "Learn", "Mentor", "Organize")},
    **{f"dkg{s}": f"truetype/fifthhorseman/dkg{s}.ttf" for s in ("", "BI", "Bd", "It")},
    "Humor-Sans": "truetype/humor-sans/Humor-Sans.ttf",
}
FONT_ROOT = Path("/usr/share/fonts")
MARKER_FONTS = ("YuseiMagic-Regular", "BecauseWeLearn", "dkgBd", "dkgBI")  # thick, felt-tip strokes
BALLPOINT_FONTS = ("BecauseWeBuild", "BecauseWeConnect", "BecauseWeCreate", "BecauseWeMentor",
                   "BecauseWeOrganize", "dkg", "dkgIt", "Humor-Sans")
PENCIL_FONTS = ("KleeOne-Regular", "KleeOne-SemiBold")

# scikit-learn's copy of the UCI optdigits test split: SHA-256 prefixes of its images (as uint8)
# and labels (int64); another copy would give other digits.
UCI_SHA256 = ("8f26b2bd9d135c25", "a3c91c262eddcf7b")

INK = {"black": (30, 30, 38), "blue": (32, 52, 150), "red": (165, 32, 42), "green": (30, 105, 60)}
SCREEN_INK = ((245, 245, 245), (245, 222, 96), (120, 220, 240), (150, 238, 150), (250, 175, 205))


def font_paths(names: tuple[str, ...]) -> list[Path]:
    paths = [FONT_ROOT / FONT_FILES[n] for n in names]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"fonts missing ({', '.join(map(str, missing))}): install the Debian "
                         f"packages {' '.join(FONT_PACKAGES)} (make fonts)")
    return paths


def uci_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI 8x8 digits (ink counts 0-16, uint8) and labels, checked against ``UCI_SHA256``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = d.images.astype(np.uint8), d.target.astype(np.int64)
    got = (hashlib.sha256(x.tobytes()).hexdigest()[:16], hashlib.sha256(y.tobytes()).hexdigest()[:16])
    if got != UCI_SHA256:
        raise SystemExit(f"scikit-learn's load_digits is not the copy this set was made from: {got}")
    return x, y


def uci_choice(y: np.ndarray, digit: int, seed: int = SEED) -> np.ndarray:
    """The indices of ``digit`` in the UCI set in a fixed random order; image i takes the i-th."""
    return np.random.default_rng([seed, 99, digit]).permutation(np.flatnonzero(y == digit))


# --- paper, light, camera ----------------------------------------------------------------------
def _lines_mask(size: tuple[int, int], spacing: float, width: float, squared: bool,
                rng: np.random.Generator) -> np.ndarray:
    """Coverage in [0, 1] of ruled (horizontal) or squared lines over a sheet of ``size``."""
    s = 2  # supersampled, then box-filtered: anti-aliased lines
    img = Image.new("L", (size[0] * s, size[1] * s), 0)
    d = ImageDraw.Draw(img)
    w = max(1, round(width * s))
    y = rng.uniform(0, spacing)
    while y < size[1]:
        d.line([(0, y * s), (size[0] * s, y * s)], fill=255, width=w)
        y += spacing
    x = rng.uniform(0, spacing)
    while squared and x < size[0]:
        d.line([(x * s, 0), (x * s, size[1] * s)], fill=255, width=w)
        x += spacing
    return np.asarray(img.resize(size, Image.Resampling.BOX), np.float32) / 255.0


def paper_sheet(size: tuple[int, int], height: float, rng: np.random.Generator,
                squared: bool) -> np.ndarray:
    """White-ish paper (H, W, 3) with faint light-blue or grey rules; on lined paper a digit is
    a little shorter than the line spacing, on squared paper it spans one or two squares."""
    paper = np.array([rng.uniform(228, 252)] * 3) - [0, rng.uniform(0, 6), rng.uniform(0, 14)]
    line = (np.array([rng.uniform(140, 185), rng.uniform(175, 210), rng.uniform(215, 240)])
            if rng.random() < 0.7 else np.array([rng.uniform(165, 200)] * 3))
    spacing = height * (rng.uniform(0.55, 1.0) if squared else rng.uniform(1.1, 1.6))
    mask = _lines_mask(size, spacing, rng.uniform(0.8, 2.0), squared, rng) * rng.uniform(0.4, 0.85)
    return paper + (line - paper) * mask[..., None]


def lay_ink(sheet: np.ndarray, mask: np.ndarray, ink: tuple[float, float, float] | np.ndarray,
            opacity: float | np.ndarray) -> np.ndarray:
    """Ink over the sheet: each pixel moves towards the ink colour by its coverage x opacity."""
    a = (mask * opacity)[..., None]
    return sheet + (np.asarray(ink, np.float64) - sheet) * a


def _perspective_coeffs(out_pts, in_pts) -> list[float]:
    """Pillow's PERSPECTIVE data: the homography taking output corners to input points."""
    a, b = [], []
    for (x, y), (u, v) in zip(out_pts, in_pts):
        a += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        b += [u, v]
    return np.linalg.solve(np.asarray(a, np.float64), np.asarray(b, np.float64)).tolist()


def tilt(sheet: np.ndarray, frame: tuple[int, int], margin: int, amount: float,
         rng: np.random.Generator) -> np.ndarray:
    """A camera at an angle: the frame (at ``margin`` inside the sheet) seen as a random
    quadrilateral, each corner moved up to ``amount`` of the frame's size."""
    w, h = frame
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    quad = [(margin + x + rng.uniform(-amount, amount) * w, margin + y + rng.uniform(-amount, amount) * h)
            for x, y in corners]
    img = Image.fromarray(np.clip(np.rint(sheet), 0, 255).astype(np.uint8))
    out = img.transform(frame, Image.Transform.PERSPECTIVE, _perspective_coeffs(corners, quad),
                        Image.Resampling.BICUBIC)
    return np.asarray(out, np.float64)


def light(img: np.ndarray, rng: np.random.Generator, level: float, shadow: float,
          warm: float) -> np.ndarray:
    """Poor light on a reflectance image: a dim ``level``, a lamp on one side, darker corners,
    a soft shadow across the sheet (``shadow`` deep), a warm cast (``warm`` in [0, 1])."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    u, v = xx / w - 0.5, yy / h - 0.5
    a = rng.uniform(0, 2 * math.pi)
    field = level * (1 + rng.uniform(0.1, 0.4) * (u * math.cos(a) + v * math.sin(a)))
    field *= 1 - rng.uniform(0, 0.35) * (u ** 2 + v ** 2)
    if shadow > 0:  # the phone's or the hand's shadow: a blurred half-plane
        b, off = rng.uniform(0, 2 * math.pi), rng.uniform(-0.3, 0.3)
        dist = (u * math.cos(b) + v * math.sin(b) - off) / rng.uniform(0.02, 0.12)
        field *= 1 - shadow / (1 + np.exp(-dist))
    cast = np.array([1.0, 1 - 0.12 * warm, 1 - 0.3 * warm])
    return img * field[..., None] * cast


def camera(img: np.ndarray, rng: np.random.Generator, blur: tuple[float, float],
           noise: tuple[float, float], quality: tuple[int, int]) -> bytes:
    """Lens blur, sensor noise and JPEG: the file a phone would upload."""
    pil = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    arr = np.asarray(pil.filter(ImageFilter.GaussianBlur(rng.uniform(*blur))), np.float64)
    arr = arr + rng.normal(0, rng.uniform(*noise), arr.shape)
    return encode_image(arr, "JPEG", int(rng.integers(quality[0], quality[1] + 1)))


def glyph(digit: int, rng: np.random.Generator, height: float, fonts: list[Path],
          margin: tuple[float, float]) -> np.ndarray:
    """Ink coverage of ``digit`` in a random face of ``fonts``, about ``height`` px tall, a little
    rotated, with a random margin of ``margin`` x height on each side (the whole digit in frame)."""
    side = round(4 * height)
    mask = font_mask(digit, rng, (side, side), height, fonts)
    rows, cols = np.flatnonzero(mask.max(1) > 0.02), np.flatnonzero(mask.max(0) > 0.02)
    mask = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    pad = [round(height * rng.uniform(*margin)) for _ in range(4)]
    return np.pad(mask, ((pad[0], pad[1]), (pad[2], pad[3])))


def paper_photo(digit: int, rng: np.random.Generator, fonts: list[Path], ink, opacity,
                tilt_max: float, level: tuple[float, float], shadow_p: float,
                grain: float = 0.0) -> bytes:
    """A digit written on lined or squared paper, photographed: the shared path of the marker,
    ballpoint and pencil families (their ink, opacity, angle and light differ)."""
    height = rng.uniform(50, 200)
    inner = glyph(digit, rng, height, fonts, (0.2, 1.2))
    inset = math.ceil(tilt_max * max(inner.shape) / (1 - 2 * tilt_max))  # what the angle may crop
    frame = (inner.shape[1] + 2 * inset, inner.shape[0] + 2 * inset)
    margin = math.ceil(tilt_max * max(frame)) + 2
    mask = np.pad(inner, margin + inset)
    if grain:  # graphite catches on the paper's tooth: patchy coverage
        tooth = Image.fromarray(np.uint8(rng.uniform(0, 255, mask.shape)))
        mask = mask * (1 - grain * np.asarray(tooth.filter(ImageFilter.GaussianBlur(0.7)), np.float32) / 255)
    size = (mask.shape[1], mask.shape[0])
    sheet = lay_ink(paper_sheet(size, height, rng, squared=rng.random() < 0.5), mask, ink, opacity)
    img = tilt(sheet, frame, margin, rng.uniform(0, tilt_max), rng)
    shadow = rng.uniform(0.15, 0.5) if rng.random() < shadow_p else 0.0
    img = light(img / 255, rng, 255 * rng.uniform(*level), shadow, rng.uniform(0, 1))
    return camera(img, rng, (0.3, 1.2), (2, 10), (45, 90))


def _jitter(rgb, rng: np.random.Generator, spread: float = 12) -> np.ndarray:
    return np.clip(np.asarray(rgb, np.float64) + rng.uniform(-spread, spread, 3), 0, 255)


# --- the five families: each returns the app's 28x28 float image -------------------------------
def make_uci(x8: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One real 8x8 digit on paper with a margin, upscaled as a low-resolution scan would be."""
    top, bottom, left, right = (int(v) for v in rng.integers(1, 4, 4))
    cover = np.pad(x8.astype(np.float64) / 16, ((top, bottom), (left, right)))
    paper = rng.uniform(170, 240)
    small = paper + (rng.uniform(20, 90) - paper) * cover
    scale = int(rng.integers(40, 121)) / max(cover.shape)
    size = (round(cover.shape[1] * scale), round(cover.shape[0] * scale))
    resample = Image.Resampling.BICUBIC if rng.random() < 0.3 else Image.Resampling.BILINEAR
    big = Image.fromarray(np.clip(np.rint(small), 0, 255).astype(np.uint8)).resize(size, resample)
    return preprocess_bytes(camera(np.asarray(big, np.float64), rng, (0.3, 1.0), (2, 8), (30, 85))).image


def make_marker(digit: int, rng: np.random.Generator, fonts: list[Path]) -> np.ndarray:
    ink = _jitter(INK[("black", "blue", "red", "green")[rng.integers(4)]], rng)
    return preprocess_bytes(paper_photo(digit, rng, fonts, ink, rng.uniform(0.85, 1.0), 0.15,
                                        (0.35, 0.75), 0.6)).image


def make_ballpoint(digit: int, rng: np.random.Generator, fonts: list[Path]) -> np.ndarray:
    ink = _jitter(INK["blue" if rng.random() < 0.6 else "black"], rng)
    return preprocess_bytes(paper_photo(digit, rng, fonts, ink, rng.uniform(0.45, 0.85), 0.07,
                                        (0.6, 0.95), 0.2)).image


def make_pencil(digit: int, rng: np.random.Generator, fonts: list[Path]) -> np.ndarray:
    ink = np.array([rng.uniform(70, 130)] * 3)
    return preprocess_bytes(paper_photo(digit, rng, fonts, ink, rng.uniform(0.6, 0.9), 0.1,
                                        (0.5, 0.9), 0.3, grain=0.4)).image


def make_screen(digit: int, rng: np.random.Generator, fonts: list[Path]) -> np.ndarray:
    """A light-on-dark screenshot, PNG; a third drawn small and shown on a 2x (HiDPI) screen."""
    hidpi = rng.random() < 0.3
    mask = glyph(digit, rng, rng.uniform(12, 40) if hidpi else rng.uniform(30, 160), fonts, (0.1, 1.5))
    bg = rng.uniform(0, 45) + rng.uniform(0, 20, 3)
    img = lay_ink(np.broadcast_to(bg, (*mask.shape, 3)), mask, _jitter(
        SCREEN_INK[rng.integers(len(SCREEN_INK))], rng, 10), 1.0)
    if hidpi:
        img = np.repeat(np.repeat(img, 2, 0), 2, 1)
    return preprocess_bytes(encode_image(img, "PNG")).image


def make_heldout(per_digit: int = PER_DIGIT, seed: int = SEED,
                 families: tuple[str, ...] = FAMILIES, start: int = 0) -> dict[str, np.ndarray]:
    """The set (or the ``families`` of it): ``x`` uint8 (N, 28, 28), ``y`` int64, ``source`` and
    ``refused``: how many files the app refused as blank before this one (drawn again from the
    same generator). Image i of a digit depends only on (seed, family, digit, i): a smaller
    ``per_digit`` gives the first images of the full set, and ``start`` = PER_DIGIT images the set
    never holds (:data:`VALIDATION_START`)."""
    x8, y8 = uci_digits() if "uci-8x8" in families else (None, None)
    marker, ballpoint, pencil = (font_paths(f) for f in (MARKER_FONTS, BALLPOINT_FONTS, PENCIL_FONTS))
    screen = font_paths(tuple(FONT_FILES))
    makers = {"uci-8x8": lambda d, i, r: make_uci(x8[uci_choice(y8, d, seed)[i]], r),
              "marker": lambda d, i, r: make_marker(d, r, marker),
              "ballpoint": lambda d, i, r: make_ballpoint(d, r, ballpoint),
              "pencil": lambda d, i, r: make_pencil(d, r, pencil),
              "screen": lambda d, i, r: make_screen(d, r, screen)}
    xs, ys, sources, refused = [], [], [], []
    for family in families:
        f = FAMILIES.index(family)
        for digit in range(10):
            for i in range(start, start + per_digit):
                rng = np.random.default_rng([seed, f, digit, i])
                for n in range(MAX_REFUSED + 1):
                    try:  # a file the app refuses ("no ink found") is drawn again, and counted
                        xs.append(np.rint(makers[family](digit, i, rng) * 255).astype(np.uint8))
                        break
                    except ImageError:
                        if n == MAX_REFUSED:
                            raise
                ys.append(digit)
                sources.append(family)
                refused.append(n)
    return {"x": np.stack(xs), "y": np.asarray(ys, np.int64), "source": np.asarray(sources),
            "refused": np.asarray(refused, np.int64)}


def report(arrays: dict[str, np.ndarray]) -> None:
    """Per family: the share of the inputs the shipped LeNet reads (the ceiling), and the class
    kept of each shipped MNIST auto-encoder (``metrics.class_kept``)."""
    import torch

    from wae_core.evaluation import metrics as M
    from wae_core.evaluation.lenet import load_classifier
    from wae_core.evaluation.protocol import CKPT_DIR, MNIST_MODELS
    from wae_core.models.checkpoint import load

    torch.set_num_threads(2)
    clf = load_classifier(CKPT_DIR / "lenet-mnist.safetensors")
    x = torch.from_numpy(arrays["x"]).float().div(255).unsqueeze(1)
    y = torch.from_numpy(arrays["y"])
    masks = {f: torch.from_numpy(arrays["source"] == f) for f in dict.fromkeys(arrays["source"].tolist())}
    masks["all"] = torch.ones(len(y), dtype=torch.bool)
    print(f"{'':22s}" + "".join(f"{f:>11s}" for f in masks))
    print(f"{'LeNet (inputs read)':22s}" + "".join(f"{M.inputs_recognised(x[m], y[m], clf):11.1%}"
                                                  for m in masks.values()))
    for label, stem in MNIST_MODELS:
        path = CKPT_DIR / f"{stem}.safetensors"
        model = load(path) if path.exists() else None
        if model is None or not model.has_encoder:
            continue
        print(f"{label + ' class kept':22s}" + "".join(f"{M.class_kept(model, x[m], y[m], clf):11.1%}"
                                                      for m in masks.values()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=OUT, help=f"the file to write (default {OUT})")
    p.add_argument("--report", action="store_true",
                   help="print the LeNet's recognition and each model's class kept per family")
    p.add_argument("--report-only", action="store_true",
                   help="report on the file at --out as it is, without drawing it again (~90 s)")
    p.add_argument("--validation", action="store_true",
                   help="draw the validation split instead (images the set never holds; give --out)")
    a = p.parse_args(argv)
    if a.validation and a.out == OUT:
        p.error("--validation writes a file of its own: give --out")
    if a.report_only:
        with np.load(a.out) as f:
            report({k: f[k] for k in f.files})
        return 0
    arrays = make_heldout(start=VALIDATION_START if a.validation else 0)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, **arrays)
    refused = ", ".join(f"{f} {arrays['refused'][arrays['source'] == f].sum()}" for f in FAMILIES)
    print(f"wrote {a.out}: {len(arrays['y'])} images (refused by the app and drawn again: {refused})",
          file=sys.stderr)
    if a.report:
        report(arrays)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
