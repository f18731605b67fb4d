// The register bodies of the matmul family (shaders/matmul.ts has the factory, the epilogue and
// the column sum; matmul-tiled.ts the workgroup-memory bodies for GPUs).
//
// Variant `register` (default on software adapters): no workgroup memory and no barriers, which
// are slow on SwiftShader (a CPU, where every storage load costs ~20x an fma and a barrier ~500x);
// each invocation owns a TM x TN block of C held in scalar registers and streams A and B straight
// from storage, with the k loop unrolled UNROLL_K times. Big blocks are what make it fast: each
// step loads TM + TN values for TM * TN fmas. Loads are clamped to the last row/column so the
// inner loop has no branches; only the final stores are guarded, so unaligned shapes cost nothing
// extra.
// Variant `register-subgroup` (fastest on SwiftShader; needs the `subgroups` feature): the same,
// but a workgroup is one 4-lane subgroup (a quad) that shares a strip of B. Lane l owns rows
// row0 + l + 4i (i < TM) of a 4*TM x TN block; per k step it loads its TM values of A and TN/4 of
// the strip of B, and gets the rest of the strip from the other lanes with quadSwapX/Y/Diagonal
// (cheaper than subgroupBroadcast on SwiftShader), so a step costs TM + TN/4 loads for TM * TN fmas. A lane
// holds the strip's columns in its own order (slot 4q + s is column 4q + (l ^ s)), which the
// stores undo. The lane is subgroup_invocation_id, and a workgroup of 4 invocations is one quad on
// any adapter (WebGPU subgroups have at least 4 lanes), so this is correct whatever the adapter's
// subgroup size; with no early return, all 4 lanes reach every swap. With `subgroups: false` it
// falls back to `register`.
import { ConfigError } from './errors';
import { cIndex, loadAs32, matmulBlocksWGSL, storeC, type MatmulDims, type MatmulParams, type MatmulTile } from './matmul';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The WGSL of a `register` or `register-subgroup` kernel of `p` with tile `t`. */
export function registerBody(p: MatmulParams, t: MatmulTile, d: MatmulDims): string {
  const { TM, TN, WGX, WGY, LANES, UNROLL_K } = t;
  const BM = TM * WGY * LANES, BN = (TN * WGX) / LANES;
  const sg = LANES > 1;
  if (sg && (WGX * WGY !== LANES || LANES !== 4 || TN % LANES)) throw new ConfigError('matmul: a register-subgroup workgroup must be one 4-lane subgroup');
  // u times a dimension, folded to one literal when the dimension is one.
  const times = (u: number, dim: 'M' | 'N', value: number) => (d.generic ? `${u}u * ${d[dim]}` : `${u * value}u`);
  const lastRow = d.generic ? `(${d.M} - 1u)` : `${p.M - 1}u`, lastCol = d.generic ? `(${d.N} - 1u)` : `${p.N - 1}u`;
  const rows = range(TM), cols = range(TN);
  // Per k step u a lane loads a_i (its TM rows of A) and b_j (its TN columns of B), or with
  // subgroups lb_q, its quarter of the strip of B (column col0 + 4 q + lane), and gets the other
  // three columns of each group of 4 from its quad neighbours with quadSwapX/Y/Diagonal: slot
  // j = 4 q + s then holds column col0 + 4 q + (lane ^ s), a lane-dependent order the final stores
  // undo. Measured on SwiftShader, swaps in place of subgroupBroadcast saved 10-20% of the kernel.
  const bLoads = sg ? range(TN / LANES) : cols;
  const rowStep = sg ? LANES : 1;
  const swaps = ['', 'quadSwapX', 'quadSwapY', 'quadSwapDiagonal'];
  const bSlot = (j: number, u: number) => (j % 4 === 0 ? `lb${j / 4}_${u}` : `${swaps[j % 4]}(lb${(j - (j % 4)) / 4}_${u})`);
  // Element offsets; r_i, c_j are premultiplied by the row stride of A / B where it applies.
  // The k of unrolled step u, and k times M or N. Dense: k + u, with kM and kN premultiplied once
  // per iteration. Listed (`skipZeros`): the u-th listed k, whose multiples each step computes.
  const kPlain = (u: number, listed: boolean) => (listed ? `k_${u}` : `k${u ? ` + ${u}u` : ''}`);
  const kTimes = (u: number, dim: 'M' | 'N', listed: boolean) => (listed ? `k${dim}_${u}` : `k${dim}${u ? ` + ${times(u, dim, p[dim])}` : ''}`);
  const aAt = (i: number, u: number, listed: boolean) => loadAs32(p, 'a', p.transA ? `r${i} + ${kTimes(u, 'M', listed)}` : `r${i} + ${kPlain(u, listed)}`);
  const bAt = (j: number, u: number, listed: boolean) => loadAs32(p, 'b', p.transB ? `c${j} + ${kPlain(u, listed)}` : `c${j} + ${kTimes(u, 'N', listed)}`);
  const loads = (u: number, listed = false) => [
    ...rows.map((i) => `    let a${i}_${u} = ${aAt(i, u, listed)};`),
    ...bLoads.map((j) => `    let ${sg ? 'lb' : 'b'}${j}_${u} = ${bAt(j, u, listed)};`),
    ...(sg ? cols.map((j) => `    let b${j}_${u} = ${bSlot(j, u)};`) : []),
  ];
  // All loads of the n unrolled k steps first, then each accumulator's n fmas back to back: the
  // accumulators (TM * TN of them) cannot all stay in a CPU's registers, and this way each one
  // is loaded and stored once per n fmas instead of once per fma (5-10% faster on SwiftShader).
  const fmas = (n: number) => rows.flatMap((i) => cols.map((j) => `    ${range(n).map((u) => `acc${i}_${j} = fma(a${i}_${u}, b${j}_${u}, acc${i}_${j});`).join(' ')}`));
  const kSteps = (k: string, n: number) => [
    `    let k = ${k};${p.transA ? ` let kM = k * ${d.M};` : ''}${p.transB ? '' : ` let kN = k * ${d.N};`}`,
    ...range(n).flatMap((u) => loads(u)),
    ...fmas(n),
  ].join('\n');
  // n listed steps from position `t` of this block's list.
  const listedSteps = (t: string, n: number) => [
    ...range(n).map((u) => `    let k_${u} = steps[listed_at + ${t}${u ? ` + ${u}u` : ''}];${p.transA ? ` let kM_${u} = k_${u} * ${d.M};` : ''}${p.transB ? '' : ` let kN_${u} = k_${u} * ${d.N};`}`),
    ...range(n).flatMap((u) => loads(u, true)),
    ...fmas(n),
  ].join('\n');
  // The block leaves its registers through one loop over a private array, so the epilogue (bias,
  // activation, act') appears once in the source instead of TM * TN times. Unrolled, those stores
  // were most of SwiftShader's compile time: the default model's five matmul pipelines took 1.13 s
  // to compile one after another, against under 0.22 s with the loop, and the step ran no slower
  // (first step 2.0 s -> 0.9 s; bench/RESULTS.md, "Compile time").
  const kMain = d.generic ? `(${d.K} - ${d.K} % ${UNROLL_K}u)` : `${p.K - (p.K % UNROLL_K)}u`;
  const needTail = UNROLL_K > 1 && (d.generic || p.K % UNROLL_K !== 0);
  const denseLoops = `  for (var k0 = 0u; k0 < ${kMain}; k0 += ${UNROLL_K}u) {
${kSteps('k0', UNROLL_K)}
  }
${needTail ? `  for (var k1 = ${kMain}; k1 < ${d.K}; k1++) {\n${kSteps('k1', 1)}\n  }` : ''}`;
  return `
@compute @workgroup_size(${WGX}, ${WGY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, ${sg ? '@builtin(subgroup_invocation_id) lane: u32' : '@builtin(local_invocation_id) lxy: vec3<u32>'}) {
  ${matmulBlocksWGSL(d, BN)}
${sg ? `  let row0 = row_block * ${BM}u + lane;
  let col0 = col_block * ${BN}u;`
: `  let row0 = row_block * ${BM}u + lxy.y * ${TM}u;
  let col0 = col_block * ${BN}u + lxy.x * ${TN}u;
  if (row0 >= ${d.M} || col0 >= ${d.N}) { return; }`}
${rows.map((i) => `  let r${i} = min(row0 + ${i * rowStep}u, ${lastRow})${p.transA ? '' : ` * ${d.K}`};`).join('\n')}
${bLoads.map((j) => `  let c${j} = min(col0 + ${sg ? `${j * LANES}u + lane` : `${j}u`}, ${lastCol})${p.transB ? ` * ${d.K}` : ''};`).join('\n')}
${rows.map((i) => `  ${cols.map((j) => `var acc${i}_${j} = 0.0;`).join(' ')}`).join('\n')}
${p.skipZeros ? zeroSkippingLoops(p, d, BM, UNROLL_K, denseLoops, listedSteps) : denseLoops}
  var out = array<f32, ${TM * TN}>(${rows.flatMap((i) => cols.map((j) => `acc${i}_${j}`)).join(', ')});
  for (var i = 0u; i < ${TM}u; i++) {
    let ro = row0 + i * ${rowStep}u;
    if (ro >= ${d.M}) { break; }
    for (var j = 0u; j < ${TN}u; j++) {
      let co = col0 + ${sg ? '(j & ~3u) + (lane ^ (j & 3u))' : 'j'};
      if (co < ${d.N}) { ${storeC(p, cIndex(p, d, 'ro', 'co'), `epilogue(out[i * ${TN}u + j], ro, co)`)} }
    }
  }
}`;
}

