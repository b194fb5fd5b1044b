"""Ex-post Gaussian mixture on Q_Z: recovers a known mixture, samples reproducibly."""

import numpy as np
import pytest
import torch

from wae_core import ModelConfig, build_model
from wae_core.evaluation.expost import fit_latent_gmm, generate_ex_post, sample_latent_gmm


class Identity(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))  # the model finds its device from it

    def forward(self, x):
        return x


def _identity_model():
    """A WAE whose encoder and decoder are the identity on 2-D points: codes are the data."""
    m = build_model(ModelConfig(kind="wae-mmd", arch="mlp", z_dim=2))
    m.encoder, m.decoder = Identity(), Identity()
    return m


def test_gmm_recovers_a_known_mixture_and_samples_from_it():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    x = torch.cat([c + 0.3 * torch.randn(2000, 2, generator=g) for c in centres])
    gmm = fit_latent_gmm(_identity_model(), x, 3)
    found = np.array(sorted(map(tuple, gmm.means_)))
    assert found == pytest.approx(np.array(sorted(map(tuple, centres.numpy()))), abs=0.1)
    assert np.allclose(gmm.weights_, 1 / 3, atol=0.02)
    z = sample_latent_gmm(gmm, 6000, seed=1)
    # every sample lies near one of the centres, in equal shares (the prior would not)
    d = torch.cdist(z, centres)
    assert float(d.min(1).values.max()) < 2.0
    share = torch.bincount(d.argmin(1), minlength=3).double() / len(z)
    assert torch.allclose(share, torch.full((3,), 1 / 3, dtype=torch.double), atol=0.03)
    assert float(z[d.argmin(1) == 0].std(0).mean()) == pytest.approx(0.3, abs=0.05)


def test_ex_post_samples_are_reproducible_and_decoded():
    m = _identity_model()
    x = torch.randn(500, 2, generator=torch.Generator().manual_seed(3))
    gmm = fit_latent_gmm(m, x, 2)
    a, b = generate_ex_post(m, gmm, 50, seed=7), generate_ex_post(m, gmm, 50, seed=7)
    assert a.shape == (50, 2) and torch.equal(a, b)
    assert not torch.equal(a, generate_ex_post(m, gmm, 50, seed=8))
