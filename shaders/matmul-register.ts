// The register bodies of the matmul family (shaders/matmul.ts has the factory and the epilogue;
// matmul-tiled.ts the workgroup-memory bodies for GPUs; column-sum.ts the bias gradient).
//
// Variant `register` (software adapters without `subgroups`; `register-subgroup` below with them): no workgroup memory and no barriers, which
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
// VEC4 (both variants, on by default): in a product whose A is read along k (the forward and
// dX products; `registerVec4Axes`), an operand whose contiguous side is a multiple of 4 is read
// as vec4s: one load and one bounds check for four values. Along k (A, and B with transB) a vec4
// holds 4 k steps, so the loop takes UNROLL_K / 4 vec4s (at least one) per iteration, and the
// vec4s past the last whole iteration one at a time; along n (B without transB) it holds 4
// columns of one k step, and a subgroup lane gets the other lanes' vec4s with the quad swaps
// (slot 16g + 4s + c is column 16g + 4(l ^ s) + c), which the stores undo. The fmas run in the
// scalar kernel's order, so both give the same bits. Measured on SwiftShader in Node, one product
// at a time, alternating: the dX product 128x400x784 took 9.3-10.2 ms with vec4s against 14-15
// scalar without WebGPU's bounds checks, 16-18 against 19.5 with them; the forward 128x784x400
// 10.6 against 14.3, 20.5 against 23.8. Weight gradients (transA: A along m, B along n) ran no
// faster with vec4s (0-10% slower), so they read element by element.
// SPLIT (`splits` > 1: a weight gradient of few blocks and a long K, REGISTER_SPLIT in
// matmul-tiled.ts): as in the tiled kernels, the flat block number carries the slice above the
// blocks, the slice runs its whole-iteration range of k in the same order as the unsplit loop,
// and stores its partial C raw into its layer of `cSlices`, which sliceSum adds into c.
import { ConfigError } from './errors';
import { kSliceLength } from './common';
import { cIndex, loadAs32, matmulBlocksWGSL, splitBlocksWGSL, storeC, type MatmulDims, type MatmulParams, type MatmulTile } from './matmul';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const XYZW = ['x', 'y', 'z', 'w'];
const SWAPS = ['', 'quadSwapX', 'quadSwapY', 'quadSwapDiagonal'];

/** Which side of each operand a register kernel reads as vec4s (false: element by element). */
export interface RegisterVec4Axes { a: 'k' | false; b: 'k' | 'n' | false }

/**
 * The vec4 sides of a register kernel of `p` with tile `t`: none with VEC4 off or in a weight
 * gradient (transA); else each f32 operand's contiguous side where its length is a multiple of 4
 * and, along n, the tile's columns come in whole vec4s. Listed k steps (skipZeros) are not
 * consecutive, so they rule out vec4s along k.
 */
export function registerVec4Axes(p: MatmulParams, t: MatmulTile): RegisterVec4Axes {
  if (!t.VEC4 || p.transA) return { a: false, b: false };
  const half = p.f16 ?? [];
  const alongK = p.K % 4 === 0 && p.skipZeros === undefined;
  const a = alongK && !half.includes('a') ? 'k' : false;
  const b = half.includes('b') ? false : p.transB ? (alongK ? 'k' : false) : p.N % 4 === 0 && t.TN % (t.LANES > 1 ? 16 : 4) === 0 ? 'n' : false;
  return { a, b };
}

/**
 * Whether a register kernel of `p` with tile `t` stores C as vec4s: four columns of one row at a
 * time, which a lane holds whole in either layout of a quad's strip. Needs VEC4, an f32 C in rows
 * (not channels-first, not split) and N a multiple of 4, so that a vec4 never crosses a row or
 * the end. On SwiftShader a vec4 store is four scattered stores, but with one address and one
 * bounds check: the 400 x 784 x 128 weight gradient (313,600 stores) 12.10 -> 11.63 ms.
 */
export function registerVec4Stores(p: MatmulParams, t: MatmulTile): boolean {
  return !!t.VEC4 && t.TN % 4 === 0 && p.N % 4 === 0 && !(p.f16 ?? []).includes('c') && p.channelsFirstPixels === undefined && (p.splits ?? 1) === 1;
}

