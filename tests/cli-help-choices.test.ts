// Every fixed set of values a flag takes is shown in `--help` as exactly that set, in its order:
// the help text is typed by hand, and a value added to a list (an activation, an objective) must
// not leave it stale while the flag already accepts the value.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACTIVATIONS } from '../shaders/activation';
import { LIKELIHOODS } from '../shaders/likelihood';
import { USAGE } from '../src/cli/main';
import { DATASETS } from '../src/cli/io';
import { ON_NAN } from '../src/cli/bad-steps';
import { ARCHITECTURES, NORMALIZATIONS, UPSAMPLINGS } from '../src/model/config';
import { OBJECTIVES } from '../src/model/objectives/objective';
import { WEIGHT_INITS } from '../src/model/module';
import { PRECISIONS } from '../src/model/precision';
import { LR_DECAYS } from '../src/model/vae';
import { AUTOTUNE_MODES } from '../src/model/autotune';

const CHOICES: Record<string, readonly string[]> = {
  activation: ACTIVATIONS.filter((a) => a !== 'none'),
  likelihood: LIKELIHOODS,
  arch: ARCHITECTURES,
  norm: NORMALIZATIONS,
  upsample: UPSAMPLINGS,
  objective: OBJECTIVES,
  'on-nan': ON_NAN,
  precision: PRECISIONS,
  'lr-decay': LR_DECAYS,
  autotune: AUTOTUNE_MODES,
  dataset: DATASETS,
};

describe('--help shows each flag its whole set of values', () => {
  for (const [flag, values] of Object.entries(CHOICES)) {
    it(`--${flag}`, () => {
      const shown = [...USAGE.matchAll(new RegExp(`--${flag} ([\\w-]+(?:\\|[\\w-]+)+)`, 'g'))].map((m) => m[1]);
      expect(shown.length, `--${flag} a|b|... in the help`).toBeGreaterThan(0);
      for (const s of shown) expect(s.split('|')).toEqual([...values]);
    });
  }
  it('--init (kaiming|pytorch)', () => {
    const shown = /--init ([\w|]+)/.exec(USAGE)![1].split('|');
    expect([...shown].sort()).toEqual([...WEIGHT_INITS].sort());
  });
});

describe('the docs name every activation', () => {
  // The help is checked above; the prose lists are typed by hand too, and no other test reads them.
  const docs = { 'docs/API.md (VaeConfig activation)': /`activation` \(([^)]*)\)/, 'README.md (activations)': /^- activations: ([\s\S]*?); the encoder head/m };
  for (const [where, pattern] of Object.entries(docs)) {
    it(where, () => {
      const file = where.split(' ')[0];
      const text = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
      const list = pattern.exec(text)?.[1];
      expect(list, `the list in ${file}`).toBeTruthy();
      const missing = ACTIVATIONS.filter((a) => a !== 'none' && !list!.includes(`\`${a}\``));
      expect(missing, `activations ${file} does not name`).toEqual([]);
    });
  }
});
