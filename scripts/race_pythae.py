"""The pythae side of scripts/race.py: train one pythae model on MNIST for a fixed wall-clock
budget, then save decoder samples for our evaluator. Runs in .venv-race (scripts/race_env.sh)::

    .venv-race/bin/python scripts/race_pythae.py --model aae --seconds 60 --threads 1 --out /tmp/x

Writes ``samples.npy`` (n images from N(0, I), float32 in [0, 1], shape (n, 1, 28, 28)) and
``stats.json`` (parameters, steps, images, training seconds) to ``--out``.

The models: pythae 0.1.2's ``Adversarial_AE`` (its default adversary, ``adversarial_loss_scale``
0.5, its default stochastic posterior) and ``WAE_MMD`` (IMQ kernel, ``reg_weight`` 10), both on one
small conv net (:class:`Encoder` / :class:`Decoder`), MSE reconstruction, Adam 1e-3, batch 100, z 8.

The loop is ours, not pythae's ``BaseTrainer`` / ``AdversarialTrainer``: those stop on epochs only
(no wall clock), evaluate and write checkpoints per epoch, and feed batches through a DataLoader
over per-item ``__getitem__`` calls. The plain loop below does per batch what their ``train_step``
does (``model(inputs)`` with the same keyword arguments, then their ``_optimizers_step``: one Adam
for the auto-encoder; for the AAE, the auto-encoder and the discriminator Adams in their order, the
auto-encoder loss backward with ``retain_graph``) on batches sliced from one tensor, the same data
path as our trainer's. If anything this favours pythae: its own trainer would be slower.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from pythae.models import WAE_MMD, Adversarial_AE, Adversarial_AE_Config, WAE_MMD_Config
from pythae.models.base.base_utils import ModelOutput
from pythae.models.nn import BaseDecoder, BaseEncoder
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from wae_core.data.datasets import load_mnist  # noqa: E402  (the same MNIST tensors our trainer uses)

MODELS = ("aae", "wae-mmd")
Z_DIM, BATCH, LR = 8, 100, 1e-3
WIDTHS = (32, 64)  # encoder conv widths (the decoder mirrors them)
AAE_ADVERSARIAL_SCALE = 0.5  # pythae's default
WAE_REG_WEIGHT = 10.0  # the paper's lambda for MNIST
SIDE = 7  # 28 -> 14 -> 7 after two stride-2 convs


class Encoder(BaseEncoder):
    """Conv(1->32, 4, s2, p1)-BN-ReLU-Conv(32->64, 4, s2, p1)-BN-ReLU-Linear(3136->z). With
    ``log_var`` a second Linear(3136->z) head gives the log-variance that pythae's AAE (a VAE
    subclass) reads from every encoder."""

    def __init__(self, log_var: bool) -> None:
        BaseEncoder.__init__(self)
        c1, c2 = WIDTHS
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 4, 2, 1), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.Conv2d(c1, c2, 4, 2, 1), nn.BatchNorm2d(c2), nn.ReLU(), nn.Flatten())
        self.embedding = nn.Linear(c2 * SIDE * SIDE, Z_DIM)
        self.log_var = nn.Linear(c2 * SIDE * SIDE, Z_DIM) if log_var else None

    def forward(self, x: torch.Tensor) -> ModelOutput:
        h = self.features(x)
        out = ModelOutput(embedding=self.embedding(h))
        if self.log_var is not None:
            out["log_covariance"] = self.log_var(h)
        return out


class Decoder(BaseDecoder):
    """The mirror: Linear(z->3136)-BN-ReLU-ConvT(64->32, 4, s2, p1)-BN-ReLU-ConvT(32->1, 4, s2, p1)
    -sigmoid."""

    def __init__(self) -> None:
        BaseDecoder.__init__(self)
        c1, c2 = WIDTHS
        self.net = nn.Sequential(
            nn.Linear(Z_DIM, c2 * SIDE * SIDE), nn.BatchNorm1d(c2 * SIDE * SIDE), nn.ReLU(),
            nn.Unflatten(1, (c2, SIDE, SIDE)),
            nn.ConvTranspose2d(c2, c1, 4, 2, 1), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 4, 2, 1), nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> ModelOutput:
        return ModelOutput(reconstruction=self.net(z))


def build(name: str) -> tuple[nn.Module, list[torch.optim.Optimizer]]:
    """The pythae model and its optimisers as pythae's trainer would make them (plain Adam)."""
    shape = (1, 28, 28)
    if name == "aae":
        cfg = Adversarial_AE_Config(input_dim=shape, latent_dim=Z_DIM, reconstruction_loss="mse",
                                    adversarial_loss_scale=AAE_ADVERSARIAL_SCALE)
        model = Adversarial_AE(cfg, encoder=Encoder(log_var=True), decoder=Decoder())
        ae = list(model.encoder.parameters()) + list(model.decoder.parameters())
        return model, [torch.optim.Adam(ae, lr=LR),
                       torch.optim.Adam(model.discriminator.parameters(), lr=LR)]
    cfg = WAE_MMD_Config(input_dim=shape, latent_dim=Z_DIM, kernel_choice="imq", reg_weight=WAE_REG_WEIGHT)
    model = WAE_MMD(cfg, encoder=Encoder(log_var=False), decoder=Decoder())
    return model, [torch.optim.Adam(model.parameters(), lr=LR)]


