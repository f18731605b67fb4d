// The `direct` variant of the convolution kernels (conv.ts, whose header describes it, adds the
// bindings, the epilogue and the kernel's name): register blocks filled by plain storage loads,
// with no workgroup memory and no barriers. Each factory returns the WGSL body and its grid.
//   forward      an invocation owns TC output channels x TP pixels of one output row.
//   input grad   an invocation owns TC input channels x TP pixels of one input row, s apart (one
//                stride phase, so they share their taps).
//   weight grad  an invocation owns TC x TC (out, in) channel pairs of one tap and sums them over
//                conv-loops.ts's loop nest.
import { FLAT_INDEX_WGSL, grid1D, itemCountWGSL } from './common';
import type { ConvDims } from './conv';
import { weightGradSum } from './conv-loops';
import { load32, storeAs, type HalfBindings } from './half';

/**
 * Block sizes, read by the WGSL and the grid maths alike (conv.ts exports them as
 * CONV_TILES.direct): TC channels x TP pixels per invocation (TC x TC channel pairs for the weight
 * gradient), WORKGROUP invocations per group.
 * Measured on SwiftShader (32x32x32 -> 64 channels, batch 16, best of 3 on a loaded machine):
 * 4 x 8 blocks ran forward in 398 ms and the input gradient in 600 ms, against 667 and 1141 ms
 * for 4 x 4; 8 x 4 was between. Compile time roughly doubles (about 4 s against 2 s per kernel).
 * TP is the most: a row narrower than TP pixels (4x4 outputs) gets the power of two covering it.
 */
export const DIRECT_CONV_TILE = { TC: 4, TP: 8, WORKGROUP: 64 } as const;

export interface DirectKernel { body: string; workgroups: [number, number, number] }

/** Pixels per invocation along a row of `width`: TP, or the power of two that covers a narrower row. */
const rowBlock = (width: number) => Math.min(DIRECT_CONV_TILE.TP, 2 ** Math.ceil(Math.log2(width)));

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const block = (f: (i: number, j: number) => string, rows: number, cols: number) => range(rows).flatMap((i) => range(cols).map((j) => f(i, j))).join(' ');

/**
 * The opening of a direct kernel: one flat invocation index t per work item, none past `items`
 * (or, `sized`, past the items of the examples bound in the output: itemsOfBoundExamples).
 */
const directHead = (items: number, sized?: { output: string; perExample: number; itemsPerExample: number; f16: HalfBindings | undefined }) => `@compute @workgroup_size(${DIRECT_CONV_TILE.WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = ${FLAT_INDEX_WGSL(DIRECT_CONV_TILE.WORKGROUP)};
  if (t >= ${itemCountWGSL(items, sized && { ...sized, half: sized.f16?.includes(sized.output), kernel: 'conv2d (direct)' })}) { return; }`;

