// beta-TCVAE's two estimates of the total correlation on codes whose true TC is 0, from the float64
// reference of shaders/tc.ts (tests/reference/tc.ts): minibatch-weighted sampling (MWS) and
// minibatch stratified sampling (MSS), N = 256 examples in batches of 32, 40 batches each.
// (a) every posterior N(0, I); (b) a 16 x 16 grid of narrow posteriors (spacing 1, sd 0.05), whose
// aggregate posterior is a product of its two marginals.
// Run: npx tsx bench/quality/tc-estimators.ts
import { totalCorrelationRef } from '../../tests/reference/tc';

const N = 256, n = 32, Z = 2, BATCHES = 40;

/** A small seeded generator (an LCG): the figures repeat run to run. */
function uniforms(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

function meanTc(code: 'same' | 'grid', estimator: 'mws' | 'mss', seed: number): number {
  const u = uniforms(seed);
  const normal = () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
  let sum = 0;
  for (let t = 0; t < BATCHES; t++) {
    const picked = new Set<number>();
    while (picked.size < n) picked.add(Math.floor(u() * N));
    const mulv = new Float64Array(n * 2 * Z), z = new Float64Array(n * Z);
    [...picked].forEach((e, b) => {
      const mu = code === 'same' ? [0, 0] : [e % 16, Math.floor(e / 16)];
      const lv = code === 'same' ? 0 : 2 * Math.log(0.05);
      for (let k = 0; k < Z; k++) {
        mulv[b * 2 * Z + k] = mu[k];
        mulv[b * 2 * Z + Z + k] = lv;
        z[b * Z + k] = mu[k] + Math.exp(lv / 2) * normal();
      }
    });
    sum += totalCorrelationRef({ batch: n, samples: 1, latent: Z, validRows: n, mulv, z, datasetSize: N, estimator }).mean;
  }
  return sum / BATCHES;
}

console.log('| code (true TC 0) | MWS | MSS |\n|---|---:|---:|');
for (const [code, label] of [['same', 'every posterior N(0, I)'], ['grid', 'a 16 x 16 grid of narrow posteriors']] as const) {
  console.log(`| ${label} | ${meanTc(code, 'mws', code === 'same' ? 1 : 2).toFixed(3)} | ${meanTc(code, 'mss', code === 'same' ? 1 : 2).toFixed(3)} |`);
}
