// WGSL twin of src/rng.ts: Philox4x32-10, the u32 -> (0,1) float mapping and
// a Box-Muller transform. Paste PHILOX_WGSL into any shader that needs noise
// (e.g. the VAE reparameterisation step); each thread derives its own counter,
// so no RNG state lives on the GPU.
//
// The u32 outputs of philox4x32 and u32_to_unit_f32 are bit-exact with the TS
// versions. box_muller relies on WGSL log/cos/sin, whose accuracy is
// implementation-defined within spec bounds, so it agrees only approximately.

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

// Two independent standard normals. The angle is kept in [-pi, pi), the only
// range where WGSL bounds the error of cos/sin.
fn box_muller(u0: u32, u1: u32) -> vec2<f32> {
  let a = u32_to_unit_f32(u0);
  let b = u32_to_unit_f32(u1);
  let r = sqrt(-2.0 * log(a));
  // 2*pi as the exact f32 the TS twin uses, avoiding literal-rounding doubts.
  let theta = bitcast<f32>(0x40c90fdbu) * (b - 0.5);
  return vec2<f32>(r * cos(theta), r * sin(theta));
}
`;
