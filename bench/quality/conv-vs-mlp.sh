#!/usr/bin/env bash
# MNIST at the same protocol for both architectures: grey levels (not binarized), Bernoulli
# likelihood, one z per example, Adam 1e-3, batch 128, seed 0, the first $LIMIT training images
# for $EPOCHS epochs, test -ELBO on the first 2,000 test images. Logs land beside this script as
# mlp-$EPOCHS.jsonl and conv-$EPOCHS.jsonl. Usage: bash bench/quality/conv-vs-mlp.sh [EPOCHS=10] [LIMIT=10000]
set -euo pipefail
cd "$(dirname "$0")/../.."
EPOCHS=${1:-10}
LIMIT=${2:-10000}
out=bench/quality/conv-vs-mlp
common=(--limit "$LIMIT" --test-limit 2000 --epochs "$EPOCHS" --batch 128 --seed 0 --json --force)
for arch in mlp conv; do
  node bin/webgpu-vae.mjs train --arch "$arch" "${common[@]}" --out "/tmp/conv-vs-mlp-$arch" > "$out/$arch-$EPOCHS.jsonl"
done
grep '"event":"epoch"' "$out/mlp-$EPOCHS.jsonl" "$out/conv-$EPOCHS.jsonl"
