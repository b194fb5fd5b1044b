"""The user's own digits: uploads and a drawing canvas, turned into MNIST-style 28×28 images by the
upload ingest (:mod:`wae_core.data.ingest`), with its notes and errors in the session's language.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import streamlit as st

from app import components as C
from app.i18n import N_, _, known_sentences, translate_sentence

IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]
CANVAS_SIZE = 280
CANVAS_STROKE = 18


# What the upload ingest (wae_core.data.uploads and .ingest) says about an upload (its notes and
# ImageError messages, English): the known sentences, each matched with its {fields} as the values
# to keep, and shown in the session's language; anything else as is. The first that matches wins.
_PREPROCESS_TEMPLATES = (
    N_("multi-page TIFF: used the first of {n} pages"),
    N_("multi-picture JPEG: used the first of {n} images"),
    N_("animated {fmt}: used the first of {n} frames"),
    N_("ignored unusable EXIF orientation"),
    N_("flipped by EXIF orientation"),
    N_("rotated by EXIF orientation (180 degrees)"),
    N_("rotated and flipped by EXIF orientation"),
    N_("rotated by EXIF orientation ({deg} degrees clockwise)"),
    N_("large image: processed at {size}"),
    N_("flattened transparency onto black"),
    N_("flattened transparency onto white"),
    N_("16-bit greyscale: scaled to its actual range"),
    N_("inverted: dark ink on a light background"),
    N_("paper rules removed (lined or squared paper): {n}"),
    N_("the file is empty"),
    N_("file is {size} MB, the limit is {limit} MB"),
    N_("file is {size} bytes, the limit is {limit} bytes"),
    N_("{fmt} {what} are not supported: please upload a PNG or JPEG image"),
    N_("HEIC images are not supported: please convert the photo to PNG or JPEG"),
    N_("this file is a video or other media file, not an image: upload a PNG or JPEG"),
    N_("this file contains text, not an image: please upload a PNG or JPEG"),
    N_("this file is not an image in a supported format ({formats})"),
    N_("the {fmt} file is damaged or incomplete and could not be decoded"),
    N_("the {fmt} file has no pixels"),
    N_("the image is {size} pixels: each side must be between 1 and {max} pixels"),
    N_("the image is too large to decode"),
    N_("the image is too large: {size} pixels is {mp} megapixels, the limit is {limit} megapixels"),
    N_("the image is too large: {mp} megapixels, the limit is {limit} megapixels"),
    N_("the image is too large: the limit is {limit} megapixels"),
)


_PREPROCESS_MESSAGES = known_sentences(_PREPROCESS_TEMPLATES)


def preprocess_message(text: str) -> str:
    """A note or error message of the upload ingest (:mod:`wae_core.data.ingest`) in the session's
    language (a message it does not know: unchanged)."""
    return translate_sentence(text, _PREPROCESS_MESSAGES)


class Digit:
    """A user's digit after preprocessing: ``name``, ``image`` (28, 28) float32 in [0, 1],
    ``notes`` (what preprocessing did)."""

    def __init__(self, name: str, image: np.ndarray, notes: Sequence[str] = ()) -> None:
        self.name, self.image, self.notes = name, image, tuple(notes)

    @property
    def batch(self) -> np.ndarray:
        """(1, 1, 28, 28) for the models."""
        return self.image.reshape(1, 1, 28, 28).astype(np.float32)


def preprocess_files(files: Sequence[tuple[str, bytes]]) -> tuple[list[Digit], list[tuple[str, str]]]:
    """Preprocess uploads with :func:`wae_core.data.ingest.preprocess_bytes`:
    (usable digits, [(file name, user-facing error message), ...]). Never raises for a bad file."""
    from wae_core.data.ingest import preprocess_bytes
    from wae_core.data.uploads import ImageError

    ok: list[Digit] = []
    bad: list[tuple[str, str]] = []
    for name, data in files:
        try:
            p = preprocess_bytes(data)
        except ImageError as e:
            bad.append((name, str(e)))
        except Exception as e:  # noqa: BLE001 - a page never shows a traceback
            bad.append((name, C.error_message(e)))
        else:
            ok.append(Digit(name, p.image, p.notes))
    return ok, bad


def preprocess_drawing(rgba: np.ndarray | None) -> Digit | None:
    """A canvas's RGBA array -> :class:`Digit`; None when nothing has been drawn yet."""
    from wae_core.data.ingest import to_mnist
    from wae_core.data.uploads import ImageError

    if rgba is None or rgba.size == 0 or np.asarray(rgba)[..., :3].max() < 32:
        return None
    try:
        p = to_mnist(np.asarray(rgba))
    except ImageError:
        return None
    return Digit(_("drawing"), p.image, p.notes)


