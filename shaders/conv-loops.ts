// The loop nest both direct weight-gradient kernels (conv-direct.ts `direct`, conv-quad-weight.ts
// `direct-subgroup`) run for one tap (ky, kx): over examples and the output pixels whose tap lands
// inside the input, between bounds computed once, so the body needs no padding guard.
import type { ConvDims } from './conv';

/**
 * WGSL of the sum over n, oy, ox for the invocation's tap (i32 `ky`, `kx` in scope): `body` runs
 * with `dp` (dy's offset of the output pixel, without the channel) and `xp` (x's offset of the
 * pixel the tap reads, without the channel) in scope.
 */
export function weightGradSum(d: ConvDims, body: string): string {
  // Output pixels whose tap lands inside the input: lo = ceil((p - k) / s) clamped at 0, and
  // end = floor((size - 1 + p - k) / s) + 1 clamped to the output size (empty when negative).
  const bounds = (ax: string, k: string, size: number, out: number) => `
  let ${ax}Lo = select(0, (${d.P} - ${k} + ${d.S - 1}) / ${d.S}, ${d.P} - ${k} > 0);
  let ${ax}End = min(select(0, (${size - 1 + d.P} - ${k}) / ${d.S} + 1, ${size - 1 + d.P} - ${k} >= 0), ${out});`;
  return `${bounds('oy', 'ky', d.H, d.OH)}
${bounds('ox', 'kx', d.W, d.OW)}
  for (var n = 0u; n < ${d.N}u; n++) {
    let dyn = n * ${d.Cout * d.OHW}u;
    let xn = n * ${d.Cin * d.HW}u;
    for (var oy = oyLo; oy < oyEnd; oy++) {
      let dyr = oy * ${d.OW};
      let xr = (oy * ${d.S} - ${d.P} + ky) * ${d.W} - ${d.P} + kx;
      for (var ox = oxLo; ox < oxEnd; ox++) {
        let dp = dyn + u32(dyr + ox);
        let xp = xn + u32(xr + ox * ${d.S});
        ${body}
      }
    }
  }`;
}
