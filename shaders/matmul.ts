// Matrix multiply C[M,N] = op(A) op(B), with a fused epilogue. Forward and backward of a dense
// layer y = act(x W^T + b) (W stored [out, in], as PyTorch does) are all instances of it, with the
// bias gradient a column sum:
//   forward   Y  = act(X W^T + b)        transB, epilogue: + bias, act
//   dX        dX = (dY W) * act'(Xprev)  plain,  epilogue: * act_grad(y_prev) (the layer below)
//   dW        dW = dY^T X                transA
//   db        db = column_sum(dY)        column-sum.ts
// Storage: A is [M,K] (or [K,M] when transA), B is [K,N] (or [N,K] when transB), row-major f32.
//
// Variants `register-subgroup` (default on software adapters with `subgroups`) and `register`
// (without them): no workgroup memory; each invocation holds a block of C in registers and streams A
// and B from storage, as vec4s along a side whose length is a multiple of 4 (VEC4, on by default
// for them, not in weight gradients). Their body is in matmul-register.ts.
// The `tiled` family (GPUs) stages TILE_K-deep slices of A and B in workgroup memory and each
// invocation accumulates a TM x TN block from them; its bodies are in matmul-tiled.ts:
//   `tiled`           64x64 block, BK 16, 4x4 per invocation, scalar loads (the first GPU kernel);
//   `tiled-vec4`      64x64, BK 16, 4x4 per invocation in vec4 registers, vec4 loads from
//                     workgroup memory, and from storage where the contiguous side is a multiple of 4;
//   `tiled-128`       128x128, BK 8, 8x8 per invocation, vec4 as above (8 KiB of workgroup
//                     memory; BK 16 fills WebGPU's default 16 KiB);
//   `tiled-subgroup`  `tiled-128` where the 4 lanes of a quad, which share their rows of A, each
//                     read half of the A fragment and get the rest by quadBroadcast (falls back to
//                     `tiled-128` without `subgroups`);
//   `tiled-double`    `tiled-128` with two tiles of each operand in workgroup memory (16 KiB, the
//                     default limit): the next slice is staged while the current one is read, so
//                     one barrier per slice instead of two;
//   `tiled-prefetch`  `tiled-double` whose next slice is loaded into registers before the current
//                     slice's fmas and stored to workgroup memory after them, so the loads' latency
//                     hides behind the arithmetic; its invocations read conflict-free vec4s of
//                     the tiles (SPREAD: rows and columns in groups of 4, spaced a block apart).
// Shape-generic kernels (`generic: true`) read M, N and K from a uniform (`dims`) instead of
// having them in the source, so one pipeline serves every shape of its kind: fewer compiles for a
// model's first step, at the cost of loop bounds and strides the compiler cannot fold.
// Bindings: a, b (read), [bias (read)], [y (read): the layer below, with gradActivation], c (write;
// cSlices [splits, M, N] with splits > 1, for sliceSum), [steps (read): the zero list, with
// skipZeros], [dims (uniform MatmulDims), generic only].
// Operands named in `f16` are array<f16>; the vec4 tiled variants (specialized) and the register
// variants with VEC4 (specialized or generic) read a and b as array<vec4<f32>> where their
// contiguous side is a multiple of 4 (matmulVec4Inputs, registerVec4Axes).
// Grid: one workgroup per BM x BN block of C (matmulGrid).
import { ConfigError } from './errors';
import { wgsl } from './wgsl';
import { activationWGSL, checkActivation, type Activation } from './activation';
import { checkChoice, checkShape, declareBindings, MAX_WORKGROUPS_PER_DIM, minBindingBytes, read, uniform, write, type Kernel } from './common';
import { uniformStruct } from './uniform';
import { load32, storeAs } from './half';
import { registerBody, registerVec4Axes, registerVec4Stores } from './matmul-register';
import { matmulSplits, matmulVec4Inputs, tiledBody } from './matmul-tiled';
import { nonzeroStepsWords, ZERO_SKIP_OPERANDS, type NonzeroStepsParams, type ZeroSkipOperand } from './matmul-zeros';