def optimizers_step(out: ModelOutput, opts: list[torch.optim.Optimizer]) -> None:
    """pythae 0.1.2's ``_optimizers_step``: BaseTrainer's for one optimiser, AdversarialTrainer's
    for two."""
    if len(opts) == 1:
        opts[0].zero_grad()
        out.loss.backward()
        opts[0].step()
        return
    ae_opt, disc_opt = opts
    ae_opt.zero_grad()
    out.autoencoder_loss.backward(retain_graph=True)
    disc_opt.zero_grad()
    out.discriminator_loss.backward()
    ae_opt.step()
    disc_opt.step()


def train(name: str, seconds: float, seed: int, subset: int = 0) -> tuple[nn.Module, dict]:
    """Train until ``seconds`` of training are spent (checked after every step)."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    data = load_mnist("train")
    x = data.subset(subset).x if subset else data.x
    model, opts = build(name)
    steps_per_epoch = len(x) // BATCH
    step = epoch = 0
    model.train()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        perm = torch.randperm(len(x))
        for i in range(steps_per_epoch):
            batch = {"data": x[perm[i * BATCH:(i + 1) * BATCH]]}
            out = model(batch, epoch=epoch, dataset_size=len(x), uses_ddp=False)
            optimizers_step(out, opts)
            if out.loss.item() != out.loss.item():  # pythae's trainer checks every step as well
                raise ArithmeticError(f"NaN in the training loss at step {step + 1}")
            step += 1
            if time.perf_counter() - t0 >= seconds:
                break
        else:
            epoch += 1
            model.update()  # pythae's trainer calls it after every epoch
    elapsed = time.perf_counter() - t0
    stats = {"model": name, "params": sum(p.numel() for p in model.parameters()), "steps": step,
             "images": step * BATCH, "train_images": len(x), "seconds": elapsed,
             "loop": "plain loop doing pythae's train_step / _optimizers_step (scripts/race_pythae.py)",
             "torch_threads": torch.get_num_threads()}
    return model.eval(), stats


@torch.no_grad()
def samples(model: nn.Module, n: int, seed: int) -> np.ndarray:
    """n decoder images of z ~ N(0, I) (the prior both pythae models train towards)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, Z_DIM, generator=g)
    return torch.cat([model.decoder(z[i:i + 1000])["reconstruction"] for i in range(0, n, 1000)]).numpy()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--seconds", type=float, required=True, help="training budget (wall clock)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=10_000, help="samples to save")
    p.add_argument("--subset", type=int, default=0, help="train on the first N images only")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    model, stats = train(a.model, a.seconds, a.seed, a.subset)
    a.out.mkdir(parents=True, exist_ok=True)
    np.save(a.out / "samples.npy", samples(model, a.n, a.seed))
    (a.out / "stats.json").write_text(json.dumps(stats, indent=1))
    print(f"pythae {a.model}: {stats['steps']} steps, {stats['seconds']:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
