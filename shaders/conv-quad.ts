// The `direct-subgroup` variant of the convolution kernels (conv.ts): `direct`'s register blocks,
// with the weights shared across a quad the way matmul's `register-subgroup` shares its strip of
// B. A workgroup is one 4-lane subgroup (a quad: WebGPU subgroups have at least 4 lanes). Its
// lanes own TP consecutive pixels each (of the maps flattened over examples and rows, so small
// maps waste no lanes), all four for one block of TC channels, so they need the same TC weights
// per step: lane l loads weights 4q + l (q < TC/4) and gets the other three of each group of four
// from its neighbours with quadSwapX/Y/Diagonal. Slot 4q + s of a lane then holds channel
// 4q + (l ^ s), an order the final stores undo. With 16 channels x 4 pixels a step of the channel
// loop costs 8 storage loads and 12 swaps for 64 fmas; `direct` (4 x 8) costs 12 loads for 32.
// On SwiftShader a storage load costs about 20 fmas and a swap a few.
//   forward      lanes own output pixels; the weights of (out block, in channel, tap) are shared.
//   input grad   lanes own input pixels of one stride phase (iy mod s, ix mod s), so that they
//                visit the same taps; the weights of (out channel, in block, tap) are shared.
//   weight grad  lanes own TCI input channels each for one tap and one block of TC output
//                channels; dy of those TC channels at each output pixel is shared, x is the
//                lane's own, so a pixel costs TC/4 + TCI loads for TC * TCI fmas. With TCI input
//                channels or fewer (a colour picture's 3) the lanes own four taps instead, each
//                with every input channel, and still share dy.
// Inside the channel loop the forward unrolls the k taps of a kernel row, and the input gradient
// the ceil(k/s) candidate taps of its phase, so a tap's column validity and offset are computed
// once per lane instead of once per channel (SwiftShader, 16x32x32 -> 16, batch 64: forward 28-37
// against 43-51 ms, input gradient 43-51 against 70-72 ms).
// Subgroup operations need uniform control flow, so a lane never leaves a loop early: the loops
// run over constant bounds, padding is a select on a clamped load, and a lane past the end of the
// work (the last quad of a layer) computes on clamped indices and stores nothing.
// The weight gradient's bodies are in conv-quad-weight.ts.
import { grid1D, itemsOfBoundExamples } from './common';
import type { ConvDims } from './conv';
import { load32, storeAs, type HalfBindings } from './half';

/**
 * Block sizes, read by the WGSL and the grid maths alike (conv.ts exports them in CONV_TILES): a
 * lane's block is TC shared channels x ACC / TC pixels (or input channels, TCI, for the weight
 * gradient); TC shrinks to the multiple of 4 covering a layer with fewer channels, and the pixels
 * grow towards ACC accumulators, up to TP (SwiftShader took minutes to compile 4 x 16 blocks).
 */
export const QUAD_CONV_TILE = { TC: 16, ACC: 64, TP: 8, TCI: 4 } as const;

/** Shared channels per quad for a layer of `channels`: TC, or the multiple of 4 covering fewer. */
export const sharedChannels = (channels: number) => Math.min(QUAD_CONV_TILE.TC, 4 * Math.ceil(channels / 4));

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const SWAPS = ['', 'quadSwapX', 'quadSwapY', 'quadSwapDiagonal'];

/** Pixels per lane for TC channels: ACC / TC rounded down (TC = 12 gives 5, a whole number the WGSL can use), at most TP. */
const pixelBlock = (tc: number) => Math.min(Math.floor(QUAD_CONV_TILE.ACC / tc), QUAD_CONV_TILE.TP);

export interface QuadKernel { body: string; workgroups: [number, number, number] }

/**
 * The lane's loads `l<prefix>q` (q < TC/4, WGSL from `load(q)`), then the TC shared values
 * `<prefix>i`, slot i = 4q + s coming from lane (lane ^ s).
 */
export function sharedLoads(tc: number, load: (q: number) => string, prefix: string): string {
  const quarters = range(tc / 4);
  return [
    ...quarters.map((q) => `let l${prefix}${q} = ${load(q)};`),
    ...range(tc).map((i) => {
      const q = Math.floor(i / 4), s = i % 4;
      return `let ${prefix}${i} = ${s ? `${SWAPS[s]}(l${prefix}${q})` : `l${prefix}${q}`};`;
    }),
  ].join(' ');
}

/** The lane-dependent channel of slot i (see the header): base + (i & ~3) + (lane ^ (i & 3)). */
export const slotChannel = (base: string, i: string) => `${base} + (${i} & ~3u) + (lane ^ (${i} & 3u))`;

