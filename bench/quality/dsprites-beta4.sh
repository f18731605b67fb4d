#!/usr/bin/env bash
# beta-VAE on dSprites (Higgins et al. 2017's fully connected setup: 4096-1200-1200-10, Bernoulli
# on the binary pictures), beta = 4, Adam 1e-3, batch 64, 20,000 generated training pictures.
# It checkpoints every 100 steps; stop it with Ctrl-C (it saves and prints how to resume), then
# draw the traversal figure from its checkpoint.
set -euo pipefail
cd "$(dirname "$0")/../.."
run=${RUN:-/tmp/dsprites-beta4}
node bin/webgpu-vae.mjs train --dataset dsprites --hidden 1200,1200 --latent 10 --beta 4 --batch 64 \
  --epochs "${EPOCHS:-20}" --save-every 100 --seed 0 --json --out "$run" --force > bench/quality/dsprites-beta4/train.jsonl || true
node bin/webgpu-vae.mjs traverse --checkpoint "$run/model.safetensors" --dataset dsprites --limit 1000 \
  --out bench/quality/dsprites-beta4/traversal.png --json > bench/quality/dsprites-beta4/traverse.jsonl
