"""Safe handling of uploaded archives: a zip of images for training, and file-name-safe run names."""

from __future__ import annotations

import io
import re
import shutil
import stat
import zipfile
import zlib
from pathlib import Path

from wae_core.data.datasets import IMAGE_SUFFIXES
from wae_core.errors import UserFacingError


class BadArchiveError(UserFacingError, ValueError):
    """An uploaded zip of images is unsafe or unusable (message for the user)."""


def safe_run_name(name: str, max_len: int = 60) -> str:
    """A file-name-safe run name: letters, digits, ``-``, ``_`` and ``.``; never empty."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip(".-_")[:max_len]
    return s or "run"


def extract_image_zip(data: bytes, dest: Path | str, max_files: int = 20_000,
                      max_total_bytes: int = 200 * 2**20, max_file_bytes: int = 10 * 2**20,
                      max_zip_bytes: int = 100 * 2**20) -> int:
    """Extract the images of a zip safely into ``dest``; returns how many were written.

    Only image files (by suffix) are extracted, keeping one level of folder as the class
    label. Absolute paths, ``..``, links and device files are refused, as are archives over the
    count / size limits (checked on the declared sizes and again while reading, so a zip bomb
    that lies about its sizes stops at the limit).
    """
    if len(data) > max_zip_bytes:
        raise BadArchiveError(f"the zip is {len(data) / 2**20:.0f} MiB, over the "
                              f"{max_zip_bytes / 2**20:.0f} MiB limit")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as e:
        raise BadArchiveError(f"not a readable zip file: {e}") from e
    with zf:
        images = _checked_images(zf.infolist(), max_files, max_total_bytes)
        dest = Path(dest)
        created = not dest.exists()
        dest.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        try:
            return _extract(zf, images, dest, max_file_bytes, max_total_bytes, written)
        except BaseException as e:
            # Nothing half-written stays behind, and nothing that was there before is touched.
            if created:
                shutil.rmtree(dest, ignore_errors=True)
            for path in written:
                path.unlink(missing_ok=True)
            if isinstance(e, BadArchiveError):
                raise
            if isinstance(e, zipfile.BadZipFile | zlib.error | EOFError | NotImplementedError):
                # e.g. a CRC mismatch: an entry whose declared size lies, or corrupt data
                raise BadArchiveError(f"the zip is corrupt: {e}") from e
            raise


def _checked_images(infos: list[zipfile.ZipInfo], max_files: int,
                    max_total_bytes: int) -> list[zipfile.ZipInfo]:
    """Refuse unsafe entries and over-limit archives before anything is written; the images."""
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise BadArchiveError(f"unsafe path in the zip: {info.filename!r}")
        ftype = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip records no type
        if ftype and ftype not in (stat.S_IFREG, stat.S_IFDIR):
            raise BadArchiveError(f"the zip holds a link or special file: {info.filename!r}")
    images = [i for i in infos if not i.is_dir()
              and Path(i.filename).suffix.lower() in IMAGE_SUFFIXES
              and not any(p.startswith(".") or p == "__MACOSX"
                          for p in i.filename.replace("\\", "/").split("/"))]
    if not images:
        raise BadArchiveError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in the zip")
    if len(images) > max_files:
        raise BadArchiveError(f"the zip holds {len(images):,} images, over the limit of {max_files:,}")
    if sum(i.file_size for i in images) > max_total_bytes:
        raise BadArchiveError(f"the images unpack to more than {max_total_bytes / 2**20:.0f} MiB")
    return images


def _label(info: zipfile.ZipInfo) -> str:
    """One level of folder is the class label ("images" for files at the top)."""
    parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
    return safe_run_name(parts[-2], 40) if len(parts) >= 2 else "images"


def _extract(zf: zipfile.ZipFile, images: list[zipfile.ZipInfo], dest: Path, max_file_bytes: int,
             max_total_bytes: int, written: list[Path]) -> int:
    """Stream each image to ``dest/<label>/<index><suffix>``, counting the bytes really read;
    ``written`` collects every file opened for writing."""
    total = 0
    for i, info in enumerate(images):
        target = dest / _label(info) / f"{i:06d}{Path(info.filename).suffix.lower()}"
        target.parent.mkdir(parents=True, exist_ok=True)
        written.append(target)
        size = 0
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(1 << 16):
                size += len(chunk)
                total += len(chunk)
                if size > max_file_bytes or total > max_total_bytes:
                    raise BadArchiveError("an image in the zip unpacks beyond the size limit")
                out.write(chunk)
    return len(images)

