"""The small UI pieces every page uses: formatting and safe calls, formulas, image grids as PNG
(nearest-neighbour upscaled for a projector), model columns and notes, and the user's digits
(uploads, a drawing canvas).

The sidebar (:mod:`app.sidebar`) sets the shared state that :func:`selected_models`,
:func:`current_seed` and :func:`current_dataset` read.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image

from app import cache, catalog, datasets
from app.catalog import CheckpointInfo, list_checkpoints
from app.datasets import ImageDataset
from app.i18n import N_, _, ngettext
from wae_core.data.uploads import DEFAULT_MAX_BYTES
from wae_core.errors import UserFacingError
from wae_core.models.divergences import latex_of

MODELS_KEY = "sidebar_models"
SEED_KEY = "sidebar_seed"
DATA_KEY = "sidebar_data"
DEFAULT_SEED = 0
MAX_SEED = 2**31 - 1
DASH = "—"
IMAGE_UPLOAD_MB = DEFAULT_MAX_BYTES // 2**20
MAKE_CHECKPOINTS = "make checkpoints"
# Tolstikhin et al., ICLR 2018, CelebA 64×64: (algorithm, Inception FID, sharpness).
# (the CSV keeps these names; the page shows "True data" translated)
PAPER_ROWS = (("VAE", 63, "3e-3"), ("WAE-MMD", 55, "6e-3"), ("WAE-GAN", 42, "6e-3"),
              (N_("True data"), 2, "2e-2"))


# --------------------------------------------------------------------------------------------
# Formatting and errors
# --------------------------------------------------------------------------------------------
def is_missing(v: Any) -> bool:
    """True for None and for NaN / inf floats: shown as "—"."""
    if v is None:
        return True
    return isinstance(v, float) and not math.isfinite(v)


def fmt(value: Any, spec: str = ".3g") -> str:
    """Format a number; "—" for None / NaN / inf / non-numbers."""
    if is_missing(value) or not isinstance(value, int | float):
        return DASH
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


def error_message(exc: BaseException) -> str:
    """A plain, one-paragraph message for users (no traceback)."""
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    if len(first) > 400:
        first = first[:400] + "…"
    if isinstance(exc, UserFacingError):
        return first
    return f"{first} ({type(exc).__name__})"


def show_error(exc: BaseException, what: str = "") -> None:
    """``st.error`` with a plain message, prefixed by what was being done."""
    msg = error_message(exc)
    st.error(f"{what}: {msg}" if what else msg, icon="⚠️")


def safe_call(fn: Callable[..., Any], *args: Any, what: str = "", **kwargs: Any) -> Any | None:
    """Call ``fn``; on any exception show :func:`show_error` and return None (never a traceback).
    Streamlit's own control flow (``st.rerun``, ``st.stop``) passes through (BaseException)."""
    try:
        return fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the point is to catch everything for the user
        show_error(e, what)
        return None


@contextmanager
def guarded(what: str = "") -> Iterator[None]:
    """``with guarded("Sampling"):`` — like :func:`safe_call` for a block."""
    try:
        yield
    except Exception as e:  # noqa: BLE001
        show_error(e, what)


def formulas(*fns: object) -> None:
    """An expander "The formulas" with every formula of each wae_core function's docstring."""
    with st.expander(_("The formulas")):
        for fn in fns:
            latex(fn)


