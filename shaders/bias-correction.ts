// Adam's bias corrections from its step count t, on the GPU: c1 = 1 / (1 - beta1^t) and
// c2 = 1 / sqrt(1 - beta2^t), as PyTorch's Adam derives them from the steps it has applied. The
// step health check (grad-norm.ts) counts t, skipping the steps it refuses, and calls this once
// per step in one invocation, so the cost does not matter and the precision does: f32
// pow(b, t) is exp2(t log2 b), whose error the WGSL spec bounds only loosely (log2 to 2^-21
// absolute, i.e. ~t 2^-21 relative in b^t), and 1 - b^t cancels (for b = 0.999 and t = 2, an
// f32 b^2 leaves 1 - b^2 with 15 good bits). So b^t is taken in 64-bit fixed point on u32 pairs
// (WGSL has no u64): b as a fraction of 2^64, which the CPU encodes from the float64 beta as
// PyTorch's corrections use it (StepParams.beta*_frac_hi/lo: exact for b >= 2^-11; below that
// b^t is nothing that could matter), raised by squaring and multiplying, each product truncated
// (below 2^-64 each, ~t 2^-64 in all). 1 - b^t is exact in that format and at least 1 - b >=
// 2^-24 (a beta that rounds to 1 in f32 is refused), so its conversion to f32 (within an ulp), the
// division and the inverse square root (2.5 and 2 ulp in WGSL) are the only errors: c1 and c2 are
// within a few f32 ulp of the float64 values the CPU encodes for the ungated optimizer
// (tests/grad-norm.test.ts).

/**
 * WGSL: `adam_bias_corrections(t, beta1, beta2) -> vec2<f32>` (c1, c2), both 1 for t = 0, the
 * betas as fractions of 2^64 (high word, low word).
 */
export const ADAM_BIAS_WGSL = /* wgsl */ `
// a * b as vec2(high word, low word), from 16-bit halves.
fn wide_mul(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu; let a1 = a >> 16u;
  let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>(a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u), (mid << 16u) | (p00 & 0xffffu));
}

// Fractions x = (x.x 2^32 + x.y) / 2^64 in [0, 1): the product's top 64 bits (truncated).
fn frac_mul(x: vec2<u32>, y: vec2<u32>) -> vec2<u32> {
  let hh = wide_mul(x.x, y.x); let hl = wide_mul(x.x, y.y); let lh = wide_mul(x.y, y.x); let ll = wide_mul(x.y, y.y);
  // Bits 32..63, for their carries into bits 64..95.
  let w1a = ll.x + hl.y; let w1 = w1a + lh.y;
  let carry1 = select(0u, 1u, w1a < ll.x) + select(0u, 1u, w1 < w1a);
  let w2a = hh.y + hl.x; let w2b = w2a + lh.x; let w2 = w2b + carry1;
  let carry2 = select(0u, 1u, w2a < hh.y) + select(0u, 1u, w2b < w2a) + select(0u, 1u, w2 < w2b);
  return vec2<u32>(hh.x + carry2, w2);
}

// b^t for t >= 1, by squaring from t's lowest bit (r starts at the first power taken, as 1 does
// not fit the format).
fn frac_pow(b: vec2<u32>, t: u32) -> vec2<u32> {
  var base = b;
  var n = t;
  var r = vec2<u32>(0u);
  var started = false;
  loop {
    if ((n & 1u) != 0u) {
      if (started) { r = frac_mul(r, base); } else { r = base; started = true; }
    }
    n = n >> 1u;
    if (n == 0u) { break; }
    base = frac_mul(base, base);
  }
  return r;
}

// 1 - x as an f32: 2^64 - x exactly in the format, then its two words scaled.
fn one_minus_frac(x: vec2<u32>) -> f32 {
  if (x.x == 0u && x.y == 0u) { return 1.0; }
  let lo = ~x.y + 1u;
  let hi = ~x.x + select(0u, 1u, x.y == 0u);
  return ldexp(f32(hi), -32) + ldexp(f32(lo), -64);
}

fn adam_bias_corrections(t: u32, beta1: vec2<u32>, beta2: vec2<u32>) -> vec2<f32> {
  if (t == 0u) { return vec2<f32>(1.0); }
  let r1 = one_minus_frac(frac_pow(beta1, t));
  let r2 = one_minus_frac(frac_pow(beta2, t));
  return vec2<f32>(1.0 / r1, inverseSqrt(r2));
}
`;
