#!/usr/bin/env bash
# One run of the GPU benchmarks, for a machine with a real GPU (under 5 minutes there):
#   1. the step comparison with TF.js at batch 128 and at 4096 (each in a fresh process, so its
#      first_step_ms is a cold start: pipeline compilation included), with our step's per-kernel
#      GPU times beside its wall time (is the step bound by dispatch?);
#   1b. our step at both batches again with shape-generic matmuls (sizes in a uniform, as on
#      software adapters), against the GPU's specialized default: whether the GPU can take the
#      generic kernels, which compile fewer pipelines and draw any row count in its own plan;
#   2. the batch sweep 32..4096 (ours);
#   3. the matmul table for every variant, including a 4096^3 product, in GFLOP/s and as a share of
#      the GPU's fp32 peak (a small table of known GPUs in bench/gpu-report.ts, or --peak-gflops);
#   3a. in Node, the square product again without WebGPU's bounds checks on our shaders
#       (--bounds-checks off; rows labelled 'unchecked'): what the checks cost a GPU's matmul;
#   3b. the tile ladder on the same square product: every workgroup-memory tile that --autotune
#      full tries (bench/matmul-ladder.ts), fastest first;
#   4. the measured arithmetic ceiling (bench --peak), the % base where the GPU is not in the table;
#   5. the step with --autotune quick, to record the autotuner's choice;
#   6. our step at the large batch with --precision f16 (skipped, with a note, where the adapter has
#      no shader-f16);
#   7. the convolution table (bench/conv.ts: every method against TF.js on the 3x64x64 conv VAE's
#      convolutions at batch 64) and the MNIST conv VAE's step against TF.js (bench/conv-step.ts),
#      in Node;
#   8. the dSprites conv VAE's train graph (1x64x64, four 16-channel convolutions, dense 256, batch
#      64: bench/conv-model.ts) under the defaults and under one method for every layer;
#   9. the same model (as a beta-TCVAE) trained by the command line for 1000 steps
#      (bench/train-rate.ts): the step rate a long run gets, beside the graph's GPU time.
# Writes bench/results/<gpu-name>.json (every record) and bench/results/<gpu-name>.md (the tables).
#
#   bash bench/gpu.sh [--small] [--peak-gflops N] [--out DIR] [--env node|chromium]
#
# --small runs the same parts at sizes SwiftShader finishes in a few minutes (one batch,
# 32, for the steps; the sweep over 32 and 64; the matmul table on a 64^3 square only, and
# unchecked for two variants), which is
# how tests/gpu-sh.test.ts keeps this script working on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."

small=0 peak="" out="bench/results" env="node"
while [ $# -gt 0 ]; do
  case "$1" in
    --small) small=1 ;;
    --peak-gflops) peak="$2"; shift ;;
    --out) out="$2"; shift ;;
    --env) env="${2:-}"; shift
      case "$env" in node|chromium) ;; *) echo "gpu.sh: --env takes node or chromium, got '$env'" >&2; exit 2 ;; esac ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    *) echo "gpu.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$small" = 1 ]; then
  batches=(32); sweep="32,64"; square=64; products=(--matmul-batches 0)
  # Two variants keep the unchecked path tested; each variant is another compile on SwiftShader.
  unchecked=(--matmul-variants register,tiled-vec4)
  timing=(--steps 2 --blocks 2 --rounds 1 --warmup 1 --examples 256)
  convs=(--batch=2 --image=3,16,16 --channels=4,8 --reps=1 --warmup=1); convStep=(--batch=16 --channels=4,8 --steps=1 --warmup=0)
  ladder=(--square=32 --reps=1 --warmup=0 --limit=3)
  convModel=(--image=1,16,16 --channels=4,8 --dense=none --batch=2 --methods=defaults,direct --rounds=1)
  trainRate=(--steps=4 --batch=16)
else
  batches=(128 4096); sweep="32,64,128,256,512,1024,2048,4096"; square=4096; products=(--matmul-batches 128,1024)
  unchecked=()
  timing=(--steps 10 --blocks 5 --rounds 3 --warmup 3 --examples 8192)
  convs=(--reps=5); convStep=(--steps=10 --warmup=2)
  ladder=(--square=4096 --reps=5 --warmup=1)
  convModel=(--methods=defaults,implicit-gemm,direct,im2col --rounds=3)
  trainRate=(--steps=1000 --batch=64)
fi

mkdir -p "$out"
# Records are appended as each part ends, so a run stopped part-way (a time limit, a crash) keeps
# what it measured; a part that fails is named and the others still run.
records="$out/records-in-progress.jsonl"
: > "$records"
failed=()
finish() {
  local rc=$?
  if [ "$rc" = 0 ] && [ ${#failed[@]} = 0 ]; then rm -f "$records"; return; fi
  echo "[gpu.sh] incomplete run: the records so far are in $records;" \
    "tabulate them with: node_modules/.bin/tsx bench/gpu-report.ts --records $records --out $out" >&2
}
trap finish EXIT
part() {
  echo "[gpu.sh] $*" >&2
  local t0=$SECONDS
  if "$@" >> "$records"; then echo "[gpu.sh]   done in $((SECONDS - t0)) s" >&2
  else echo "[gpu.sh]   FAILED after $((SECONDS - t0)) s: $*" >&2; failed+=("$*"); fi
}
bench() { part node bin/bench.mjs --json --env "$env" "$@"; }

start=$SECONDS
for b in "${batches[@]}"; do bench --step --profile --batch "$b" "${timing[@]}"; done
for b in "${batches[@]}"; do bench --step --impl ours --matmul-shapes generic --batch "$b" "${timing[@]}"; done
# Each sweep size runs max(2, examples / batch) steps in one timed block ending in a read-back.
bench --sweep "$sweep" --impl ours "${timing[@]}" --sweep-examples $((small ? 128 : 262144))
bench --matmul --matmul-square "$square" "${products[@]}"
if [ "$env" = node ]; then bench --matmul --matmul-square "$square" --matmul-batches 0 --bounds-checks off ${unchecked[@]+"${unchecked[@]}"}; fi
bench --peak
bench --step --impl ours --autotune quick --batch "${batches[0]}" "${timing[@]}"
bench --step --impl ours --precision f16 --batch "${batches[-1]}" "${timing[@]}"
jsonLines() { node_modules/.bin/tsx "$@" --json | grep '^{'; }
script() { part jsonLines "$@"; }
script bench/matmul-ladder.ts "${ladder[@]}"
script bench/conv.ts "${convs[@]}"
script bench/conv-step.ts "${convStep[@]}"
script bench/conv-model.ts "${convModel[@]}"
script bench/train-rate.ts "${trainRate[@]}"
echo "[gpu.sh] benchmarks took $((SECONDS - start)) s" >&2

node_modules/.bin/tsx bench/gpu-report.ts --records "$records" --out "$out" ${peak:+--peak-gflops "$peak"} --seconds $((SECONDS - start))
if [ ${#failed[@]} != 0 ]; then
  echo "[gpu.sh] ${#failed[@]} part(s) failed:" >&2
  printf '[gpu.sh]   %s\n' "${failed[@]}" >&2
  exit 1
fi
