// The series of shaders/series.ts, evaluated in float64 from their WGSL text (plain arithmetic,
// which JavaScript reads alike), against Math.log1p and Math.expm1 over the ranges they are meant
// for: their truncation and their f32 coefficients together stay under 1e-7 relative.
import { describe, expect, it } from 'vitest';
import { EXPM1_SERIES_BELOW, expm1MinusSeries, expm1Series, LOG1P_SERIES_BELOW, log1pSeries } from '../shaders/series';

const asFunction = (text: string) => new Function('v', `return ${text};`) as (v: number) => number;
const worst = (f: (v: number) => number, want: (v: number) => number, from: number, to: number) => {
  let bad = 0;
  for (let i = 0; i <= 2000; i++) {
    const v = from + ((to - from) * i) / 2000;
    if (want(v) !== 0) bad = Math.max(bad, Math.abs(f(v) - want(v)) / Math.abs(want(v)));
  }
  return bad;
};

describe('series for the functions WGSL lacks', () => {
  it('log1p on [0, LOG1P_SERIES_BELOW)', () => {
    expect(worst(asFunction(log1pSeries('v')), Math.log1p, 0, LOG1P_SERIES_BELOW)).toBeLessThan(1e-7);
  });
  it('expm1 on (-EXPM1_SERIES_BELOW, EXPM1_SERIES_BELOW)', () => {
    expect(worst(asFunction(expm1Series('v')), Math.expm1, -EXPM1_SERIES_BELOW, EXPM1_SERIES_BELOW)).toBeLessThan(1e-7);
  });
  it('e^v - 1 - v on (-EXPM1_SERIES_BELOW, EXPM1_SERIES_BELOW), where the naive form cancels', () => {
    const want = (v: number) => (Math.abs(v) < 1e-3 ? v * v * (0.5 + v / 6 + (v * v) / 24) : Math.expm1(v) - v);
    expect(worst(asFunction(expm1MinusSeries('v')), want, -EXPM1_SERIES_BELOW, EXPM1_SERIES_BELOW)).toBeLessThan(1e-7);
  });
  it('writes plain WGSL: a variable, f32 constants, + and *', () => {
    expect(log1pSeries('e')).toMatch(/^e \* \(1\.0 \+ e \* \(-0\.5 \+ e \* \(0\.3333333/);
    expect(expm1Series('(-y)')).toMatch(/^\(-y\) \* \(1\.0 \+ \(-y\) \* \(0\.5 \+ /);
  });
});
