// `webgpu-vae reconstruct` and `webgpu-vae interpolate`: what a checkpoint does with held-out
// pictures (the test split of the data set it was trained on, as `eval` reads it).
//   reconstruct   the first --n test pictures, each above its reconstruction (the decoder's mean
//                 at z = mu(x)): the same figure as a training run's reconstructions.png. On
//                 dSprites it also says how often the reconstructions keep shape, scale and
//                 orientation (factor-recovery.ts).
//   interpolate   --pairs rows; row i walks in a straight line from the posterior mean of test
//                 picture 2i to that of picture 2i+1 in --steps decoded steps, with the two
//                 pictures themselves at the ends of the row. A conditional model decodes the
//                 whole row with the first picture's label.
import { releaseNodeGpu } from '../gpu/node-device';
import type { Dataset } from '../data/mnist';
import { imageGridPng } from '../io/png';
import { VAE } from '../model/vae';
import { choiceFlag, defineFlags, intFlag, parseFlags, stringFlag, UsageError } from './args';
import { checkDataDir, checkDatasetFits, checkpointDataset, DATASETS, getDevice, heldOutTestSet, type DatasetName, makeReporter, readCheckpointFile, recordedDataDir } from './io';
import { checkPictureOut, writePicture } from './output-file';
import { firstPictures, gridFor, reconstructionsPng } from './pictures';
import { dspritesFactorNames } from '../model/traversal';
import { describeRecovery, factorRecovery } from '../model/factor-recovery';
import { modelForReading } from './reading-model';

type Reporter = ReturnType<typeof makeReporter>;

const RECONSTRUCT_FLAGS = defineFlags('reconstruct', {
  checkpoint: { type: 'string' }, out: { type: 'string' }, dataset: { type: 'string' }, 'data-dir': { type: 'string' }, n: { type: 'string' }, json: { type: 'boolean' },
} as const);

const INTERPOLATE_FLAGS = defineFlags('interpolate', {
  checkpoint: { type: 'string' }, out: { type: 'string' }, dataset: { type: 'string' }, 'data-dir': { type: 'string' },
  pairs: { type: 'string' }, steps: { type: 'string' }, json: { type: 'boolean' },
} as const);

/** --dataset as given (undefined: the one the checkpoint was trained on; checkpointDataset). */
interface Common { command: string; path: string; out: string; dataset: (typeof DATASETS)[number] | undefined; dataDir: string | undefined; report: Reporter }

function commonFlags(command: string, f: { checkpoint?: string | boolean; out?: string | boolean; dataset?: string | boolean; 'data-dir'?: string | boolean; json?: string | boolean }): Common {
  const path = stringFlag('checkpoint', f.checkpoint);
  const out = stringFlag('out', f.out);
  if (!path) throw new UsageError('--checkpoint is required (e.g. runs/NAME/model.safetensors)');
  if (!out) throw new UsageError(`--out is required (e.g. ${command === 'reconstruct' ? 'reconstructions' : 'interpolation'}.png)`);
  const dataset = f.dataset === undefined ? undefined : choiceFlag('dataset', f.dataset, 'mnist', DATASETS), dataDir = stringFlag('data-dir', f['data-dir']);
  checkPictureOut(command, out, { checkpoint: path, dataDir });
  if (!out.toLowerCase().endsWith('.png')) throw new UsageError(`--out must name a .png file, got '${out}'`);
  if (dataset) checkDataDir(dataset, dataDir);
  return { command, path, out, dataset, dataDir, report: makeReporter(!!f.json) };
}

/** The checkpoint's model and the first `count` pictures of its data set's test split. */
async function withTestSet<T>(c: Common, count: number, use: (vae: VAE, test: Dataset, dataset: DatasetName) => Promise<T>): Promise<T> {
  const checkpoint = await readCheckpointFile(c.path);
  const dataset = checkpointDataset(c.dataset, checkpoint.metadata, c.dataDir, recordedDataDir(c.path, checkpoint.config, checkpoint.metadata));
  checkDatasetFits(c.path, checkpoint.config, checkpoint.metadata, dataset);
  const acquired = await getDevice(c.report.status);
  const vae = await modelForReading(checkpoint, acquired, count);
  try {
    return await use(vae, await heldOutTestSet(vae, checkpoint.metadata, c.path, dataset, count, c.dataDir, c.report.warn), dataset);
  } finally {
    vae.destroy();
    releaseNodeGpu();
  }
}