def user_digit_pair(titles: tuple[str, str], keys: tuple[str, str]) -> tuple[Any, Any]:
    """Two single digits side by side (upload or drawing each, :func:`user_digits`) under the
    markdown ``titles``: each digit's model input (1, 1, 28, 28), or None while it is missing."""
    out = []
    for col, title, key in zip(st.columns(2), titles, keys):
        with col:
            st.markdown(title)
            d = user_digits(key, multiple=False)
        out.append(d[0].batch if d else None)
    return out[0], out[1]


def user_digits(key: str, *, multiple: bool = True, draw: bool = True,
                show_inputs: bool = True) -> list[Digit]:
    """Upload image(s) and/or draw a digit. Widgets: file uploader ``{key}_upload`` and canvas
    ``{key}_canvas`` (in tabs "Upload" / "Draw"). Unusable files get an ``st.error("name:
    message")`` each; the others are returned (uploads first, then the drawing)."""
    digits: list[Digit] = []
    tabs = st.tabs([_("Upload"), _("Draw")]) if draw else [st.container()]
    with tabs[0]:
        up = st.file_uploader(
            _("Upload digit images") if multiple else _("Upload a digit image"), type=IMAGE_TYPES,
            accept_multiple_files=multiple, key=f"{key}_upload", max_upload_size=C.IMAGE_UPLOAD_MB,
            help=_("Photos and scans work: the image is turned into an MNIST-style 28×28 digit "
                   "(greyscale, white ink on black, centred)."))
        files = (up or []) if multiple else ([up] if up is not None else [])
        ok, bad = preprocess_files([(f.name, f.getvalue()) for f in files])
        for name, message in bad:
            st.error(f"{name}: {preprocess_message(message)}")
        digits.extend(ok)
    if draw:
        with tabs[1]:
            # Imported here: the component registers itself with a running app only.
            from streamlit_drawable_canvas import st_canvas

            st.caption(_("Draw one digit, large, in the middle of the black square."))
            res = st_canvas(stroke_width=CANVAS_STROKE, stroke_color="#FFFFFF",
                            background_color="#000000", height=CANVAS_SIZE, width=CANVAS_SIZE,
                            drawing_mode="freedraw", return_image_data=True, key=f"{key}_canvas")
            drawn = preprocess_drawing(getattr(res, "image_data", None))
            if drawn is not None:
                digits.append(drawn)
    if show_inputs and digits:
        cols = st.columns(min(len(digits), 8))
        for i, d in enumerate(digits):
            with cols[i % len(cols)]:
                C.digit_image(d.image, scale=4, caption=d.name)
                for note in d.notes:
                    st.caption(preprocess_message(note))
    return digits


_ORIGIN = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}


def canvas_points(json_data: dict[str, Any] | None, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(dots, stroke points) of a drawable-canvas drawing, in x-right / y-up coordinates.

    Dots are the centres of ``point``-mode circles; stroke points are the vertices of freehand
    paths, densified so that long straight segments weigh as much as curly ones.
    """
    dots: list[tuple[float, float]] = []
    strokes: list[tuple[float, float]] = []
    for obj in (json_data or {}).get("objects", []) or []:
        kind = str(obj.get("type", "")).lower()
        if kind == "circle":
            r = float(obj.get("radius", 0)) + float(obj.get("strokeWidth", 0)) / 2
            w, h = 2 * r * float(obj.get("scaleX", 1)), 2 * r * float(obj.get("scaleY", 1))
            cx = float(obj.get("left", 0)) + (0.5 - _ORIGIN.get(obj.get("originX", "left"), 0)) * w
            cy = float(obj.get("top", 0)) + (0.5 - _ORIGIN.get(obj.get("originY", "top"), 0)) * h
            dots.append((cx, height - cy))
        elif kind == "path":
            prev: tuple[float, float] | None = None
            for cmd in obj.get("path") or []:
                if not isinstance(cmd, list | tuple) or len(cmd) < 3:
                    continue
                try:
                    x, y = float(cmd[-2]), float(cmd[-1])
                except (TypeError, ValueError):
                    continue
                if prev is not None:
                    d = math.hypot(x - prev[0], y - prev[1])
                    for t in np.linspace(0, 1, max(int(d / 4), 1), endpoint=False)[1:]:
                        strokes.append((prev[0] + t * (x - prev[0]), height - (prev[1] + t * (y - prev[1]))))
                strokes.append((x, height - y))
                prev = (x, y)
    return np.asarray(dots, dtype=np.float32).reshape(-1, 2), np.asarray(strokes, np.float32).reshape(-1, 2)
