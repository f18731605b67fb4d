// Matrix multiply C[M,N] = op(A) op(B), with a fused epilogue, plus the column sum used for bias
// gradients. Forward and backward of a dense layer y = act(x W^T + b) (W stored [out, in], as
// PyTorch does) are all instances of it:
//   forward   Y  = act(X W^T + b)        transB, epilogue: + bias, act
//   dX        dX = (dY W) * act'(Xprev)  plain,  epilogue: * act_grad(y_prev) (the layer below)
//   dW        dW = dY^T X                transA
//   db        db = column_sum(dY)
// Storage: A is [M,K] (or [K,M] when transA), B is [K,N] (or [N,K] when transB), row-major f32.
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
// Variant `tiled` (default on GPUs): a workgroup stages TILE_K-deep slices of A and B in
// workgroup memory and each invocation accumulates a TM x TN block from them.
import { wgsl } from './wgsl';
import { activationWGSL, type Activation } from './activation';
import { checkShape, declareBindings, read, write, type Kernel } from './common';

export type MatmulVariant = 'register' | 'register-subgroup' | 'tiled';

/**
 * Block and workgroup sizes; the WGSL and the dispatch arithmetic both read these. TM x TN is one
 * invocation's block of C; LANES invocations (a subgroup) share a strip of B, so a workgroup
 * covers BM = TM * WGY * LANES rows and BN = TN * WGX / LANES columns (see `matmulBlock`).
 * UNROLL_K: k steps per loop iteration of the register variants; TILE_K: k depth staged by `tiled`.
 * Measured on SwiftShader: bigger blocks and unrolling run faster (16 x 32 with subgroups ran ~25%
 * faster than 8 x 16), but its compile time grows about quadratically with the block (16 x 32:
 * ~20 s per kernel, against ~2 s for 8 x 16), and every shape is a separate kernel.
 */
export const MATMUL_TILES = {
  register: { TM: 8, TN: 8, WGX: 4, WGY: 4, LANES: 1, UNROLL_K: 4, TILE_K: 0 },
  'register-subgroup': { TM: 8, TN: 16, WGX: 4, WGY: 1, LANES: 4, UNROLL_K: 4, TILE_K: 0 },
  tiled: { TM: 4, TN: 4, WGX: 16, WGY: 16, LANES: 1, UNROLL_K: 1, TILE_K: 16 },
} as const;

type Tile = (typeof MATMUL_TILES)[MatmulVariant];

/** Rows (BM) and columns (BN) of C that one workgroup of `variant` computes. */
export function matmulBlock(variant: MatmulVariant): { BM: number; BN: number } {
  const t: Tile = MATMUL_TILES[variant];
  return { BM: t.TM * t.WGY * t.LANES, BN: (t.TN * t.WGX) / t.LANES };
}

export interface MatmulShape { M: number; N: number; K: number }

export interface MatmulParams extends MatmulShape {
  transA?: boolean;
  transB?: boolean;
  /** Add bias[N] before the activation. */
  bias?: boolean;
  /** Activation applied in the epilogue (forward). */
  activation?: Activation;
  /** Multiply the result by act'(y[M,N]) of this activation (backward through the layer below). */
  gradActivation?: Activation;
  variant?: MatmulVariant;
  /**
   * Whether the device has the `subgroups` feature. Variants that use subgroups emit
   * `enable subgroups;` unless this is false, in which case they fall back to `register`.
   */
  subgroups?: boolean;
}

