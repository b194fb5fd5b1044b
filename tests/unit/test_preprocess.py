"""Unit tests for wae_core.data.uploads, driven by the generated upload corpus."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFile, ImageFilter

from tests.upload_corpus import Case, digit_image, make_corpus, png_bomb, write_corpus
from wae_core.data.ingest import Preprocessed, preprocess_bytes, to_mnist
from wae_core.data.uploads import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageError, decode_image

CORPUS = make_corpus()
BY_NAME = {case.name: case for case in CORPUS}
OK_CASES = [case for case in CORPUS if case.ok]
BAD_CASES = [case for case in CORPUS if not case.ok]


def _ids(cases: list[Case]) -> list[str]:
    return [case.name for case in cases]


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = float(image.sum())
    rows = np.arange(image.shape[0])
    cols = np.arange(image.shape[1])
    return (
        float((image.sum(axis=1) * rows).sum()) / total,
        float((image.sum(axis=0) * cols).sum()) / total,
    )


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def _assert_mnist_like(result: Preprocessed) -> None:
    image = result.image
    assert isinstance(image, np.ndarray)
    assert image.dtype == np.float32
    assert image.shape == (28, 28)
    assert np.isfinite(image).all()
    assert image.min() >= 0.0
    assert image.max() <= 1.0
    assert image.max() > 0.99, "the ink should be bright"
    for corner in (image[:4, :4], image[:4, -4:], image[-4:, :4], image[-4:, -4:]):
        assert corner.max() < 0.05, "the background corners should be black"
    cy, cx = _centre_of_mass(image)
    assert abs(cy - 14) <= 1.0
    assert abs(cx - 14) <= 1.0
    # MNIST: the digit fits in a 20x20 box.
    rows = np.nonzero(image.max(axis=1) > 0)[0]
    cols = np.nonzero(image.max(axis=0) > 0)[0]
    assert rows[-1] - rows[0] + 1 <= 20
    assert cols[-1] - cols[0] + 1 <= 20
    assert isinstance(result.notes, tuple)
    assert all(isinstance(note, str) and note for note in result.notes)


# --------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------


def test_corpus_is_well_formed() -> None:
    names = _ids(CORPUS)
    assert len(names) == len(set(names))
    assert all("." in name and "/" not in name for name in names)
    assert all(case.expect == case.expect.lower() for case in CORPUS)
    assert len(OK_CASES) >= 10
    assert len(BAD_CASES) >= 10
    assert len(BY_NAME["bomb.png"].data) < 1024 * 1024
    assert len(BY_NAME["oversized.png"].data) > DEFAULT_MAX_BYTES


def test_write_corpus(tmp_path: Path) -> None:
    paths = write_corpus(tmp_path / "uploads")
    assert [p.name for p in paths] == _ids(CORPUS)
    for path, case in zip(paths, CORPUS, strict=True):
        assert path.read_bytes() == case.data


@pytest.mark.parametrize("case", OK_CASES, ids=_ids(OK_CASES))
def test_ok_cases_preprocess(case: Case) -> None:
    result = preprocess_bytes(case.data)
    _assert_mnist_like(result)
    if case.expect:
        notes = " | ".join(result.notes).lower()
        assert case.expect in notes, f"{case.expect!r} not in notes {result.notes}"
    width, height = result.original_size
    assert width >= 1
    assert height >= 1


@pytest.mark.parametrize("case", BAD_CASES, ids=_ids(BAD_CASES))
def test_bad_cases_raise_image_error(case: Case) -> None:
    with pytest.raises(ImageError) as info:
        preprocess_bytes(case.data)
    message = str(info.value)
    assert case.expect in message.lower()
    assert "Traceback" not in message
    assert "PIL" not in message
    assert "<_io." not in message
    assert message == message.strip()
    assert "\n" not in message


# --------------------------------------------------------------------------------------
# Content checks
# --------------------------------------------------------------------------------------


def test_clean_digit_keeps_polarity_and_size() -> None:
    result = preprocess_bytes(BY_NAME["mnist_digit.png"].data)
    assert result.notes == ()
    assert result.original_size == (28, 28)


def test_dark_on_light_photo_matches_light_on_dark_digit() -> None:
    clean = preprocess_bytes(BY_NAME["mnist_digit.png"].data).image
    photo = preprocess_bytes(BY_NAME["photo_dark_on_light.jpg"].data).image
    large = preprocess_bytes(BY_NAME["large_photo.jpg"].data).image
    assert _correlation(clean, photo) > 0.8
    assert _correlation(clean, large) > 0.8


def test_same_digit_in_every_format_gives_similar_images() -> None:
    reference = preprocess_bytes(BY_NAME["mnist_digit.png"].data).image
    for name in (
        "rgba_transparent.png",
        "la_white_ink_transparent.png",
        "palette.png",
        "palette_transparent.png",
        "grey16.png",
        "cmyk.jpg",
        "digit.bmp",
        "digit.webp",
        "digit.tiff",
    ):
        image = preprocess_bytes(BY_NAME[name].data).image
        assert _correlation(reference, image) > 0.8, name


def test_different_digits_are_not_similar() -> None:
    seven = to_mnist(digit_image((112, 112), digit="7")).image
    one = to_mnist(digit_image((112, 112), digit="1")).image
    assert _correlation(seven, one) < 0.5


@pytest.mark.parametrize("name", ["animated.gif", "animated.webp", "multipage.tiff"])
def test_multi_frame_files_use_the_first_frame(name: str) -> None:
    seven = to_mnist(digit_image((112, 112), digit="7")).image
    one = to_mnist(digit_image((112, 112), digit="1")).image
    image = preprocess_bytes(BY_NAME[name].data).image
    assert _correlation(seven, image) > 0.9
    assert _correlation(one, image) < 0.5


def test_exif_orientation_is_applied() -> None:
    result = preprocess_bytes(BY_NAME["exif_rotated.jpg"].data)
    assert result.original_size == (240, 320)  # portrait once rotated
    upright = to_mnist(digit_image((240, 320), ink=40, paper=190)).image
    assert _correlation(upright, result.image) > 0.8


def test_large_photo_is_decoded_at_reduced_size() -> None:
    img, notes = decode_image(BY_NAME["large_photo.jpg"].data)
    assert max(img.size) <= 1024
    assert img.info["original_size"] == (4000, 3000)
    assert any("processed at" in note for note in notes)
    assert preprocess_bytes(BY_NAME["large_photo.jpg"].data).original_size == (4000, 3000)


def test_sixteen_bit_scaled_by_actual_range() -> None:
    # Values use only 1000..1400 of the 16-bit range: still a full-contrast digit.
    level = np.asarray(digit_image((64, 64)), dtype=np.float32) / 255
    img = Image.fromarray((1000 + level * 400).astype(np.uint16))
    assert img.mode == "I;16"
    result = preprocess_bytes(_png(img))
    _assert_mnist_like(result)
    reference = to_mnist(digit_image((64, 64))).image
    assert _correlation(reference, result.image) > 0.95


def test_one_pixel_image_is_blank() -> None:
    # Documented decision: a 1x1 image has no ink/background contrast, so it is "blank".
    for value in (0, 128, 255):
        with pytest.raises(ImageError, match="no ink found"):
            preprocess_bytes(_png(Image.new("L", (1, 1), value)))


def test_tiny_images_with_contrast_work() -> None:
    arr = np.zeros((3, 3), dtype=np.uint8)
    arr[1, 1] = 255
    result = to_mnist(arr)
    assert result.image.shape == (28, 28)
    assert result.image.max() == pytest.approx(1.0)
    cy, cx = _centre_of_mass(result.image)
    assert abs(cy - 14) <= 1.0
    assert abs(cx - 14) <= 1.0


def test_blank_photo_with_noise_is_blank() -> None:
    rng = np.random.default_rng(0)
    paper = 180 + rng.normal(0, 4, size=(120, 160))
    with pytest.raises(ImageError, match="no ink found: the image is blank"):
        to_mnist(np.clip(paper, 0, 255).astype(np.uint8))


# --------------------------------------------------------------------------------------
# Numpy input (drawing canvas)
# --------------------------------------------------------------------------------------


def _canvas(ink_rgb: tuple[int, int, int]) -> np.ndarray:
    """Simulated drawing-canvas output: RGBA uint8 HxWx4, transparent background."""
    img = digit_image((280, 280), ink=(*ink_rgb, 255), paper=(0, 0, 0, 0), mode="RGBA")
    return np.asarray(img).copy()


@pytest.mark.parametrize("ink", [(0, 0, 0), (255, 255, 255), (200, 30, 30)])
def test_rgba_canvas_array(ink: tuple[int, int, int]) -> None:
    canvas = _canvas(ink)
    assert canvas.dtype == np.uint8
    assert canvas.shape == (280, 280, 4)
    result = to_mnist(canvas)
    _assert_mnist_like(result)
    assert result.original_size == (280, 280)
    assert any("flattened transparency" in note for note in result.notes)
    reference = to_mnist(digit_image((112, 112))).image
    assert _correlation(reference, result.image) > 0.8


def test_fully_transparent_canvas_is_blank() -> None:
    with pytest.raises(ImageError, match="no ink found"):
        to_mnist(np.zeros((200, 300, 4), dtype=np.uint8))


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda a: a.astype(np.float32) / 255, id="float32-0-1"),
        pytest.param(lambda a: a.astype(np.float64), id="float64-0-255"),
        pytest.param(lambda a: np.repeat(a[..., None], 3, axis=2), id="uint8-rgb"),
        pytest.param(lambda a: a[..., None], id="uint8-hxwx1"),
        pytest.param(lambda a: a > 127, id="bool"),
        pytest.param(lambda a: a.astype(np.uint16) * 257, id="uint16"),
    ],
)
def test_array_inputs(convert: Callable[[np.ndarray], np.ndarray]) -> None:
    base = np.asarray(digit_image((56, 56)))
    result = to_mnist(convert(base))
    _assert_mnist_like(result)
    reference = to_mnist(base).image
    assert _correlation(reference, result.image) > 0.9


def test_float_array_with_nan_is_handled() -> None:
    arr = np.asarray(digit_image((56, 56)), dtype=np.float32) / 255
    arr[0, 0] = np.nan
    _assert_mnist_like(to_mnist(arr))


@pytest.mark.parametrize(
    "arr",
    [
        np.zeros((0, 10), dtype=np.uint8),
        np.zeros((10,), dtype=np.uint8),
        np.zeros((4, 4, 5), dtype=np.uint8),
        np.zeros((2, 2, 2, 2), dtype=np.uint8),
        np.array([["a", "b"], ["c", "d"]]),
    ],
    ids=["empty", "1d", "5-channels", "4d", "strings"],
)
def test_bad_arrays_raise_image_error(arr: np.ndarray) -> None:
    with pytest.raises(ImageError):
        to_mnist(arr)


def test_to_mnist_rejects_other_types() -> None:
    with pytest.raises(ImageError, match="expected a Pillow image or a numpy array"):
        to_mnist([[0, 1], [1, 0]])  # type: ignore[arg-type]


def test_to_mnist_does_not_modify_notes_argument() -> None:
    notes = ["from the caller"]
    result = to_mnist(digit_image((64, 64), ink=0, paper=255), notes)
    assert notes == ["from the caller"]
    assert result.notes[0] == "from the caller"
    assert "inverted: dark ink on a light background" in result.notes


def test_preprocessed_is_frozen() -> None:
    result = to_mnist(digit_image((64, 64)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.notes = ()  # type: ignore[misc]


# --------------------------------------------------------------------------------------
# Limits and hostile files
# --------------------------------------------------------------------------------------


def test_byte_limit_message() -> None:
    data = b"\x00" * int(12.3 * 1024 * 1024)
    with pytest.raises(ImageError) as info:
        preprocess_bytes(data, max_bytes=10 * 1024 * 1024)
    assert str(info.value) == "file is 12.3 MB, the limit is 10 MB"


def test_byte_limit_is_configurable() -> None:
    data = BY_NAME["photo_dark_on_light.jpg"].data
    with pytest.raises(ImageError, match="the limit is"):
        preprocess_bytes(data, max_bytes=len(data) - 1)
    preprocess_bytes(data, max_bytes=len(data))


def test_bomb_is_rejected_without_allocating() -> None:
    data = BY_NAME["bomb.png"].data
    tracemalloc.start()
    try:
        with pytest.raises(ImageError, match="megapixels"):
            decode_image(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024


def test_pixel_limit_is_checked_before_decoding() -> None:
    # 5000x5000 is within Pillow's own limit: only our max_pixels check can stop it, and it
    # must do so from the header, without ever calling load().
    data = png_bomb(5000, 5000)
    never_load = mock.patch.object(
        ImageFile.ImageFile, "load", side_effect=AssertionError("decoded")
    )
    with never_load, pytest.raises(ImageError) as info:
        decode_image(data, max_pixels=1_000_000)
    assert "5000x5000 pixels is 25 megapixels, the limit is 1 megapixels" in str(info.value)


def test_bomb_rejected_even_without_pillow_global_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(ImageError, match="60000x60000 pixels is 3600 megapixels"):
        decode_image(BY_NAME["bomb.png"].data)


def test_default_pixel_limit() -> None:
    assert DEFAULT_MAX_PIXELS == 40_000_000
    with pytest.raises(ImageError, match="megapixels"):
        decode_image(png_bomb(8000, 6000))  # 48 megapixels
    img, _ = decode_image(png_bomb(6000, 6000))  # 36 megapixels: allowed
    assert img.size == (6000, 6000)


def test_webp_size_is_checked_before_open() -> None:
    # Pillow creates libwebp's decoder (which allocates the canvas) inside Image.open, so the
    # declared WEBP size must be checked from the header before opening.
    buf = io.BytesIO()
    digit_image((1200, 1000)).save(buf, "WEBP", lossless=True)
    lossy = io.BytesIO()
    digit_image((1200, 1000)).save(lossy, "WEBP", quality=50)
    for data in (buf.getvalue(), lossy.getvalue(), BY_NAME["animated.webp"].data):
        with (
            mock.patch.object(Image, "open", side_effect=AssertionError("opened")),
            pytest.raises(ImageError, match="megapixels"),
        ):
            decode_image(data, max_pixels=10_000)


def test_zero_sized_png_is_rejected() -> None:
    data = bytearray(png_bomb(16, 16))
    data[16:20] = (0).to_bytes(4, "big")  # IHDR width = 0 (CRC now wrong, too)
    with pytest.raises(ImageError):
        decode_image(bytes(data))


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_truncated_files_in_every_format() -> None:
    photo = digit_image((160, 120), ink=(20, 20, 20), paper=(200, 190, 180), mode="RGB")
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(
        np.clip(
            np.asarray(photo, dtype=np.int16) + rng.integers(-40, 40, (120, 160, 3)), 0, 255
        ).astype(np.uint8)
    )
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF"):
        buf = io.BytesIO()
        noisy.save(buf, fmt)
        data = buf.getvalue()
        for cut in (len(data) // 2, 40, 8):
            with pytest.raises(ImageError) as info:
                preprocess_bytes(data[:cut])
            assert "Traceback" not in str(info.value), (fmt, cut)


def test_bytearray_and_memoryview_are_accepted() -> None:
    data = BY_NAME["mnist_digit.png"].data
    for wrapped in (bytearray(data), memoryview(data)):
        _assert_mnist_like(preprocess_bytes(wrapped))  # type: ignore[arg-type]


def test_global_pillow_state_is_untouched() -> None:
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    for case in CORPUS:
        with contextlib.suppress(ImageError):
            preprocess_bytes(case.data)
    assert before == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)


def test_image_error_is_a_value_error() -> None:
    assert issubclass(ImageError, ValueError)


# --------------------------------------------------------------------------------------
# Photos on lined or squared paper, in uneven light
# --------------------------------------------------------------------------------------


def _photo(
    digit: str = "7",
    *,
    paper: str = "plain",
    slope: float = 0.03,
    shadow: float = 0.0,
    shadow_edge: float = 0.1,
    ink: int = 60,
    rule: int = 190,
    corners: float = 0.15,
    seed: int = 0,
    size: tuple[int, int] = (400, 320),
) -> bytes:
    """A dark digit photographed on white paper, as a JPEG: ``paper`` "lined" (faint rules across
    the whole sheet, slanted by ``slope`` as by a camera at an angle), "squared" (and faint
    columns, slanted the other way) or "plain"; ``shadow``: how deep a soft shadow over the lower
    left of the sheet is (0: none), its edge at ``shadow_edge`` (y / h - x / w; -1 covers all).
    ``rule``: the rules' grey (the paper is 235), ``corners``: how much darker the corners are.
    ``digit`` "" draws no digit (a blank sheet)."""
    w, h = size
    sheet = Image.new("L", size, 235)
    draw = ImageDraw.Draw(sheet)
    if paper in ("lined", "squared"):
        for y in np.arange(-40.0, h + 40.0, 36.0) + 7:
            draw.line([(0, y), (w, y + slope * w)], fill=rule, width=2)
    if paper == "squared":
        for x in np.arange(-40.0, w + 40.0, 36.0) + 11:
            draw.line([(x, 0), (x - slope * h, h)], fill=rule, width=2)
    grey = np.asarray(sheet, dtype=np.float64)
    if digit:
        grey = np.minimum(grey, np.asarray(digit_image(size, digit=digit, ink=ink, paper=255, box=0.55)))
    yy, xx = np.mgrid[0:h, 0:w]
    if shadow:  # a blurred half-plane across the sheet, darker towards the lower left
        edge = (yy / h - xx / w - shadow_edge) / 0.04
        grey = grey * (1.0 - shadow / (1.0 + np.exp(-edge)))
    grey = grey * (1.0 - corners * ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2))
    img = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    noisy = np.asarray(img, dtype=np.float64) + np.random.default_rng(seed).normal(0, 3, (h, w))
    buf = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _shifted_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """The best correlation of ``a`` and ``b`` shifted by up to a pixel (the centring rounds)."""
    return max(
        _correlation(a, np.roll(b, (dy, dx), axis=(0, 1))) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    )


def _ink_box(image: np.ndarray, level: float = 0.2) -> tuple[int, int]:
    """Height and width of the box around the output's pixels above ``level``."""
    rows = np.nonzero(image.max(axis=1) > level)[0]
    cols = np.nonzero(image.max(axis=0) > level)[0]
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