def latex(fn: object, index: int | None = None) -> None:
    """``st.latex`` every formula of a wae_core docstring (or only the one at ``index``): the one
    source of every formula shown."""
    blocks = latex_of(fn)
    for f in blocks if index is None else blocks[index:index + 1]:
        st.latex(f)


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------
def to_uint8(images: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] -> uint8 pixels: greyscale (n, 1, H, W) / (n, H, W) / (H, W) lose the
    channel axis, RGB (n, 3, H, W) becomes channels-last (n, H, W, 3)."""
    a = np.asarray(images, dtype=np.float32)
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    elif a.ndim == 4 and a.shape[1] == 3:
        a = a.transpose(0, 2, 3, 1)
    return (np.clip(np.nan_to_num(a), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def grid_array(images: np.ndarray, ncol: int | None = None, pad: int = 2,
               pad_value: int = 96) -> np.ndarray:
    """Tile images (n, C, H, W) in [0, 1], C = 1 or 3, into one uint8 array (H', W') or
    (H', W', 3), ``ncol`` per row (default: square), separated by ``pad`` grey pixels (visible
    on light and dark themes)."""
    a = to_uint8(images)
    if a.ndim == 2:
        a = a[None]
    n, h, w = a.shape[:3]
    ncol = max(1, min(ncol or math.ceil(math.sqrt(n)), n))
    nrow = math.ceil(n / ncol)
    out = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, *a.shape[3:]), pad_value, np.uint8)
    for i in range(n):
        r, c = divmod(i, ncol)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = a[i]
    return out


def png_bytes(array: np.ndarray, scale: int = 1) -> bytes:
    """PNG of a uint8 (H, W) greyscale or (H, W, 3) RGB array (or float images, see
    :func:`to_uint8`), upscaled ``scale``× with nearest-neighbour so pixels stay crisp on a
    projector."""
    a = array if array.dtype == np.uint8 else to_uint8(array)
    img = Image.fromarray(np.ascontiguousarray(a), mode="RGB" if a.ndim == 3 else "L")
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)  # 2-3x faster than the default level 6
    return buf.getvalue()


@st.cache_data(show_spinner=False, max_entries=256)
def grid_png(images: np.ndarray, ncol: int | None = None, scale: int = 4, pad: int = 2) -> bytes:
    """PNG bytes of an image grid (see :func:`grid_array`), upscaled ``scale``×; cached, so a
    rerun that shows the same (cached) samples does not encode them again."""
    return png_bytes(grid_array(images, ncol, pad), scale)


def image_grid(images: np.ndarray, *, ncol: int | None = None, scale: int = 4, pad: int = 2,
               caption: str | None = None, key: str | None = None,
               download_name: str | None = None, width: int | str = "stretch") -> bytes:
    """Show a grid of images (n, C, 28, 28), C = 1 or 3 (RGB), as one PNG; with ``download_name`` also a
    "Download PNG" button (``key`` must then be unique on the page). Returns the PNG bytes.

    With a width in pixels, the grid is drawn at the largest ``scale`` that fits in it: Streamlit
    would shrink a wider PNG itself, bilinearly (blurring the pixels) and again on every run; a
    narrower one the browser scales up, pixelated."""
    if isinstance(width, int) and not isinstance(width, bool):
        a = np.asarray(images)
        n, w = (1 if a.ndim == 2 else len(a)), a.shape[-1]
        cols = max(1, min(ncol or math.ceil(math.sqrt(n)), n))
        scale = max(1, min(scale, width // (cols * (w + pad) + pad)))
    data = grid_png(images, ncol, scale, pad)
    show_png(data, caption=caption, key=key, download_name=download_name, width=width)
    return data


def show_png(data: bytes, *, caption: str | None = None, key: str | None = None,
             download_name: str | None = None, width: int | str = "stretch") -> bytes:
    """Show PNG bytes (e.g. a cached grid, :func:`grid_png`); with ``download_name`` also a
    "Download PNG" button (``key`` must then be unique on the page)."""
    st.image(data, caption=caption, width=width, output_format="PNG")
    if download_name:
        st.download_button(_("Download PNG"), data, file_name=download_name, mime="image/png",
                           key=key, icon=":material/download:")
    return data


def sorted_by_class(images: np.ndarray, pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` images reordered by predicted class (stable): a collapse shows as long
    runs of one digit."""
    order = np.argsort(pred[:k], kind="stable")
    return images[:k][order], pred[:k][order]