export type MatmulVariant = 'register' | 'register-subgroup' | 'tiled' | 'tiled-vec4' | 'tiled-128' | 'tiled-subgroup' | 'tiled-double' | 'tiled-prefetch';

/** Every variant, in the order tests and benchmarks list them. */
export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['register', 'register-subgroup', 'tiled', 'tiled-vec4', 'tiled-128', 'tiled-subgroup', 'tiled-double', 'tiled-prefetch'];

/**
 * Block and workgroup sizes of one variant; the WGSL and the dispatch arithmetic both read these.
 * TM x TN is one invocation's block of C. Register kernels: LANES invocations (a subgroup) share a
 * strip of B, so a workgroup covers BM = TM * WGY * LANES rows and BN = TN * WGX / LANES columns;
 * UNROLL_K is the k steps per loop iteration (along k with VEC4, whole vec4s: at least 4); VEC4 reads operands as
 * vec4s where a side allows (registerVec4Axes). Tiled kernels: BM = TM * WGY, BN = TN * WGX, staged
 * TILE_K deep; VEC4 keeps accumulators and workgroup tiles as vec4 (TM, TN multiples of 4);
 * QUAD shares the A fragment within a quad (needs `subgroups`); DOUBLE keeps two slices of each
 * tile, staging the next while the current one is read. SPREAD gives an invocation its rows and
 * columns in groups of 4 spaced WGY * 4 and WGX * 4 apart (not TM and TN side by side), so that
 * neighbouring invocations read neighbouring vec4s of a tile; PREFETCH (with DOUBLE) loads the
 * next slice from storage into registers before the current slice's fmas and stores it to the
 * other slot after them.
 */
export interface MatmulTile {
  TM: number; TN: number; WGX: number; WGY: number; LANES: number; UNROLL_K: number; TILE_K: number;
  VEC4: boolean; QUAD: boolean; DOUBLE: boolean; SPREAD: boolean; PREFETCH: boolean;
}

const REGISTER = { LANES: 1, TILE_K: 0, VEC4: false, QUAD: false, DOUBLE: false, SPREAD: false, PREFETCH: false };
const TILED = { LANES: 1, UNROLL_K: 1, VEC4: true, QUAD: false, DOUBLE: false, SPREAD: false, PREFETCH: false };

/**
 * The default tile of each variant. Measured on SwiftShader: register blocks of 4 x 16 with no k
 * unrolling run as fast as 8 x 16 unrolled 4 times (157 vs 172 ms for the 11 products of a batch
 * 128 step); the autotuner (src/model/autotune.ts) tries the larger blocks. Compiling one on
 * SwiftShader (784-deep forward product with bias and ReLU, since the stores became a loop):
 * 4 x 16 57-68 ms, 8 x 16 86-92 ms, 8 x 16 unrolled 4 times 183-277 ms, 4 x 32 105-129 ms.
 */
export const MATMUL_TILES: Record<MatmulVariant, MatmulTile> = {
  register: { TM: 8, TN: 8, WGX: 4, WGY: 4, UNROLL_K: 4, ...REGISTER, VEC4: true },
  'register-subgroup': { TM: 4, TN: 16, WGX: 4, WGY: 1, UNROLL_K: 1, ...REGISTER, LANES: 4, VEC4: true },
  tiled: { TM: 4, TN: 4, WGX: 16, WGY: 16, TILE_K: 16, ...TILED, VEC4: false },
  'tiled-vec4': { TM: 4, TN: 4, WGX: 16, WGY: 16, TILE_K: 16, ...TILED },
  'tiled-128': { TM: 8, TN: 8, WGX: 16, WGY: 16, TILE_K: 8, ...TILED },
  'tiled-subgroup': { TM: 8, TN: 8, WGX: 16, WGY: 16, TILE_K: 8, ...TILED, QUAD: true },
  'tiled-double': { TM: 8, TN: 8, WGX: 16, WGY: 16, TILE_K: 8, ...TILED, DOUBLE: true },
  'tiled-prefetch': { TM: 8, TN: 8, WGX: 16, WGY: 16, TILE_K: 8, ...TILED, DOUBLE: true, SPREAD: true, PREFETCH: true },
};