@pytest.mark.parametrize("paper", ["lined", "squared"])
@pytest.mark.parametrize("slope", [0.0, 0.04, -0.08])
@pytest.mark.parametrize(("rule", "corners"), [(175, 0.0), (190, 0.15)])
def test_paper_rules_are_not_ink(paper: str, slope: float, rule: int, corners: float) -> None:
    """The rules across the sheet neither stretch the crop (the digit fills the 20 px box, as on
    plain paper) nor stay in the image far from the digit."""
    plain = preprocess_bytes(_photo("4", slope=slope, corners=corners)).image
    result = preprocess_bytes(_photo("4", paper=paper, slope=slope, rule=rule, corners=corners))
    _assert_mnist_like(result)
    ruled = result.image
    assert any(n.startswith("paper rules removed") for n in result.notes), result.notes
    assert not any(n.startswith("paper rules") for n in preprocess_bytes(
        _photo("4", slope=slope, corners=corners)).notes)
    assert max(_ink_box(ruled)) >= 18, _ink_box(ruled)
    assert _shifted_correlation(plain, ruled) > 0.9
    near_digit = np.zeros_like(plain, dtype=bool)
    ys, xs = np.nonzero(plain > 0.05)
    for dy in (-2, -1, 0, 1, 2):
        for dx in (-2, -1, 0, 1, 2):
            near_digit[np.clip(ys + dy, 0, 27), np.clip(xs + dx, 0, 27)] = True
    assert ruled[~near_digit].max() < 0.25, "paper rules remain away from the digit"


