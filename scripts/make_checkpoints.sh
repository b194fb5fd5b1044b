#!/usr/bin/env bash
# Retrain every shipped checkpoint (`make checkpoints`). Each command is recorded in its
# checkpoint's metadata. MNIST models: the small conv family widened to an encoder 32-64-128 and a
# decoder 64-32 (the small decoder's own reconstructions were too blurry to show the WAE's
# sharpness), each <= 15 min on a 2-core CPU: the epochs of each model are what its speed allows
# in about 11 minutes on an idle machine (two models side by side, one thread each); --max-minutes
# caps it on a busier one.
# Usage: scripts/make_checkpoints.sh [classifier|mnist|mnist2|z2|toys|ring|grid|all]
# (mnist and mnist2 are the two halves of the MNIST set, so two processes can share the cores;
# set THREADS=1 for each then.)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
what=${1:-all}
T=(--threads "${THREADS:-0}")
NET=(--channels 32 64 128 --dec-channels 64 32 --lr-factors 0.5 0.2 --max-minutes 15 "${T[@]}")

if [[ $what == classifier || $what == all ]]; then
  $PY -m wae_core.classifier --out checkpoints/lenet-mnist.safetensors "${T[@]}"
fi
if [[ $what == mnist || $what == all ]]; then
  $PY -m wae_core.train --model wae-mmd --lam 10 --epochs 26 --lr-milestones 16 21 "${NET[@]}" --out checkpoints/mnist-wae-mmd.safetensors
  $PY -m wae_core.train --model vae --epochs 26 --lr-milestones 16 21 "${NET[@]}" --out checkpoints/mnist-vae.safetensors
fi
if [[ $what == mnist2 || $what == all ]]; then
  $PY -m wae_core.train --model wae-gan --lam 10 --epochs 18 --lr-milestones 11 15 "${NET[@]}" --out checkpoints/mnist-wae-gan.safetensors
  $PY -m wae_core.train --model gan --lr 2e-4 --lr-adv 2e-4 --epochs 16 --lr-milestones 10 13 "${NET[@]}" --out checkpoints/mnist-gan.safetensors
fi
if [[ $what == z2 || $what == all ]]; then
  # 2-D latent space, for the deck's figure of per-point posteriors vs the aggregate Q_Z.
  Z2=(--z-dim 2 --epochs 5 --lr-milestones --lr-factors "${T[@]}")
  $PY -m wae_core.train --model vae "${Z2[@]}" --out checkpoints/mnist-vae-z2.safetensors
  $PY -m wae_core.train --model wae-mmd --lam 10 "${Z2[@]}" --out checkpoints/mnist-wae-mmd-z2.safetensors
fi
if [[ $what == toys || $what == ring || $what == grid || $what == all ]]; then
  toys=(ring grid); [[ $what == ring || $what == grid ]] && toys=("$what")
  for toy in "${toys[@]}"; do
    # Every toy model gets the same budget: 150 epochs (29,250 steps) or 10 minutes, whichever
    # comes first. Training length is what lifted the ring WAE-MMD's share of samples on a mode
    # most (20 epochs: ~30 %, 60: ~50 %, 150: ~67 %, 300: ~75 %; measured, one seed each).
    TOY=(--dataset "$toy" --z-dim 2 --batch-size 256 --epochs 150 --max-minutes 10 --lr-milestones --lr-factors "${T[@]}")
    # Gaussian encoders: the code noise makes the decoder flat over each mode's region of Z, which
    # lifts the share of samples on a mode from ~2 % (deterministic encoder) to ~30 % at 20 epochs.
    $PY -m wae_core.train --model wae-mmd --lam 10 --stochastic-encoder "${TOY[@]}" --out "checkpoints/$toy-wae-mmd.safetensors"
    $PY -m wae_core.train --model wae-gan --lam 1 --stochastic-encoder "${TOY[@]}" --out "checkpoints/$toy-wae-gan.safetensors"
    # Gaussian decoder with sigma = 0.1 (recon_scale = 1 / (2 sigma^2)): unit variance would
    # swamp modes 0.02 wide and the VAE would learn nothing but the mean.
    $PY -m wae_core.train --model vae --recon-scale 50 "${TOY[@]}" --out "checkpoints/$toy-vae.safetensors"
    $PY -m wae_core.train --model gan --lr 2e-4 --lr-adv 2e-4 "${TOY[@]}" --out "checkpoints/$toy-gan.safetensors"
  done
fi

# Ship weights only: drop optimiser / RNG state (resume needs it, the app does not).
$PY -m wae_core.checkpoint strip checkpoints/*.safetensors
