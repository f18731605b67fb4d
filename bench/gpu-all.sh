#!/usr/bin/env bash
# Everything a machine with a real GPU should run, in one sitting of about ten minutes:
#   1. bench/gpu.sh alone (its timings want an idle GPU), its reports into OUT/bench;
#   2. then, side by side (the models below leave most of a large GPU idle, and each process has
#      its own CPU core):
#      - the dSprites beta-TCVAE at the published convolutional width (Burgess et al. 2018:
#        channels 32,32,64,64, dense 256, 10 latents, batch 64), trained from scratch;
#      - the colour dSprites conv VAE, trained from scratch;
#      - the Node test suite (vitest), with a JSON report.
#      Each training runs for --train-seconds from its first step and is then interrupted, which
#      saves its checkpoint and optimizer state (`train --resume` continues it); then its test
#      -ELBO, factor report and traversal picture (grey) or reconstructions (colour) are written
#      beside it.
# Every part logs into OUT and a part that fails is named at the end; the others still run.
#
#   bash bench/gpu-all.sh --out DIR [--train-seconds 360] [--skip bench,grey,colour,tests] [--small]
#                         [--deadline SECONDS]
#
# --deadline ends everything within SECONDS of the script's start, for a machine lent by the
# command: the trainings are shortened to fit (90 s are kept for their start, interrupt,
# evaluation and pictures, and each is interrupted with 60 s left whatever it has done), and
# gpu.sh, the evaluations, the pictures and the test suite are stopped at it.
# --small shrinks every part (gpu.sh --small, 4-channel models, a few test pictures) so that the
# script runs on a software adapter in a few minutes. On a machine with no Node or npm, unpack
# scripts/pack-bench.sh's runtime first and put its bin/ on PATH (that script says how).
set -uo pipefail
cd "$(dirname "$0")/.."

out="" trainSeconds=360 skip="" small=0 deadline=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:-}"; shift ;;
    --train-seconds) trainSeconds="${2:-}"; shift
      [[ "$trainSeconds" =~ ^[0-9]+$ ]] || { echo "gpu-all.sh: --train-seconds takes whole seconds, got '$trainSeconds'" >&2; exit 2; } ;;
    --deadline) deadline="${2:-}"; shift
      [[ "$deadline" =~ ^[0-9]+$ ]] || { echo "gpu-all.sh: --deadline takes whole seconds, got '$deadline'" >&2; exit 2; } ;;
    --skip) skip="${2:-}"; shift ;;
    --small) small=1 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "gpu-all.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$out" ] || { echo "gpu-all.sh: --out DIR is required (where the logs, reports and checkpoints go)" >&2; exit 2; }
for s in ${skip//,/ }; do
  case "$s" in bench|grey|colour|tests) ;; *) echo "gpu-all.sh: --skip takes bench, grey, colour or tests, got '$s'" >&2; exit 2 ;; esac
