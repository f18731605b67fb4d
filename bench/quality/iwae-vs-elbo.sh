#!/usr/bin/env bash
# The IWAE paper's central result on our implementation: the 784-200-200-50 tanh model trained on
# dynamically binarized MNIST for the same number of epochs with the ELBO and with the IWAE bound
# (K = 5), then both scored by the importance-weighted log-likelihood estimate (K = 5000) on the
# first $TEST test examples (fixed binarization, the same for both). Usage:
#   bash bench/quality/iwae-vs-elbo.sh [EPOCHS=5] [TEST=2000]
set -euo pipefail
cd "$(dirname "$0")/../.."
EPOCHS=${1:-5}
TEST=${2:-2000}
OUT=${OUT:-runs/iwae-vs-elbo}
MODEL=(--hidden 200,200 --latent 50 --activation tanh --binarize dynamic --epochs "$EPOCHS" --seed 0 --test-limit 1000)
mkdir -p "$OUT"
for objective in elbo iwae; do
  extra=()
  [ "$objective" = iwae ] && extra=(--objective iwae --samples 5)
  /usr/bin/time -f "%e s" node bin/webgpu-vae.mjs train "${MODEL[@]}" "${extra[@]}" --out "$OUT/$objective" --json > "$OUT/$objective.train.jsonl" 2> "$OUT/$objective.train.log"
  /usr/bin/time -f "%e s" node bin/webgpu-vae.mjs eval --checkpoint "$OUT/$objective/model.safetensors" --limit "$TEST" --iwae 5000 --seed 0 --json > "$OUT/$objective.eval.jsonl" 2> "$OUT/$objective.eval.log"
  tail -n 1 "$OUT/$objective.eval.jsonl"
done