@pytest.mark.parametrize("width", [3, 5])
def test_digit_bar_lying_on_a_rule_stays(width: int) -> None:
    """A 7 written with a pen on lined paper, its bar lying on a rule, keeps its bar: the rule is
    fainter than the ink, and only the rule's share is taken from the ink on it."""

    def seven(lined: bool) -> np.ndarray:
        sheet = Image.new("L", (400, 320), 235)
        draw = ImageDraw.Draw(sheet)
        for y in range(20, 320, 40) if lined else ():
            draw.line([(0, y), (400, y)], fill=190, width=2)
        draw.line([(130, 100), (270, 100), (180, 260)], fill=60, width=width)  # the bar on y = 100
        return preprocess_bytes(_png(sheet)).image

    lined, plain = seven(True), seven(False)
    assert max(_ink_box(lined)) >= 19
    assert _correlation(plain, lined) > 0.95


@pytest.mark.parametrize("width", [2, 4, 9])
@pytest.mark.parametrize("blur", [0.0, 1.0])
def test_long_bar_of_a_seven_stays(width: int, blur: float) -> None:
    """A 7 drawn big on a plain canvas, its bar from 3% to 97% of the width, keeps its bar: a
    straight line across the image as bright as the ink is no paper rule."""
    size = 300
    img = Image.new("L", (size, size), 255)
    ImageDraw.Draw(img).line([(9, 40), (291, 40), (120, 285)], fill=0, width=width)
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    image = preprocess_bytes(_png(img)).image
    assert max(_ink_box(image)) >= 19
    assert int((image[:10].max(axis=0) > 0.2).sum()) >= 17, "the 7 lost its bar"


