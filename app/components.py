"""The small UI pieces every page uses: formatting and safe calls, formulas, image grids as PNG
(nearest-neighbour upscaled for a projector), model columns and notes (the user's digits:
:mod:`app.user_images`).

The sidebar (:mod:`app.sidebar`) sets the shared state that :func:`selected_models`,
:func:`current_seed` and :func:`current_dataset` read.
"""

from __future__ import annotations

import base64
import functools
import io
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app import cache, catalog, datasets, export
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


def fragment(func: Callable[..., Any]) -> Callable[..., Any]:
    """``st.fragment``, whose body also runs outside a script run: Streamlit's own wrapper returns
    None there, so the server's warm-up (``app/serve.py``, which runs each page once without a
    session) left every fragment's caches cold (the explorer's class means: the first visit of
    each process took 2-2.6 s, and a room's visits queued behind it)."""
    in_session = st.fragment(func)

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        if get_script_run_ctx(suppress_warning=True) is None:
            return func(*args, **kwargs)
        return in_session(*args, **kwargs)

    return run


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


def png_url(data: bytes) -> str:
    """PNG bytes as a ``data:`` URL, for ``st.image``: the image travels inside the page's own
    websocket message. Given bytes, Streamlit stores a copy per session and run and the browser
    fetches it with one more HTTP request. Profiled (docs/speed.md, 2026-12-07, late night),
    those requests took a third of the server's CPU on the explorer's page and a quarter on the
    samples' (uvicorn's and Starlette's Python for every image of every tab), far more than the
    4/3 larger message costs. The URL is content-addressed, as a media URL is: the same image,
    the same URL."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


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


@st.cache_data(show_spinner=False, max_entries=256, hash_funcs=cache.ARRAY_KEYS)
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
    "Download PNG" button (:func:`export.png_button`: ``key`` must then be unique on the page).
    The image travels inside the page's message (:func:`png_url`); the button hands the bytes
    over on click only: given them, Streamlit would hash and store a copy per session and run."""
    st.image(png_url(data), caption=caption, width=width)
    if download_name:
        export.png_button(lambda: data, key, download_name.removesuffix(".png"))
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
    st.image(png_url(png_bytes(pixels, scale)), caption=caption, width=width)


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


def next_seed(seed: int) -> int:
    """The seed "Resample" moves to."""
    return (seed + 1) % MAX_SEED


def bump_seed() -> None:
    """Button callback: next seed (e.g. "Resample"). Use as ``on_click=bump_seed``."""
    st.session_state[SEED_KEY] = next_seed(current_seed())


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