/**
 * The k loops of a `skipZeros` kernel: the dense loops where this block's list (matmul-zeros.ts)
 * holds every k, else loops over the listed k. The block (row_block for `a`, col_block for `b`)
 * is the workgroup's, so the count and the list are uniform: every lane takes the same branch and
 * the same trip count, which the quad swaps of `register-subgroup` need.
 */
function zeroSkippingLoops(p: MatmulParams, d: MatmulDims, BM: number, unroll: number, denseLoops: string, listedSteps: (t: string, n: number) => string): string {
  // A grid folded past the per-dimension limit has spare workgroups past the last row block
  // (they store nothing); clamped, they read a list that exists instead of an unwritten count.
  const block = p.skipZeros === 'a' ? `min(row_block, (${d.M} + ${BM - 1}u) / ${BM}u - 1u)` : 'col_block';
  const main = unroll > 1 ? `listed_count - listed_count % ${unroll}u` : 'listed_count';
  return `  let listed_at = ${block} * (${d.K} + 1u) + 1u;
  let listed_count = steps[listed_at - 1u];
  if (listed_count == ${d.K}) {
${denseLoops.replace(/^/gm, '  ')}
  } else {
    for (var t0 = 0u; t0 < ${main}; t0 += ${unroll}u) {
${listedSteps('t0', unroll).replace(/^/gm, '  ')}
    }
${unroll > 1 ? `    for (var t1 = ${main}; t1 < listed_count; t1++) {\n${listedSteps('t1', 1).replace(/^/gm, '  ')}\n    }` : ''}
  }`;
}
