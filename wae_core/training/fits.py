"""Does a data set fit a model? (its item shape; the image channels a model is built with)."""

from __future__ import annotations

import dataclasses

from wae_core.data.datasets import TensorData
from wae_core.models.config import ModelConfig
from wae_core.models.generative import GenerativeModel


def check_data_fits(model: GenerativeModel, data: TensorData) -> None:
    """ValueError when the data's item shape is not what the model was built for (e.g. Stacked
    MNIST's 3 channels fed to a 1-channel MNIST model)."""
    cfg = model.cfg
    want = (cfg.img_channels, cfg.img_size, cfg.img_size) if cfg.is_image else (cfg.x_dim,)
    got = tuple(data.x.shape[1:])
    if got != want:
        raise ValueError(f"this {cfg.kind} model takes items of shape {want}, the data {data.name!r} "
                         f"has {got}")


def data_config(mcfg: ModelConfig, data: TensorData) -> ModelConfig:
    """The model config with the image channels of the data (1 for MNIST, 3 for Stacked MNIST)."""
    if mcfg.is_image and data.x.dim() == 4:
        return dataclasses.replace(mcfg, img_channels=int(data.x.shape[1]))
    return mcfg
