// The `implicit-gemm` variant of the convolution kernels (conv.ts): C[M, N] = A[M, K] B[K, N]
// where A and B are never stored. The caller writes three WGSL function bodies instead:
//   loadA(row, k) -> f32    element of A (row < M, k < K); zero where the tap falls in padding
//   loadB(k, col) -> f32    element of B (k < K, col < N)
//   store(row, col, v)      writes the finished sum (through the kernel's epilogue)
// so the im2col matrix of the forward pass, the dilated gradient of the input gradient and the
// shifted input of the weight gradient are gathered on the fly while the tiles are staged.
// A workgroup of WGX x WGY invocations stages TILE_K-deep slices of A (BM rows) and B (BN
// columns) in workgroup memory, then each invocation accumulates a TM x TN block from them: the
// textbook GPU tiling, made for adapters where workgroup memory is fast and barriers are cheap.
// Sizes come from CONV_TILES['implicit-gemm'] (conv.ts), shared with the grid below.
import { itemCountWGSL, kSliceLength, kSplits, MAX_WORKGROUPS_PER_DIM, type BoundCount } from './common';
import type { ConvDims } from './conv';
import { load32, storeAs, type HalfBindings } from './half';

export interface GemmShape { M: number; N: number; K: number }

export interface GemmAccess {
  loadA: string;
  loadB: string;
  store: string;
}

/**
 * Block sizes of this variant; conv.ts exports them as CONV_TILES['implicit-gemm']. A product with
 * fewer than SPLIT_BELOW blocks of C and a long K (a weight gradient: C is the layer's few weights,
 * K every example's pixels) is cut into K slices of at least SPLIT_MIN_K, one workgroup layer
 * each, whose partial sums a second kernel adds: on an H200, the 3x64x64 -> 32 layer's weight
 * gradient (one block, K = 65,536) ran at 23 GFLOP/s as one workgroup.
 */
export const IMPLICIT_GEMM_TILE = { TM: 4, TN: 4, WGX: 16, WGY: 16, TILE_K: 16, SPLIT_BELOW: 256, SPLIT_MIN_K: 512 } as const;

const blockRows = () => IMPLICIT_GEMM_TILE.TM * IMPLICIT_GEMM_TILE.WGY;
const blockCols = () => IMPLICIT_GEMM_TILE.TN * IMPLICIT_GEMM_TILE.WGX;

/** How many K slices the product runs in (1: unsplit; kSplits in common.ts). */
export function gemmSplits(s: GemmShape): number {
  return kSplits(Math.ceil(s.N / blockCols()) * Math.ceil(s.M / blockRows()), s.K, IMPLICIT_GEMM_TILE.TILE_K, IMPLICIT_GEMM_TILE);
}

/**
 * One workgroup per BM x BN block of C (and per K slice, along z, when split). Row blocks beyond
 * the 65535 a grid dimension allows (e.g. a 256x256 image at batch 64) continue along z; the
 * kernel numbers them y + z * ny. Split products have few blocks, so they never need that.
 */
export function gemmGrid(s: GemmShape, splits = 1): [number, number, number] {
  const rowBlocks = Math.ceil(s.M / blockRows());
  if (splits > 1) return [Math.ceil(s.N / blockCols()), rowBlocks, splits];
  const z = Math.ceil(rowBlocks / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(s.N / blockCols()), Math.ceil(rowBlocks / z), z];
}

/**
 * The kernel's WGSL. With `splits` > 1, workgroup z is the K slice (`slice`, a private variable the
 * store body may read) and each slice sums only its own run of K. `sizedRows` (how to count M from a binding) gives
 * M at run time instead of `s.M` (a forward sized by its output binding: the grid may then cover
 * more rows than are bound, and the blocks past them return before their first barrier).
 */
