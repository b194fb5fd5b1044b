r"""Ex-post density estimation (Ghosh et al., "From variational to deterministic autoencoders",
ICLR 2020): fit a Gaussian mixture to the codes of the training data, Q_Z, and sample from it
instead of from the prior.

$$z \sim \hat Q_Z = \sum_{k=1}^{K} \pi_k\, \mathcal N(\mu_k, \Sigma_k),\qquad
\hat\pi, \hat\mu, \hat\Sigma = \arg\max \sum_i \log \hat Q_Z\big(E(x_i)\big)$$

The gap between samples from P_Z and from \hat Q_Z is the seminar's picture of "holes": prior mass
where no data point was encoded, which the decoder never learned to map onto the data.
"""

from __future__ import annotations

import torch

from wae_core.models.generative import GenerativeModel

# The mixture's size for the image data sets (MNIST; evaluate's "Ex-post GMM" table and the Samples
# page): one component per digit, as in Ghosh et al.'s MNIST experiments (their 10-component GMM).
GMM_COMPONENTS = 10


@torch.no_grad()
def fit_latent_gmm(model: GenerativeModel, x: torch.Tensor, n_components: int, seed: int = 0,
                   batch_size: int = 1000):
    """A full-covariance Gaussian mixture fitted (EM, k-means start) to the codes E(x) of ``x``
    (the encoder's mean for a VAE). MNIST's 60,000 training codes (z = 16): ~13 s to encode and
    2-5 s of EM on one thread."""
    from sklearn.mixture import GaussianMixture

    model.eval()
    codes = torch.cat([model.encode(x[i:i + batch_size].to(model.device)).cpu()
                       for i in range(0, len(x), batch_size)])
    gmm = GaussianMixture(n_components, covariance_type="full", random_state=seed, reg_covar=1e-5)
    return gmm.fit(codes.double().cpu().numpy())


def sample_latent_gmm(gmm, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` codes drawn from the fitted mixture (reproducible for a seed)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    comp = rng.choice(len(gmm.weights_), size=n, p=gmm.weights_ / gmm.weights_.sum())
    chol = np.linalg.cholesky(gmm.covariances_)
    eps = rng.standard_normal((n, gmm.means_.shape[1]))
    z = gmm.means_[comp] + np.einsum("nij,nj->ni", chol[comp], eps)
    return torch.from_numpy(z).float()


@torch.no_grad()
def generate_ex_post(model: GenerativeModel, gmm, n: int, seed: int = 0,
                     batch_size: int = 1000) -> torch.Tensor:
    """``n`` samples G(z), z drawn from the fitted mixture instead of P_Z (decoded in batches, on
    the CPU; the codes do not depend on ``batch_size``)."""
    model.eval()
    z = sample_latent_gmm(gmm, n, seed)
    return torch.cat([model.decode(z[i:i + batch_size].to(model.device)).cpu()
                      for i in range(0, n, batch_size)])
