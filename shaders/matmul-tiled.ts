// The workgroup-memory bodies of the matmul family (shaders/matmul.ts has the factory and the
// epilogue, matmul-register.ts the register kernels). A workgroup computes a BM x BN block of C: for each
// TILE_K-deep slice of k it stages op(A)[block rows, slice] and op(B)[slice, block cols] in
// workgroup memory, then every invocation accumulates its TM x TN block from them.
//
// Layout of the staged tiles: tileA holds, for each k of the slice, the BM values of that column of
// op(A) side by side ([TILE_K][BM]); tileB the BN values of that row of op(B) ([TILE_K][BN]). An
// invocation's TM rows and TN columns are then contiguous, so with VEC4 it reads them as TM/4 and
// TN/4 vec4s per k and keeps its accumulators as vec4 rows: TM * TN / 4 vec4 fmas per k step.
//
// Loads from storage go along each matrix's contiguous side so that neighbouring invocations read
// neighbouring words. With VEC4, in a specialized kernel, and when that side's length is a
// multiple of 4, they read vec4s (the binding is then declared array<vec4<f32>>, see
// `matmulVec4Inputs`); a vec4 then lies wholly inside or wholly outside the matrix, so the bounds
// check stays per vec4. Out-of-range elements are staged as zeros, so the k loop needs no guards
// and only the final stores are checked.
//
// QUAD: the four lanes of a quad own neighbouring column blocks of the same TM rows, so they need
// the same A fragment; each reads one of its TM/4 vec4s and the quad exchanges them with
// quadBroadcast. An invocation's place in the workgroup is not taken from local_invocation_index,
// whose relation to subgroup lanes WebGPU leaves open, but handed out per subgroup (an atomic
// counter bumped by lane 0 by the subgroup's live invocations, plus the lane), so quads are
// exactly 4 consecutive places whatever the adapter's subgroup size, partial subgroups included.
//
// DOUBLE: each tile has two slots. Slice s is read from slot s % 2 while slice s + 1 is staged
// into the other, so one barrier per slice suffices: the barrier that ends slice s both publishes
// slice s + 1 and tells every invocation that slot s % 2, which slice s + 2 will overwrite, has
// been read. (Without DOUBLE a second barrier keeps the staging of s + 1 from overwriting slice s
// while it is still being read.) The staging loads of the next slice are issued before the
// current slice's fmas, so their latency hides behind them on a GPU.
//
// SPLIT (`splits` > 1, see matmulSplits): a product with few blocks of C and a long K (a dense
// layer's weight gradient at a large batch: K = the batch) runs its k loop in `splits` whole-tile
// slices; the flat block number carries the slice above the blocks, each slice stores its partial
// C into its own layer of `cSlices` (no epilogue), and sliceSum adds the layers into c.
import { kSliceLength, kSplits } from './common';
import { cIndex, isTiled, loadAs32, matmulBlock, matmulBlocksWGSL, resolvedVariant, splitBlocksWGSL, storeC, type MatmulDims, type MatmulParams, type MatmulTile } from './matmul';

/**
 * When a product splits its K: fewer than SPLIT_BELOW blocks of C (an H200 has 132
 * multiprocessors, each holding several 256-invocation workgroups) and slices of at least
 * SPLIT_MIN_K, so that each slice's loop still runs long next to its store and the sum.
 */
export const MATMUL_SPLIT = { SPLIT_BELOW: 512, SPLIT_MIN_K: 512 } as const;

/**
 * When a register product (a CPU's) splits its K: a weight gradient (transA) of fewer than
 * SPLIT_BELOW blocks, each a single quad or invocation, leaves a CPU's other cores idle (the
 * dSprites conv model's 1-channel layers: one 16 x 16 block over K = 65,536 pixels, 15 ms on one
 * of SwiftShader's cores), so its K is cut into slices of at least SPLIT_MIN_K.
 */
export const REGISTER_SPLIT = { SPLIT_BELOW: 8, SPLIT_MIN_K: 4096 } as const;

/**
 * The K slices a product runs in (1: unsplit), for products without epilogue: specialized tiled
 * ones (GPUs) with few blocks and a long K, and register weight gradients (transA, shape-generic
 * or not, not skipping zeros) with fewer than REGISTER_SPLIT.SPLIT_BELOW blocks.
 */
