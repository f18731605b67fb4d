#!/usr/bin/env bash
# MNIST at the same protocol for both architectures: grey levels (not binarized), Bernoulli
# likelihood, one z per example, Adam 1e-3, batch 128, seed 0, the first $LIMIT training images
# for $EPOCHS epochs, test -ELBO on the first 2,000 test images. The MLP is 784-400-20; the conv
# model 1x28x28 -> 32-64 -> 400 -> 20 ($CONV_FLAGS, default --dense 400 --init pytorch, the settings
# of the recorded result, from before the ReLU-gain init became the conv default; CONV_FLAGS=
# gives the plain conv model with its dense head alone and the default init). Logs land beside this script as mlp-$EPOCHS.jsonl and
# conv-$EPOCHS.jsonl. Usage: [ARCHS="mlp conv"] bash bench/quality/conv-vs-mlp.sh [EPOCHS=10] [LIMIT=10000]
set -euo pipefail
cd "$(dirname "$0")/../.."
EPOCHS=${1:-10}
LIMIT=${2:-10000}
out=bench/quality/conv-vs-mlp
common=(--limit "$LIMIT" --test-limit 2000 --epochs "$EPOCHS" --batch 128 --seed 0 --json --force)
read -r -a conv_flags <<< "${CONV_FLAGS---dense 400 --init pytorch}"
for arch in ${ARCHS:-mlp conv}; do
  extra=()
  [ "$arch" = conv ] && extra=("${conv_flags[@]}")
  node bin/webgpu-vae.mjs train --arch "$arch" "${extra[@]}" "${common[@]}" --out "/tmp/conv-vs-mlp-$arch" > "$out/$arch-$EPOCHS.jsonl"
done
grep -h '"event":"epoch"' "$out"/*-"$EPOCHS".jsonl
