#!/usr/bin/env bash
# Conv VAEs on colour pictures, with their reconstructions as the figure:
#   folder: 2,000 PNGs written by make-pictures.ts (a square or disc of one hue on a shaded
#           background of another, 40x48, centre-cropped and resized to 32x32 by the folder reader),
#           conv 3x32x32 -> 32-64 -> 32, Bernoulli on the grey levels, batch 64, $FOLDER_EPOCHS epochs (10);
#   dsprites-color: colour dSprites drawn on the GPU, conv 3x64x64 -> 16-32 -> 128 -> 10 (two
#           halvings, to 16x16, then a dense layer), Bernoulli, batch 32, Adam 3e-3, KL warm-up
#           over 200 steps, $SPRITES (8,000) training pictures for $SPRITE_EPOCHS (2) epochs. The
#           default depth for 64x64 (16-32-64-64, down to 4x4) stayed near the prior for 500 steps
#           at Adam 1e-3 from PyTorch's default initialization (now --init pytorch): four ReLU
#           convolutions each way shrink the signal. With the ReLU-gain init, now the conv
#           default, it learns (bench/RESULTS.md, "Deep conv stacks").
# Both runs pass --init "${INIT:-pytorch}": the first recorded results predate the ReLU-gain default.
# For dsprites-color, ARCH replaces the model's channels and dense layers, BATCH (32), LR (3e-3) and
# WARMUP (200) the batch, rate and KL warm-up steps (beta rising linearly from 0 to 1), LATENT (10) the
# latent size; the four-halving model of the dSprites runs on colour:
#   INIT=kaiming ARCH="--channels 16,16,16,16 --dense 256" BATCH=64 LR=1e-3 SPRITES=100000 SPRITE_EPOCHS=20 TAG=conv4 bash bench/quality/colour.sh dsprites-color
# LIKELIHOOD=gaussian trains dsprites-color with a Gaussian of learned global scale instead of the
# Bernoulli on grey levels (recorded: INIT=kaiming SPRITE_EPOCHS=8 LIKELIHOOD=gaussian TAG=gaussian).
# TAG=name writes its files as <run>-<name>.* so that a longer run sits beside the first ones; the
# recorded long runs: INIT=kaiming FOLDER_EPOCHS=60 TAG=60-epochs (folder) and
# INIT=kaiming SPRITE_EPOCHS=8 TAG=8-epochs (dsprites-color).
# Each run writes samples.png and reconstructions.png (test pictures above their reconstructions)
# into runs/colour-*, copied beside this script. Usage: bash bench/quality/colour.sh [folder|dsprites-color]...
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/quality/colour
mkdir -p "$out"
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(folder dsprites-color)
for what in "${runs[@]}"; do
  case "$what" in
    folder)
      pics=${PICTURES:-/tmp/webgpu-vae-pictures}
      [ -d "$pics" ] || npx tsx bench/quality/make-pictures.ts "$pics" --n=2000 --seed=0
      args=(--dataset folder --data-dir "$pics" --image-size 32 --image-channels 3 --arch conv --channels 32,64 --latent 32 --batch 64 --epochs "${FOLDER_EPOCHS:-10}") ;;
    dsprites-color)
      args=(--dataset dsprites-color --limit "${SPRITES:-8000}" --test-limit 500 --arch conv ${ARCH:---channels 16,32 --dense 128} --latent "${LATENT:-10}" --batch "${BATCH:-32}" --epochs "${SPRITE_EPOCHS:-2}" --lr "${LR:-3e-3}" --warmup-steps "${WARMUP:-200}" --save-every 250)
      if [ "${LIKELIHOOD:-bernoulli}" = gaussian ]; then args+=(--likelihood gaussian --sigma learned); fi ;;
    *) echo "unknown run '$what': use folder or dsprites-color" >&2; exit 1 ;;
  esac
  name="$what${TAG:+-$TAG}"
  node bin/webgpu-vae.mjs train "${args[@]}" --init "${INIT:-pytorch}" --seed 0 --json --force --out "runs/colour-$name" > "$out/$name.jsonl"
  cp "runs/colour-$name/reconstructions.png" "$out/$name-reconstructions.png"
  cp "runs/colour-$name/samples.png" "$out/$name-samples.png"
  # On colour dSprites: which factors the reconstructions keep (shape, scale, orientation), over 256 test pictures.
  if [ "$what" = dsprites-color ]; then
    node bin/webgpu-vae.mjs reconstruct --checkpoint "runs/colour-$name/model.safetensors" --dataset dsprites-color --n 256 \
      --out "runs/colour-$name/reconstructions-256.png" --json > "$out/$name-reconstruct.jsonl"
  fi
done
