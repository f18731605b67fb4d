// Writes a (colour) dSprites split as webgpu-vae trains on it, for bench/quality/torch-twin.py:
// the same seeded choice of training and test pictures as `train --dataset NAME --limit N
// --test-limit M --seed S`, as 64x64 shape masks (one byte a pixel) and factor indices (colour:
// shapeHue, backgroundHue, shape, scale, orientation, posX, posY; grey: the last five), plus the
// hues' colours. Masks and factors are a twelfth of the colour pictures' bytes.
//   npx tsx bench/quality/export-dsprites.ts OUT_DIR [N=100000] [M=500] [--grey] [--seed=0]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DSPRITES_COUNT, dspritesFactorLabels, renderDsprites } from '../../src/data/dsprites';
import { DSPRITES_COLOR_COUNT, DSPRITES_HUES, dspritesColor, dspritesColorFactorLabels } from '../../src/data/dsprites-color';
import { splitGenerated } from '../../src/data/index-permutation';

const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--'));
const grey = args.includes('--grey');
const seed = Number(args.find((a) => a.startsWith('--seed='))?.slice(7) ?? 0);
const [out, nTrain = '100000', nTest = '500'] = positional;
if (!out) throw new Error('usage: export-dsprites.ts OUT_DIR [N] [M] [--grey] [--seed=S]');
mkdirSync(out, { recursive: true });
const dataset = grey ? 'dsprites' : 'dsprites-color';
const split = splitGenerated(grey ? DSPRITES_COUNT : DSPRITES_COLOR_COUNT, Number(nTrain), Number(nTest), seed);
for (const [name, indices] of [['train', split.train], ['test', split.test]] as const) {
  writeFileSync(join(out, `${name}-masks.u8`), renderDsprites(Array.from(indices, (i) => i % DSPRITES_COUNT)));
  writeFileSync(join(out, `${name}-factors.u8`), grey ? dspritesFactorLabels(indices) : dspritesColorFactorLabels(indices));
}
const hues = Array.from({ length: DSPRITES_HUES }, (_, k) => k);
writeFileSync(join(out, 'info.json'), JSON.stringify({
  dataset, seed, train: split.train.length, test: split.test.length,
  shapeColours: hues.map((k) => dspritesColor(k, true)), backgroundColours: hues.map((k) => dspritesColor(k, false)),
}, null, 1));
console.log(`${out}: ${split.train.length} training and ${split.test.length} test ${dataset} pictures as masks and factors`);