export function gemmBody(s: GemmShape, io: GemmAccess, splits = 1, sizedRows?: BoundCount | null): string {
  const { N, K } = s;
  const M = 'rowCount';
  const kLen = splits > 1 ? kSliceLength(K, splits, IMPLICIT_GEMM_TILE.TILE_K) : K;
  const { TM, TN, WGX, WGY, TILE_K } = IMPLICIT_GEMM_TILE;
  const BM = blockRows(), BN = blockCols(), threads = WGX * WGY;
  const rows = Array.from({ length: TM }, (_, i) => i), cols = Array.from({ length: TN }, (_, j) => j);
  return `
fn loadA(row: u32, k: u32) -> f32 {
  ${io.loadA}
}

fn loadB(k: u32, col: u32) -> f32 {
  ${io.loadB}
}

fn store(row: u32, col: u32, v: f32) {
  ${io.store}
}

var<private> slice: u32;
var<workgroup> tileA: array<f32, ${BM * TILE_K}>;   // [TILE_K][BM]
var<workgroup> tileB: array<f32, ${BN * TILE_K}>;   // [TILE_K][BN]

@compute @workgroup_size(${WGX}, ${WGY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(local_invocation_id) lxy: vec3<u32>) {
  // The same for the whole workgroup, so returning here leaves no barrier half-reached.
  let blockRow = ${splits > 1 ? 'wid.y' : '(wid.y + wid.z * nwg.y)'} * ${BM}u;
  let ${M} = ${itemCountWGSL(s.M, sizedRows)};
  if (blockRow >= ${M}) { return; }
  let blockCol = wid.x * ${BN}u;
  slice = ${splits > 1 ? 'wid.z' : '0u'};
  // From wid, not the private copy, so the loop (and its barriers) is uniform to the validator.
  let kBegin = ${splits > 1 ? 'wid.z' : '0u'} * ${kLen}u;
  let kEnd = min(kBegin + ${kLen}u, ${K}u);
${rows.map((i) => `  ${cols.map((j) => `var acc${i}_${j} = 0.0;`).join(' ')}`).join('\n')}
  let r0 = lxy.y * ${TM}u;
  let c0 = lxy.x * ${TN}u;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${TILE_K}u) {
    for (var e = lid; e < ${BM * TILE_K}u; e += ${threads}u) {
      let kk = k0 + e / ${BM}u;
      let rr = blockRow + e % ${BM}u;
      var v = 0.0;
      if (kk < ${K}u && rr < ${M}) { v = loadA(rr, kk); }
      tileA[e] = v;
    }
    for (var e = lid; e < ${BN * TILE_K}u; e += ${threads}u) {
      let kk = k0 + e / ${BN}u;
      let cc = blockCol + e % ${BN}u;
      var v = 0.0;
      if (kk < ${K}u && cc < ${N}u) { v = loadB(kk, cc); }
      tileB[e] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < ${TILE_K}u; k++) {
      ${rows.map((i) => `let a${i} = tileA[k * ${BM}u + r0 + ${i}u];`).join(' ')}
      ${cols.map((j) => `let b${j} = tileB[k * ${BN}u + c0 + ${j}u];`).join(' ')}
      ${rows.map((i) => cols.map((j) => `acc${i}_${j} = fma(a${i}, b${j}, acc${i}_${j});`).join(' ')).join('\n      ')}
    }
    workgroupBarrier();
  }
${rows.map((i) => cols.map((j) => `  if (blockRow + r0 + ${i}u < ${M} && blockCol + c0 + ${j}u < ${N}u) { store(blockRow + r0 + ${i}u, blockCol + c0 + ${j}u, acc${i}_${j}); }`).join('\n')).join('\n')}
}`;
}

