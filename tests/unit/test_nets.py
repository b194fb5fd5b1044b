"""The image decoder's two ways of doubling its map: transposed convs and resize-convs."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from wae_core.models.config import ModelConfig
from wae_core.models.nets import ConvDecoder


@pytest.mark.parametrize("dec", [(64,), (64, 32), (64, 32, 16)])
@pytest.mark.parametrize("how", ["transpose", "resize"])
def test_decoder_draws_28x28_images_in_0_1(dec, how):
    torch.manual_seed(0)
    d = ConvDecoder(ModelConfig(z_dim=5, dec_channels=dec, upsample=how)).eval()
    x = d(torch.randn(4, 5))
    assert x.shape == (4, 1, 28, 28) and x.min() >= 0 and x.max() <= 1
    kinds = {type(m) for m in d.modules()}
    assert (nn.ConvTranspose2d in kinds) == (how == "transpose")
    assert (nn.Upsample in kinds) == (how == "resize")


def test_resize_conv_is_nearest_doubling_then_a_3x3_conv():
    """Against a naive reference: each pixel copied into a 2x2 block, then a plain conv."""
    torch.manual_seed(0)
    d = ConvDecoder(ModelConfig(z_dim=3, dec_channels=(4, 2), upsample="resize", batchnorm=False))
    h = torch.relu(d.fc(torch.randn(2, 3))).view(-1, 4, 7, 7)
    conv = d.net[1]
    up = h.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    want = F.conv2d(up, conv.weight, conv.bias, padding=1)
    assert torch.allclose(d.net[1](d.net[0](h)), want, atol=1e-6)


def test_the_default_keeps_the_shipped_checkpoints_layer_names():
    """Shipped checkpoints were saved before the option: the transposed-conv net is unchanged."""
    keys = set(ConvDecoder(ModelConfig(z_dim=16, dec_channels=(64, 32))).state_dict())
    assert {"fc.weight", "net.0.weight", "net.1.weight", "net.3.weight", "net.3.bias"} <= keys


def test_unknown_upsampling_is_refused():
    with pytest.raises(ValueError, match="upsample"):
        ModelConfig(upsample="bilinear")
