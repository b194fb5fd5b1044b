"""The small classifiers behind the metrics: a LeNet-style conv net trained here, one per data set
(MNIST digits; Fashion-MNIST clothes, ``--dataset fashion-mnist``).

Its ``FEATURE_DIM``-d penultimate activations are the feature space of "FID (LeNet features)" and its
predictions give the class histograms of the mode-coverage metric. Inception weights cannot be
downloaded offline, and a net trained on the data set itself is the better judge of its images
anyway; numbers in this space are *not* comparable with the Inception FID of papers.
Trained by ``python -m wae_core.classifier`` (:mod:`wae_core.classifier`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from wae_core.data.datasets import load_dataset
from wae_core.models.checkpoint import MODEL_PREFIX, IncompatibleCheckpointError, read, write_tensors

FORMAT = "wae-lab-classifier/1"
FEATURE_DIM = 128
# The 1-channel 10-class data sets a LeNet is trained on (Stacked MNIST is judged channel by channel
# by the MNIST net: ``metrics.classify_stacked``).
CLASSIFIER_DATASETS = ("mnist", "fashion-mnist")


class LeNet(nn.Module):
    """conv3(32) - pool - conv3(64) - pool - fc(FEATURE_DIM) - fc(10), ReLU, dropout before the head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(64 * 7 * 7, FEATURE_DIM)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(FEATURE_DIM, 10)
        # oneDNN's convolutions in NHWC: 5-8x the images/s of NCHW for this net on the CPU
        # (15,000 images: 0.9 s against 5-7 s on 2 cores, the features equal to 4e-6; measured).
        self.to(memory_format=torch.channels_last)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The ``FEATURE_DIM``-d embedding used by the FID (after the ReLU)."""
        return torch.relu(self.fc(self.conv(x).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.features(x)))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.no_grad()
    def embed(self, x: torch.Tensor, batch_size: int = 250) -> tuple[torch.Tensor, torch.Tensor]:
        """(features, class probabilities) for images in [0, 1], in eval mode, batched (250 a
        batch keeps the activations in cache: 2x faster on the CPU than 1,000)."""
        was_training = self.training
        self.eval()
        feats, probs = [], []
        for i in range(0, x.shape[0], batch_size):
            xb = x[i:i + batch_size].to(self.device).contiguous(memory_format=torch.channels_last)
            f = self.features(xb)
            feats.append(f.cpu())
            probs.append(F.softmax(self.head(f), 1).cpu())
        self.train(was_training)
        return torch.cat(feats), torch.cat(probs)


@torch.no_grad()
def accuracy(model: LeNet, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model.embed(x)[1].argmax(1) == y).float().mean())


def train_classifier(epochs: int = 5, seed: int = 0, batch_size: int = 128,
                     log: bool = True, dataset: str = "mnist") -> tuple[LeNet, float]:
    """Adam, lr 1e-3 times 0.7 per epoch, on ``dataset`` (one of :data:`CLASSIFIER_DATASETS`).
    Returns (net, test accuracy)."""
    if dataset not in CLASSIFIER_DATASETS:
        raise ValueError(f"no LeNet for {dataset!r}; choose from {', '.join(CLASSIFIER_DATASETS)}")
    torch.manual_seed(seed)
    train, test = load_dataset(dataset, "train"), load_dataset(dataset, "test")
    net = LeNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for epoch in range(epochs):
        for g in opt.param_groups:
            g["lr"] = 1e-3 * 0.7**epoch
        net.train()
        t0 = time.time()
        gen = torch.Generator().manual_seed(seed * 1000 + epoch)
        perm = torch.randperm(len(train), generator=gen)
        for i in range(0, len(perm) - batch_size + 1, batch_size):
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(net(train.x[idx]), train.y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        acc = accuracy(net, test.x, test.y)
        if log:
            print(f"epoch {epoch + 1}: test accuracy {acc:.4f} ({time.time() - t0:.0f} s)",
                  file=sys.stderr)
    return net.eval(), acc


def save_classifier(net: LeNet, path: Path | str, meta: dict) -> None:
    tensors = {MODEL_PREFIX + k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    write_tensors(path, tensors, {"format": FORMAT, **meta})


def load_classifier(path: Path | str, device: str | torch.device = "cpu") -> LeNet:
    """Load and validate; ``net.meta`` holds the metadata (test accuracy, command)."""
    meta, weights, _ = read(path, fmt=FORMAT)
    net = LeNet()
    try:
        net.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        raise IncompatibleCheckpointError(f"{Path(path).name}: not a LeNet classifier: {e}") from e
    net.meta = meta
    return net.to(device).eval()
