// interpolate given a test split of one picture says how to get two: for a folder, how many
// pictures it must hold (it holds out a tenth, with no flag for the share) and what to do then.
import { describe, expect, it } from 'vitest';
import { tooFewToJoin } from '../src/cli/latent';
import { testCount } from '../src/data/image-set';

describe('interpolate with too few test pictures', () => {
  it('tells a folder how many pictures hold out two, and to train on it again', () => {
    const said = tooFewToJoin('folder', 1);
    expect(said).toMatch(/^the folder test split has 1 picture; at least 2 are needed\. A folder holds out a tenth of its pictures \(at least 1; no flag sets the share\), so 2 once it holds 15: add pictures to the folder/);
    expect(said).toContain('--init-from RUN');
    // The count said is the least that holds out 2.
    expect([testCount(14, 0.1), testCount(15, 0.1)]).toEqual([1, 2]);
  });

  it('says the count plainly for a data set of fixed files', () => {
    expect(tooFewToJoin('mnist', 0)).toBe('the mnist test split has 0 pictures; at least 2 are needed');
  });
});