/** The tile a kernel uses: the variant's default with `override` applied, checked. */
export function matmulTile(variant: MatmulVariant, override: Partial<MatmulTile> = {}): MatmulTile {
  const base = MATMUL_TILES[variant];
  if (!base) throw new ConfigError(`matmul: unknown variant '${variant}'; use one of ${MATMUL_VARIANTS.join(', ')}`);
  const t = { ...base, ...override };
  for (const k of ['TM', 'TN', 'WGX', 'WGY', 'LANES', 'UNROLL_K'] as const) {
    if (!(Number.isInteger(t[k]) && t[k] >= 1)) throw new ConfigError(`matmul ${variant}: tile ${k}=${t[k]} must be a positive integer`);
  }
  // LANES and QUAD make a variant a subgroup one: set on another, they would use subgroups that
  // `subgroups: false` and the fallbacks know nothing of, and a tiled body ignores LANES while its
  // grid counts blocks by it (rows of C left unwritten).
  if (t.LANES !== base.LANES || t.QUAD !== base.QUAD) {
    throw new ConfigError(`matmul ${variant}: tile LANES=${t.LANES} and QUAD=${t.QUAD} are the variant's own (${base.LANES} and ${base.QUAD}); for lanes sharing B use register-subgroup, for quads sharing A tiled-subgroup (each falls back without subgroups), and leave LANES and QUAD out of the tile`);
  }
  if (isTiled(variant)) {
    if (!(Number.isInteger(t.TILE_K) && t.TILE_K >= 1)) throw new ConfigError(`matmul ${variant}: TILE_K=${t.TILE_K} must be a positive integer`);
    if (t.VEC4 && (t.TM % 4 || t.TN % 4 || t.TILE_K % 4)) throw new ConfigError(`matmul ${variant}: vec4 tiles need TM, TN and TILE_K multiples of 4, got ${t.TM}, ${t.TN}, ${t.TILE_K}`);
    // A quad's 4 lanes each hold one vec4 of the rows' A and broadcast it: TM / 4 of them, 2 to 4.
    if (t.QUAD && (!t.VEC4 || !(t.TM === 8 || t.TM === 16) || t.WGX % 4)) throw new ConfigError(`matmul ${variant}: quad sharing needs vec4 tiles, TM 8 or 16 (the quad's 4 lanes hold TM / 4 vec4s of A) and WGX a multiple of 4; got TM ${t.TM}, WGX ${t.WGX}`);
    if (t.SPREAD && (!t.VEC4 || t.QUAD)) throw new ConfigError(`matmul ${variant}: SPREAD spaces vec4 groups, so it needs VEC4 and no QUAD`);
    if (t.PREFETCH && !t.DOUBLE) throw new ConfigError(`matmul ${variant}: PREFETCH stores the next slice into the other slot of a DOUBLE tile; set DOUBLE too`);
  } else if (t.DOUBLE || t.SPREAD || t.PREFETCH) {
    throw new ConfigError(`matmul ${variant}: DOUBLE, SPREAD and PREFETCH shape workgroup tiles, which a register kernel has none of; use a tiled variant`);
  }
  return t;
}

/** True for the variants that stage tiles in workgroup memory. */
export const isTiled = (v: MatmulVariant) => v.startsWith('tiled');

/** Bytes of workgroup memory a tiled kernel declares (0 for register kernels). */
export function matmulWorkgroupBytes(variant: MatmulVariant, tile: MatmulTile = MATMUL_TILES[variant]): number {
  if (!isTiled(variant)) return 0;
  const { BM, BN } = matmulBlock(variant, tile);
  return (BM + BN) * tile.TILE_K * 4 * (tile.DOUBLE ? 2 : 1) + (tile.QUAD ? 4 : 0);
}

/** Rows (BM) and columns (BN) of C that one workgroup of `variant` computes. */
export function matmulBlock(variant: MatmulVariant, tile: MatmulTile = MATMUL_TILES[variant]): { BM: number; BN: number } {
  return { BM: tile.TM * tile.WGY * tile.LANES, BN: (tile.TN * tile.WGX) / tile.LANES };
}

export interface MatmulShape { M: number; N: number; K: number }