/**
 * One tap inside the channel loop of the forward and the input gradient: the lane's TP loads of
 * `src` at at(j) (zero where ok(j) is false), the quad's TC shared weights w[weight(k)], and the
 * TC x TP fmas into acc_i_j.
 */
function tapStep(o: { src: string; at: (j: number) => string; ok: (j: number) => string; weight: (k: number) => string; TC: number; TP: number; f16: HalfBindings | undefined }): string {
  const pix = range(o.TP), ch = range(o.TC);
  return `      {
        ${pix.map((j) => `let sv${j} = select(0.0, ${load32(o.f16, o.src, o.at(j))}, ${o.ok(j)});`).join(' ')}
        ${sharedLoads(o.TC, (k) => `w[${o.weight(k)}]`, 'wv')}
        ${ch.map((i) => pix.map((j) => `acc${i}_${j} = fma(wv${i}, sv${j}, acc${i}_${j});`).join(' ')).join('\n        ')}
      }`;
}

/** The opening of a quad kernel: quad q of `items` (a WGSL u32 expression, which `prelude` may define names for). */
export const HEAD = (items: string, prelude = '') => `
@compute @workgroup_size(4)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let q = wid.x + wid.y * nwg.x;${prelude}
  if (q >= ${items}) { return; }`;

/**
 * The WGSL of a forward's or input gradient's pixel count M, its last pixel and its quads of
 * pixels QM (`timesQM(k)`: k QM): numbers in the source, or (`sized`) read from the output
 * binding's whole examples of `perExample` elements, M counting `pixelsPerExample` of each
 * (itemsOfBoundExamples, in the `prelude`), so that one pipeline serves every batch. `quads` is
 * QM for the batch in the source, which sizes the grid either way.
 */
function pixelCounts(M: number, lanePixels: number, sized: { output: string; perExample: number; pixelsPerExample: number; f16: HalfBindings | undefined } | null) {
  const quads = Math.ceil(M / lanePixels);
  if (!sized) return { M: `${M}u`, last: `${M - 1}u`, QM: `${quads}u`, timesQM: (k: number) => `${k * quads}u`, quads, prelude: '' };
  return {
    M: 'M', last: '(M - 1u)', QM: 'QM', timesQM: (k: number) => `(${k}u * QM)`, quads,
    prelude: `
  let M = ${itemsOfBoundExamples(sized.output, sized.perExample, sized.pixelsPerExample, sized.f16?.includes(sized.output), 'conv2d (direct-subgroup)')};
  let QM = (M + ${lanePixels - 1}u) / ${lanePixels}u;`,
  };
}

/** y [N, Cout, OH, OW] = epilogue(conv(x, w)). Needs `fn epilogue` and bindings x, w, y. */
export function quadForward(d: ConvDims, f16: HalfBindings | undefined, sizedByBinding = false): QuadKernel {
  const TC = sharedChannels(d.Cout), TP = pixelBlock(TC);
  // Output pixels m = n OH OW + oy OW + ox; a lane owns TP consecutive ones, across rows and
  // examples, so a 7x7 map wastes no lanes.
  const CB = Math.ceil(d.Cout / TC);
  const c = pixelCounts(d.N * d.OHW, 4 * TP, sizedByBinding ? { output: 'y', perExample: d.Cout * d.OHW, pixelsPerExample: d.OHW, f16 } : null);
  const pix = range(TP), ch = range(TC);
  const body = `${HEAD(c.timesQM(CB), c.prelude)}
  let mBase = ((q % ${c.QM}) * 4u + lane) * ${TP}u;
  let co0 = (q / ${c.QM}) * ${TC}u;
${pix.map((j) => `  let m${j} = min(mBase + ${j}u, ${c.last});
  let p${j} = m${j} % ${d.OHW}u;
  let xb${j} = (m${j} / ${d.OHW}u) * ${d.Cin * d.HW}u;
  let iy${j} = i32(p${j} / ${d.OW}u) * ${d.S} - ${d.P};
  let ix${j} = i32(p${j} % ${d.OW}u) * ${d.S} - ${d.P};`).join('\n')}
${range(TC / 4).map((k) => `  let wc${k} = min(co0 + ${4 * k}u + lane, ${d.Cout - 1}u) * ${d.CinKK}u;`).join('\n')}
  ${ch.map((i) => pix.map((j) => `var acc${i}_${j} = 0.0;`).join(' ')).join('\n  ')}
${forwardTaps(d, TC, TP, f16)}
  var out = array<f32, ${TC * TP}>(${ch.flatMap((i) => pix.map((j) => `acc${i}_${j}`)).join(', ')});
  for (var j = 0u; j < ${TP}u; j++) {
    let m = mBase + j;
    if (m >= ${c.M}) { break; }
    let base = (m / ${d.OHW}u) * ${d.Cout * d.OHW}u + m % ${d.OHW}u;
    for (var i = 0u; i < ${TC}u; i++) {
      let co = ${slotChannel('co0', 'i')};
      if (co >= ${d.Cout}u) { continue; }
      let idx = base + co * ${d.OHW}u;
      ${storeAs(f16, 'y', 'idx', `epilogue(out[i * ${TP}u + j], idx, co)`)}
    }
  }
}`;
  return { body, workgroups: grid1D(CB * c.quads, 1) };
}