def digit_image(image: np.ndarray, *, scale: int = 6, caption: str | None = None,
                width: int | str = "content") -> None:
    """Show one 28×28 image (float in [0, 1]; (28, 28), (1, 28, 28) or RGB (3, 28, 28)) upscaled."""
    a = np.asarray(image)
    pixels = to_uint8(a.reshape(1, 3, 28, 28))[0] if a.size == 3 * 28 * 28 else to_uint8(a.reshape(28, 28))
    st.image(png_bytes(pixels, scale), caption=caption, width=width, output_format="PNG")


# --------------------------------------------------------------------------------------------
# Models: sidebar picker, seed, upload, columns
# --------------------------------------------------------------------------------------------
def current_dataset() -> ImageDataset:
    """The sidebar's data set (:mod:`app.datasets`; MNIST until one is chosen)."""
    return datasets.get(st.session_state.get(DATA_KEY))


def selected_models() -> list[CheckpointInfo]:
    """The models chosen in the sidebar (in the picker's order), as :class:`CheckpointInfo`:
    only image models that fit the sidebar's data set (:func:`app.catalog.fits`), so a page never
    feeds a model the wrong kind of image."""
    data = current_dataset().name
    infos = {i.key: i for i in list_checkpoints(for_data=data)}
    keys = st.session_state.get(MODELS_KEY)
    if keys is None:
        keys = catalog.default_model_keys(list(infos.values()), data)
    return [infos[k] for k in keys if k in infos]


def current_seed() -> int:
    """The sidebar's seed."""
    try:
        return int(st.session_state.get(SEED_KEY, DEFAULT_SEED))
    except (TypeError, ValueError):
        return DEFAULT_SEED


def bump_seed() -> None:
    """Button callback: next seed (e.g. "Resample"). Use as ``on_click=bump_seed``."""
    st.session_state[SEED_KEY] = (current_seed() + 1) % MAX_SEED


def model_columns(infos: Sequence[CheckpointInfo], *, header: bool = True,
                  gap: str = "medium") -> list[tuple[Any, CheckpointInfo]]:
    """One ``st.columns`` column per model, side by side, each titled with the model's label.
    Returns ``[(column, info), ...]``; write into a column with ``with col:``."""
    if not infos:
        return []
    cols = st.columns(len(infos), gap=gap)
    for col, info in zip(cols, infos):
        if header:
            col.markdown(f"#### {info.kind_label}")
            col.caption(model_caption(info))
    return list(zip(cols, infos))


def model_caption(info: CheckpointInfo) -> str:
    """Short description: file / upload, dataset, z_dim, epochs."""
    name = info.path.name if info.path is not None else info.label.split(" · ", 1)[-1]
    ep = ("" if info.epochs_done is None else " · " + ngettext(
        "{n} epoch", "{n} epochs", info.epochs_done).format(n=info.epochs_done))
    return f"{name} · {info.dataset} · z_dim {info.z_dim}{ep}"


def metric_row() -> Any:
    """A row for ``st.metric`` tiles of ``width="content"`` inside a model's column: side by side
    where the column holds them, each on its own line where it does not (four models on a
    projector), so a tile's label and value are never cut off ("997 / 1,000", not "997 …")."""
    return st.container(horizontal=True, gap="medium")


def no_encoder_note(info: CheckpointInfo, what: str | None = None) -> None:
    """The GAN's column: an info box, not an error (``what``: translated by the caller; default
    "cannot reconstruct")."""
    st.info(_("{kind}: no encoder: {what}").format(
        kind=info.kind_label, what=_("cannot reconstruct") if what is None else what), icon="ℹ️")


