// Zero skipping for the register matmuls: the k steps of a block of C that only multiply zeros of
// one operand, left out of its sum.
//
// A picture's background is exact zeros: 81% of MNIST's pixels, and in a block of 16 pictures
// about half of the (block, pixel) pairs are zero in every one of them. The first layer's forward
// (X W^T, X the operand `a`) and its weight gradient (dY^T X, X the operand `b`) spend those k
// steps adding 0 * w. `nonzeroSteps` lists, for each block of the product's rows (`a`) or
// columns (`b`), the k at which that block of the operand has a non-zero, in increasing order;
// a matmul with `skipZeros` walks only those (matmul-register.ts). Dropping terms that are exact
// zeros leaves every fma of the sum in its place, so C is bit for bit the dense product's
// wherever the other operand is finite (0 * Inf or 0 * NaN would have made the dense sum NaN).
// A block whose list holds every k runs the dense loop, so dense data costs one list and one
// uniform branch.
// On SwiftShader (bench/RESULTS.md, "Skipping the input's zeros"), a branch on each k step cost
// more than it saved: the lane masks of the 64 accumulators outweigh the skipped fmas.
//
// Layout of `steps` (u32): for block g, steps[g * (K + 1)] is the count n, and
// steps[g * (K + 1) + 1 .. + n] the k themselves.
// Bindings: x (read) the operand, as the product stores it; steps (write); dims (uniform
// NonzeroDims, shape-generic only).
// Grid: one invocation per block, NONZERO_WORKGROUP to a workgroup (grid1D, folded into y past
// the per-dimension limit); each walks its K x block values serially.
import { ConfigError } from './errors';
import { checkShape, declareBindings, FLAT_INDEX_WGSL, grid1D, minBindingBytes, read, uniform, write, type Kernel } from './common';
import { uniformStruct } from './uniform';
import { wgsl } from './wgsl';

/**
 * Invocations per workgroup of `nonzeroSteps`: one SIMD group of a software adapter, which runs a
 * workgroup on one thread. MNIST's forward at batch 128 has 8 blocks; in one workgroup of 64 its
 * list took 0.8-1.5 ms on SwiftShader, in workgroups of 4 (spread over the cores) 0.66-0.8 ms.
 */
export const NONZERO_WORKGROUP = 4;

/** Which operand of a matmul has its zero steps skipped: A (blocks of rows) or B (blocks of columns). */
export type ZeroSkipOperand = 'a' | 'b';
export const ZERO_SKIP_OPERANDS: readonly ZeroSkipOperand[] = ['a', 'b'];

export interface NonzeroStepsParams {
  /** The operand's side that the product's blocks split (M for `a`, N for `b`), and its k side. */
  G: number;
  K: number;
  /** How the operand is stored: [G, K] row-major (`gk`: A, or B with transB) or [K, G] (`kg`: A with transA, or B). */
  layout: 'gk' | 'kg';
  /** Rows (or columns) of the operand per block: the product's BM (or BN). */
  block: number;
  /** Read G and K from the uniform `dims` (filled by the runtime from `constants`), as a shape-generic matmul does. */
  generic?: boolean;
}

/** u32 words of a `steps` list for this operand shape: one count and up to K steps per block. */
export function nonzeroStepsWords(p: Pick<NonzeroStepsParams, 'G' | 'K' | 'block'>): number {
  return Math.ceil(p.G / p.block) * (p.K + 1);
}

/** A shape-generic list's sizes, in its `dims` uniform (the runtime fills it from `constants`). */
const NONZERO_DIMS = uniformStruct('NonzeroDims', [
  ['g', 'u32', 'rows (gk) or columns (kg) of the operand'],
  ['k', 'u32', 'the sum\'s length'],
] as const);

/** Lists, for every block of `block` rows (or columns) of the operand, the k at which it has a non-zero. */
export function nonzeroSteps(p: NonzeroStepsParams): Kernel {
  checkShape('nonzero_steps', { G: p.G, K: p.K, block: p.block });
  if (p.layout !== 'gk' && p.layout !== 'kg') throw new ConfigError(`nonzero_steps: layout '${String(p.layout)}'; use 'gk' ([G, K] row-major) or 'kg' ([K, G])`);
  const G = p.generic ? 'dims.g' : `${p.G}u`, K = p.generic ? 'dims.k' : `${p.K}u`;
  const at = (i: string, k: string) => (p.layout === 'gk' ? `${i} * ${K} + ${k}` : `${k} * ${G} + ${i}`);
  const bindings = [read('x'), write('steps', 'array<u32>'), ...(p.generic ? [uniform('dims', 'NonzeroDims')] : [])];
  const code = wgsl`
#if ${!!p.generic}
${NONZERO_DIMS.wgsl}
#endif
${declareBindings(bindings)}

@compute @workgroup_size(${NONZERO_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = ${FLAT_INDEX_WGSL(NONZERO_WORKGROUP)};
  let first = g * ${p.block}u;
  if (first >= ${G}) { return; }
  let last = min(first + ${p.block}u, ${G});
  let base = g * (${K} + 1u);
  var n = 0u;
  for (var k = 0u; k < ${K}; k++) {
    var any_nonzero = false;
    for (var i = first; i < last; i++) { any_nonzero = any_nonzero | (x[${at('i', 'k')}] != 0.0); }
    if (any_nonzero) {
      steps[base + 1u + n] = k;
      n++;
    }
  }
  steps[base] = n;
}`;
  const blocks = Math.ceil(p.G / p.block);
  return {
    name: `nonzero_steps_${p.layout}${p.generic ? '_generic' : ''}`,
    code,
    bindings,
    minBytes: minBindingBytes(bindings, { x: p.G * p.K, steps: nonzeroStepsWords(p) }, { NonzeroDims: NONZERO_DIMS.bytes }),
    workgroups: grid1D(blocks, NONZERO_WORKGROUP),
    ...(p.generic ? { constants: { dims: new Uint32Array(NONZERO_DIMS.encode({ g: p.G, k: p.K })) } } : {}),
  };
}