/** y [N, Cout, OH, OW] = epilogue(conv(x, w)). Needs `fn epilogue` and bindings x, w, y. */
export function directForward(d: ConvDims, f16: HalfBindings | undefined, sizedByBinding = false): DirectKernel {
  const { TC, WORKGROUP } = DIRECT_CONV_TILE;
  const TP = rowBlock(d.OW);
  const PG = Math.ceil(d.OW / TP), CB = Math.ceil(d.Cout / TC);
  const items = d.N * CB * d.OH * PG;
  const pix = range(TP), ch = range(TC);
  const body = `
${directHead(items, sizedByBinding ? { output: 'y', perExample: d.Cout * d.OHW, itemsPerExample: CB * d.OH * PG, f16 } : undefined)}
  let ox0 = i32(t % ${PG}u) * ${TP};
  let oy = i32((t / ${PG}u) % ${d.OH}u);
  let co0 = ((t / ${PG * d.OH}u) % ${CB}u) * ${TC}u;
  let n = t / ${PG * d.OH * CB}u;
  let xn = n * ${d.Cin * d.HW}u;
${ch.map((i) => `  let wc${i} = min(co0 + ${i}u, ${d.Cout - 1}u) * ${d.CinKK}u;`).join('\n')}
  ${block((i, j) => `var acc${i}_${j} = 0.0;`, TC, TP)}
  for (var ky = 0; ky < ${d.K}; ky++) {
    let iy = oy * ${d.S} - ${d.P} + ky;
    if (iy < 0 || iy >= ${d.H}) { continue; }
    for (var kx = 0; kx < ${d.K}; kx++) {
${pix.map((j) => `      let ix${j} = (ox0 + ${j}) * ${d.S} - ${d.P} + kx;
      let in${j} = ix${j} >= 0 && ix${j} < ${d.W};
      let o${j} = xn + u32(iy * ${d.W} + clamp(ix${j}, 0, ${d.W - 1}));`).join('\n')}
      let tap = u32(ky * ${d.K} + kx);
      for (var ci = 0u; ci < ${d.Cin}u; ci++) {
        let xc = ci * ${d.HW}u;
        let wt = ci * ${d.KK}u + tap;
        ${pix.map((j) => `let xv${j} = select(0.0, ${load32(f16, 'x', `o${j} + xc`)}, in${j});`).join(' ')}
        ${ch.map((i) => `let wv${i} = w[wc${i} + wt];`).join(' ')}
        ${block((i, j) => `acc${i}_${j} = fma(wv${i}, xv${j}, acc${i}_${j});`, TC, TP)}
      }
    }
  }
${blockStores(f16, { out: 'y', c0: 'co0', C: d.Cout, plane: d.OHW, width: d.OW, row: 'oy', x0: 'ox0', step: 1 }, TC, TP)}
}`;
  return { body, workgroups: grid1D(items, WORKGROUP) };
}

/** dx [N, Cin, H, W] = epilogue(conv^T(dy, w)). Needs `fn epilogue` and bindings dy, w, dx. */
export function directInputGrad(d: ConvDims, f16: HalfBindings | undefined, sizedByBinding = false): DirectKernel {
  const { TC, WORKGROUP } = DIRECT_CONV_TILE;
  // Invocation pixels ix0 + s j (j < TP) share one phase ix mod s, so they share their taps.
  const TP = rowBlock(Math.ceil(d.W / d.S));
  const G = Math.ceil(Math.ceil(d.W / d.S) / TP), XG = d.S * G, CB = Math.ceil(d.Cin / TC);
  const items = d.N * CB * d.H * XG;
  const pix = range(TP), ch = range(TC);
  const body = `
${directHead(items, sizedByBinding ? { output: 'dx', perExample: d.Cin * d.HW, itemsPerExample: CB * d.H * XG, f16 } : undefined)}
  let xg = t % ${XG}u;
  let ix0 = i32(xg % ${d.S}u) + i32(xg / ${d.S}u) * ${d.S * TP};
  let iy = i32((t / ${XG}u) % ${d.H}u);
  let ci0 = ((t / ${XG * d.H}u) % ${CB}u) * ${TC}u;
  let n = t / ${XG * d.H * CB}u;
  let dyn = n * ${d.Cout * d.OHW}u;
${ch.map((i) => `  let wc${i} = min(ci0 + ${i}u, ${d.Cin - 1}u) * ${d.KK}u;`).join('\n')}
  ${block((i, j) => `var acc${i}_${j} = 0.0;`, TC, TP)}
  for (var ky = (iy + ${d.P}) % ${d.S}; ky < ${d.K}; ky += ${d.S}) {
    let ty = iy + ${d.P} - ky;
    if (ty < 0) { break; }
    let oy = ty / ${d.S};
    if (oy >= ${d.OH}) { continue; }
    for (var kx = (ix0 + ${d.P}) % ${d.S}; kx < ${d.K}; kx += ${d.S}) {
      let ox0 = (ix0 + ${d.P} - kx) / ${d.S};
${pix.map((j) => `      let in${j} = ox0 + ${j} >= 0 && ox0 + ${j} < ${d.OW};
      let o${j} = dyn + u32(oy * ${d.OW} + clamp(ox0 + ${j}, 0, ${d.OW - 1}));`).join('\n')}
      let tap = u32(ky * ${d.K} + kx);
      for (var co = 0u; co < ${d.Cout}u; co++) {
        let dc = co * ${d.OHW}u;
        let wt = co * ${d.CinKK}u + tap;
        ${pix.map((j) => `let dv${j} = select(0.0, ${load32(f16, 'dy', `o${j} + dc`)}, in${j});`).join(' ')}
        ${ch.map((i) => `let wv${i} = w[wc${i} + wt];`).join(' ')}
        ${block((i, j) => `acc${i}_${j} = fma(wv${i}, dv${j}, acc${i}_${j});`, TC, TP)}
      }
    }
  }
${blockStores(f16, { out: 'dx', c0: 'ci0', C: d.Cin, plane: d.HW, width: d.W, row: 'iy', x0: 'ix0', step: d.S }, TC, TP)}
}`;
  return { body, workgroups: grid1D(items, WORKGROUP) };
}