export async function reconstructCommand(argv: string[]): Promise<void> {
  const f = parseFlags('reconstruct', argv, RECONSTRUCT_FLAGS);
  const n = intFlag('n', f.n, 32, 1, 1024);
  const c = commonFlags('reconstruct', f);
  await withTestSet(c, n, async (vae, test, dataset) => {
    const { png, shown, reconstructed } = await reconstructionsPng(vae, test, n);
    await writePicture(c.command, c.out, png, { checkpoint: c.path, dataDir: c.dataDir });
    // dSprites pictures carry their factors: say which ones the reconstructions keep.
    const factors = (test as { factors?: Uint8Array }).factors;
    const width = factors ? factors.length / test.count : 0;
    const recovery = factors && dspritesFactorNames(width).length
      ? factorRecovery(reconstructed, factors.subarray(0, shown * width), shown)
      : null;
    c.report.event({
      event: 'done', files: { reconstructions: c.out }, n: shown, dataset,
      ...(recovery ? { factors_kept: Object.fromEntries(recovery.map((r) => [r.factor, { kept: Number(r.kept.toFixed(4)), values: r.values, kept_by_value: r.keptByValue.map((v) => (Number.isNaN(v) ? null : Number(v.toFixed(4)))) }])) } : {}),
    });
    const fewer = shown < n ? ` (${n} were asked for; the ${dataset} test split has ${test.count})` : '';
    c.report.info(`wrote ${c.out}: ${shown} ${dataset} test picture${shown === 1 ? '' : 's'}, each above its reconstruction${fewer}`);
    if (recovery) c.report.info(`factors the reconstructions keep (share of ${shown} pictures whose reconstruction is nearest to a drawing with the picture's own value: shapes compared at the picture's area and centroid, each at its best turn; scales and orientations with the other factors held${shown < 256 ? '; --n 256 or more for a steadier figure' : ''}): ${recovery.map(describeRecovery).join(', ')}`);
  });
}

/** z for each row: `steps` points from a to b, both ends included. */
export function interpolationGrid(mu: Float32Array, latent: number, pairs: number, steps: number): Float32Array {
  const z = new Float32Array(pairs * steps * latent);
  for (let p = 0; p < pairs; p++) {
    const a = mu.subarray(2 * p * latent, (2 * p + 1) * latent), b = mu.subarray((2 * p + 1) * latent, (2 * p + 2) * latent);
    for (let s = 0; s < steps; s++) {
      const t = s / (steps - 1);
      for (let j = 0; j < latent; j++) z[(p * steps + s) * latent + j] = (1 - t) * a[j] + t * b[j];
    }
  }
  return z;
}

export async function interpolateCommand(argv: string[]): Promise<void> {
  const f = parseFlags('interpolate', argv, INTERPOLATE_FLAGS);
  const pairs = intFlag('pairs', f.pairs, 4, 1, 256);
  const steps = intFlag('steps', f.steps, 9, 2, 64);
  const c = commonFlags('interpolate', f);
  await withTestSet(c, 2 * pairs, async (vae, test, dataset) => {
    const { x, labels, shown } = firstPictures(test, vae.config, 2 * pairs);
    if (shown < 2) throw new UsageError(`the ${dataset} test split has ${shown} picture; at least 2 are needed`);
    const rowsOut = Math.floor(shown / 2), D = vae.config.inputDim, Z = vae.config.latent;
    const { mu } = await vae.encode(x, labels);
    const rowLabels = labels ? Array.from({ length: rowsOut * steps }, (_, i) => labels[2 * Math.floor(i / steps)]) : undefined;
    const decoded = await vae.decode(interpolationGrid(mu, Z, rowsOut, steps), rowLabels);
    // Each row: picture a, the decoded walk, picture b.
    const width = steps + 2;
    const tiles = new Float32Array(rowsOut * width * D);
    for (let p = 0; p < rowsOut; p++) {
      tiles.set(x.subarray(2 * p * D, (2 * p + 1) * D), p * width * D);
      tiles.set(decoded.subarray(p * steps * D, (p + 1) * steps * D), (p * width + 1) * D);
      tiles.set(x.subarray((2 * p + 1) * D, (2 * p + 2) * D), (p * width + steps + 1) * D);
    }
    const [rows, cols] = vae.config.imageShape;
    await writePicture(c.command, c.out, imageGridPng(tiles, rowsOut * width, rows, cols, width, gridFor(vae.config)), { checkpoint: c.path, dataDir: c.dataDir });
    c.report.event({ event: 'done', files: { interpolation: c.out }, pairs: rowsOut, steps, dataset });
    // The test split may hold fewer pictures than the pairs asked for: say so rather than draw fewer silently.
    const fewer = rowsOut < pairs ? ` (${pairs} pairs were asked for; the ${dataset} test split has ${test.count} picture${test.count === 1 ? '' : 's'})` : '';
    c.report.info(`wrote ${c.out}: ${rowsOut} row${rowsOut === 1 ? '' : 's'}, each from one ${dataset} test picture to the next in ${steps} decoded steps${fewer}`);
  });
}