/** dx [N, Cin, H, W] = epilogue(conv^T(dy, w)). Needs `fn epilogue` and bindings dy, w, dx. */
export function quadInputGrad(d: ConvDims, f16: HalfBindings | undefined, sizedByBinding = false): QuadKernel {
  const TC = sharedChannels(d.Cin), TP = pixelBlock(TC);
  // A quad works in one stride phase (py, px) = (iy mod s, ix mod s), whose pixels all visit the
  // same taps: pixels m = n RH RW + r RW + c at (iy, ix) = (py + s r, px + s c), a lane owning TP
  // consecutive ones. RH x RW covers the largest phase; the others' extra pixels store nothing.
  const RH = Math.ceil(d.H / d.S), RW = Math.ceil(d.W / d.S), PH = d.S * d.S;
  const CB = Math.ceil(d.Cin / TC);
  const c = pixelCounts(d.N * RH * RW, 4 * TP, sizedByBinding ? { output: 'dx', perExample: d.Cin * d.HW, pixelsPerExample: RH * RW, f16 } : null);
  const pix = range(TP), ch = range(TC);
  const place = (m: string, out: string) => `${out}n = ${m} / ${RH * RW}u; let ${out}r = ${m} % ${RH * RW}u;
  let ${out}iy = py + i32(${out}r / ${RW}u) * ${d.S};
  let ${out}ix = px + i32(${out}r % ${RW}u) * ${d.S};`;
  const body = `${HEAD(c.timesQM(CB * PH), c.prelude)}
  let mBase = ((q % ${c.QM}) * 4u + lane) * ${TP}u;
  let phase = (q / ${c.QM}) % ${PH}u;
  let py = i32(phase / ${d.S}u);
  let px = i32(phase % ${d.S}u);
  let ci0 = (q / ${c.timesQM(PH)}) * ${TC}u;
${pix.map((j) => `  let ${place(`min(mBase + ${j}u, ${c.last})`, `p${j}`)}
  let dyn${j} = p${j}n * ${d.Cout * d.OHW}u;`).join('\n')}
${range(TC / 4).map((k) => `  let wc${k} = min(ci0 + ${4 * k}u + lane, ${d.Cin - 1}u) * ${d.KK}u;`).join('\n')}
  ${ch.map((i) => pix.map((j) => `var acc${i}_${j} = 0.0;`).join(' ')).join('\n  ')}
${inputGradTaps(d, TC, TP, f16)}
  var out = array<f32, ${TC * TP}>(${ch.flatMap((i) => pix.map((j) => `acc${i}_${j}`)).join(', ')});
  for (var j = 0u; j < ${TP}u; j++) {
    let m = mBase + j;
    if (m >= ${c.M}) { break; }
    let ${place('m', '')}
    if (iy >= ${d.H} || ix >= ${d.W}) { continue; }
    let base = n * ${d.Cin * d.HW}u + u32(iy * ${d.W} + ix);
    for (var i = 0u; i < ${TC}u; i++) {
      let ci = ${slotChannel('ci0', 'i')};
      if (ci >= ${d.Cin}u) { continue; }
      let idx = base + ci * ${d.HW}u;
      ${storeAs(f16, 'dx', 'idx', `epilogue(out[i * ${TP}u + j], idx, ci)`)}
    }
  }
}`;
  return { body, workgroups: grid1D(CB * PH * c.quads, 1) };
}

/**
 * The channel loop of one kernel row (ky in scope, rowIn_j and the taps' cin_t_j and cof_t_j
 * computed by the caller): for each of `taps` unrolled taps t, lane pixel j reads `src` at
 * rowOffset(j) + cof_t_j + the channel's plane, and the weights at column(t) of the row.
 */