/** The buffers of a matmul that may be stored as f16. */
export const MATMUL_OPERANDS = ['a', 'b', 'c', 'y'] as const;
export type MatmulOperand = (typeof MATMUL_OPERANDS)[number];

/** WGSL that reads element `index` of operand `op` as f32 (widening an f16 operand; half.ts). */
export function loadAs32(p: Pick<MatmulParams, 'f16'>, op: MatmulOperand, index: string): string {
  return load32(p.f16, op, index);
}

/** WGSL that stores the f32 `value` into c[index] (rounding once where c is f16; half.ts). */
export function storeC(p: Pick<MatmulParams, 'f16'>, index: string, value: string): string {
  return storeAs(p.f16, 'c', index, value);
}

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
  /** Tile sizes replacing the variant's defaults (MATMUL_TILES), e.g. the autotuner's choice. */
  tile?: Partial<MatmulTile>;
  /**
   * Read M, N, K from the uniform `dims` (filled by the runtime from `constants`) instead of the
   * source. The kernel still depends on the alignment of K and N where it reads vec4s
   * (registerVec4Axes): it serves the shapes its factory call gives the same code for.
   */
  generic?: boolean;
  /**
   * Operands stored as f16 (a model's half-precision activations): loads widen to f32, the sums
   * and the epilogue stay f32, and an f16 `c` is rounded once at the store. Needs `shader-f16`.
   */
  f16?: readonly MatmulOperand[];
  /**
   * Whether the device has the `subgroups` feature. Variants that use subgroups emit
   * `enable subgroups;` unless this is false, in which case they fall back to a variant without.
   */
  subgroups?: boolean;
  /**
   * Store C channels-first: row m = n P + p, column c goes to c[(n N + c) P + p] with P this many
   * pixels, i.e. C as NCHW [M / P, N, P] (the `y` of gradActivation is read the same way). A
   * convolution's im2col product then writes its feature map without a transpose pass.
   */
  channelsFirstPixels?: number;
  /**
   * Run the sum over K in this many slices, one layer of workgroups each, into `cSlices` [splits,
   * M, N], which sliceSum then adds into c. Only the value `matmulSplits(params)` gives is taken:
   * specialized tiled products without epilogue whose blocks leave the GPU idle, and register
   * weight gradients of few blocks over a long K (REGISTER_SPLIT).
   */
  splits?: number;
  /**
   * Walk only the k at which this operand's block (rows of A, or columns of B) has a non-zero,
   * listed by `nonzeroSteps` (matmul-zeros.ts) into the binding `steps`: a picture's background
   * costs nothing. Register variants only; C is bit for bit the dense product's.
   */
  skipZeros?: ZeroSkipOperand;
  /**
   * Rows of A (skipZeros 'a') or columns of B ('b') that one list covers: a multiple of the
   * kernel's block (BM or BN); the block when unset. A list of a wider block holds every k at
   * which any of its rows (columns) has a non-zero, a superset of each narrower block's list, so
   * kernels of different blocks can share one list: the extra k add 0 * x terms, and C keeps the
   * dense product's bits. (zeroListBlock, matmul-hot.ts, gives the width a product's lists take.)
   */
  skipBlock?: number;
}

/** WGSL index of C's element (row, col): row-major, or channels-first (`channelsFirstPixels`). */
export function cIndex(p: Pick<MatmulParams, 'channelsFirstPixels'>, d: Pick<MatmulDims, 'N'>, row: string, col: string): string {
  const P = p.channelsFirstPixels;
  return P === undefined ? `${row} * ${d.N} + ${col}` : `(${row} / ${P}u) * ${P}u * ${d.N} + ${col} * ${P}u + ${row} % ${P}u`;
}

/** True for variants that use subgroup operations (and so need the `subgroups` feature). */
export function matmulVariantNeedsSubgroups(v: MatmulVariant): boolean {
  return MATMUL_TILES[v].LANES > 1 || MATMUL_TILES[v].QUAD;
}

/** What a subgroup variant becomes on a device without `subgroups`. */
const WITHOUT_SUBGROUPS: Partial<Record<MatmulVariant, MatmulVariant>> = { 'register-subgroup': 'register', 'tiled-subgroup': 'tiled-128' };

