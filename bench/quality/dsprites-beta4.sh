#!/usr/bin/env bash
# beta-VAE on dSprites, beta = 4: a fully connected 4096-256-256-10 model (HIDDEN=1200,1200 gives
# Higgins et al. 2017's, at 4.5x the arithmetic per step), Bernoulli on the binary pictures, Adam
# 1e-3, batch 64, seed 0. The training pictures ($LIMIT of the 737,280, default 600,000) are drawn on
# the GPU at every step, so none is stored; 1,000 held-out
# pictures are the test set. It checkpoints every 250 steps; stop it with Ctrl-C (it saves and
# prints how to resume), then draw the traversal figure from its checkpoint:
#   bash bench/quality/dsprites-beta4.sh            # train, then draw
#   DRAW_ONLY=1 bash bench/quality/dsprites-beta4.sh  # draw from the last checkpoint
# beta-TCVAE (Chen et al. 2018) on the same model, beta 6 weighing the total correlation:
#   OBJECTIVE=tcvae BETA=6 TAG=tcvae6 bash bench/quality/dsprites-beta4.sh
# Capacity control (Burgess et al. 2018; loss = rec + beta |KL - C|, C growing to 25 nats), beta
# 1000 as in their dSprites runs; EXTRA passes further train flags:
#   BETA=1000 EXTRA="--kl-capacity 25 --capacity-steps 12000" EPOCHS=3 TAG=capacity25 bash bench/quality/dsprites-beta4.sh
# A convolutional model instead of the MLP (four 4x4 stride-2 convolutions of 16 channels, dense
# 256, as in Burgess et al. 2018's dSprites encoder at half their 32 channels):
#   ARCH="--arch conv --channels 16,16,16,16 --dense 256" TAG=conv-beta4 bash bench/quality/dsprites-beta4.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${TAG:-beta4}
run=${RUN:-/tmp/dsprites-$tag}
out=bench/quality/dsprites-$tag
mkdir -p "$out"
if [ -z "${DRAW_ONLY:-}" ]; then
  node bin/webgpu-vae.mjs train --dataset dsprites --limit "${LIMIT:-600000}" --test-limit 1000 ${ARCH:---hidden ${HIDDEN:-256,256}} --latent 10 \
    --objective "${OBJECTIVE:-elbo}" --beta "${BETA:-4}" --batch 64 --epochs "${EPOCHS:-1}" ${EXTRA:-} --save-every 250 --seed 0 --json --out "$run" --force > "$out/train.jsonl" || true
fi
# The factor report over 1,000 test pictures (as every figure in RESULTS.md); TRAVERSE_LIMIT=10000
# gives the mutual information gap at the literature's sample size.
node bin/webgpu-vae.mjs traverse --checkpoint "$run/model.safetensors" --dataset dsprites --limit "${TRAVERSE_LIMIT:-1000}" \
  --out "$out/traversal.png" --json > "$out/traverse.jsonl"
# Which factors the reconstructions keep (shape, scale, orientation, judged by drawing), over 256
# test pictures; the figure shows the first 32 of them above their reconstructions.
node bin/webgpu-vae.mjs reconstruct --checkpoint "$run/model.safetensors" --dataset dsprites --n 256 \
  --out /tmp/dsprites-$tag-reconstructions-256.png --json > "$out/reconstruct.jsonl"
node bin/webgpu-vae.mjs reconstruct --checkpoint "$run/model.safetensors" --dataset dsprites --n 32 --out "$out/reconstructions.png"
