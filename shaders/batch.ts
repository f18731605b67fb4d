// Batch assembly on the GPU: the dataset stays resident as packed u8 pixels (4 per u32), a
// permutation of example indices is uploaded once per epoch, and each step gathers its rows
// perm[batch_start + r] into x[rows, D] as grey levels / 255. Rows past the end of the dataset
// (the last, partial batch) are zero and excluded from the loss through params.valid_rows.
// Bindings: params (uniform), pixels (read, u32), perm (read, u32), x (write).
// Grid: one invocation per element of x, or, when D is a multiple of 4 (MNIST's 784), per 4
// elements: every row then starts on a word boundary, so one u32 load brings 4 pixels, which saves
// 3 of every 4 loads and index divisions (each a per-lane gather on a CPU adapter).
import { FLAT_INDEX_WGSL, grid1D, STEP_PARAMS_WGSL, type Kernel } from './common';
import { wgsl } from './wgsl';

const GATHER_WORKGROUP = 256;

export interface GatherParams { rows: number; dim: number }

export function gatherBatch(p: GatherParams): Kernel<void> {
  const { rows, dim: D } = p;
  const perWord = D % 4 === 0;
  /** Invocations per row: one per pixel, or one per word of 4 pixels. */
  const W = perWord ? D / 4 : D;
  const code = wgsl`
${STEP_PARAMS_WGSL}
@group(0) @binding(0) var<uniform> params: StepParams;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> perm: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(${GATHER_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${FLAT_INDEX_WGSL(GATHER_WORKGROUP)};
  if (i >= ${rows * W}u) { return; }
  let r = i / ${W}u;
  let slot = params.batch_start + r;
  let real = r < params.valid_rows && slot < params.dataset_count;
#if ${perWord}
  var levels = vec4<f32>(0.0);
  if (real) {
    let word = pixels[perm[slot] * ${W}u + i % ${W}u];
    levels = vec4<f32>(f32(word & 0xffu), f32((word >> 8u) & 0xffu), f32((word >> 16u) & 0xffu), f32(word >> 24u)) / 255.0;
  }
  x[4u * i] = levels.x;
  x[4u * i + 1u] = levels.y;
  x[4u * i + 2u] = levels.z;
  x[4u * i + 3u] = levels.w;
#else
  var value = 0.0;
  if (real) {
    let pixel = perm[slot] * ${D}u + i % ${D}u;
    value = f32((pixels[pixel >> 2u] >> ((pixel & 3u) * 8u)) & 0xffu) / 255.0;
  }
  x[i] = value;
#endif
}`;
  return {
    name: 'gather_batch',
    code,
    bindings: [
      { name: 'params', kind: 'uniform' }, { name: 'pixels', kind: 'read' },
      { name: 'perm', kind: 'read' }, { name: 'x', kind: 'write' },
    ],
    dispatch: () => grid1D(rows * W, GATHER_WORKGROUP),
  };
}