/** The variant and tile a kernel of `p` runs: a subgroup variant falls back without subgroups (to its fallback's default tile). */
export function resolvedVariant(p: Pick<MatmulParams, 'variant' | 'tile' | 'subgroups'>): { variant: MatmulVariant; tile: MatmulTile } {
  const requested = p.variant ?? 'register';
  if (!MATMUL_TILES[requested]) throw new ConfigError(`matmul: unknown variant '${requested}'; use one of ${MATMUL_VARIANTS.join(', ')}`);
  const variant: MatmulVariant = matmulVariantNeedsSubgroups(requested) && p.subgroups === false ? WITHOUT_SUBGROUPS[requested]! : requested;
  return { variant, tile: matmulTile(variant, variant === requested ? p.tile : {}) };
}

/**
 * Grid of a matmul: one workgroup per BM x BN block of C. The kernels number the blocks flat over
 * the grid, columns fastest (block wid.x + nwg.x * (wid.y + nwg.y * wid.z), see matmulBlocksWGSL),
 * so any grid that holds them all works, and a block past the last one writes nothing. Column
 * blocks go along x and row blocks along y, folding into z past maxComputeWorkgroupsPerDimension
 * (an im2col product of millions of rows); a layer with more column blocks than x holds (a
 * million outputs, the last layer of a 1024x1024 picture) has its blocks spread over all three.
 */
export function matmulGrid(variant: MatmulVariant, s: MatmulShape, tile: MatmulTile = MATMUL_TILES[variant]): [number, number, number] {
  const { BM, BN } = matmulBlock(variant, tile);
  const colBlocks = Math.ceil(s.N / BN), rowBlocks = Math.ceil(s.M / BM);
  const x = Math.min(colBlocks, MAX_WORKGROUPS_PER_DIM);
  const rest = x === colBlocks ? rowBlocks : Math.ceil((colBlocks * rowBlocks) / x);
  const z = Math.ceil(rest / MAX_WORKGROUPS_PER_DIM);
  return [x, Math.ceil(rest / z), z];
}

/** WGSL: `row_block` and `col_block`, this workgroup's block of C under matmulGrid (needs wid and nwg). */
export function matmulBlocksWGSL(d: MatmulDims, BN: number): string {
  return `let mm_block = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  let col_blocks = (${d.N} + ${BN - 1}u) / ${BN}u;
  let row_block = mm_block / col_blocks;
  let col_block = mm_block % col_blocks;`;
}

/**
 * A split kernel's block and k range (tiled and register bodies alike): the flat workgroup number
 * counts the slices above the blocks of C, so slice s's workgroups follow slice s - 1's; a
 * workgroup past the last slice (a grid folded over y and z has spares) returns whole, before any
 * barrier or quad swap. Slices are `kLen` long, the last one cut at K.
 */
export function splitBlocksWGSL(d: MatmulDims, BM: number, BN: number, kLen: number, splits: number): string {
  return `let mm_all = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  let col_blocks = (${d.N} + ${BN - 1}u) / ${BN}u;
  let mm_blocks = col_blocks * ((${d.M} + ${BM - 1}u) / ${BM}u);
  let slice = mm_all / mm_blocks;
  if (slice >= ${splits}u) { return; }
  let mm_block = mm_all % mm_blocks;
  let row_block = mm_block / col_blocks;
  let col_block = mm_block % col_blocks;
  let kBegin = slice * ${kLen}u;
  let kEnd = min(kBegin + ${kLen}u, ${d.K});`;
}

/** The WGSL expressions of M, N, K: literals in a specialized kernel, uniform fields in a generic one. */
export interface MatmulDims { M: string; N: string; K: string; generic: boolean }

function dimsOf(p: MatmulParams): MatmulDims {
  return p.generic ? { M: 'dims.m', N: 'dims.n', K: 'dims.k', generic: true } : { M: `${p.M}u`, N: `${p.N}u`, K: `${p.K}u`, generic: false };
}

/** A shape-generic matmul's sizes, in its `dims` uniform (the runtime fills it from `constants`). */
const MATMUL_DIMS = uniformStruct('MatmulDims', [
  ['m', 'u32', 'rows of C'],
  ['n', 'u32', 'columns of C'],
  ['k', 'u32', 'the sum\'s length'],
] as const);