def missing_note(stems: Sequence[str], what: str | None = None) -> None:
    """The st.info shown instead of a live number when shipped checkpoints are missing (``what``:
    translated by the caller; default "this part")."""
    what = _("this part") if what is None else what
    names = ", ".join(f"`{s}.safetensors`" for s in stems)
    dirs = ", ".join(f"`{d}`" for d in catalog.checkpoint_dirs())
    st.info(_("{what} needs {names} (looked in {dirs}). Create the shipped checkpoints with "
              "`{command}` (or `scripts/make_checkpoints.sh`).").format(
        what=what[:1].upper() + what[1:], names=names, dirs=dirs, command=MAKE_CHECKPOINTS),
        icon="ℹ️")


def require_models(infos: Sequence[CheckpointInfo]) -> bool:
    """Show a hint and return False when no model is selected / available."""
    if infos:
        return True
    ds = current_dataset()
    if list_checkpoints(for_data=ds.name):
        st.info(_("Choose one or more models in the sidebar (**Models to compare**)."))
    else:
        dirs = ", ".join(f"`{d}`" for d in catalog.checkpoint_dirs())
        stem = f"{ds.prefix}-wae-mmd"
        st.warning(_("No {label} image checkpoints found in {dirs}. Train one with `{command}`, "
                     "upload a `.safetensors` checkpoint in the sidebar, or choose another "
                     "**Data set**.").format(
            label=ds.label, dirs=dirs,
            command=f"python -m wae_core.train --recipe {stem} --out checkpoints/{stem}.safetensors"))
    return False


def classifier_or_info(ds: ImageDataset | None = None) -> Any | None:
    """The LeNet that judges ``ds`` (default: the sidebar's data set), or None after an ``st.info``
    (missing) / ``st.error`` (broken)."""
    ds = ds or current_dataset()
    try:
        net = cache.load_classifier(ds.name)
    except Exception as e:  # noqa: BLE001
        show_error(e, _("Classifier"))
        return None
    if net is None:
        flag = "" if ds.per_channel or ds.name == datasets.DEFAULT else f" --dataset {ds.name}"
        st.info(_("No classifier at `{path}`: class-based metrics are off. Train it with "
                  "`{command}` (minutes).").format(
            path=catalog.classifier_path(ds.name),
            command=f"python -m wae_core.classifier{flag} --out checkpoints/{ds.classifier}.safetensors"),
            icon="ℹ️")
    return net


def user_images_offered(ds: ImageDataset) -> bool:
    """True when the data set's models take the user's uploads / drawings (1-channel, MNIST-style);
    otherwise an ``st.info`` saying why they are not offered, and False."""
    if ds.takes_user_images:
        return True
    st.info(_("Your own images are not offered for {label}: its models take {channels}-channel "
              "images (a digit in each of R, G and B), and an upload or a drawing becomes one "
              "greyscale MNIST-style digit. Choose MNIST or Fashion-MNIST in the sidebar to use "
              "them.").format(label=ds.label, channels=ds.channels), icon="ℹ️")
    return False


# --------------------------------------------------------------------------------------------
# User digits: uploads and a drawing canvas -> MNIST-style 28x28
# --------------------------------------------------------------------------------------------
IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]
CANVAS_SIZE = 280
CANVAS_STROKE = 18