/**
 * The guarded stores of an invocation's TC x TP block through the epilogue: channel c0 + i of C,
 * pixel x0 + j * step of row `row` in a plane `width` wide (forward: y, input gradient: dx).
 */
function blockStores(f16: HalfBindings | undefined, o: { out: 'y' | 'dx'; c0: string; C: number; plane: number; width: number; row: string; x0: string; step: number }, TC: number, TP: number): string {
  return range(TC).flatMap((i) => range(TP).map((j) => `  if (${o.c0} + ${i}u < ${o.C}u && ${o.x0} + ${j * o.step} < ${o.width}) {
    let idx = (n * ${o.C}u + ${o.c0} + ${i}u) * ${o.plane}u + u32(${o.row} * ${o.width} + ${o.x0} + ${j * o.step});
    ${storeAs(f16, o.out, 'idx', `epilogue(acc${i}_${j}, idx, ${o.c0} + ${i}u)`)}
  }`)).join('\n');
}

/** dw [Cout, Cin, k, k] = sum over examples and output pixels of dy x (shifted by the tap). Bindings dy, x, dw. */
export function directWeightGrad(d: ConvDims, f16: HalfBindings | undefined): DirectKernel {
  const { TC, WORKGROUP } = DIRECT_CONV_TILE;
  const CIB = Math.ceil(d.Cin / TC), COB = Math.ceil(d.Cout / TC);
  const items = CIB * COB * d.KK;
  const ch = range(TC);
  const body = `
${directHead(items)}
  let ci0 = (t % ${CIB}u) * ${TC}u;
  let co0 = ((t / ${CIB}u) % ${COB}u) * ${TC}u;
  let tap = t / ${CIB * COB}u;
  let ky = i32(tap / ${d.K}u);
  let kx = i32(tap % ${d.K}u);
${ch.map((i) => `  let dc${i} = min(co0 + ${i}u, ${d.Cout - 1}u) * ${d.OHW}u;`).join('\n')}
${ch.map((j) => `  let xc${j} = min(ci0 + ${j}u, ${d.Cin - 1}u) * ${d.HW}u;`).join('\n')}
  ${block((i, j) => `var acc${i}_${j} = 0.0;`, TC, TC)}
${weightGradSum(d, [
    ch.map((i) => `let dv${i} = ${load32(f16, 'dy', `dp + dc${i}`)};`).join(' '),
    ch.map((j) => `let xv${j} = ${load32(f16, 'x', `xp + xc${j}`)};`).join(' '),
    block((i, j) => `acc${i}_${j} = fma(dv${i}, xv${j}, acc${i}_${j});`, TC, TC),
  ].join('\n        '))}
${ch.flatMap((i) => ch.map((j) => `  if (co0 + ${i}u < ${d.Cout}u && ci0 + ${j}u < ${d.Cin}u) { dw[(co0 + ${i}u) * ${d.CinKK}u + (ci0 + ${j}u) * ${d.KK}u + tap] = acc${i}_${j}; }`)).join('\n')}
}`;
  return { body, workgroups: grid1D(items, WORKGROUP) };
}
