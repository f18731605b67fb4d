// WGSL twin of src/rng.ts: Philox4x32-10, the u32 -> (0,1) float mapping and
// a Box-Muller transform. Paste PHILOX_WGSL into any shader that needs noise
// (e.g. the VAE reparameterisation step); each thread derives its own counter,
// so no RNG state lives on the GPU.
//
// The u32 outputs of philox4x32 and u32_to_unit_f32 are bit-exact with the TS
// versions. box_muller uses its own log and sin/cos polynomials (the WGSL
// built-ins are too loosely specified) with the coefficients from src/rng.ts;
// it equals normalPair bit for bit on SwiftShader and to within 2e-6 on GPUs
// whose division, sqrt or fused multiply-adds round differently (src/rng.ts).

const f32 = Math.fround;
/** Box-Muller coefficients, shared with the TypeScript twin in src/rng.ts. */
export const BOX_MULLER_CONSTS = {
  LN2: f32(Math.LN2),
  SQRT2: f32(Math.SQRT2),
  TWO_PI: f32(2 * Math.PI),
  // atanh series: ln m = 2z + 2z^3 (1/3 + z^2/5 + z^4/7 + z^6/9), z = (m-1)/(m+1)
  L: [f32(1 / 3), f32(1 / 5), f32(1 / 7), f32(1 / 9)],
  // Taylor series of sin and cos on [-pi/4, pi/4]; truncation error < 3e-8.
  S: [f32(-1 / 6), f32(1 / 120), f32(-1 / 5040), f32(1 / 362880)],
  C: [f32(-1 / 2), f32(1 / 24), f32(-1 / 720), f32(1 / 40320), f32(-1 / 3628800)],
} as const;
const C = BOX_MULLER_CONSTS;

/** An f32 value as a WGSL hexadecimal float literal: exact, so no compiler
 *  gets to round a decimal literal differently from Math.fround. */
function lit(x: number): string {
  const bits = new Uint32Array(new Float32Array([x]).buffer)[0];
  const sign = bits >>> 31 ? '-' : '';
  const exp = ((bits >>> 23) & 0xff) - 127;
  const mantissa = ((bits & 0x7fffff) << 1).toString(16).padStart(6, '0');
  return `(${sign}0x1.${mantissa}p${exp}f)`;
}

export const PHILOX_WGSL = /* wgsl */ `
const PHILOX_M0: u32 = 0xd2511f53u;
const PHILOX_M1: u32 = 0xcd9e8d57u;
const PHILOX_W0: u32 = 0x9e3779b9u;
const PHILOX_W1: u32 = 0xbb67ae85u;

// High half of a 32x32 -> 64-bit product. WGSL has no 64-bit integers, so the
// product is assembled from 16-bit halves (each partial product fits in u32).
fn philox_mulhi(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let ll = a_lo * b_lo;
  let lh = a_lo * b_hi;
  let hl = a_hi * b_lo;
  let hh = a_hi * b_hi;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}

fn philox4x32(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = ctr;
  var k = key;
  for (var i = 0u; i < 10u; i++) {
    if (i > 0u) {
      k = k + vec2<u32>(PHILOX_W0, PHILOX_W1);
    }
    let hi0 = philox_mulhi(PHILOX_M0, c.x);
    let lo0 = PHILOX_M0 * c.x;
    let hi1 = philox_mulhi(PHILOX_M1, c.z);
    let lo1 = PHILOX_M1 * c.z;
    c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
  }
  return c;
}

// Strictly inside (0, 1): (top 23 bits + 0.5) * 2^-23 is exact in f32.
fn u32_to_unit_f32(u: u32) -> f32 {
  return (f32(u >> 9u) + 0.5) * 1.1920928955078125e-7;
}

// ln(a) for positive normal a; see logF32 in src/rng.ts.
fn philox_log(a: f32) -> f32 {
  let bits = bitcast<u32>(a);
  var e = i32((bits >> 23u) & 0xffu) - 127;
  var m = bitcast<f32>((bits & 0x7fffffu) | 0x3f800000u);
  if (m > ${lit(C.SQRT2)}) {
    m = m * 0.5;
    e = e + 1;
  }
  let z = (m - 1.0) / (m + 1.0);
  let z2 = z * z;
  let poly = ${lit(C.L[0])} + z2 * (${lit(C.L[1])} + z2 * (${lit(C.L[2])} + z2 * ${lit(C.L[3])}));
  let two_z = 2.0 * z;
  return f32(e) * ${lit(C.LN2)} + (two_z + (two_z * z2) * poly);
}

// (cos, sin) of the angle u32_to_unit_f32(u) turns; see sinCosTurnsF32 in src/rng.ts.
fn philox_sincos_turns(u: u32) -> vec2<f32> {
  let q = ((u >> 9u) + 0x100000u) >> 21u;
  let s = u32_to_unit_f32(u) - f32(q) * 0.25;
  let phi = ${lit(C.TWO_PI)} * s;
  let p2 = phi * phi;
  let sin_poly = ${lit(C.S[0])} + p2 * (${lit(C.S[1])} + p2 * (${lit(C.S[2])} + p2 * ${lit(C.S[3])}));
  let sn = phi + (phi * p2) * sin_poly;
  let cos_poly = ${lit(C.C[0])} + p2 * (${lit(C.C[1])} + p2 * (${lit(C.C[2])} + p2 * (${lit(C.C[3])} + p2 * ${lit(C.C[4])})));
  let cs = 1.0 + p2 * cos_poly;
  switch (q & 3u) {
    case 0u: { return vec2<f32>(cs, sn); }
    case 1u: { return vec2<f32>(-sn, cs); }
    case 2u: { return vec2<f32>(-cs, -sn); }
    default: { return vec2<f32>(sn, -cs); }
  }
}

// Two independent standard normals from two u32.
fn box_muller(u0: u32, u1: u32) -> vec2<f32> {
  let r = sqrt(-2.0 * philox_log(u32_to_unit_f32(u0)));
  return r * philox_sincos_turns(u1);
}
`;