/**
 * The larger blocks a `register-subgroup` product switches to once its graph has run a while
 * (hotMatmul in shaders/matmul-hot.ts; src/model/hot-kernels.ts swaps them in): `tall` (not for a weight
 * gradient), else `dense`, else `narrow`
 * for a product of 16 columns (a convolution's channels as im2col products: 16 x 16 blocks ran
 * them in 15.8-24.0 ms against 20.9-31.0, dSprites conv step, SwiftShader). Bigger blocks load
 * fewer values per fma (a quad's 8 x 32 lanes: 16 loads per 256 fmas against 8 per 64) and,
 * with several k steps per iteration, load and store each spilled accumulator once per 4 or 8; but
 * they compile 3-10x longer (SwiftShader: 0.25-1.1 s each against 0.07-0.1), which is why the
 * first steps run the default 4 x 16. A zero-skipping product reads the list it has: its larger
 * blocks' side (rows for `a`, columns for `b`) must divide the list's width, which is `dense`'s
 * where the model made the list that wide (zeroListBlock), else the first kernel's block, for
 * which `skipsRowsOfA` and `skipsColumnsOfB` keep that side. The fmas
 * run in the same order whatever the block: the same bits. Measured on the default model's step
 * with WebGPU's bounds checks (Node, SwiftShader, 20 alternating rounds): 82.5 against 103.3 ms.
 * `dense` takes 8 k steps an iteration: SwiftShader stores a loop's variables back under the
 * lanes' mask once per iteration (a load and three bit operations per accumulator), so 8 fmas
 * share that cost instead of 4. Its three 80-MFLOP products ran 5-10% faster than with 4 (12.1
 * against 12.9, 10.1 against 10.7, 9.6 against 10.4 ms, alternating, Node); 16 was slower (13.0,
 * 10.9, 10.6). Its pipelines compile in 0.6-0.8 s against 0.25-0.4.
 */
export const HOT_REGISTER_TILES = {
  // A product other than a weight gradient, where it makes enough blocks: 16 rows a lane load 24
  // values per 512 fmas. Alone, 128 x 784 x 400 (transB) and 128 x 400 x 784: 9.42 against 10.06
  // and 9.42 against 9.83 ms (8 rounds, alternating; 8 k steps an iteration: 9.2 and 9.1, but 2.5 s
  // to compile); weight gradients ran slower (12.6 against 11.9, 400 x 784 x 128).
  tall: { TM: 16, TN: 32, UNROLL_K: 4 },
  dense: { TM: 8, TN: 32, UNROLL_K: 8 },
  narrow: { TM: 16, TN: 16, UNROLL_K: 4 },
  skipsRowsOfA: { TN: 32, UNROLL_K: 4 },
  skipsColumnsOfB: { TM: 16, UNROLL_K: 4 },
  // A weight gradient skipping the data's zeros on `dense`'s blocks (its lists are that wide), with
  // 4 k steps: alone on an MNIST batch, 11.7-12.0 ms against 13.2-14.2 with 8 (and 12.6-12.8 for
  // the dense kernel); the forward keeps 8 (6.5-6.6 against 7.0-7.8). Two alternating runs each.
  denseSkippingB: { TM: 8, TN: 32, UNROLL_K: 4 },
  // A weight gradient no larger block fits (N = 20 or M = 40 in the default model), on its own
  // blocks: 0.73 against 0.86 and 1.01 against 1.26 ms (400x20x128, 40x400x128, alternating).
  sameBlock: { UNROLL_K: 4 },
} as const satisfies Record<string, Partial<MatmulTile>>;

/**
 * Blocks cut to a small product's sides (hotMatmul's `fittedTile`, for products with a side of at
 * most FITTED_MAX_SIDE that no HOT_REGISTER_TILES block fits, as a latent layer's): of these TM and
 * TN, the largest TM * TN whose blocks tile M and N exactly, at least FITTED_MIN_BLOCKS of them.
 * Alone, alternating, SwiftShader (against the default 4 x 16 blocks with 4 k steps): 400x20x128
 * (transA) 10 x 20, 0.51 against 0.96 ms; 40x400x128 (transA) 10 x 20, 1.33 against 2.15;
 * 128x20x400 4 x 20, 0.41 against 0.59; 128x40x400 (transB) 8 x 20, 0.63 against 0.82.
 */
export const FITTED_TILES = { TM: [10, 8, 6, 5, 4], TN: [32, 28, 24, 20, 16, 12], UNROLL_K: 4 } as const;
export const FITTED_MIN_BLOCKS = 8;
export const FITTED_MAX_SIDE = 64;

