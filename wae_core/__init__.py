"""WAE Lab: Wasserstein Auto-Encoders (Tolstikhin et al., ICLR 2018) with VAE and GAN baselines.

Public API::

    from wae_core import build_model, ModelConfig, TrainConfig, Trainer, load, save
"""

import importlib
from typing import Any

from wae_core.data.datasets import DatasetUnavailableError, TensorData, load_dataset
from wae_core.models.config import VERSION as __version__  # noqa: F401
from wae_core.models.config import ModelConfig, TrainConfig
from wae_core.models.generative import GAN, VAE, WAEGAN, WAEMMD, GenerativeModel, NoEncoderError, build_model

# The modules with a command line (`python -m wae_core.train`, `python -m wae_core.models.checkpoint`)
# are imported on first use, not here: imported by the package first, runpy would warn that the
# module "found in sys.modules ... may result in unpredictable behaviour".
_LAZY = {
    "models.checkpoint": ("CheckpointError", "CorruptCheckpointError", "ForeignCheckpointError",
                   "IncompatibleCheckpointError", "load", "load_bytes", "save"),
    "training.trainer": ("Callback", "Trainer", "TrainingDiverged", "resolve_device"),
}
_LAZY_NAMES = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_NAMES))


__all__ = [
    "GAN", "VAE", "WAEGAN", "WAEMMD", "Callback", "CheckpointError", "CorruptCheckpointError",
    "DatasetUnavailableError", "ForeignCheckpointError", "GenerativeModel",
    "IncompatibleCheckpointError", "ModelConfig", "NoEncoderError", "TensorData", "TrainConfig",
    "Trainer", "TrainingDiverged", "build_model", "load", "load_bytes", "load_dataset",
    "resolve_device", "save",
]