function channelSteps(o: { taps: number; rowOffset: (j: number) => string; v: string; count: number; plane: number; wStride: number; src: string; column: (t: number) => string; K: number; TC: number; TP: number; f16: HalfBindings | undefined }): string {
  const pix = range(o.TP), taps = range(o.taps);
  const step = `
      let plane = ${o.v} * ${o.plane}u;
      let wrow = ${o.v} * ${o.wStride}u + tapRow;
${taps.map((t) => tapStep({ src: o.src, at: (j) => `ro${t}_${j} + plane`, ok: (j) => `ok${t}_${j}`, weight: (k) => `wc${k} + wrow + ${o.column(t)}`, TC: o.TC, TP: o.TP, f16: o.f16 })).join('\n')}`;
  // A loop of one iteration (a 1-channel input) costs SwiftShader a third of the kernel's time
  // at 1x64x64 -> 16 (forward 17-20 against 25-31 ms), so a single channel gets a plain block.
  const channels = o.count === 1 ? `    { let ${o.v} = 0u;${step}
    }` : `    for (var ${o.v} = 0u; ${o.v} < ${o.count}u; ${o.v}++) {${step}
    }`;
  return `${taps.map((t) => pix.map((j) => `    let ok${t}_${j} = rowIn${j} && cin${t}_${j};
    let ro${t}_${j} = ${o.rowOffset(j)} + cof${t}_${j};`).join('\n')).join('\n')}
    let tapRow = u32(ky * ${o.K});
${channels}`;
}

/** The forward's taps with kx unrolled inside the channel loop: each x plane offset and the tap's column validity are computed once. */
function forwardTaps(d: ConvDims, TC: number, TP: number, f16: HalfBindings | undefined): string {
  const pix = range(TP), kxs = range(d.K);
  return `${kxs.map((kx) => pix.map((j) => `  let cin${kx}_${j} = ix${j} + ${kx} >= 0 && ix${j} + ${kx} < ${d.W};
  let cof${kx}_${j} = u32(clamp(ix${j} + ${kx}, 0, ${d.W - 1}));`).join('\n')).join('\n')}
  for (var ky = 0; ky < ${d.K}; ky++) {
${pix.map((j) => `    let ty${j} = iy${j} + ky;
    let rowIn${j} = ty${j} >= 0 && ty${j} < ${d.H};
    let xr${j} = xb${j} + u32(clamp(ty${j}, 0, ${d.H - 1}) * ${d.W});`).join('\n')}
${channelSteps({ taps: d.K, rowOffset: (j) => `xr${j}`, v: 'ci', count: d.Cin, plane: d.HW, wStride: d.KK, src: 'x', column: (kx) => `${kx}u`, K: d.K, TC, TP, f16 })}
  }`;
}

/**
 * The input gradient's taps with the ceil(k/s) candidate kx of the quad's phase unrolled inside
 * the channel loop: each candidate's column validity and dy offset are computed once per lane.
 */
function inputGradTaps(d: ConvDims, TC: number, TP: number, f16: HalfBindings | undefined): string {
  const pix = range(TP), jxs = range(Math.ceil(d.K / d.S));
  return `  let kxPhase = (px + ${d.P}) % ${d.S};
${jxs.map((jx) => `  let kx${jx} = kxPhase + ${d.S * jx};
  let kxc${jx} = u32(min(kx${jx}, ${d.K - 1}));
${pix.map((j) => `  let tx${jx}_${j} = p${j}ix + ${d.P} - kx${jx};
  let cin${jx}_${j} = kx${jx} < ${d.K} && tx${jx}_${j} >= 0 && tx${jx}_${j} / ${d.S} < ${d.OW};
  let cof${jx}_${j} = u32(clamp(tx${jx}_${j} / ${d.S}, 0, ${d.OW - 1}));`).join('\n')}`).join('\n')}
  for (var ky = (py + ${d.P}) % ${d.S}; ky < ${d.K}; ky += ${d.S}) {
${pix.map((j) => `    let ty${j} = p${j}iy + ${d.P} - ky;
    let rowIn${j} = ty${j} >= 0 && ty${j} / ${d.S} < ${d.OH};
    let dr${j} = dyn${j} + u32(clamp(ty${j} / ${d.S}, 0, ${d.OH - 1}) * ${d.OW});`).join('\n')}
${channelSteps({ taps: jxs.length, rowOffset: (j) => `dr${j}`, v: 'co', count: d.Cout, plane: d.OHW, wStride: d.CinKK, src: 'dy', column: (jx) => `kxc${jx}`, K: d.K, TC, TP, f16 })}
  }`;
}
