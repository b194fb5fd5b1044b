"""The image data sets the app offers (the sidebar's **Data set**): for each, its name (the
``dataset`` a checkpoint's metadata records, and the URL's ``?data=``), what users read, its image
channels, its class names, its shipped models, which classifier judges it and where its test set
comes from offline. Plain data: no Streamlit here (see :func:`app.components.current_dataset`).

Names (``label``: MNIST, Fashion-MNIST, Stacked MNIST) stay as they are; the words users read
(``item``, ``group_title``, ``test_source``, Fashion-MNIST's class names) are marked with ``N_``
and translated with ``_`` where shown (:meth:`ImageDataset.describe` does it itself). The class
names themselves (``class_name``) stay English: they are CSV values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.i18n import N_, _
from wae_core.data.datasets import FASHION_CLASSES, STACKED_MODES
from wae_core.models.config import MODEL_KINDS
from wae_core.training.recipes import checkpoint_name

DIGITS = tuple(str(d) for d in range(10))
# Fashion-MNIST's class names (wae_core.data.datasets.FASHION_CLASSES), here for the catalogue: show them
# with _(ds.class_name(label)).
FASHION_CLASS_MSGIDS = (N_("T-shirt/top"), N_("Trouser"), N_("Pullover"), N_("Dress"), N_("Coat"),
                        N_("Sandal"), N_("Shirt"), N_("Sneaker"), N_("Bag"), N_("Ankle boot"))


@dataclass(frozen=True)
class ImageDataset:
    """One data set of the app.

    ``classifier``: the stem of the LeNet file in ``checkpoints/`` that judges it (``per_channel``:
    each of the 3 channels is judged as an MNIST digit), overridden by the environment variable
    ``classifier_env``. ``prefix``: its shipped models are ``<prefix>-{vae,wae-mmd,wae-gan,gan}``.
    ``groups``: 10 colour groups for plots (``group_title``: what a group is)."""

    name: str
    label: str
    channels: int
    n_classes: int
    prefix: str
    classifier: str
    classifier_env: str
    test_source: str
    item: str  # what one image shows, e.g. "digit"
    class_names: tuple[str, ...] = DIGITS
    per_channel: bool = False
    group_title: str = N_("digit")

    @property
    def shipped(self) -> tuple[str, ...]:
        """Stems of the shipped models, in the deck's order (the picker's default)."""
        return tuple(checkpoint_name(self.prefix, k) for k in MODEL_KINDS)

    @property
    def takes_user_images(self) -> bool:
        """Uploads and drawings become 1-channel MNIST-style images: only for 1-channel models."""
        return self.channels == 1

    def class_name(self, label: int) -> str:
        """What label ``label`` is: a digit, a piece of clothing, or Stacked MNIST's "r-g-b"."""
        if self.per_channel:
            label = int(label)
            return f"{label // 100}-{label // 10 % 10}-{label % 10}"
        return self.class_names[int(label)]

    def describe(self, label: int) -> str:
        """A label for a caption, in the session's language: "digit 7", "Trouser", "digits 3-1-4"."""
        if self.class_names is DIGITS and not self.per_channel:
            return _("digit {digit}").format(digit=self.class_name(label))
        if self.per_channel:
            return _("digits {digits}").format(digits=self.class_name(label))
        return _(self.class_name(label))

    def groups(self, labels: np.ndarray) -> np.ndarray:
        """The colour group (0..9) of each label: the class, or Stacked MNIST's red digit."""
        labels = np.asarray(labels)
        return labels // 100 if self.per_channel else labels


MNIST = ImageDataset(
    "mnist", "MNIST", 1, 10, "mnist", "lenet-mnist", "WAE_LAB_CLASSIFIER",
    N_("data/mnist.npz (embedded)"), N_("digit"))
FASHION = ImageDataset(
    "fashion-mnist", "Fashion-MNIST", 1, 10, "fashion", "lenet-fashion-mnist",
    "WAE_LAB_FASHION_CLASSIFIER",
    N_("the Debian package dataset-fashion-mnist, else data/fashion-mnist-test.npz (embedded)"),
    N_("piece of clothing"), class_names=FASHION_CLASSES, group_title=N_("class"))
STACKED = ImageDataset(
    "stacked-mnist", "Stacked MNIST", 3, STACKED_MODES, "stacked", "lenet-mnist", "WAE_LAB_CLASSIFIER",
    N_("three digits of data/mnist.npz as R, G, B (fixed seed)"), N_("stacked digit triple"),
    per_channel=True, group_title=N_("red digit"))

DATASETS: dict[str, ImageDataset] = {d.name: d for d in (MNIST, FASHION, STACKED)}
DEFAULT = MNIST.name


def get(name: str | None) -> ImageDataset:
    """The data set called ``name``; the default (MNIST) for None or an unknown name."""
    return DATASETS.get(name or DEFAULT, DATASETS[DEFAULT])


def home(dataset: str) -> str | None:
    """The offered data set a checkpoint's ``dataset`` belongs to ("mnist-download" is MNIST),
    None for one the app does not offer (an image folder, "?")."""
    name = dataset.removesuffix("-download")
    return name if name in DATASETS else None


def fits(model_dataset: str, model_channels: int, ds: ImageDataset) -> bool:
    """Whether a model is shown with data set ``ds``: trained on it, or on a data set the app does
    not offer (an image folder) with ``ds``'s number of channels. Never a model of another offered
    data set, and never one whose channels differ (it would be fed the wrong kind of image)."""
    if model_channels != ds.channels:
        return False
    h = home(model_dataset)
    return h == ds.name if h is not None else True
