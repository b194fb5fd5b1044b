"""Network builders: conv nets for 28x28 images, MLPs for 2-D points and latent codes.

The image nets follow the paper's MNIST architecture (4x4 convolutions with stride 2, batch norm,
ReLU; a linear layer to/from the code) at a width set by ``ModelConfig.channels``: the widths of
the "paper" and "small" archs are ``config.ARCH_CHANNELS`` (their sizes and speeds: docs/speed.md);
the small one trains in minutes on a laptop.
"""

from __future__ import annotations

import torch
from torch import nn

from wae_core.models.config import ModelConfig


def _bn(c: int, on: bool) -> nn.Module:
    return nn.BatchNorm2d(c) if on else nn.Identity()


def _conv_out(size: int, n_layers: int) -> int:
    for _ in range(n_layers):
        size = (size + 2 - 4) // 2 + 1  # 4x4, stride 2, padding 1 halves (rounding down)
    return size


class ConvEncoder(nn.Module):
    """x (B, C, 28, 28) -> features -> linear head with ``out_dim`` outputs."""

    def __init__(self, cfg: ModelConfig, out_dim: int, leaky: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = cfg.img_channels
        act = (lambda: nn.LeakyReLU(0.2)) if leaky else (lambda: nn.ReLU())
        for i, c in enumerate(cfg.channels):
            # DCGAN convention: no batch norm on a discriminator's first layer.
            layers += [nn.Conv2d(c_in, c, 4, 2, 1, bias=False),
                       _bn(c, cfg.batchnorm and not (leaky and i == 0)), act()]
            c_in = c
        self.features = nn.Sequential(*layers)
        side = _conv_out(cfg.img_size, len(cfg.channels))
        self.head = nn.Linear(c_in * side * side, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def _upsample(c_in: int, c_out: int, how: str, bias: bool) -> list[nn.Module]:
    """Double the map's side: a 4x4 stride-2 transposed conv, or resize then a 3x3 conv."""
    if how == "resize":
        return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias)]
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias)]


class ConvDecoder(nn.Module):
    """z -> linear to a 7x7 map of ``dec_channels[0]`` -> stride-2 upsamplings -> sigmoid.

    Each further width in ``dec_channels`` is one upsampling by 2 (at most two: 7 -> 14 -> 28):
    a 4x4 stride-2 transposed conv, or with ``upsample="resize"`` a nearest-neighbour doubling
    and a 3x3 conv. The last layer maps to the image channels: one more upsampling when the map
    is still 14x14, else a 3x3 conv. Output in [0, 1]; ``logits`` gives the pre-sigmoid.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if cfg.img_size != 28:
            raise ValueError("the conv decoder is built for 28x28 images")
        chans = list(cfg.dec_channels)
        if not 1 <= len(chans) <= 3:
            raise ValueError("dec_channels needs 1 to 3 widths (7x7, 14x14, 28x28 maps)")
        self.c0 = chans[0]
        self.fc = nn.Linear(cfg.z_dim, self.c0 * 7 * 7)
        self.bn0 = nn.BatchNorm1d(self.c0 * 7 * 7) if cfg.batchnorm else nn.Identity()

        def stage(c_in: int, c: int) -> list[nn.Module]:
            return [*_upsample(c_in, c, cfg.upsample, bias=False), _bn(c, cfg.batchnorm), nn.ReLU()]

        layers: list[nn.Module] = []
        for c_in, c in zip(chans, chans[1:]):
            layers += stage(c_in, c)
        c_last = chans[-1]
        if len(chans) == 1:
            layers += stage(c_last, c_last)
        if len(chans) < 3:
            layers += _upsample(c_last, cfg.img_channels, cfg.upsample, bias=True)
        else:
            layers.append(nn.Conv2d(c_last, cfg.img_channels, 3, 1, 1))
        self.net = nn.Sequential(*layers)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid output, for a numerically stable Bernoulli likelihood."""
        h = torch.relu(self.bn0(self.fc(z))).view(-1, self.c0, 7, 7)
        return self.net(h)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(z))