done
command -v node > /dev/null || { echo "gpu-all.sh: no node on PATH (see scripts/pack-bench.sh for a runtime to unpack)" >&2; exit 2; }
[ -d node_modules/webgpu ] || { echo "gpu-all.sh: node_modules/webgpu is missing: run npm ci, or link the unpacked runtime's node_modules here" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
skipped() { [[ ",$skip," == *",$1,"* ]]; }
failed=()

if [ "$small" = 1 ]; then
  grey=(--channels 4,4,4,4 --dense 16 --limit 2000 --test-limit 64 --batch 16)
  colour=(--channels 4,4,4,4 --dense 16 --limit 2000 --test-limit 64 --batch 16)
  factorLimit=64 pictures=16
else
  grey=(--channels 32,32,64,64 --dense 256 --limit 600000 --test-limit 1000 --batch 64)
  colour=(--channels 16,16,16,16 --dense 256 --limit 600000 --test-limit 1000 --batch 64)
  factorLimit=1000 pictures=64
fi

start=$SECONDS

# Seconds left before --deadline (a large number without one), and a command run within them
# less RESERVE seconds (TERM then, KILL 5 s later): `within RESERVE command...`.
secondsLeft() { if [ -n "$deadline" ]; then echo $((deadline - (SECONDS - start))); else echo 1000000; fi; }
within() {
  local reserve=$1; shift
  if [ -n "$deadline" ]; then local l; l=$(secondsLeft); timeout -k 5 $((l > reserve + 1 ? l - reserve : 1)) "$@"; else "$@"; fi
}
if ! skipped bench; then
  echo "[gpu-all] bench/gpu.sh" >&2
  within 5 bash bench/gpu.sh --out "$out/bench" $([ "$small" = 1 ] && echo --small) > "$out/gpu-sh.log" 2>&1 || failed+=("gpu.sh (see gpu-sh.log)")
  echo "[gpu-all]   done at $((SECONDS - start)) s" >&2
fi

# With --deadline: what is left of it after the benchmark, less the trainings' reserve.
if [ -n "$deadline" ]; then
  left=$((deadline - (SECONDS - start) - 90))
  if [ "$left" -lt "$trainSeconds" ]; then
    echo "[gpu-all] --deadline $deadline: the trainings get $((left > 0 ? left : 0)) s of their $trainSeconds" >&2
    trainSeconds=$((left > 0 ? left : 0))
  fi
fi

# Trains NAME for --train-seconds, counted from its first step (loading the data and compiling
# come before, and take long on a software adapter), then interrupts it (SIGINT saves and exits
# 130) and evaluates what it saved.
train() {
  local name=$1; shift
  local run="$out/$name" log="$out/$name-train.jsonl"
  node bin/webgpu-vae.mjs train "$@" --latent 10 --epochs 1000 --save-every 500 --seed 0 \
    --json --out "$run" --force > "$log" 2> "$out/$name-train.log" &
  local pid=$! t
  # The start record comes once the model is built, just before the first step. With a deadline
  # the run is interrupted, started or not, with 60 s left for the interrupt, eval and pictures.
  while kill -0 "$pid" 2> /dev/null && ! grep -q '"event":"start"' "$log" && [ "$(secondsLeft)" -gt 60 ]; do sleep 1; done
  for ((t = 0; t < trainSeconds; t++)); do kill -0 "$pid" 2> /dev/null && [ "$(secondsLeft)" -gt 60 ] || break; sleep 1; done
  kill -INT "$pid" 2> /dev/null
  # A run that ignores the interrupt for two minutes (or what the deadline leaves) is killed
  # (and reported: exit 137).
  local grace=120 left
  left=$(secondsLeft)
  [ -n "$deadline" ] && grace=$((left - 40 < 5 ? 5 : left - 40 > 120 ? 120 : left - 40))
  for ((t = 0; t < grace; t++)); do kill -0 "$pid" 2> /dev/null || break; sleep 1; done
  kill -KILL "$pid" 2> /dev/null
  wait "$pid"
  local rc=$?
  if [ "$rc" != 0 ] && [ "$rc" != 130 ]; then echo "$name: train exited $rc" >> "$out/failures"; return; fi
  if [ ! -f "$run/model.safetensors" ]; then echo "$name: no checkpoint was written (see $name-train.log)" >> "$out/failures"; return; fi
  within 5 node bin/webgpu-vae.mjs eval --checkpoint "$run/model.safetensors" --json > "$out/$name-eval.jsonl" 2>> "$out/$name-train.log" \
    || echo "$name: eval failed" >> "$out/failures"
}
if ! skipped grey; then
  train dsprites-tcvae-32 --dataset dsprites --arch conv "${grey[@]}" --objective tcvae --beta 6 &
fi
if ! skipped colour; then
  train dsprites-colour --dataset dsprites-color --arch conv "${colour[@]}" &
fi
if ! skipped tests; then
  # Stopped at the deadline less the pictures' 30 s.
  within 30 node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile="$out/vitest.json" > "$out/vitest.log" 2>&1 \
    || echo "tests: vitest failed or was stopped at the deadline (see vitest.log)" >> "$out/failures" &
fi
wait
echo "[gpu-all] trainings and tests done at $((SECONDS - start)) s" >&2

# The pictures, one model after the other (each a few seconds on a GPU).
if ! skipped grey && [ -f "$out/dsprites-tcvae-32/model.safetensors" ]; then
  within 5 node bin/webgpu-vae.mjs traverse --checkpoint "$out/dsprites-tcvae-32/model.safetensors" --dataset dsprites --limit "$factorLimit" \
    --out "$out/dsprites-tcvae-32-traversal.png" --json > "$out/dsprites-tcvae-32-traverse.jsonl" || failed+=("grey traversal")
  within 5 node bin/webgpu-vae.mjs reconstruct --checkpoint "$out/dsprites-tcvae-32/model.safetensors" --dataset dsprites --n "$pictures" \
    --out "$out/dsprites-tcvae-32-reconstructions.png" --json > "$out/dsprites-tcvae-32-reconstruct.jsonl" || failed+=("grey reconstructions")
fi
if ! skipped colour && [ -f "$out/dsprites-colour/model.safetensors" ]; then
  within 5 node bin/webgpu-vae.mjs reconstruct --checkpoint "$out/dsprites-colour/model.safetensors" --dataset dsprites-color --n "$pictures" \
    --out "$out/dsprites-colour-reconstructions.png" --json > "$out/dsprites-colour-reconstruct.jsonl" || failed+=("colour reconstructions")
fi
[ -f "$out/failures" ] && mapfile -t -O "${#failed[@]}" failed < "$out/failures"
echo "[gpu-all] finished in $((SECONDS - start)) s; everything is in $out" >&2
if [ ${#failed[@]} != 0 ]; then
  echo "[gpu-all] ${#failed[@]} part(s) failed:" >&2
  printf '[gpu-all]   %s\n' "${failed[@]}" >&2
  exit 1
fi