/**
 * The `nonzeroSteps` list a matmul with `skipZeros` reads: the skipped operand as the product
 * stores it, blocked as the product's workgroups block C (BM rows of A, or BN columns of B).
 */
export function nonzeroStepsFor(p: MatmulParams): NonzeroStepsParams {
  if (p.skipZeros === undefined) throw new ConfigError('nonzeroStepsFor: the matmul has no skipZeros operand');
  const { variant, tile } = resolvedVariant(p);
  const { BM, BN } = matmulBlock(variant, tile);
  return p.skipZeros === 'a'
    ? { G: p.M, K: p.K, layout: p.transA ? 'kg' : 'gk', block: p.skipBlock ?? BM, generic: !!p.generic }
    : { G: p.N, K: p.K, layout: p.transB ? 'gk' : 'kg', block: p.skipBlock ?? BN, generic: !!p.generic };
}

/** The side of C's block that a zero list of `p` follows: BM for skipZeros 'a', BN for 'b'. */
export function skipSide(p: MatmulParams, tile: MatmulTile): number {
  const { BM, BN } = matmulBlock(resolvedVariant(p).variant, tile);
  return p.skipZeros === 'a' ? BM : BN;
}

/** A matmul kernel keeps its parameters, so a graph's products can be listed (e.g. for autotuning). */
export type MatmulKernel = Kernel & { matmul: MatmulParams };