class UnrolledGenerator(nn.Module):
    """The generator of the Stacked-MNIST DCGAN of the Unrolled-GAN experiments (Metz et al. 2017,
    as run by PacGAN's code, Lin et al. 2018, Table 3): z -> linear to a 4x4 map of
    ``dec_channels[0]`` -> batch norm, ReLU -> one 3x3 stride-2 transposed conv per further width
    (4 -> 7 -> 14 -> 28) -> a 3x3 conv to the image channels. Sigmoid output: our images are in
    [0, 1] where theirs were tanh in [-1, 1] (the same net up to an affine map)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        chans = list(cfg.dec_channels)
        if cfg.img_size != 28 or len(chans) != 4:
            raise ValueError("the unrolled-dcgan generator needs 28x28 images and 4 dec_channels "
                             "(4x4, 7x7, 14x14, 28x28 maps)")
        self.c0 = chans[0]
        self.fc = nn.Linear(cfg.z_dim, self.c0 * 4 * 4)
        self.bn0 = nn.BatchNorm2d(self.c0)
        layers: list[nn.Module] = []
        for i, (c_in, c) in enumerate(zip(chans, chans[1:])):
            # 4 -> 7 needs no output padding, 7 -> 14 and 14 -> 28 one (TF's "SAME" shapes).
            layers += [nn.ConvTranspose2d(c_in, c, 3, 2, 1, output_padding=int(i > 0)),
                       nn.BatchNorm2d(c), nn.ReLU()]
        layers.append(nn.Conv2d(chans[-1], cfg.img_channels, 3, 1, 1))
        self.net = nn.Sequential(*layers)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(torch.relu(self.bn0(self.fc(z).view(-1, self.c0, 4, 4))))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(z))


class UnrolledDiscriminator(nn.Module):
    """Its discriminator: 3x3 stride-2 convs of ``channels`` widths (28 -> 14 -> 7 -> 4), batch norm
    on every layer, leaky ReLU 0.3, a linear logit. Widths (2, 4, 8) are the published
    "discriminator 1/4 of the generator", (4, 8, 16) the "1/2"."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = cfg.img_channels
        for c in cfg.channels:
            layers += [nn.Conv2d(c_in, c, 3, 2, 1), nn.BatchNorm2d(c), nn.LeakyReLU(0.3)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in * _conv3_out(cfg.img_size, len(cfg.channels)) ** 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def _conv3_out(size: int, n_layers: int) -> int:
    for _ in range(n_layers):
        size = (size + 2 - 3) // 2 + 1  # 3x3, stride 2, padding 1: ceil(size / 2)
    return size


def mlp(d_in: int, d_out: int, hidden: int, depth: int, act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """``depth`` hidden layers of ``hidden`` units and a linear output."""
    layers: list[nn.Module] = []
    d = d_in
    for _ in range(depth):
        layers += [nn.Linear(d, hidden), act()]
        d = hidden
    layers.append(nn.Linear(d, d_out))
    return nn.Sequential(*layers)


def build_encoder(cfg: ModelConfig, out_dim: int) -> nn.Module:
    if cfg.is_image:
        return ConvEncoder(cfg, out_dim)
    return mlp(cfg.x_dim, out_dim, cfg.hidden, cfg.depth)


def build_decoder(cfg: ModelConfig) -> nn.Module:
    if cfg.arch == "unrolled-dcgan":
        return UnrolledGenerator(cfg)
    if cfg.is_image:
        return ConvDecoder(cfg)
    return mlp(cfg.z_dim, cfg.x_dim, cfg.hidden, cfg.depth)


def build_image_discriminator(cfg: ModelConfig) -> nn.Module:
    """DCGAN-style discriminator on data space (the plain GAN): leaky ReLU, one logit."""
    if cfg.arch == "unrolled-dcgan":
        return UnrolledDiscriminator(cfg)
    if cfg.is_image:
        return ConvEncoder(cfg, 1, leaky=True)
    return mlp(cfg.x_dim, 1, cfg.hidden, cfg.depth, act=nn.LeakyReLU)


def build_latent_discriminator(cfg: ModelConfig) -> nn.Module:
    """The WAE-GAN adversary: an MLP on Z (``disc_depth`` hidden layers of ``disc_hidden`` units; the
    defaults are the paper's), one logit."""
    return mlp(cfg.z_dim, 1, cfg.disc_hidden, cfg.disc_depth)