/** True for variants that use subgroup operations (and so need the `subgroups` feature). */
export function matmulVariantNeedsSubgroups(v: MatmulVariant): boolean {
  return MATMUL_TILES[v].LANES > 1;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Grid of a matmul: one workgroup per BM x BN block of C. */
export function matmulGrid(variant: MatmulVariant, s: MatmulShape): [number, number, number] {
  const { BM, BN } = matmulBlock(variant);
  return [Math.ceil(s.N / BN), Math.ceil(s.M / BM), 1];
}

export function matmul(p: MatmulParams): Kernel {
  const { M, N, K } = p;
  checkShape('matmul', { M, N, K });
  const requested = p.variant ?? 'register';
  const variant: MatmulVariant = matmulVariantNeedsSubgroups(requested) && p.subgroups === false ? 'register' : requested;
  const useSubgroups = matmulVariantNeedsSubgroups(variant);
  const act = p.activation ?? 'none';
  const gradAct = p.gradActivation ?? 'none';
  const hasBias = !!p.bias;
  const hasY = gradAct !== 'none';
  const t: Tile = MATMUL_TILES[variant];
  const bindings = [read('a'), read('b'), ...(hasBias ? [read('bias')] : []), ...(hasY ? [read('y')] : []), write('c')];
  const epilogue = wgsl`
${activationWGSL(act === 'none' ? gradAct : act)}
fn epilogue(v: f32, row: u32, col: u32) -> f32 {
  var s = v;
#if ${hasBias}
  s += bias[col];
#endif
#if ${act !== 'none'}
  s = act(s);
#endif
#if ${hasY}
  s *= act_grad(y[row * ${N}u + col]);
#endif
  return s;
}`;
  if (act !== 'none' && gradAct !== 'none') throw new Error('matmul: activation and gradActivation are exclusive');
  const body = variant === 'tiled' ? tiledBody(p) : registerBody(p, variant);
  const tag = `${p.transA ? 't' : 'n'}${p.transB ? 't' : 'n'}`;
  return {
    name: `matmul_${tag}${hasBias ? '_bias' : ''}${act !== 'none' ? '_' + act : ''}${hasY ? '_dact_' + gradAct : ''}_${variant}`,
    code: `${useSubgroups ? 'enable subgroups;\n' : ''}${declareBindings(bindings)}\n${epilogue}\n${body}`,
    bindings,
    workgroups: matmulGrid(variant, p),
  };
}

function registerBody(p: MatmulParams, variant: MatmulVariant): string {
  const { M, N, K } = p;
  const { TM, TN, WGX, WGY, LANES, UNROLL_K }: Tile = MATMUL_TILES[variant];
  const { BM, BN } = matmulBlock(variant);
  const sg = LANES > 1;
  if (sg && (WGX * WGY !== LANES || LANES !== 4 || TN % LANES)) throw new Error('matmul: a register-subgroup workgroup must be one 4-lane subgroup');
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
  const aAt = (i: number, u: number) => (p.transA ? `a[r${i} + kM${u ? ` + ${u * M}u` : ''}]` : `a[r${i} + k${u ? ` + ${u}u` : ''}]`);
  const bAt = (j: number, u: number) => (p.transB ? `b[c${j} + k${u ? ` + ${u}u` : ''}]` : `b[c${j} + kN${u ? ` + ${u * N}u` : ''}]`);
  const loads = (u: number) => [
    ...rows.map((i) => `    let a${i}_${u} = ${aAt(i, u)};`),
    ...bLoads.map((j) => `    let ${sg ? 'lb' : 'b'}${j}_${u} = ${bAt(j, u)};`),
    ...(sg ? cols.map((j) => `    let b${j}_${u} = ${bSlot(j, u)};`) : []),
  ];
  // All loads of the n unrolled k steps first, then each accumulator's n fmas back to back: the
  // accumulators (TM * TN of them) cannot all stay in a CPU's registers, and this way each one
  // is loaded and stored once per n fmas instead of once per fma (5-10% faster on SwiftShader).
  const kSteps = (k: string, n: number) => [
    `    let k = ${k};${p.transA ? ` let kM = k * ${M}u;` : ''}${p.transB ? '' : ` let kN = k * ${N}u;`}`,
    ...range(n).flatMap(loads),
    ...rows.flatMap((i) => cols.map((j) => `    ${range(n).map((u) => `acc${i}_${j} = fma(a${i}_${u}, b${j}_${u}, acc${i}_${j});`).join(' ')}`)),
  ].join('\n');
  const kMain = K - (K % UNROLL_K);
  return `
@compute @workgroup_size(${WGX}, ${WGY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, ${sg ? '@builtin(subgroup_invocation_id) lane: u32' : '@builtin(local_invocation_id) lxy: vec3<u32>'}) {
${sg ? `  let row0 = wid.y * ${BM}u + lane;
  let col0 = wid.x * ${BN}u;`
: `  let row0 = wid.y * ${BM}u + lxy.y * ${TM}u;
  let col0 = wid.x * ${BN}u + lxy.x * ${TN}u;
  if (row0 >= ${M}u || col0 >= ${N}u) { return; }`}
${rows.map((i) => `  let r${i} = min(row0 + ${i * rowStep}u, ${M - 1}u)${p.transA ? '' : ` * ${K}u`};`).join('\n')}
${bLoads.map((j) => `  let c${j} = min(col0 + ${sg ? `${j * LANES}u + lane` : `${j}u`}, ${N - 1}u)${p.transB ? ` * ${K}u` : ''};`).join('\n')}
${rows.map((i) => `  ${cols.map((j) => `var acc${i}_${j} = 0.0;`).join(' ')}`).join('\n')}
  for (var k0 = 0u; k0 < ${kMain}u; k0 += ${UNROLL_K}u) {
${kSteps('k0', UNROLL_K)}
  }
${K % UNROLL_K ? `  for (var k1 = ${kMain}u; k1 < ${K}u; k1++) {\n${kSteps('k1', 1)}\n  }` : ''}
${rows.map((i) => `  let ro${i} = row0 + ${i * rowStep}u;`).join('\n')}
${cols.map((j) => `  let co${j} = col0 + ${sg ? `${j - (j % 4)}u + (lane ^ ${j % 4}u)` : `${j}u`};`).join('\n')}
${rows.map((i) => cols.map((j) => `  if (ro${i} < ${M}u && co${j} < ${N}u) { c[ro${i} * ${N}u + co${j}] = epilogue(acc${i}_${j}, ro${i}, co${j}); }`).join('\n')).join('\n')}
}`;
}

function tiledBody(p: MatmulParams): string {
  const { M, N, K } = p;
  const { TM, TN, WGX, WGY, TILE_K } = MATMUL_TILES.tiled;
  const BM = TM * WGY, BN = TN * WGX;
  const threads = WGX * WGY;
  // Element (row, k) of op(A) and (k, col) of op(B), zero outside the matrix.
  const aAt = p.transA ? `a[kk * ${M}u + rr]` : `a[rr * ${K}u + kk]`;
  const bAt = p.transB ? `b[cc * ${K}u + kk]` : `b[kk * ${N}u + cc]`;
  return `
var<workgroup> tileA: array<f32, ${BM * TILE_K}>;   // [TILE_K][BM]
var<workgroup> tileB: array<f32, ${BN * TILE_K}>;   // [TILE_K][BN]

@compute @workgroup_size(${WGX}, ${WGY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(local_invocation_id) lxy: vec3<u32>) {
  let blockRow = wid.y * ${BM}u;
  let blockCol = wid.x * ${BN}u;
  var acc: array<f32, ${TM * TN}>;
  for (var k0 = 0u; k0 < ${K}u; k0 += ${TILE_K}u) {
    for (var e = lid; e < ${BM * TILE_K}u; e += ${threads}u) {
      let kk = k0 + e / ${BM}u;
      let rr = blockRow + e % ${BM}u;
      var v = 0.0;
      if (kk < ${K}u && rr < ${M}u) { v = ${aAt}; }
      tileA[e] = v;
    }
    for (var e = lid; e < ${BN * TILE_K}u; e += ${threads}u) {
      let kk = k0 + e / ${BN}u;
      let cc = blockCol + e % ${BN}u;
      var v = 0.0;
      if (kk < ${K}u && cc < ${N}u) { v = ${bAt}; }
      tileB[e] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < ${TILE_K}u; k++) {
      var av: array<f32, ${TM}>;
      var bv: array<f32, ${TN}>;
      for (var i = 0u; i < ${TM}u; i++) { av[i] = tileA[k * ${BM}u + lxy.y * ${TM}u + i]; }
      for (var j = 0u; j < ${TN}u; j++) { bv[j] = tileB[k * ${BN}u + lxy.x * ${TN}u + j]; }
      for (var i = 0u; i < ${TM}u; i++) {
        for (var j = 0u; j < ${TN}u; j++) { acc[i * ${TN}u + j] = fma(av[i], bv[j], acc[i * ${TN}u + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${TM}u; i++) {
    for (var j = 0u; j < ${TN}u; j++) {
      let row = blockRow + lxy.y * ${TM}u + i;
      let col = blockCol + lxy.x * ${TN}u + j;
      if (row < ${M}u && col < ${N}u) { c[row * ${N}u + col] = epilogue(acc[i * ${TN}u + j], row, col); }
    }
  }
}`;
}

const COLUMN_SUM_WORKGROUP = 64;

export interface ColumnSumShape { rows: number; cols: number }

/** out[n] = sum over rows m of x[m, n] (bias gradients; learned per-pixel scale gradients). */
export function columnSum(p: ColumnSumShape): Kernel {
  checkShape('column_sum', { rows: p.rows, cols: p.cols });
  const bindings = [read('x'), write('out')];
  const code = `
${declareBindings(bindings)}

@compute @workgroup_size(${COLUMN_SUM_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x;
  if (col >= ${p.cols}u) { return; }
  var s = 0.0;
  for (var m = 0u; m < ${p.rows}u; m++) { s += x[m * ${p.cols}u + col]; }
  out[col] = s;
}`;
  return {
    name: 'column_sum',
    code,
    bindings,
    workgroups: [Math.ceil(p.cols / COLUMN_SUM_WORKGROUP), 1, 1],
  };
}
