"""Score MNIST checkpoint files quickly, for pilots and sweeps (the shipped set: wae_core.evaluate).

    .venv/bin/python scripts/score_checkpoints.py runs/a.safetensors runs/b.safetensors [--n 5000]

Per file: steps trained, FID (LeNet features, not Inception) and sharpness of n samples from P_Z
against the n first test images, the reconstructions' sharpness and MSE, and the share of
reconstructions the LeNet reads as the input's digit on the first n test images and on the
non-MNIST uploads of ``data/heldout-digits.npz`` ("class kept").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from wae_core.data.datasets import load_heldout_digits, load_mnist  # noqa: E402
from wae_core.evaluation import metrics as M  # noqa: E402
from wae_core.evaluation.lenet import load_classifier  # noqa: E402
from wae_core.evaluation.scoring import score_samples  # noqa: E402
from wae_core.models.checkpoint import load  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--n", type=int, default=5000, help="samples and test images per model")
    a = p.parse_args(argv)
    clf = load_classifier(REPO / "checkpoints" / "lenet-mnist.safetensors")
    test, uploads = load_mnist("test"), load_heldout_digits()
    x, y = test.x[:a.n], test.y[:a.n]
    ref = clf.embed(x)[0]
    print("| checkpoint | steps | FID (LeNet) | sharpness | recon. sharpness | recon. MSE "
          "| class kept, MNIST test | class kept, uploads |\n|---|---|---|---|---|---|---|---|")
    for path in a.checkpoints:
        model = load(path)
        with torch.inference_mode():
            samples = M.generate(model, a.n, 0)
            x_hat = M.reconstructions(model, x)
            score = score_samples(samples, ref, clf)
            row = [path.stem, f"{model.meta.get('step', '?'):,}",
                   f"{score['fid_lenet']:.1f}", f"{score['sharpness']:.4f}",
                   f"{M.sharpness(x_hat):.4f}", f"{M.mean_squared_error(x_hat, x):.4f}",
                   f"{M.class_kept(model, x, y, clf):.1%}",
                   f"{M.class_kept(model, uploads.x, uploads.y, clf):.1%}"]
        print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