export function matmul(p: MatmulParams): MatmulKernel {
  const { M, N, K } = p;
  checkShape('matmul', { M, N, K });
  const P = p.channelsFirstPixels;
  if (P !== undefined && !(Number.isInteger(P) && P >= 1 && M % P === 0)) throw new ConfigError(`matmul: channelsFirstPixels=${P} must be a positive integer dividing M=${M}`);
  const { variant, tile: t } = resolvedVariant(p);
  const splits = p.splits ?? 1;
  if (splits !== 1 && splits !== matmulSplits(p)) {
    throw new ConfigError(`matmul: splits ${splits}; use matmulSplits(params), which gives ${matmulSplits(p)} (only products without epilogue split: specialized tiled ones, and register weight gradients)`);
  }
  const skip = p.skipZeros;
  if (skip !== undefined) {
    checkChoice('matmul', 'skipZeros', skip, ZERO_SKIP_OPERANDS);
    if (isTiled(variant)) throw new ConfigError(`matmul: skipZeros needs a register variant (register or register-subgroup), got '${variant}'; leave skipZeros out on GPUs`);
    if (splits > 1) throw new ConfigError('matmul: skipZeros does not split K; leave splits out');
    if ((p.f16 ?? []).includes(skip)) throw new ConfigError(`matmul: skipZeros lists the zeros of an f32 operand; '${skip}' is f16`);
  }
  if (p.skipBlock !== undefined) {
    if (skip === undefined) throw new ConfigError('matmul: skipBlock is the width of a zero list and needs skipZeros; leave skipBlock out');
    const side = skipSide(p, t);
    if (!(Number.isInteger(p.skipBlock) && p.skipBlock > 0 && p.skipBlock % side === 0)) {
      throw new ConfigError(`matmul: skipBlock ${p.skipBlock} must be a multiple of the kernel's ${skip === 'b' ? 'BN' : 'BM'} (${side}); use zeroListBlock(params), or leave skipBlock out`);
    }
  }
  const useSubgroups = t.LANES > 1 || t.QUAD;
  const act = p.activation ?? 'none';
  const gradAct = p.gradActivation ?? 'none';
  checkActivation('matmul', 'activation', act);
  checkActivation('matmul', 'gradActivation', gradAct);
  for (const op of p.f16 ?? []) checkChoice('matmul', 'f16 operand', op, MATMUL_OPERANDS);
  const hasBias = !!p.bias;
  const hasY = gradAct !== 'none';
  if (act !== 'none' && gradAct !== 'none') throw new ConfigError('matmul: activation and gradActivation are exclusive');
  const d = dimsOf(p);
  const axes = isTiled(variant) ? null : registerVec4Axes(p, t);
  const v4 = axes ? { a: !!axes.a, b: !!axes.b } : matmulVec4Inputs(p, t, true);
  // Register kernels name the operands they read or store as vec4s (one pipeline each way).
  const vecC = !!axes && registerVec4Stores(p, t);
  const vec4Tag = axes && (v4.a || v4.b || vecC) ? `_vec4${v4.a ? 'a' : ''}${v4.b ? 'b' : ''}${vecC ? 'c' : ''}` : '';
  const half = [...new Set(p.f16 ?? [])].filter((op) => op !== 'y' || hasY).sort();
  const elem = (op: MatmulOperand) => (half.includes(op) ? 'array<f16>' : undefined);
  const bindings = [read('a', v4.a ? 'array<vec4<f32>>' : elem('a')), read('b', v4.b ? 'array<vec4<f32>>' : elem('b')), ...(hasBias ? [read('bias')] : []), ...(hasY ? [read('y', elem('y'))] : []), write(splits > 1 ? 'cSlices' : 'c', vecC ? 'array<vec4<f32>>' : elem('c')), ...(skip ? [read('steps', 'array<u32>')] : []), ...(d.generic ? [uniform('dims', 'MatmulDims')] : [])];
  // With a bias, epilogue_biased takes the column's bias as a value, so that a kernel storing a
  // column's rows one after another loads it once (registerBody).
  const epilogue = wgsl`
${activationWGSL(act === 'none' ? gradAct : act)}
#if ${hasBias}
fn epilogue(v: f32, row: u32, col: u32) -> f32 { return epilogue_biased(v, bias[col], row, col); }

fn epilogue_biased(v: f32, b: f32, row: u32, col: u32) -> f32 {
  var s = v + b;
#else
fn epilogue(v: f32, row: u32, col: u32) -> f32 {
  var s = v;
#endif
#if ${act !== 'none'}
  s = act(s);
#endif
#if ${hasY}
  s *= act_grad(${loadAs32(p, 'y', cIndex(p, d, 'row', 'col'))});
#endif
  return s;
}`;
  const body = isTiled(variant) ? tiledBody(p, t, d) : registerBody(p, t, d);
  const tag = `${p.transA ? 't' : 'n'}${p.transB ? 't' : 'n'}`;
  const custom = Object.entries(t).filter(([k, v]) => MATMUL_TILES[variant][k as keyof MatmulTile] !== v).map(([k, v]) => `${k}${Number(v)}`).join('');
  const decls = declareBindings(bindings);
  return {
    name: `matmul_${tag}${hasBias ? '_bias' : ''}${act !== 'none' ? '_' + act : ''}${hasY ? '_dact_' + gradAct : ''}_${variant}${custom ? '_' + custom : ''}${d.generic ? '_generic' : ''}${vec4Tag}${P !== undefined ? '_nchw' : ''}${half.length ? '_f16' + half.join('') : ''}${splits > 1 ? '_splitk' : ''}${skip ? '_skip' + skip : ''}`,
    code: `${half.length ? 'enable f16;\n' : ''}${useSubgroups ? 'enable subgroups;\n' : ''}${d.generic ? MATMUL_DIMS.wgsl + '\n' : ''}${decls}\n${epilogue}\n${body}`,
    bindings,
    minBytes: minBindingBytes(bindings, { a: M * K, b: K * N, bias: N, y: M * N, c: M * N, cSlices: splits * M * N, ...(skip ? { steps: nonzeroStepsWords(nonzeroStepsFor(p)) } : {}) }, { MatmulDims: MATMUL_DIMS.bytes }),
    // Split: the slices' blocks follow each other in the flat block numbering, as more rows would.
    workgroups: matmulGrid(variant, splits > 1 ? { M: Math.ceil(M / matmulBlock(variant, t).BM) * matmulBlock(variant, t).BM * splits, N, K } : p, t),
    ...(d.generic ? { constants: { dims: new Uint32Array(MATMUL_DIMS.encode({ m: M, n: N, k: K })) } } : {}),
    matmul: { ...p, variant, ...(half.length ? { f16: half } : {}) },
  };
}
