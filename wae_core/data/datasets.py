"""Data sets as in-memory tensors: embedded MNIST (offline), Fashion-MNIST, torchvision downloads,
Stacked MNIST (three MNIST digits as the R, G, B channels: 1,000 modes), an image folder, and the
2-D toy mixtures (ring of 8, grid of 25 Gaussians).

Everything is a :class:`TensorData` (images float32 in [0, 1], shape (N, C, 28, 28) with C = 1, or
3 for Stacked MNIST, or points (N, 2), plus integer labels). Small sets live on the training device
as one tensor and batches are index slices of it: no per-item Python loading in the hot loop.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wae_core.errors import UserFacingError

REPO_ROOT = Path(__file__).resolve().parents[2]
EMBEDDED_MNIST = REPO_ROOT / "data" / "mnist.npz"
EMBEDDED_FASHION_TEST = REPO_ROOT / "data" / "fashion-mnist-test.npz"  # test split only (MIT, Zalando)
# Non-MNIST digits as users upload them (scripts/make_heldout_digits.py): a test set only.
HELDOUT_DIGITS = REPO_ROOT / "data" / "heldout-digits.npz"
# A second held-out set, for reporting only, never used to choose anything: real 8x8 handwriting,
# marker, ballpoint, pencil on ruled paper photographed, dark-mode screens (make_heldout_digits_2.py).
HELDOUT_DIGITS_2 = REPO_ROOT / "data" / "heldout-digits-2.npz"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
DATASETS = ("mnist", "fashion-mnist", "stacked-mnist", "mnist-download", "fashion-mnist-download",
            "ring", "grid", "folder:<path>")


class DatasetUnavailableError(UserFacingError, RuntimeError):
    """A data set cannot be loaded here (offline, not installed, empty folder...)."""


@dataclass
class TensorData:
    x: torch.Tensor
    y: torch.Tensor
    name: str

    def __len__(self) -> int:
        return self.x.shape[0]

    def to(self, device: torch.device | str) -> TensorData:
        return TensorData(self.x.to(device), self.y.to(device), self.name)

    def subset(self, n: int) -> TensorData:
        return TensorData(self.x[:n], self.y[:n], self.name)

    def batches(self, batch_size: int, epoch: int, seed: int, rank: int = 0,
                world: int = 1) -> Iterator[torch.Tensor]:
        """Shuffled full batches for one epoch; the order depends only on (seed, epoch), so a
        resumed run sees the same batches. With ``world`` > 1 each rank takes its own shard."""
        g = torch.Generator().manual_seed(seed * 100_003 + epoch)
        perm = torch.randperm(len(self), generator=g).to(self.x.device)
        per_rank = len(self) // world
        perm = perm[rank * per_rank:(rank + 1) * per_rank]
        for i in range(len(perm) // batch_size):
            yield self.x[perm[i * batch_size:(i + 1) * batch_size]]

    def steps_per_epoch(self, batch_size: int, world: int = 1) -> int:
        return (len(self) // world) // batch_size


def _from_uint8(x: np.ndarray, y: np.ndarray, name: str) -> TensorData:
    t = torch.from_numpy(np.ascontiguousarray(x)).float().div_(255.0).unsqueeze(1)
    return TensorData(t, torch.from_numpy(y.astype(np.int64)), name)


def load_mnist(split: str = "train") -> TensorData:
    """The full MNIST embedded in the repo (data/mnist.npz, CC BY-SA 3.0): 60,000 / 10,000."""
    _check_split(split)
    if not EMBEDDED_MNIST.exists():
        raise DatasetUnavailableError(f"embedded MNIST missing: {EMBEDDED_MNIST}")
    with np.load(EMBEDDED_MNIST) as f:
        return _from_uint8(f[f"x_{split}"], f[f"y_{split}"], "mnist")


def load_heldout_digits(path: Path | None = None) -> TensorData:
    """Held-out non-MNIST digits, already through the app's upload preprocessing, 28x28, labels
    0-9, named after the file: by default :data:`HELDOUT_DIGITS` (600 printed, drawn, scanned,
    photographed), or :data:`HELDOUT_DIGITS_2` (1,000, for reporting only). Their family per
    image is :func:`heldout_sources`."""
    path = HELDOUT_DIGITS if path is None else Path(path)
    with np.load(path) as f:
        return _from_uint8(f["x"], f["y"], path.stem)


def heldout_sources(path: Path | None = None) -> np.ndarray:
    """The family of each held-out digit, in :func:`load_heldout_digits`'s order: "font",
    "canvas", "scan" or "photo" in :data:`HELDOUT_DIGITS`; "uci-8x8", "marker", "ballpoint",
    "pencil" or "screen" in :data:`HELDOUT_DIGITS_2`."""
    with np.load(HELDOUT_DIGITS if path is None else path) as f:
        return f["source"]


# Stacked MNIST (VEEGAN, PacGAN): as many stacked images as the split has digits, each channel an
# independent uniform draw of that split's MNIST digits, from a fixed seed (one per split).
STACKED_SEEDS = {"train": 20_180_001, "test": 20_180_002}
STACKED_MODES = 1000


def stacked_label(digits: torch.Tensor) -> torch.Tensor:
    """The mode of a stacked image from its three digits (..., 3): 100 r + 10 g + b."""
    return digits[..., 0] * 100 + digits[..., 1] * 10 + digits[..., 2]


def load_stacked_mnist(split: str = "train") -> TensorData:
    """Stacked MNIST from the embedded MNIST, no download: image i stacks the digits
    ``idx[i, 0], idx[i, 1], idx[i, 2]`` of the split as its R, G, B channels, the indices drawn
    uniformly with replacement (as the published code draws its training batches) from a fixed
    seed. Labels are modes 0..999 (:func:`stacked_label`; :func:`stacked_digits` inverts it)."""
    mnist = load_mnist(split)
    idx = stacked_indices(split, len(mnist))
    x = mnist.x[:, 0][idx]  # (N, 3, 28, 28)
    return TensorData(x, stacked_label(mnist.y[idx]), "stacked-mnist")


def stacked_indices(split: str, n_digits: int) -> torch.Tensor:
    """The (N, 3) MNIST indices behind the split's stacked images (N = the split's size)."""
    g = torch.Generator().manual_seed(STACKED_SEEDS[split])
    return torch.randint(n_digits, (n_digits, 3), generator=g)


def stacked_digits(labels: torch.Tensor) -> torch.Tensor:
    """The three digits (..., 3) of stacked modes (inverse of :func:`stacked_label`)."""
    return torch.stack([labels // 100, labels // 10 % 10, labels % 10], -1)


# Fashion-MNIST's ten classes, by label (Zalando's README).
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")


def _read_idx_gz(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist(split: str = "train", root: Path | None = None,
                       embedded_test: Path | None = None) -> TensorData:
    """Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (idx.gz files in ``root``,
    default :data:`DEBIAN_FASHION_MNIST`). Without the package the test split comes from the copy
    embedded in the repo (``embedded_test``, default :data:`EMBEDDED_FASHION_TEST`); the training
    split needs the package."""
    _check_split(split)
    root = DEBIAN_FASHION_MNIST if root is None else root
    embedded_test = EMBEDDED_FASHION_TEST if embedded_test is None else embedded_test
    prefix = "train" if split == "train" else "t10k"
    xi, yi = root / f"{prefix}-images-idx3-ubyte.gz", root / f"{prefix}-labels-idx1-ubyte.gz"
    if xi.exists() and yi.exists():
        return _from_uint8(_read_idx_gz(xi), _read_idx_gz(yi), "fashion-mnist")
    if split == "test" and embedded_test.exists():
        with np.load(embedded_test) as f:
            return _from_uint8(f["x_test"], f["y_test"], "fashion-mnist")
    raise DatasetUnavailableError(
        f"Fashion-MNIST ({split}) not found in {root}: install it with "
        "`sudo apt-get install dataset-fashion-mnist`, or use 'fashion-mnist-download' online.")


def load_torchvision(name: str, split: str = "train", root: Path | None = None) -> TensorData:
    """MNIST / FashionMNIST through torchvision's downloader (needs the internet once); cached in
    ``root`` (default ~/.cache/wae_lab)."""
    _check_split(split)
    root = root if root is not None else Path.home() / ".cache" / "wae_lab"
    from torchvision import datasets  # imported lazily: only online users need it

    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[name]
    try:
        ds = cls(str(root), train=split == "train", download=True)
    except Exception as e:  # torchvision raises RuntimeError / URLError when offline
        raise DatasetUnavailableError(
            f"could not download {name} with torchvision ({type(e).__name__}: {e}). "
            "You are probably offline: use the embedded data set '--dataset mnist' "
            "(the full MNIST ships in data/mnist.npz), which needs no network.") from e
    return _from_uint8(ds.data.numpy(), ds.targets.numpy(), name)


def load_image_folder(path: Path | str, max_images: int = 100_000) -> TensorData:
    """Every image under ``path`` (sub-folder names become labels), MNIST-style 28x28."""
    from wae_core.data.ingest import preprocess_bytes
    from wae_core.data.uploads import ImageError

    root = Path(path)
    if not root.is_dir():
        raise DatasetUnavailableError(f"image folder not found: {root}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[:max_images]
    classes = sorted({p.parent.name for p in files})
    xs, ys = [], []
    for p in files:
        try:
            xs.append(preprocess_bytes(p.read_bytes()).image)
            ys.append(classes.index(p.parent.name))
        except ImageError:
            continue  # unusable files are skipped; the count below tells the user
    if not xs:
        raise DatasetUnavailableError(f"no usable images ({', '.join(IMAGE_SUFFIXES)}) in {root}")
    x = torch.from_numpy(np.stack(xs)).float().unsqueeze(1)
    return TensorData(x, torch.tensor(ys, dtype=torch.int64), f"folder:{root.name}")


# --- 2-D toys -------------------------------------------------------------------------------
TOY_STD = {"ring": 0.02, "grid": 0.05}


def toy_modes(name: str) -> torch.Tensor:
    """Mode centres: ring of 8 on radius 2, or the 5x5 grid {-4, -2, 0, 2, 4}^2."""
    if name == "ring":
        a = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        return torch.stack([2 * torch.cos(a), 2 * torch.sin(a)], 1).float()
    if name == "grid":
        v = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
        return torch.cartesian_prod(v, v)
    raise ValueError(f"unknown toy {name!r}; use 'ring' or 'grid'")


def sample_toy(name: str, n: int, generator: torch.Generator | None = None) -> TensorData:
    """n points of the mixture with equal weights; labels are mode indices."""
    modes = toy_modes(name)
    y = torch.randint(len(modes), (n,), generator=generator)
    x = modes[y] + TOY_STD[name] * torch.randn(n, 2, generator=generator)
    return TensorData(x, y, name)


def load_dataset(name: str, split: str = "train", seed: int = 0) -> TensorData:
    """Load a data set by name (see ``DATASETS``). Toys are a fixed sample (50,000 / 10,000)."""
    if name == "mnist":
        return load_mnist(split)
    if name == "fashion-mnist":
        return load_fashion_mnist(split)
    if name == "stacked-mnist":
        _check_split(split)
        return load_stacked_mnist(split)
    if name.endswith("-download"):
        return load_torchvision(name.removesuffix("-download"), split)
    if name in TOY_STD:
        g = torch.Generator().manual_seed(seed + (0 if split == "train" else 1_000_003))
        return sample_toy(name, 50_000 if split == "train" else 10_000, g)
    if name.startswith("folder:"):
        return load_image_folder(name.removeprefix("folder:"))
    raise DatasetUnavailableError(f"unknown data set {name!r}; choose from {DATASETS}")


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
