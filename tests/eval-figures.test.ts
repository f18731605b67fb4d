// Which eval figures are bits/dim of a discrete likelihood: dequantized 8-bit levels and Bernoulli
// models of binary pixels are; a Gaussian density on continuous values and Bernoulli cross-entropy
// on grey levels are not (their "bits/dim" can be negative, or below any real code length).
import { describe, expect, it } from 'vitest';
import { notDiscrete } from '../src/cli/commands';
import { resolveConfig } from '../src/model/config';

describe('bits/dim only for a discrete likelihood', () => {
  const binary = { images: Uint8Array.from([0, 255, 255, 0]) };
  const grey = { images: Uint8Array.from([0, 128, 255, 3]) };

  it('says why not, and names the flag that makes one', () => {
    expect(notDiscrete(resolveConfig({}), binary)).toBeNull();
    expect(notDiscrete(resolveConfig({ binarize: 'dynamic' }), grey)).toBeNull();
    expect(notDiscrete(resolveConfig({ binarize: 'fixed' }), grey)).toBeNull();
    expect(notDiscrete(resolveConfig({}), grey)).toMatch(/grey levels taken as Bernoulli probabilities are not a likelihood of the pixels; --binarize dynamic makes one/);
    expect(notDiscrete(resolveConfig({ likelihood: 'gaussian', dequantize: true }), grey)).toBeNull();
    expect(notDiscrete(resolveConfig({ likelihood: 'gaussian' }), binary)).toMatch(/a density on continuous values is not a likelihood of the 8-bit pixels; --dequantize makes one/);
    expect(notDiscrete(resolveConfig({ likelihood: 'gaussian', sigma: 'predicted' }), grey)).toMatch(/--dequantize makes one/);
  });
});
