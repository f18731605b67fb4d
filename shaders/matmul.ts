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
// are slow on SwiftShader; each invocation owns a TM x TN block of C held in registers and streams
// A and B straight from storage. Loads are clamped to the last row/column so the inner loop has no
// branches; only the final stores are guarded, which makes unaligned shapes cost nothing extra.
// Variant `tiled` (default on GPUs): a workgroup stages TILE_K-deep slices of A and B in
// workgroup memory and each invocation accumulates a TM x TN block from them.
// Bindings: a (read), b (read), [bias (read)], [y (read), the activation output for act'], c (write).
import { wgsl } from './wgsl';
import { activationWGSL, type Activation } from './activation';
import { type Kernel } from './common';

export type MatmulVariant = 'register' | 'tiled';

/** Block and workgroup sizes; the WGSL and the dispatch arithmetic both read these. */
export const MATMUL_TILES = {
  register: { TM: 4, TN: 8, WGX: 8, WGY: 8, TILE_K: 0 },
  tiled: { TM: 4, TN: 4, WGX: 16, WGY: 16, TILE_K: 16 },
} as const;

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
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

export function matmul(p: MatmulParams): Kernel<MatmulShape> {
  const { M, N, K } = p;
  if (!(M > 0 && N > 0 && K > 0) || ![M, N, K].every(Number.isInteger)) {
    throw new Error(`matmul: shape must be positive integers, got M=${M} N=${N} K=${K}`);
  }
  const variant = p.variant ?? 'register';
  const act = p.activation ?? 'none';
  const gradAct = p.gradActivation ?? 'none';
  const hasBias = !!p.bias;
  const hasY = gradAct !== 'none';
  const t = MATMUL_TILES[variant];
  const bindings = [
    { name: 'a', kind: 'read' as const },
    { name: 'b', kind: 'read' as const },
    ...(hasBias ? [{ name: 'bias', kind: 'read' as const }] : []),
    ...(hasY ? [{ name: 'y', kind: 'read' as const }] : []),
    { name: 'c', kind: 'write' as const },
  ];
  const decls = bindings
    .map((b, i) => `@group(0) @binding(${i}) var<storage, ${b.kind === 'write' ? 'read_write' : 'read'}> ${b.name}: array<f32>;`)
    .join('\n');
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
  const body = variant === 'register' ? registerBody(p, t.TM, t.TN) : tiledBody(p);
  const tag = `${p.transA ? 't' : 'n'}${p.transB ? 't' : 'n'}`;
  return {
    name: `matmul_${tag}${hasBias ? '_bias' : ''}${act !== 'none' ? '_' + act : ''}${hasY ? '_dact_' + gradAct : ''}_${variant}`,
    code: `${decls}\n${epilogue}\n${body}`,
    bindings,
    dispatch: (s) => [Math.ceil(s.N / (t.TN * t.WGX)), Math.ceil(s.M / (t.TM * t.WGY)), 1],
  };
}

function registerBody(p: MatmulParams, TM: number, TN: number): string {
  const { M, N, K } = p;
  const { WGX, WGY } = MATMUL_TILES.register;
  const rows = range(TM), cols = range(TN);
  const aIndex = (i: number) => (p.transA ? `kM + r${i}` : `ra${i} + k`);
  const bIndex = (j: number) => (p.transB ? `cb${j} + k` : `kN + c${j}`);
  return `
@compute @workgroup_size(${WGX}, ${WGY})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row0 = gid.y * ${TM}u;
  let col0 = gid.x * ${TN}u;
  if (row0 >= ${M}u || col0 >= ${N}u) { return; }
${rows.map((i) => `  let r${i} = min(row0 + ${i}u, ${M - 1}u);${p.transA ? '' : ` let ra${i} = r${i} * ${K}u;`}`).join('\n')}
${cols.map((j) => `  let c${j} = min(col0 + ${j}u, ${N - 1}u);${p.transB ? ` let cb${j} = c${j} * ${K}u;` : ''}`).join('\n')}
${rows.map((i) => `  var acc${i}: array<f32, ${TN}>;`).join('\n')}
  for (var k = 0u; k < ${K}u; k++) {
    ${p.transA ? `let kM = k * ${M}u;` : ''}
    ${p.transB ? '' : `let kN = k * ${N}u;`}
${rows.map((i) => `    let a${i} = a[${aIndex(i)}];`).join('\n')}
${cols.map((j) => `    let b${j} = b[${bIndex(j)}];`).join('\n')}
${rows.map((i) => cols.map((j) => `    acc${i}[${j}] = fma(a${i}, b${j}, acc${i}[${j}]);`).join('\n')).join('\n')}
  }
${rows
  .map((i) =>
    cols
      .map((j) => `  if (row0 + ${i}u < ${M}u && col0 + ${j}u < ${N}u) { c[(row0 + ${i}u) * ${N}u + col0 + ${j}u] = epilogue(acc${i}[${j}], row0 + ${i}u, col0 + ${j}u); }`)
      .join('\n'),
  )
  .join('\n')}
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
export function columnSum(p: ColumnSumShape): Kernel<ColumnSumShape> {
  const code = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

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
    bindings: [{ name: 'x', kind: 'read' }, { name: 'out', kind: 'write' }],
    dispatch: (s) => [Math.ceil(s.cols / COLUMN_SUM_WORKGROUP), 1, 1],
  };
}
