"""WAE Lab: Wasserstein Auto-Encoders (Tolstikhin et al., ICLR 2018) with VAE and GAN baselines.

Public API::

    from wae_core import build_model, ModelConfig, TrainConfig, Trainer, load, save
"""

from .checkpoint import (
                         CheckpointError,
                         CorruptCheckpointError,
                         ForeignCheckpointError,
                         IncompatibleCheckpointError,
                         load,
                         load_bytes,
                         save,
)
from .config import VERSION as __version__  # noqa: F401
from .config import ModelConfig, TrainConfig
from .data import DatasetUnavailableError, TensorData, load_dataset
from .models import GAN, VAE, WAEGAN, WAEMMD, GenerativeModel, NoEncoderError, build_model
from .train import Callback, Trainer, TrainingDiverged, resolve_device

__all__ = [
    "GAN", "VAE", "WAEGAN", "WAEMMD", "Callback", "CheckpointError", "CorruptCheckpointError",
    "DatasetUnavailableError", "ForeignCheckpointError", "GenerativeModel",
    "IncompatibleCheckpointError", "ModelConfig", "NoEncoderError", "TensorData", "TrainConfig",
    "Trainer", "TrainingDiverged", "build_model", "load", "load_bytes", "load_dataset",
    "resolve_device", "save",
]
