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
// A block whose list holds every k walks it like any other (faster on SwiftShader than a branch to
// the dense loop: matmul-register.ts), so dense data costs one list and one load per k.
// On SwiftShader (bench/RESULTS.md, "Skipping the input's zeros"), a branch on each k step cost
// more than it saved: the lane masks of the 64 accumulators outweigh the skipped fmas.
//
// Layout of `steps` (u32): for block g, steps[g * (K + 1)] is the count n, and
// steps[g * (K + 1) + 1 .. + n] the k themselves.
// Bindings: x (read) the operand, as the product stores it; steps (write); dims (uniform
// NonzeroDims, shape-generic only).
// Grid: one workgroup of NONZERO_WORKGROUP invocations per block (grid1D, folded into y past the
// per-dimension limit). Invocation t flags the k = t, t + NONZERO_WORKGROUP, ... at which the
// block has a non-zero, in place (steps[base + 1 + k] = 0 or 1); after a storage barrier the
// first invocation compacts the flags into the list, in place too (it writes position n <= k
// after reading flag k). The flags are the work (K x block values); the compaction reads K words.
import { ConfigError } from './errors';
import { checkShape, declareBindings, grid1D, minBindingBytes, read, uniform, write, type Kernel } from './common';
import { uniformStruct } from './uniform';
import { wgsl } from './wgsl';

/**
 * Invocations per workgroup of `nonzeroSteps`, which share one block's k: one SIMD group of a
 * software adapter, whose barrier then costs nothing. With one invocation walking a whole block,
 * MNIST's forward list (4 blocks of 32 pictures x 784 pixels) was one SIMD group on one of
 * SwiftShader's threads, the other idle. Measured alone (Node, an MNIST batch, medians of 15
 * alternating rounds, three runs): the forward list took 0.40-0.44x the time of the
 * one-invocation-per-block kernel, the weight gradient's (25 blocks of 32 pixels x 128 pictures)
 * 0.77-0.99x; workgroups of 16 or 64 made that one 1.06x and 2.1x (one run each: a barrier
 * between SIMD groups switches them on SwiftShader).
 */
export const NONZERO_WORKGROUP = 4;

/**
 * The widest block whose rows `nonzeroSteps` tests without a loop: unrolled, MNIST's two lists (32
 * rows or columns) took 0.63-0.69x the time of the loop over rows (three alternating runs).
 */
const NONZERO_UNROLLED_BLOCK = 64;

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
  // Whether any of the block's rows is non-zero at k: unrolled up to NONZERO_UNROLLED_BLOCK rows (a
  // loop's lane masks cost SwiftShader more than its loads), rows past G reading the last one again.
  const rowsTest = p.block <= NONZERO_UNROLLED_BLOCK
    ? `      let any_nonzero = ${Array.from({ length: p.block }, (_, r) => `(x[${at(`min(first + ${r}u, last - 1u)`, 'k')}] != 0.0)`).join(' |\n        ')};`
    : `      var any_nonzero = false;
      for (var i = first; i < last; i++) { any_nonzero = any_nonzero | (x[${at('i', 'k')}] != 0.0); }`;
  const code = wgsl`
#if ${!!p.generic}
${NONZERO_DIMS.wgsl}
#endif
${declareBindings(bindings)}

@compute @workgroup_size(${NONZERO_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let g = wid.x + wid.y * nwg.x;
  let first = g * ${p.block}u;
  // No return before the barrier, which every invocation of the workgroup must reach; a spare
  // workgroup of a folded grid (past the last block) does nothing.
  let live = first < ${G};
  let last = min(first + ${p.block}u, ${G});
  let base = g * (${K} + 1u);
  if (live) {
    for (var k = t; k < ${K}; k += ${NONZERO_WORKGROUP}u) {
${rowsTest}
      steps[base + 1u + k] = select(0u, 1u, any_nonzero);
    }
  }
  storageBarrier();
  if (live && t == 0u) {
    var n = 0u;
    for (var k = 0u; k < ${K}; k++) {
      if (steps[base + 1u + k] != 0u) {
        steps[base + 1u + n] = k;
        n++;
      }
    }
    steps[base] = n;
  }
}`;
  const blocks = Math.ceil(p.G / p.block);
  return {
    name: `nonzero_steps_${p.layout}${p.generic ? '_generic' : ''}`,
    code,
    bindings,
    minBytes: minBindingBytes(bindings, { x: p.G * p.K, steps: nonzeroStepsWords(p) }, { NonzeroDims: NONZERO_DIMS.bytes }),
    workgroups: grid1D(blocks * NONZERO_WORKGROUP, NONZERO_WORKGROUP),
    ...(p.generic ? { constants: { dims: new Uint32Array(NONZERO_DIMS.encode({ g: p.G, k: p.K })) } } : {}),
  };
}
