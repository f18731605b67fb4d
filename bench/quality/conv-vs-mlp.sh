#!/usr/bin/env bash
# MNIST at the same protocol for both architectures: grey levels (not binarized), Bernoulli
# likelihood, one z per example, Adam 1e-3, batch 128, seed 0, the first 10,000 training images
# for 2 epochs, test -ELBO on the first 2,000 test images. Logs land beside this script.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/quality/conv-vs-mlp
common=(--limit 10000 --test-limit 2000 --epochs 2 --batch 128 --seed 0 --json --force)
node bin/webgpu-vae.mjs train --arch mlp "${common[@]}" --out /tmp/conv-vs-mlp-mlp > "$out/mlp.jsonl"
node bin/webgpu-vae.mjs train --arch conv "${common[@]}" --out /tmp/conv-vs-mlp-conv > "$out/conv.jsonl"
grep '"event":"epoch"' "$out/mlp.jsonl" "$out/conv.jsonl"
