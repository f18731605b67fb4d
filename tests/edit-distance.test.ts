// The "did you mean" rule shared by the CLI's flags and the library's option, config and kernel
// parameter names: one rule, so a typo is caught the same way wherever it is typed.
import { describe, expect, it } from 'vitest';
import { checkKnownKeys, editDistance, nearestName } from '../src/edit-distance';
import { DEFAULT_CONFIG } from '../src/model/config';

describe('nearestName', () => {
  const fields = Object.keys(DEFAULT_CONFIG);
  const flags = ['epochs', 'lr', 'lr-decay', 'lr-min', 'latent', 'limit', 'test-limit', 'batch', 'beta'];

  it('measures edits', () => {
    expect(editDistance('bacth', 'batch')).toBe(2);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('finds a transposition, a missing letter, another case and a name with a suffix or cut short', () => {
    const cases: [string, readonly string[], string][] = [
      ['latnet', fields, 'latent'],
      ['LATENT', fields, 'latent'],
      ['latentSize', fields, 'latent'],
      ['latentDim', fields, 'latent'],
      ['klCapacityNats', fields, 'klCapacity'],
      ['epoch', flags, 'epochs'],
      ['lr-dec', flags, 'lr-decay'],
      ['limt', flags, 'limit'],
      ['bacth', flags, 'batch'],
    ];
    for (const [typed, known, meant] of cases) expect(nearestName(typed, known), typed).toBe(meant);
  });

  it('suggests nothing for a name far from all of them', () => {
    for (const typed of ['n', 'xyz', 'optimizerState', 'zzzzzzzz']) expect(nearestName(typed, fields), typed).toBeUndefined();
    expect(nearestName('anything', [])).toBeUndefined();
  });

  it('checkKnownKeys refuses the first unknown key with the hint, or the list alone', () => {
    expect(() => checkKnownKeys('option', ['batch', 'bacth'], flags)).toThrow(/^unknown option 'bacth' \(did you mean 'batch'\?\); the options are epochs, /);
    expect(() => checkKnownKeys('option', ['xyz'], flags)).toThrow(/^unknown option 'xyz'; the options are /);
    expect(() => checkKnownKeys('option', ['beta', 'lr'], flags)).not.toThrow();
  });
});