export function matmulSplits(p: MatmulParams): number {
  const plain = !p.bias && (p.activation ?? 'none') === 'none' && (p.gradActivation ?? 'none') === 'none' && p.channelsFirstPixels === undefined && !p.f16?.includes('c');
  if (!plain) return 1;
  const { variant, tile } = resolvedVariant(p);
  const { BM, BN } = matmulBlock(variant, tile);
  const blocks = Math.ceil(p.M / BM) * Math.ceil(p.N / BN);
  if (!isTiled(variant)) return p.transA && p.skipZeros === undefined ? kSplits(blocks, p.K, tile.UNROLL_K, REGISTER_SPLIT) : 1;
  return p.generic ? 1 : kSplits(blocks, p.K, tile.TILE_K, MATMUL_SPLIT);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const LANE = ['x', 'y', 'z', 'w'];

/** Whether A and B are read as vec4 from storage (specialized VEC4 kernels whose contiguous side is a multiple of 4). */
export function matmulVec4Inputs(p: MatmulParams, t: MatmulTile, tiled: boolean): { a: boolean; b: boolean } {
  if (!tiled || !t.VEC4 || p.generic) return { a: false, b: false };
  // f16 operands are read element by element and widened (no vec4<f16> path).
  return { a: (p.transA ? p.M : p.K) % 4 === 0 && !p.f16?.includes('a'), b: (p.transB ? p.K : p.N) % 4 === 0 && !p.f16?.includes('b') };
}

/**
 * How item `e` of a k-slice moves from storage into its tile: the `let` lines that place it, the
 * register's zero, the guarded loads that fill the register, and the tile store(s). stageTile
 * moves a whole slice in one loop; PREFETCH holds the loads in registers across the slice's fmas
 * and stores them afterwards.
 *
 * With VEC4 tiles every store writes whole vec4s: WGSL lets a write to one component of a vector
 * access the whole vector (Metal compiles it to a read-modify-write), so invocations writing
 * different components of one tile vec4 at once would race. An item is therefore 4 neighbouring
 * tile entries of one k (4 rows of op(A) or columns of op(B)), or, when the loads are vec4s along
 * k, 4 x 4: four vec4 loads whose transpose is four tile vec4s.
 */
interface TileMove { count: number; zero: string; place: string[]; fill: (v: string) => string[]; put: (v: string) => string[] }

function tileMove(which: 'a' | 'b', p: MatmulParams, t: MatmulTile, d: MatmulDims, vec4: boolean, k0: string, slot: string): TileMove {
  const { TM, TN, WGX, WGY, TILE_K: BK } = t;
  const isA = which === 'a';
  const span = isA ? TM * WGY : TN * WGX; // BM or BN
  const block = isA ? 'blockRow' : 'blockCol';
  const limit = isA ? d.M : d.N; // rows of op(A), columns of op(B)
  const tile = isA ? 'tileA' : 'tileB';
  // Is the matrix stored with k contiguous (A plain, B transposed) or the other side contiguous?
  const kContiguous = isA ? !p.transA : !!p.transB;
  const at = (side: string, k: string) => (kContiguous ? `(${side}) * ${d.K} + ${k}` : `(${k}) * ${limit} + ${side}`);
  const at0 = slot ? `${slot} + ` : '';
  const guarded = (k: string, side: string, target: string, load: string) => `if (${k0} + ${k} < ${d.K} && ${block} + ${side} < ${limit}) { ${target} = ${load}; }`;
  if (!t.VEC4) {
    // Scalar tiles: one element per item; consecutive e walk the contiguous side (k, or rows / columns).
    const [kk, ss] = kContiguous ? [`e % ${BK}u`, `e / ${BK}u`] : [`e / ${span}u`, `e % ${span}u`];
    return {
      count: span * BK, zero: '0.0', place: [`let kk = ${kk};`, `let ss = ${ss};`],
      fill: (v) => [guarded('kk', 'ss', v, loadAs32(p, which, at(`${block} + ss`, `${k0} + kk`)))],
      put: (v) => [`${tile}[${at0}kk * ${span}u + ss] = ${v};`],
    };
  }
  const whole = (k: string, side: string, v: string) => `${tile}[${at0}((${k}) * ${span}u + ${side}) / 4u] = ${v};`;
  if (vec4 && kContiguous) {
    // Four vec4s, 4 consecutive k of 4 neighbouring rows (columns): column r of the register is
    // row sq + r, so its transpose's column j is the tile vec4 of k kv + j.
    return {
      count: (span * BK) / 16, zero: 'mat4x4<f32>()', place: [`let kv = (e % ${BK / 4}u) * 4u;`, `let sq = (e / ${BK / 4}u) * 4u;`],
      fill: (v) => range(4).map((r) => guarded('kv', `sq + ${r}u`, `${v}[${r}]`, `${which}[(${at(`${block} + sq + ${r}u`, `${k0} + kv`)}) / 4u]`)),
      put: (v) => [`{ let tv = transpose(${v});`, ...range(4).map((j) => `  ${whole(`kv + ${j}u`, 'sq', `tv[${j}]`)}`), '}'],
    };
  }
  if (vec4) {
    // A vec4 is 4 neighbouring entries of one tile row: stored whole.
    return {
      count: (span * BK) / 4, zero: 'vec4<f32>()', place: [`let sv = (e % ${span / 4}u) * 4u;`, `let kk = e / ${span / 4}u;`],
      fill: (v) => [guarded('kk', 'sv', v, `${which}[(${at(`${block} + sv`, `${k0} + kk`)}) / 4u]`)],
      put: (v) => [whole('kk', 'sv', v)],
    };
  }
  // Scalar loads into vec4 tiles: 4 neighbouring rows (columns) at one k, consecutive e walking
  // the contiguous side as far as 4-entry items allow.
  const place = kContiguous ? [`let kk = e % ${BK}u;`, `let sq = (e / ${BK}u) * 4u;`] : [`let sq = (e % ${span / 4}u) * 4u;`, `let kk = e / ${span / 4}u;`];
  return {
    count: (span * BK) / 4, zero: 'vec4<f32>()', place,
    fill: (v) => range(4).map((r) => guarded('kk', `sq + ${r}u`, `${v}[${r}]`, loadAs32(p, which, at(`${block} + sq + ${r}u`, `${k0} + kk`)))),
    put: (v) => [whole('kk', 'sq', v)],
  };
}

/**
 * WGSL statements staging op(A) or op(B) of the slice starting at k `k0` (a WGSL expression) into
 * its tile, from element (or vec4) `slot` of the tile array on (the DOUBLE slot's offset).
 */
function stageTile(which: 'a' | 'b', p: MatmulParams, t: MatmulTile, d: MatmulDims, vec4: boolean, k0 = 'k0', slot = ''): string {
  const m = tileMove(which, p, t, d, vec4, k0, slot);
  return `    for (var e = lid; e < ${m.count}u; e += ${t.WGX * t.WGY}u) {
${m.place.map((l) => `      ${l}`).join('\n')}
      var v = ${m.zero};
${m.fill('v').map((l) => `      ${l}`).join('\n')}
${m.put('v').map((l) => `      ${l}`).join('\n')}
    }`;
}

/**
 * PREFETCH: this invocation's share of a slice, `ceil(count / threads)` registers per operand.
 * `loads` fills them from the slice at k `k0`; `stores` writes them into the tile slot at `slot`.
 */
function prefetchMoves(which: 'a' | 'b', p: MatmulParams, t: MatmulTile, d: MatmulDims, vec4: boolean) {
  const threads = t.WGX * t.WGY;
  const probe = tileMove(which, p, t, d, vec4, 'kn', '');
  const regs = range(Math.ceil(probe.count / threads)).map((r) => ({ r, name: `pf${which}${r}` }));
  const each = (r: number, lines: string[]) => {
    const e = `let e = lid + ${r * threads}u;`;
    const body = lines.map((l) => `        ${l}`).join('\n');
    return (r + 1) * threads <= probe.count ? `      { ${e}\n${body}\n      }` : `      { ${e}\n      if (e < ${probe.count}u) {\n${body}\n      } }`;
  };
  return {
    declare: regs.map(({ name }) => `  var ${name} = ${probe.zero};`).join('\n'),
    loads: (k0: string) => {
      const m = tileMove(which, p, t, d, vec4, k0, '');
      return regs.map(({ r, name }) => each(r, [...m.place, `${name} = ${m.zero};`, ...m.fill(name)])).join('\n');
    },
    stores: (slot: string) => {
      const m = tileMove(which, p, t, d, vec4, 'kn', slot);
      return regs.map(({ r, name }) => each(r, [...m.place, ...m.put(name)])).join('\n');
    },
  };
}

export function tiledBody(p: MatmulParams, t: MatmulTile, d: MatmulDims): string {
  const { TM, TN, WGX, WGY, TILE_K: BK, VEC4, QUAD, DOUBLE, SPREAD, PREFETCH } = t;
  const BM = TM * WGY, BN = TN * WGX;
  const vec4In = matmulVec4Inputs(p, t, true);
  const elem = VEC4 ? 'vec4<f32>' : 'f32';
  const tileLen = (n: number) => (VEC4 ? (n * BK) / 4 : n * BK);
  const AV = TM / 4, BV = TN / 4;
  const place = QUAD
    ? `  // The subgroup's live invocations, not subgroup_size: a workgroup that is not a multiple of the
  // subgroup size ends in a partial subgroup, which must take only the places it fills.
  let live = subgroupAdd(1u);
  var first = 0u;
  if (lane == 0u) { first = atomicAdd(&places, live); }
  let pos = subgroupBroadcast(first, 0u) + lane;`
    : '  let pos = lid;';
  const inner = VEC4
    ? [
        // SPREAD: vec4 v of the rows is vec4 ty + v * WGY of the tile row, so invocations next to
        // each other read vec4s next to each other (else ty * AV + v: AV vec4s apart).
        `      let aBase = ${DOUBLE ? `cur * ${tileLen(BM)}u + ` : ''}k * ${BM / 4}u + ty${SPREAD ? '' : ` * ${AV}u`};`,
        ...(QUAD
          ? [`      let mine = tileA[aBase + (pos % 4u) % ${AV}u];`, ...range(AV).map((v) => `      let a${v} = quadBroadcast(mine, ${v}u);`)]
          : range(AV).map((v) => `      let a${v} = tileA[aBase + ${SPREAD ? v * WGY : v}u];`)),
        `      let bBase = ${DOUBLE ? `cur * ${tileLen(BN)}u + ` : ''}k * ${BN / 4}u + tx${SPREAD ? '' : ` * ${BV}u`};`,
        ...range(BV).map((q) => `      let b${q} = tileB[bBase + ${SPREAD ? q * WGX : q}u];`),
        ...range(TM).map((i) => `      ${range(BV).map((q) => `acc${i}_${q} = fma(vec4<f32>(a${Math.floor(i / 4)}.${LANE[i % 4]}), b${q}, acc${i}_${q});`).join(' ')}`),
      ].join('\n')
    : `      for (var i = 0u; i < ${TM}u; i++) {
        let av = tileA[${DOUBLE ? `cur * ${tileLen(BM)}u + ` : ''}k * ${BM}u + ty * ${TM}u + i];
        for (var j = 0u; j < ${TN}u; j++) { acc[i * ${TN}u + j] = fma(av, tileB[${DOUBLE ? `cur * ${tileLen(BN)}u + ` : ''}k * ${BN}u + tx * ${TN}u + j], acc[i * ${TN}u + j]); }
      }`;
  const splits = p.splits ?? 1;
  const kLen = splits > 1 ? kSliceLength(p.K, splits, BK) : 0;
  const blocks = splits > 1
    ? splitBlocksWGSL(d, BM, BN, kLen, splits)
    : `${matmulBlocksWGSL(d, BN)}
  let kBegin = 0u;
  let kEnd = ${d.K};`;
  /** The store of one finished sum: through the epilogue into c, or raw into this slice's layer. */
  const put = (acc: string) => (splits > 1
    ? `cSlices[slice * ${p.M * p.N}u + row * ${d.N} + col] = ${acc};`
    : storeC(p, cIndex(p, d, 'row', 'col'), `epilogue(${acc}, row, col)`));
  const slots = DOUBLE ? 2 : 1;
  // DOUBLE: slice 0 into slot 0, then per slice: stage the next into the other slot, read this one,
  // one barrier. The condition is the same for the whole workgroup, so every invocation meets it.
  // PREFETCH: the same, but the next slice's loads land in registers before this slice's fmas and
  // reach workgroup memory after them, so a GPU overlaps their latency with the arithmetic (a
  // store straight into the tile would wait for its load before the fmas could start).
  const pfA = prefetchMoves('a', p, t, d, vec4In.a), pfB = prefetchMoves('b', p, t, d, vec4In.b);
  const [early, late] = PREFETCH
    ? [`${pfA.loads('kn')}\n${pfB.loads('kn')}`, `${pfA.stores('nextA')}\n${pfB.stores('nextB')}`]
    : [`${stageTile('a', p, t, d, vec4In.a, 'kn', 'nextA')}\n${stageTile('b', p, t, d, vec4In.b, 'kn', 'nextB')}`, ''];
  const twoSlotLoop = `${PREFETCH ? `${pfA.declare}\n${pfB.declare}\n` : ''}  {
    let k0 = kBegin;
${stageTile('a', p, t, d, vec4In.a)}
${stageTile('b', p, t, d, vec4In.b)}
  }
  workgroupBarrier();
  for (var k0 = kBegin; k0 < kEnd; k0 += ${BK}u) {
    let cur = ((k0 - kBegin) / ${BK}u) % 2u;
    let kn = k0 + ${BK}u;
    let more = kn < kEnd;
    let nextA = (1u - cur) * ${tileLen(BM)}u;
    let nextB = (1u - cur) * ${tileLen(BN)}u;
    if (more) {
${early}
    }
    for (var k = 0u; k < ${BK}u; k++) {
${inner}
    }
${late ? `    if (more) {\n${late}\n    }\n` : ''}    workgroupBarrier();
  }`;
  const stores = VEC4
    ? range(TM).flatMap((i) => range(TN).map((j) => {
        const acc = `acc${i}_${Math.floor(j / 4)}.${LANE[j % 4]}`;
        const rowIn = SPREAD ? `ty * 4u + ${Math.floor(i / 4) * 4 * WGY + (i % 4)}u` : `ty * ${TM}u + ${i}u`;
        const colIn = SPREAD ? `tx * 4u + ${Math.floor(j / 4) * 4 * WGX + (j % 4)}u` : `tx * ${TN}u + ${j}u`;
        return `  { let row = blockRow + ${rowIn}; let col = blockCol + ${colIn};
    if (row < ${d.M} && col < ${d.N}) { ${put(acc)} } }`;
      })).join('\n')
    : `  for (var i = 0u; i < ${TM}u; i++) {
    for (var j = 0u; j < ${TN}u; j++) {
      let row = blockRow + ty * ${TM}u + i;
      let col = blockCol + tx * ${TN}u + j;
      if (row < ${d.M} && col < ${d.N}) { ${put(`acc[i * ${TN}u + j]`)} }
    }
  }`;
  return `
var<workgroup> tileA: array<${elem}, ${slots * tileLen(BM)}>;   // ${DOUBLE ? '[2][TILE_K][BM]' : '[TILE_K][BM]'}
var<workgroup> tileB: array<${elem}, ${slots * tileLen(BN)}>;   // ${DOUBLE ? '[2][TILE_K][BN]' : '[TILE_K][BN]'}
${QUAD ? 'var<workgroup> places: atomic<u32>;\n' : ''}
@compute @workgroup_size(${WGX * WGY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32${QUAD ? ', @builtin(subgroup_invocation_id) lane: u32' : ''}) {
${place}
  let tx = pos % ${WGX}u;
  let ty = pos / ${WGX}u;
  ${blocks}
  let blockRow = row_block * ${BM}u;
  let blockCol = col_block * ${BN}u;
${VEC4 ? range(TM).map((i) => `  ${range(BV).map((q) => `var acc${i}_${q} = vec4<f32>();`).join(' ')}`).join('\n') : `  var acc: array<f32, ${TM * TN}>;`}
${DOUBLE ? twoSlotLoop : `  for (var k0 = kBegin; k0 < kEnd; k0 += ${BK}u) {
${stageTile('a', p, t, d, vec4In.a)}
${stageTile('b', p, t, d, vec4In.b)}
    workgroupBarrier();
    for (var k = 0u; k < ${BK}u; k++) {
${inner}
    }
    workgroupBarrier();
  }`}
${stores}
}`;
}
