// Taylor series of the functions WGSL lacks, log1p and expm1, and of e^v - 1 - v (the Gaussian
// KL's), for the ranges where their naive forms lose their digits: log(1 + e) keeps none of e's
// once e is under f32's epsilon, exp(v) - 1 none of v's as v nears 0. Each is a WGSL expression
// of a variable (an f32, or a vector of f32s), by Horner's rule with f32 coefficients, for a kernel
// to select where its argument lies in range: `select(naive, series, in range)`. Used by the
// softplus and elu activations (activation.ts), the KL (elbo.ts) and the Bernoulli likelihood
// (likelihood.ts); tests/series.test.ts checks each against float64 over its range.
import { f32Literal } from './common';

/** log1pSeries(e) is meant for 0 <= e < LOG1P_SERIES_BELOW: to e^8, truncation under 2e-9 relative. */
export const LOG1P_SERIES_BELOW = 0.1;
/** expm1Series(v) and expm1MinusSeries(v) are meant for |v| < EXPM1_SERIES_BELOW: truncation under 1e-9 relative. */
export const EXPM1_SERIES_BELOW = 0.5;

/** c[0] + v (c[1] + v (c[2] + ...)): a polynomial in v by Horner's rule, as WGSL. */
function horner(v: string, c: readonly number[]): string {
  return c.reduceRight((inner, k, i) => (i === c.length - 1 ? f32Literal(k) : `${f32Literal(k)} + ${v} * (${inner})`), '');
}

/** 1 / k! for k = from .. to. */
const inverseFactorials = (from: number, to: number) => {
  const out: number[] = [];
  let f = 1;
  for (let k = 1; k <= to; k++) {
    f *= k;
    if (k >= from) out.push(1 / f);
  }
  return out;
};

/** log(1 + v): v - v^2/2 + v^3/3 - ... - v^8/8. */
export const log1pSeries = (v: string): string => `${v} * (${horner(v, Array.from({ length: 8 }, (_, k) => (k % 2 ? -1 : 1) / (k + 1)))})`;

/** e^v - 1: v + v^2/2! + ... + v^9/9!. */
export const expm1Series = (v: string): string => `${v} * (${horner(v, inverseFactorials(1, 9))})`;

/** e^v - 1 - v: v^2/2! + v^3/3! + ... + v^10/10!. */
export const expm1MinusSeries = (v: string): string => `${v} * ${v} * (${horner(v, inverseFactorials(2, 10))})`;