/** The WGSL of a `register` or `register-subgroup` kernel of `p` with tile `t`. */
export function registerBody(p: MatmulParams, t: MatmulTile, d: MatmulDims): string {
  const { TM, TN, WGX, WGY, LANES, UNROLL_K } = t;
  const BM = TM * WGY * LANES, BN = (TN * WGX) / LANES;
  const sg = LANES > 1;
  // The lanes are one row of the workgroup: a 2x2 or 1x4 workgroup would leave blocks unwritten.
  if (sg && (WGX !== 4 || WGY !== 1 || LANES !== 4 || TN % LANES)) throw new ConfigError(`matmul: a register-subgroup workgroup must be one 4-lane subgroup, WGX 4 and WGY 1 (got ${WGX}x${WGY}), with TN a multiple of 4 (got ${TN})`);
  const v4 = registerVec4Axes(p, t);
  const byK = v4.a === 'k' || v4.b === 'k';
  // Along k, vec4s per loop iteration, and the WGSL index of the vec4 holding k step u of it.
  const vecsPerStep = byK ? Math.max(1, Math.floor(UNROLL_K / 4)) : 1;
  const vecAt = (u: number) => `kv${u >= 4 ? ` + ${u >> 2}u` : ''}`;
  // A stride's WGSL (M, N, or a quarter of N for B's vec4s along n), and u times it, folded to
  // one literal in a specialized kernel.
  const dims = { M: [d.M, p.M], N: [d.N, p.N], N4: [d.generic ? 'n4' : `${p.N / 4}u`, p.N / 4] } as const;
  type Dim = keyof typeof dims;
  const times = (u: number, dim: Dim) => (d.generic ? `${u}u * ${dims[dim][0]}` : `${u * (dims[dim][1] as number)}u`);
  const rows = range(TM), cols = range(TN);
  const rowStep = sg ? LANES : 1;
  // The k strides the loads need: A's rows of op(A) are columns of storage when transA.
  const aStride: Dim | undefined = p.transA ? 'M' : undefined;
  const bStride: Dim | undefined = p.transB ? undefined : v4.b === 'n' ? 'N4' : 'N';
  // Element offsets: `k` (or its listed value k_u) plus u, or k times a stride plus u strides.
  const kAt = (u: number, listed: boolean, dim?: Dim) =>
    listed ? (dim ? `k${dim}_${u}` : `k_${u}`) : dim ? `k${dim}${u ? ` + ${times(u, dim)}` : ''}` : `k${u ? ` + ${u}u` : ''}`;
  // Slot j of a quad's strip: the lane's own vec4 or scalar `lane(j >> 2)`, or a neighbour's through a swap.
  const slot = (j: number, lane: (q: number) => string) => (j % 4 ? `${SWAPS[j % 4]}(${lane(j >> 2)})` : lane(j >> 2));
  const multiples = (k: string, suffix: string) => [aStride, bStride].filter((x, i, all) => x && all.indexOf(x) === i).map((x) => ` let k${x}${suffix} = ${k} * ${dims[x as Dim][0]};`).join('');

  // Per k step u: the loads of A and B, and the WGSL value of A's row slot i and B's column slot j.
  const aLoads = (u: number, listed: boolean): string[] =>
    v4.a === 'k' ? (u % 4 === 0 ? rows.map((i) => `    let av${i}_${u >> 2} = a[ra${i} + ${vecAt(u)}];`) : [])
    : rows.map((i) => `    let a${i}_${u} = ${loadAs32(p, 'a', `ra${i} + ${kAt(u, listed, aStride)}`)};`);
  const aValue = (i: number, u: number) => (v4.a === 'k' ? `av${i}_${u >> 2}.${XYZW[u & 3]}` : `a${i}_${u}`);
  const bLoadCount = v4.b === 'n' ? TN / (sg ? 16 : 4) : sg ? TN / LANES : TN;
  const bLoads = (u: number, listed: boolean): string[] => {
    if (v4.b === 'k') {
      if (u % 4) return [];
      const g = u >> 2;
      return sg ? [...range(bLoadCount).map((q) => `    let lbv${q}_${g} = b[rb${q} + ${vecAt(u)}];`), ...cols.map((j) => `    let bv${j}_${g} = ${slot(j, (q) => `lbv${q}_${g}`)};`)]
        : cols.map((j) => `    let bv${j}_${g} = b[rb${j} + ${vecAt(u)}];`);
    }
    const at = (q: number) => `rb${q} + ${kAt(u, listed, bStride)}`;
    if (v4.b === 'n') {
      return sg ? range(bLoadCount).flatMap((g) => [`    let lbn${g}_${u} = b[${at(g)}];`, ...range(3).map((s) => `    let bn${g}_${s + 1}_${u} = ${SWAPS[s + 1]}(lbn${g}_${u});`)])
        : range(bLoadCount).map((g) => `    let bn${g}_${u} = b[${at(g)}];`);
    }
    return sg ? [...range(bLoadCount).map((q) => `    let lb${q}_${u} = ${loadAs32(p, 'b', at(q))};`), ...cols.map((j) => `    let b${j}_${u} = ${slot(j, (q) => `lb${q}_${u}`)};`)]
      : cols.map((j) => `    let b${j}_${u} = ${loadAs32(p, 'b', at(j))};`);
  };
  const bValue = (j: number, u: number) => {
    if (v4.b === 'k') return `bv${j}_${u >> 2}.${XYZW[u & 3]}`;
    if (v4.b === 'n') {
      if (!sg) return `bn${j >> 2}_${u}.${XYZW[j & 3]}`;
      const s = (j >> 2) & 3;
      return `${s ? `bn${j >> 4}_${s}` : `lbn${j >> 4}`}_${u}.${XYZW[j & 3]}`;
    }
    return `b${j}_${u}`;
  };
  // All loads of the n k steps first, then each accumulator's n fmas back to back: the
  // accumulators (TM * TN of them) cannot all stay in a CPU's registers, and this way each one
  // is loaded and stored once per n fmas instead of once per fma (5-10% faster on SwiftShader).
  const fmas = (n: number) => rows.flatMap((i) => cols.map((j) => `    ${range(n).map((u) => `acc${i}_${j} = fma(${aValue(i, u)}, ${bValue(j, u)}, acc${i}_${j});`).join(' ')}`));
  const loads = (n: number, listed = false) => range(n).flatMap((u) => [...aLoads(u, listed), ...bLoads(u, listed)]);
  const kSteps = (k: string, n: number) => [`    let k = ${k};${multiples('k', '')}`, ...loads(n), ...fmas(n)].join('\n');
  // n listed steps from position `t` of this block's list.
  const listedSteps = (tt: string, n: number) => [
    ...range(n).map((u) => `    let k_${u} = steps[listed_at + ${tt}${u ? ` + ${u}u` : ''}];${multiples(`k_${u}`, `_${u}`)}`),
    ...loads(n, true),
    ...fmas(n),
  ].join('\n');
  // The block leaves its registers through one loop over a private array, so the epilogue (bias,
  // activation, act') appears once in the source instead of TM * TN times. Unrolled, those stores
  // were most of SwiftShader's compile time: the default model's five matmul pipelines took 1.13 s
  // to compile one after another, against under 0.22 s with the loop, and the step ran no slower
  // (first step 2.0 s -> 0.9 s; bench/RESULTS.md, "Compile time").
  const splits = p.splits ?? 1;
  if (splits > 1 && (byK || p.skipZeros)) throw new ConfigError('matmul: a register product splits its K only as a weight gradient (transA) without skipZeros');
  // A split kernel's slice runs k in [kBegin, kEnd); the whole sum otherwise.
  const kMain = splits > 1 ? `(kEnd - (kEnd - kBegin) % ${UNROLL_K}u)` : d.generic ? `(${d.K} - ${d.K} % ${UNROLL_K}u)` : `${p.K - (p.K % UNROLL_K)}u`;
  const needTail = UNROLL_K > 1 && (splits > 1 || d.generic || p.K % UNROLL_K !== 0);
  const kEnd = splits > 1 ? 'kEnd' : d.K;
  // Along k, K is a multiple of 4 and an iteration takes UNROLL_K / 4 vec4s (at least one) of 4
  // k steps each, vec4 index kv; a vec4 at a time after the last whole iteration.
  const k4 = d.generic ? '(dims.k / 4u)' : `${p.K / 4}u`;
  const k4Main = vecsPerStep === 1 ? k4 : d.generic ? `(${k4} - ${k4} % ${vecsPerStep}u)` : `${p.K / 4 - ((p.K / 4) % vecsPerStep)}u`;
  const needVecTail = vecsPerStep > 1 && (d.generic || (p.K / 4) % vecsPerStep !== 0);
  // Built only for a kernel that runs them (a zero-skipping one walks its lists instead).
  const denseLoops = () => byK
    ? `  for (var kq = 0u; kq < ${k4Main}; kq += ${vecsPerStep}u) {
    let kv = kq;
${kSteps('kq * 4u', 4 * vecsPerStep)}
  }
${needVecTail ? `  for (var kq1 = ${k4Main}; kq1 < ${k4}; kq1++) {\n    let kv = kq1;\n${kSteps('kq1 * 4u', 4)}\n  }` : ''}`
    : `  for (var k0 = ${splits > 1 ? 'kBegin' : '0u'}; k0 < ${kMain}; k0 += ${UNROLL_K}u) {
${kSteps('k0', UNROLL_K)}
  }
${needTail ? `  for (var k1 = ${kMain}; k1 < ${kEnd}; k1++) {\n${kSteps('k1', 1)}\n  }` : ''}`;
  // Rows and columns: the element (or vec4) offsets of the operands, clamped into the matrix so
  // the k loop has no branches, and each slot's row and column for the stores.
  const lastRow = d.generic ? `(${d.M} - 1u)` : `${p.M - 1}u`, lastCol = d.generic ? `(${d.N} - 1u)` : `${p.N - 1}u`;
  const aOffsets = rows.map((i) => `  let ra${i} = min(row0 + ${i * rowStep}u, ${lastRow})${p.transA ? '' : ` * ${v4.a === 'k' ? k4 : d.K}`};`);
  const bOffsets = v4.b === 'n'
    ? range(bLoadCount).map((g) => `  let rb${g} = min(${sg ? `col0 / 4u + ${4 * g}u + lane` : `col0 / 4u + ${g}u`}, ${dims.N4[0]} - 1u);`)
    : range(bLoadCount).map((j) => `  let rb${j} = min(col0 + ${sg ? `${j * LANES}u + lane` : `${j}u`}, ${lastCol})${p.transB ? ` * ${v4.b === 'k' ? k4 : d.K}` : ''};`);
  const storeCol = sg ? (v4.b === 'n' ? 'col0 + (j & ~15u) + 4u * (lane ^ ((j >> 2u) & 3u)) + (j & 3u)' : 'col0 + (j & ~3u) + (lane ^ (j & 3u))') : 'col0 + j';
  // With a bias, a column's rows one after another: its bias loaded once, not once per row (the
  // default model's 128 x 400 x 20 decoder layer 0.78 -> 0.61 ms, its 128 x 784 x 400 one 9.86 ->
  // 9.59; without one, that order ran no faster). A split product has no epilogue (matmulSplits).
  const biasedStores = () => `  for (var j = 0u; j < ${TN}u; j++) {
    let co = ${storeCol};
    if (co >= ${d.N}) { continue; }
    let col_bias = bias[co];
    for (var i = 0u; i < ${TM}u; i++) {
      let ro = row0 + i * ${rowStep}u;
      if (ro >= ${d.M}) { break; }
      ${storeC(p, cIndex(p, d, 'ro', 'co'), `epilogue_biased(out[i * ${TN}u + j], col_bias, ro, co)`)}
    }
  }`;
  // Vec4 stores: a lane's group q of columns starts at col0 + 4q, and column t of it sits in slot
  // groupSlot(t) of the lane's block (storeCol the other way round). Its bias, where there is one,
  // is loaded once for all rows, as in biasedStores.
  const vecStores = registerVec4Stores(p, t);
  const groupSlot = (t: number) => (sg ? (v4.b === 'n' ? `(q & ~3u) * 4u + 4u * (lane ^ (q & 3u)) + ${t}u` : `4u * q + (lane ^ ${t}u)`) : `4u * q + ${t}u`);
  const vec4Stores = () => `  for (var q = 0u; q < ${TN / 4}u; q++) {
    let co = col0 + 4u * q;
    if (co >= ${d.N}) { continue; }
${range(4).map((t) => `    let slot${t} = ${groupSlot(t)};${p.bias ? ` let bias${t} = bias[co + ${t}u];` : ''}`).join('\n')}
    for (var i = 0u; i < ${TM}u; i++) {
      let ro = row0 + i * ${rowStep}u;
      if (ro >= ${d.M}) { break; }
      c[(${cIndex(p, d, 'ro', 'co')}) / 4u] = vec4<f32>(${range(4).map((t) => (p.bias ? `epilogue_biased(out[i * ${TN}u + slot${t}], bias${t}, ro, co + ${t}u)` : `epilogue(out[i * ${TN}u + slot${t}], ro, co + ${t}u)`)).join(', ')});
    }
  }`;
  return `
@compute @workgroup_size(${WGX}, ${WGY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, ${sg ? '@builtin(subgroup_invocation_id) lane: u32' : '@builtin(local_invocation_id) lxy: vec3<u32>'}) {
  ${splits > 1 ? splitBlocksWGSL(d, BM, BN, kSliceLength(p.K, splits, UNROLL_K), splits) : matmulBlocksWGSL(d, BN)}
${d.generic && v4.b === 'n' ? '  let n4 = dims.n / 4u;\n' : ''}${sg ? `  let row0 = row_block * ${BM}u + lane;
  let col0 = col_block * ${BN}u;`
: `  let row0 = row_block * ${BM}u + lxy.y * ${TM}u;
  let col0 = col_block * ${BN}u + lxy.x * ${TN}u;
  if (row0 >= ${d.M} || col0 >= ${d.N}) { return; }`}
${aOffsets.join('\n')}
${bOffsets.join('\n')}
${rows.map((i) => `  ${cols.map((j) => `var acc${i}_${j} = 0.0;`).join(' ')}`).join('\n')}
${p.skipZeros ? zeroSkippingLoops(p, d, BM, BN, UNROLL_K, listedSteps) : denseLoops()}
  var out = array<f32, ${TM * TN}>(${rows.flatMap((i) => cols.map((j) => `acc${i}_${j}`)).join(', ')});
${vecStores ? vec4Stores() : p.bias ? biasedStores() : `  for (var i = 0u; i < ${TM}u; i++) {
    let ro = row0 + i * ${rowStep}u;
    if (ro >= ${d.M}) { break; }
    for (var j = 0u; j < ${TN}u; j++) {
      let co = ${storeCol};
      if (co < ${d.N}) { ${splits > 1 ? `cSlices[slice * ${d.M} * ${d.N} + ro * ${d.N} + co] = out[i * ${TN}u + j];` : storeC(p, cIndex(p, d, 'ro', 'co'), `epilogue(out[i * ${TN}u + j], ro, co)`)} }
    }
  }`}
}`;
}