@pytest.mark.parametrize(("shadow", "shadow_edge"), [(0.5, 0.1), (0.6, -0.3)])
def test_digit_in_a_shadow_is_found_and_a_blank_sheet_is_not(shadow: float, shadow_edge: float) -> None:
    """A shadow's edge across the sheet (which a plane fitted to the border cannot follow, and
    which makes the lit paper depart further from the border's level than the ink) does not hide
    a faint digit, and does not make a blank sheet look written on."""
    result = preprocess_bytes(_photo("4", shadow=shadow, shadow_edge=shadow_edge, ink=150))
    _assert_mnist_like(result)
    assert "inverted" in " ".join(result.notes)
    assert max(_ink_box(result.image)) >= 18
    plain = preprocess_bytes(_photo("4", ink=150)).image
    assert _correlation(plain, result.image) > 0.5  # the part in the shadow is fainter
    for seed in range(3):
        with pytest.raises(ImageError, match="no ink found"):
            preprocess_bytes(_photo("", shadow=shadow, shadow_edge=shadow_edge, seed=seed))


def test_scattered_specks_do_not_stretch_the_crop() -> None:
    """Specks of noise far from the digit (paper grain, dust) are left out of the crop."""
    rng = np.random.default_rng(1)
    grey = np.asarray(digit_image((300, 300), ink=40, paper=230, box=0.5), dtype=np.float64)
    for y, x in rng.integers(0, 300, size=(40, 2)):
        grey[y, x] = 150  # single dark specks all over the sheet
    image = to_mnist(grey.astype(np.uint8)).image
    reference = to_mnist(np.asarray(digit_image((300, 300), ink=40, paper=230, box=0.5))).image
    assert max(_ink_box(image)) >= 19
    assert _correlation(reference, image) > 0.95


@pytest.mark.parametrize("paper", ["lined", "squared"])
def test_blank_ruled_sheet_is_blank(paper: str) -> None:
    """Rules are no ink: a ruled sheet with nothing written on it is blank, as a plain one is."""
    with pytest.raises(ImageError, match="no ink found"):
        preprocess_bytes(_photo("", paper=paper, slope=0.04))
