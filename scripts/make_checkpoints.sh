#!/usr/bin/env bash
# Retrain every shipped checkpoint (`make checkpoints`) from its named recipe: every number (nets,
# λ, learning rates, epochs, time caps, and why) is in wae_core/training/recipes.py, and each command is
# recorded in its checkpoint's metadata.
# Usage: scripts/make_checkpoints.sh
#          [classifier|classifier-fashion|mnist|mnist2|z2|fashion|fashion2|stacked|stacked2|toys|ring|grid|
#           all|RECIPE...]
# (mnist: the three MNIST auto-encoders side by side; mnist2: the MNIST GAN; fashion and fashion2 of the Fashion-MNIST
# set, stacked and stacked2 of the Stacked-MNIST set (stacked2: the GAN and its further training
# seeds in checkpoints/seeds/, which the benchmark averages over), so two processes can share the cores; set THREADS=1 for each then. RECIPE: one or more
# recipe names, e.g. ring-wae-mmd grid-wae-gan. Fashion-MNIST's training split comes from the
# Debian package dataset-fashion-mnist: installed here if missing.)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
what=${1:-all}
T=(--threads "${THREADS:-0}")

train() {  # train RECIPE: checkpoints/RECIPE.safetensors
  $PY -m wae_core.train --recipe "$1" "${T[@]}" --out "checkpoints/$1.safetensors"
}

need_fashion() {  # the training split of Fashion-MNIST (the repo embeds the test split only)
  [[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]] && return
  local sudo=; [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get install -y -qq dataset-fashion-mnist || {
    $sudo apt-get update -qq && $sudo apt-get install -y -qq dataset-fashion-mnist; }
}

case $what in
  classifier|classifier-fashion|mnist|mnist2|z2|fashion|fashion2|stacked|stacked2|toys|ring|grid|all) ;;
  *) for recipe in "$@"; do train "$recipe"; done ;;
esac
[[ $what == classifier-fashion || $what == fashion || $what == fashion2 || $what == all ]] && need_fashion
if [[ $what == classifier || $what == all ]]; then
  $PY -m wae_core.classifier --out checkpoints/lenet-mnist.safetensors "${T[@]}"
fi
if [[ $what == classifier-fashion || $what == all ]]; then
  $PY -m wae_core.classifier --dataset fashion-mnist --out checkpoints/lenet-fashion-mnist.safetensors "${T[@]}"
fi
if [[ $what == mnist || $what == all ]]; then
  # The auto-encoders side by side, one thread each (their time caps: wae_core/training/recipes.py).
  for kind in vae wae-mmd wae-gan; do
    $PY -m wae_core.train --recipe "mnist-$kind" --threads 1 --out "checkpoints/mnist-$kind.safetensors" &
  done
  wait
fi
if [[ $what == mnist2 || $what == all ]]; then
  train mnist-gan
fi
if [[ $what == fashion || $what == all ]]; then
  train fashion-wae-mmd
  train fashion-vae
fi
if [[ $what == fashion2 || $what == all ]]; then
  train fashion-wae-gan
  train fashion-gan
fi
if [[ $what == stacked || $what == all ]]; then
  train stacked-wae-mmd
  train stacked-wae-gan
  train stacked-vae
fi
if [[ $what == stacked2 || $what == all ]]; then
  train stacked-gan
  mkdir -p checkpoints/seeds
  for seed in 1 2; do
    $PY -m wae_core.train --recipe stacked-gan --seed $seed "${T[@]}" \
      --out checkpoints/seeds/stacked-gan-seed$seed.safetensors
  done
fi
if [[ $what == z2 || $what == all ]]; then
  train mnist-vae-z2
  train mnist-wae-mmd-z2
fi
if [[ $what == toys || $what == ring || $what == grid || $what == all ]]; then
  toys=(ring grid); [[ $what == ring || $what == grid ]] && toys=("$what")
  for toy in "${toys[@]}"; do
    for kind in wae-mmd wae-gan vae gan; do
      train "$toy-$kind"
    done
  done
fi

# Ship weights only: drop optimiser / RNG state (resume needs it, the app does not).
shopt -s nullglob
$PY -m wae_core.models.checkpoint strip checkpoints/*.safetensors checkpoints/seeds/*.safetensors