/**
 * The k loops of a `skipZeros` kernel: over the k this block's list (matmul-zeros.ts) holds, every
 * k where the block has no zero step. The list (of row_block for `a`, col_block for `b`, or of the
 * wider block holding it, skipBlock) is the workgroup's, so the count and the list are uniform:
 * every lane takes the same trip count, which the quad swaps of `register-subgroup` need. A block
 * whose list holds every k once also took the dense loops (a branch on the count), which ran it
 * slower than the listed loop does: a skipping first layer on an MNIST batch took 6.44 -> 6.05 ms
 * (forward, 8 x 32 blocks) and 11.17 -> 10.07 (weight gradient, 4 k steps) with the listed loop
 * alone (alternating, SwiftShader), and the first steps' 4 x 16 blocks 11.5 -> 11.2 and
 * 15.6 -> 15.4. A listed k costs one more load (the list's, the same for every lane).
 */
function zeroSkippingLoops(p: MatmulParams, d: MatmulDims, BM: number, BN: number, unroll: number, listedSteps: (t: string, n: number) => string): string {
  // A grid folded past the per-dimension limit has spare workgroups past the last row block
  // (they store nothing); clamped, they read a list that exists instead of an unwritten count.
  // A list may cover several of the kernel's blocks (skipBlock): the list of block b is list b / per.
  const side = p.skipZeros === 'a' ? BM : BN, width = p.skipBlock ?? side, per = width / side;
  const own = per > 1 ? (b: string) => `${b} / ${per}u` : (b: string) => b;
  const block = p.skipZeros === 'a' ? `min(${own('row_block')}, (${d.M} + ${width - 1}u) / ${width}u - 1u)` : own('col_block');
  const main = unroll > 1 ? `listed_count - listed_count % ${unroll}u` : 'listed_count';
  return `  let listed_at = ${block} * (${d.K} + 1u) + 1u;
  let listed_count = steps[listed_at - 1u];
  for (var t0 = 0u; t0 < ${main}; t0 += ${unroll}u) {
${listedSteps('t0', unroll)}
  }
${unroll > 1 ? `  for (var t1 = ${main}; t1 < listed_count; t1++) {\n${listedSteps('t1', 1)}\n  }` : ''}`;
}