/** The three convolution kernels as products over the implicit im2col matrix. */
export function forwardGemm(d: ConvDims, half?: HalfBindings) {
  return {
    // A[(n, pixel), (ci, ky, kx)] = x at the tap, zero in the padding; B[(ci, ky, kx), co] = w[co, ...].
    loadA: `let n = row / ${d.OHW}u; let pix = row % ${d.OHW}u;
  let ci = k / ${d.KK}u; let tap = k % ${d.KK}u;
  let iy = i32(pix / ${d.OW}u) * ${d.S} - ${d.P} + i32(tap / ${d.K}u);
  let ix = i32(pix % ${d.OW}u) * ${d.S} - ${d.P} + i32(tap % ${d.K}u);
  if (iy < 0 || iy >= ${d.H} || ix < 0 || ix >= ${d.W}) { return 0.0; }
  return ${load32(half, 'x', `(n * ${d.Cin}u + ci) * ${d.HW}u + u32(iy * ${d.W} + ix)`)};`,
    loadB: `return w[col * ${d.CinKK}u + k];`,
    store: `let idx = ((row / ${d.OHW}u) * ${d.Cout}u + col) * ${d.OHW}u + row % ${d.OHW}u;
  ${storeAs(half, 'y', 'idx', 'epilogue(v, idx, col)')}`,
  };
}

export function inputGradGemm(d: ConvDims, half?: HalfBindings) {
  return {
    // A[(n, input pixel), (co, ky, kx)] = dy at the output pixel this tap came from (zero if none).
    loadA: `let n = row / ${d.HW}u; let pix = row % ${d.HW}u;
  let co = k / ${d.KK}u; let tap = k % ${d.KK}u;
  let ty = i32(pix / ${d.W}u) + ${d.P} - i32(tap / ${d.K}u);
  let tx = i32(pix % ${d.W}u) + ${d.P} - i32(tap % ${d.K}u);
  if (ty < 0 || tx < 0 || ty % ${d.S} != 0 || tx % ${d.S} != 0 || ty / ${d.S} >= ${d.OH} || tx / ${d.S} >= ${d.OW}) { return 0.0; }
  return ${load32(half, 'dy', `(n * ${d.Cout}u + co) * ${d.OHW}u + u32((ty / ${d.S}) * ${d.OW} + tx / ${d.S})`)};`,
    loadB: `return w[(k / ${d.KK}u) * ${d.CinKK}u + col * ${d.KK}u + k % ${d.KK}u];`,
    store: `let idx = ((row / ${d.HW}u) * ${d.Cin}u + col) * ${d.HW}u + row % ${d.HW}u;
  ${storeAs(half, 'dx', 'idx', 'epilogue(v, idx, col)')}`,
  };
}

/** With `splits` > 1 each K slice stores its partial sums in its own layer of `dwSlices`. */
export function weightGradGemm(d: ConvDims, half?: HalfBindings, splits = 1) {
  return {
    // A[co, (n, output pixel)] = dy; B[(n, output pixel), (ci, ky, kx)] = x at the tap.
    loadA: `return ${load32(half, 'dy', `((k / ${d.OHW}u) * ${d.Cout}u + row) * ${d.OHW}u + k % ${d.OHW}u`)};`,
    loadB: `let n = k / ${d.OHW}u; let pix = k % ${d.OHW}u;
  let ci = col / ${d.KK}u; let tap = col % ${d.KK}u;
  let iy = i32(pix / ${d.OW}u) * ${d.S} - ${d.P} + i32(tap / ${d.K}u);
  let ix = i32(pix % ${d.OW}u) * ${d.S} - ${d.P} + i32(tap % ${d.K}u);
  if (iy < 0 || iy >= ${d.H} || ix < 0 || ix >= ${d.W}) { return 0.0; }
  return ${load32(half, 'x', `(n * ${d.Cin}u + ci) * ${d.HW}u + u32(iy * ${d.W} + ix)`)};`,
    store: splits > 1 ? `dwSlices[slice * ${d.Cout * d.CinKK}u + row * ${d.CinKK}u + col] = v;` : `dw[row * ${d.CinKK}u + col] = v;`,
  };
}