# What the upload ingest (wae_core.data.uploads and .ingest) says about an upload (its notes and
# ImageError messages, English): the known sentences, with their numbers and names, in the
# session's language; anything else as is.
_PREPROCESS_MESSAGES = tuple((re.compile(pattern), template) for pattern, template in (
    (r"multi-page TIFF: used the first of (?P<n>\d+) pages",
     N_("multi-page TIFF: used the first of {n} pages")),
    (r"multi-picture JPEG: used the first of (?P<n>\d+) images",
     N_("multi-picture JPEG: used the first of {n} images")),
    (r"animated (?P<fmt>\w+): used the first of (?P<n>\d+) frames",
     N_("animated {fmt}: used the first of {n} frames")),
    (r"ignored unusable EXIF orientation", N_("ignored unusable EXIF orientation")),
    (r"flipped by EXIF orientation", N_("flipped by EXIF orientation")),
    (r"rotated by EXIF orientation \(180 degrees\)", N_("rotated by EXIF orientation (180 degrees)")),
    (r"rotated and flipped by EXIF orientation", N_("rotated and flipped by EXIF orientation")),
    (r"rotated by EXIF orientation \((?P<deg>\d+) degrees clockwise\)",
     N_("rotated by EXIF orientation ({deg} degrees clockwise)")),
    (r"large image: processed at (?P<size>\d+x\d+)", N_("large image: processed at {size}")),
    (r"flattened transparency onto black", N_("flattened transparency onto black")),
    (r"flattened transparency onto white", N_("flattened transparency onto white")),
    (r"16-bit greyscale: scaled to its actual range", N_("16-bit greyscale: scaled to its actual range")),
    (r"inverted: dark ink on a light background", N_("inverted: dark ink on a light background")),
    (r"the file is empty", N_("the file is empty")),
    (r"file is (?P<size>[\d.]+) MB, the limit is (?P<limit>[\d.]+) MB",
     N_("file is {size} MB, the limit is {limit} MB")),
    (r"file is (?P<size>\d+) bytes, the limit is (?P<limit>\d+) bytes",
     N_("file is {size} bytes, the limit is {limit} bytes")),
    (r"(?P<fmt>SVG|PDF|AVIF) (?P<what>images|files) are not supported: please upload a PNG or JPEG "
     r"image", N_("{fmt} {what} are not supported: please upload a PNG or JPEG image")),
    (r"HEIC images are not supported: please convert the photo to PNG or JPEG",
     N_("HEIC images are not supported: please convert the photo to PNG or JPEG")),
    (r"this file is a video or other media file, not an image: upload a PNG or JPEG",
     N_("this file is a video or other media file, not an image: upload a PNG or JPEG")),
    (r"this file contains text, not an image: please upload a PNG or JPEG",
     N_("this file contains text, not an image: please upload a PNG or JPEG")),
    (r"this file is not an image in a supported format \((?P<formats>[^)]*)\)",
     N_("this file is not an image in a supported format ({formats})")),
    (r"the (?P<fmt>\w+) file is damaged or incomplete and could not be decoded",
     N_("the {fmt} file is damaged or incomplete and could not be decoded")),
    (r"the (?P<fmt>\w+) file has no pixels", N_("the {fmt} file has no pixels")),
    (r"the image is (?P<size>\d+x\d+) pixels: each side must be between 1 and (?P<max>\d+) pixels",
     N_("the image is {size} pixels: each side must be between 1 and {max} pixels")),
    (r"the image is too large to decode", N_("the image is too large to decode")),
    (r"the image is too large: (?P<size>\d+x\d+) pixels is (?P<mp>[\d.]+) megapixels, the limit "
     r"is (?P<limit>[\d.]+) megapixels",
     N_("the image is too large: {size} pixels is {mp} megapixels, the limit is {limit} megapixels")),
    (r"the image is too large: (?P<mp>[\d.]+) megapixels, the limit is (?P<limit>[\d.]+) megapixels",
     N_("the image is too large: {mp} megapixels, the limit is {limit} megapixels")),
    (r"the image is too large: the limit is (?P<limit>[\d.]+) megapixels",
     N_("the image is too large: the limit is {limit} megapixels")),
))


def preprocess_message(text: str) -> str:
    """A note or error message of the upload ingest (:mod:`wae_core.data.ingest`) in the session's
    language (a message it does not know: unchanged)."""
    for pattern, template in _PREPROCESS_MESSAGES:
        m = pattern.fullmatch(text)
        if m:
            return _(template).format(**m.groupdict())
    return text


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
            bad.append((name, error_message(e)))
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
            accept_multiple_files=multiple, key=f"{key}_upload", max_upload_size=IMAGE_UPLOAD_MB,
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
                digit_image(d.image, scale=4, caption=d.name)
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
