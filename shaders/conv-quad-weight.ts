// The weight gradient of the `direct-subgroup` convolution (conv-quad.ts describes the variant
// and has the helpers shared with its forward and input gradient): dw [Cout, Cin, k, k] = sum over
// examples and output pixels of dy x (shifted by the tap), with dy of a block of TC output channels
// shared across the quad. Lanes own TCI input channels each for one tap, or, where the layer has
// at most TCI input channels, one tap each with every input channel.
import { grid1D } from './common';
import type { ConvDims } from './conv';
import { weightGradSum } from './conv-loops';
import { HEAD, QUAD_CONV_TILE, range, sharedChannels, sharedLoads, slotChannel, type QuadKernel } from './conv-quad';
import { load32, type HalfBindings } from './half';

/** dw [Cout, Cin, k, k] = sum over examples and output pixels of dy x (shifted by the tap). Bindings dy, x, dw. */
export function quadWeightGrad(d: ConvDims, f16: HalfBindings | undefined): QuadKernel {
  const { TCI } = QUAD_CONV_TILE;
  // With TCI input channels or fewer, lanes owning channels would leave three of four idle (a
  // 3-channel picture: 13 of 16 lane channels clamped); there the lanes own taps instead.
  if (d.Cin <= TCI) return quadWeightGradByTap(d, f16);
  const TC = sharedChannels(d.Cout);
  const CIB = Math.ceil(d.Cin / (4 * TCI)), COB = Math.ceil(d.Cout / TC);
  const quads = CIB * COB * d.KK;
  const co = range(TC), cin = range(TCI);
  const body = `${HEAD(`${quads}u`)}
  let cib = q % ${CIB}u;
  let co0 = ((q / ${CIB}u) % ${COB}u) * ${TC}u;
  let tap = q / ${CIB * COB}u;
  let ky = i32(tap / ${d.K}u);
  let kx = i32(tap % ${d.K}u);
  // The lane's input channels: cib * 4 TCI + lane TCI + j.
  let ci0 = (cib * 4u + lane) * ${TCI}u;
${range(TC / 4).map((k) => `  let dc${k} = min(co0 + ${4 * k}u + lane, ${d.Cout - 1}u) * ${d.OHW}u;`).join('\n')}
${cin.map((j) => `  let xc${j} = min(ci0 + ${j}u, ${d.Cin - 1}u) * ${d.HW}u;`).join('\n')}
  ${co.map((i) => cin.map((j) => `var acc${i}_${j} = 0.0;`).join(' ')).join('\n  ')}
  // The tap is the quad's, so the loop bounds are uniform.
${weightGradSum(d, [
    sharedLoads(TC, (k) => load32(f16, 'dy', `dp + dc${k}`), 'dv'),
    cin.map((j) => `let xv${j} = ${load32(f16, 'x', `xp + xc${j}`)};`).join(' '),
    co.map((i) => cin.map((j) => `acc${i}_${j} = fma(dv${i}, xv${j}, acc${i}_${j});`).join(' ')).join('\n        '),
  ].join('\n        '))}
  var out = array<f32, ${TC * TCI}>(${co.flatMap((i) => cin.map((j) => `acc${i}_${j}`)).join(', ')});
  for (var i = 0u; i < ${TC}u; i++) {
    let c = ${slotChannel('co0', 'i')};
    if (c >= ${d.Cout}u) { continue; }
    for (var j = 0u; j < ${TCI}u; j++) {
      if (ci0 + j >= ${d.Cin}u) { break; }
      dw[c * ${d.CinKK}u + (ci0 + j) * ${d.KK}u + tap] = out[i * ${TCI}u + j];
    }
  }
}`;
  return { body, workgroups: grid1D(quads, 1) };
}

/**
 * The weight gradient of a layer with at most TCI input channels: lane l owns tap 4 g + l of the
 * quad's group g of four taps (flattened ky k + kx) and all Cin input channels, for one block of TC
 * output channels. The four lanes visit the same output pixel at each step, so they share its dy
 * of the TC channels as the channel-lane kernel does, and each reads x at its own tap; the loops
 * run over every output pixel (uniform bounds, as the swaps need), and a tap that lands in the
 * padding reads a clamped pixel and multiplies zero. A pixel costs TC/4 + Cin loads for TC * Cin fmas.
 */
function quadWeightGradByTap(d: ConvDims, f16: HalfBindings | undefined): QuadKernel {
  const TC = sharedChannels(d.Cout), CI = d.Cin;
  const COB = Math.ceil(d.Cout / TC), TG = Math.ceil(d.KK / 4);
  const quads = COB * TG;
  const co = range(TC), cin = range(CI);
  const body = `${HEAD(`${quads}u`)}
  let co0 = (q % ${COB}u) * ${TC}u;
  let tapOwn = (q / ${COB}u) * 4u + lane;
  let tap = min(tapOwn, ${d.KK - 1}u);
  let ky = i32(tap / ${d.K}u);
  let kx = i32(tap % ${d.K}u);
${range(TC / 4).map((k) => `  let dc${k} = min(co0 + ${4 * k}u + lane, ${d.Cout - 1}u) * ${d.OHW}u;`).join('\n')}
  ${co.map((i) => cin.map((j) => `var acc${i}_${j} = 0.0;`).join(' ')).join('\n  ')}
  for (var n = 0u; n < ${d.N}u; n++) {
    let dyn = n * ${d.Cout * d.OHW}u;
    let xn = n * ${d.Cin * d.HW}u;
    for (var oy = 0; oy < ${d.OH}; oy++) {
      let iy = oy * ${d.S} - ${d.P} + ky;
      let rowIn = iy >= 0 && iy < ${d.H};
      let xr = xn + u32(clamp(iy, 0, ${d.H - 1}) * ${d.W});
      let dyr = dyn + u32(oy * ${d.OW});
      for (var ox = 0; ox < ${d.OW}; ox++) {
        let ix = ox * ${d.S} - ${d.P} + kx;
        let inside = rowIn && ix >= 0 && ix < ${d.W};
        let xp = xr + u32(clamp(ix, 0, ${d.W - 1}));
        let dp = dyr + u32(ox);
        ${sharedLoads(TC, (k) => load32(f16, 'dy', `dp + dc${k}`), 'dv')}
        ${cin.map((j) => `let xv${j} = select(0.0, ${load32(f16, 'x', `xp + ${j * d.HW}u`)}, inside);`).join(' ')}
        ${co.map((i) => cin.map((j) => `acc${i}_${j} = fma(dv${i}, xv${j}, acc${i}_${j});`).join(' ')).join('\n        ')}
      }
    }
  }
  if (tapOwn >= ${d.KK}u) { return; }
  var out = array<f32, ${TC * CI}>(${co.flatMap((i) => cin.map((j) => `acc${i}_${j}`)).join(', ')});
  for (var i = 0u; i < ${TC}u; i++) {
    let c = ${slotChannel('co0', 'i')};
    if (c >= ${d.Cout}u) { continue; }
    for (var j = 0u; j < ${CI}u; j++) {
      dw[c * ${d.CinKK}u + j * ${d.KK}u + tap] = out[i * ${CI}u + j];
    }
  }
}`;
  return { body, workgroups: grid1D(quads, 1) };
}
