// `webgpu-vae reconstruct` and `webgpu-vae interpolate`: what a checkpoint does with held-out
// pictures (the test split of the data set it was trained on, as `eval` reads it).
//   reconstruct   the first --n test pictures, each above its reconstruction (the decoder's mean
//                 at z = mu(x)): the same figure as a training run's reconstructions.png. On
//                 dSprites it also says how often the reconstructions keep shape, scale and
//                 orientation (factor-recovery.ts).
//   interpolate   --pairs rows; row i walks in a straight line from the posterior mean of test
//                 picture 2i to that of picture 2i+1 in --steps decoded steps, with the two
//                 pictures themselves at the ends of the row. A conditional model's code holds
//                 the style its label leaves out, so its rows join two test pictures of the same
//                 class (each with the next unused one of its class) and decode every step as that
//                 class: the walk goes from one picture's reconstruction to the other's. With
//                 --label N every step is decoded as class N instead (each end still encoded with
//                 its own label): the two pictures' styles, drawn as N.
import type { Dataset } from '../data/mnist';
import { imageGridPng } from '../io/png';
import { VAE } from '../model/vae';
import { choiceFlag, defineFlags, intFlag, parseFlags, stringFlag, UsageError } from './args';
import { checkDataDir, checkDatasetFits, checkpointDataset, DATASETS, getDevice, heldOutTestSet, type DatasetName, makeReporter, otherClassesWarning, readCheckpointFile, recordedDataDir } from './io';
import { checkPictureOut, writePicture, type PictureInputs } from './output-file';
import { firstPictures, gridFor, reconstructionsPng } from './pictures';
import { dspritesFactorNames } from '../model/traversal';
import { describeRecovery, factorRecovery } from '../model/factor-recovery';
import { modelForReading, refuseNonFinite } from './reading-model';
import { checkLabelForm, classNames, classWords, labelForCheckpoint } from './commands';
import type { VaeConfig } from '../model/config';
import { DEFAULT_TEST_FRACTION, testCount } from '../data/image-set';

type Reporter = ReturnType<typeof makeReporter>;

const RECONSTRUCT_FLAGS = defineFlags('reconstruct', {
  checkpoint: { type: 'string' }, out: { type: 'string' }, dataset: { type: 'string' }, 'data-dir': { type: 'string' }, n: { type: 'string' }, json: { type: 'boolean' },
} as const);

const INTERPOLATE_FLAGS = defineFlags('interpolate', {
  checkpoint: { type: 'string' }, out: { type: 'string' }, dataset: { type: 'string' }, 'data-dir': { type: 'string' },
  pairs: { type: 'string' }, steps: { type: 'string' }, label: { type: 'string' }, json: { type: 'boolean' },
} as const);

/** --dataset as given (undefined: the one the checkpoint was trained on; checkpointDataset). */
interface Common {
  command: string; path: string; out: string; dataset: (typeof DATASETS)[number] | undefined; dataDir: string | undefined; report: Reporter;
  /** What --out must not overwrite or join: the flags' at first, the folders found once the checkpoint is read. */
  inputs: PictureInputs;
}

function commonFlags(command: string, f: { checkpoint?: string | boolean; out?: string | boolean; dataset?: string | boolean; 'data-dir'?: string | boolean; json?: string | boolean }): Common {
  const path = stringFlag('checkpoint', f.checkpoint);
  const out = stringFlag('out', f.out);
  if (!path) throw new UsageError('--checkpoint is required (e.g. runs/NAME/model.safetensors)');
  if (!out) throw new UsageError(`--out is required (e.g. ${command === 'reconstruct' ? 'reconstructions' : 'interpolation'}.png)`);
  const dataset = f.dataset === undefined ? undefined : choiceFlag('dataset', f.dataset, 'mnist', DATASETS), dataDir = stringFlag('data-dir', f['data-dir']);
  checkPictureOut(command, out, { checkpoint: path, dataDir });
  if (!out.toLowerCase().endsWith('.png')) throw new UsageError(`--out must name a .png file, got '${out}'`);
  if (dataset) checkDataDir(dataset, dataDir);
  return { command, path, out, dataset, dataDir, report: makeReporter(!!f.json), inputs: { checkpoint: path, dataDir } };
}

/**
 * The checkpoint's model and the first pictures of its data set's test split: `plan` checks the
 * flags against the checkpoint's configuration (before the device starts) and says how many.
 */
async function withTestSet<T>(c: Common, plan: (config: VaeConfig, metadata: Record<string, string>) => number, use: (vae: VAE, test: Dataset, dataset: DatasetName) => Promise<T>): Promise<T> {
  const checkpoint = await readCheckpointFile(c.path);
  const count = plan(checkpoint.config, checkpoint.metadata);
  const runFolder = recordedDataDir(c.path, checkpoint.config, checkpoint.metadata);
  const { dataset, dataDir, note } = checkpointDataset(c.dataset, checkpoint.metadata, c.dataDir, runFolder);
  if (note) c.report.status(note);
  c.inputs = { checkpoint: c.path, dataDir, runFolder };
  checkPictureOut(c.command, c.out, c.inputs);
  checkDatasetFits(c.path, checkpoint.config, checkpoint.metadata, dataset);
  const otherClasses = otherClassesWarning(c.path, checkpoint.config.classes, checkpoint.metadata, dataset);
  if (otherClasses) c.report.warn(otherClasses);
  const acquired = await getDevice(c.report.status);
  const vae = await modelForReading(checkpoint, acquired, count);
  try {
    return await use(vae, await heldOutTestSet(vae, checkpoint.metadata, c.path, dataset, count, dataDir, c.report.warn), dataset);
  } finally {
    vae.destroy();
  }
}

export async function reconstructCommand(argv: string[]): Promise<void> {
  const f = parseFlags('reconstruct', argv, RECONSTRUCT_FLAGS);
  const n = intFlag('n', f.n, 32, 1, 1024);
  const c = commonFlags('reconstruct', f);
  await withTestSet(c, () => n, async (vae, test, dataset) => {
    // A model whose codes went bad can still draw finite pictures (a sigmoid of NaN): its codes tell.
    const first = firstPictures(test, vae.config, n);
    const codes = await vae.encode(first.x, first.labels);
    refuseNonFinite(c.path, 'codes for the test pictures', [...codes.mu, ...codes.logvar]);
    const { png, shown, reconstructed } = await reconstructionsPng(vae, test, n, codes.mu);
    await writePicture(c.command, c.out, png, c.inputs);
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

/**
 * The rows of a conditional model's interpolation: pairs of test pictures of the same class, each
 * picture joined to the next one of its class and used once, in the order the split completes
 * them, `pairs` at most. Among 2 * pairs + classes pictures there are always `pairs` of them.
 */
export function sameClassPairs(labels: ArrayLike<number>, pairs: number): [number, number][] {
  const waiting = new Map<number, number>();
  const found: [number, number][] = [];
  for (let i = 0; i < labels.length && found.length < pairs; i++) {
    const earlier = waiting.get(labels[i]);
    if (earlier === undefined) {
      waiting.set(labels[i], i);
    } else {
      found.push([earlier, i]);
      waiting.delete(labels[i]);
    }
  }
  return found;
}

export async function interpolateCommand(argv: string[]): Promise<void> {
  const f = parseFlags('interpolate', argv, INTERPOLATE_FLAGS);
  const pairs = intFlag('pairs', f.pairs, 4, 1, 256);
  const steps = intFlag('steps', f.steps, 9, 2, 64);
  // The label's range depends on the checkpoint; its form is checked before anything is loaded.
  checkLabelForm(f.label);
  const c = commonFlags('interpolate', f);
  let label: number | undefined, names: readonly string[] | null = null;
  const plan = (config: VaeConfig, metadata: Record<string, string>) => {
    label = labelForCheckpoint(f.label, config.classes, c.path, metadata);
    names = classNames(metadata, config.classes);
    return config.classes ? 2 * pairs + config.classes : 2 * pairs;
  };
  await withTestSet(c, plan, async (vae, test, dataset) => {
    const all = firstPictures(test, vae.config);
    const conditional = all.labels !== undefined;
    const rowPictures: [number, number][] = conditional
      ? sameClassPairs(all.labels!, pairs)
      : Array.from({ length: Math.floor(Math.min(all.shown, 2 * pairs) / 2) }, (_, p) => [2 * p, 2 * p + 1]);
    if (rowPictures.length < 1) throw new UsageError(conditional ? `the ${dataset} test split has no two pictures of the same class` : tooFewToJoin(dataset, all.shown));
    const rowsOut = rowPictures.length, D = vae.config.inputDim, Z = vae.config.latent;
    // Picture a and picture b of each row, in that order, as interpolationGrid reads their codes.
    const ends = rowPictures.flat();
    const x = new Float32Array(ends.length * D);
    ends.forEach((picture, i) => x.set(all.x.subarray(picture * D, (picture + 1) * D), i * D));
    const { mu } = await vae.encode(x, conditional ? ends.map((picture) => all.labels![picture]) : undefined);
    refuseNonFinite(c.path, 'codes for the test pictures', mu);
    const decodedAs = conditional ? rowPictures.map(([a]) => label ?? all.labels![a]) : undefined;
    const decoded = await vae.decode(interpolationGrid(mu, Z, rowsOut, steps), decodedAs?.flatMap((k) => new Array<number>(steps).fill(k)));
    // Each row: picture a, the decoded walk, picture b.
    const width = steps + 2;
    const tiles = new Float32Array(rowsOut * width * D);
    for (let p = 0; p < rowsOut; p++) {
      tiles.set(x.subarray(2 * p * D, (2 * p + 1) * D), p * width * D);
      tiles.set(decoded.subarray(p * steps * D, (p + 1) * steps * D), (p * width + 1) * D);
      tiles.set(x.subarray((2 * p + 1) * D, (2 * p + 2) * D), (p * width + steps + 1) * D);
    }
    const [rows, cols] = vae.config.imageShape;
    await writePicture(c.command, c.out, imageGridPng(tiles, rowsOut * width, rows, cols, width, gridFor(vae.config)), c.inputs);
    c.report.event({ event: 'done', files: { interpolation: c.out }, pairs: rowsOut, steps, dataset, pictures: rowPictures, ...(decodedAs ? { decoded_as: decodedAs } : {}) });
    // The test split may hold fewer pictures than the pairs asked for: say so rather than draw fewer silently.
    const fewer = rowsOut < pairs ? ` (${pairs} pairs were asked for; the ${dataset} test split has ${test.count} picture${test.count === 1 ? '' : 's'}${conditional ? `, ${rowsOut} pair${rowsOut === 1 ? '' : 's'} of the same class` : ''})` : '';
    const rowCount = `${rowsOut} row${rowsOut === 1 ? '' : 's'}`;
    if (!conditional) {
      c.report.info(`wrote ${c.out}: ${rowCount}, each from one ${dataset} test picture to the next in ${steps} decoded steps${fewer}`);
    } else if (label === undefined) {
      c.report.info(`wrote ${c.out}: ${rowCount}, each from one ${dataset} test picture to the next of the same class in ${steps} decoded steps, every step decoded as that class (a walk in style within the class; --label N decodes every step as class N)${fewer}`);
    } else {
      c.report.info(`wrote ${c.out}: ${rowCount}, each from one ${dataset} test picture to the next of the same class in ${steps} decoded steps, each end encoded with its own label and every step decoded as class ${classWords(label, names)} (--label ${f.label})${fewer}`);
    }
  });
}

/** The refusal of an interpolation given fewer than 2 test pictures, with how to get more: for a
 *  folder, whose split holds out a share of its pictures, how many pictures give 2. */
export function tooFewToJoin(dataset: string, shown: number): string {
  const said = `the ${dataset} test split has ${shown} picture${shown === 1 ? '' : 's'}; at least 2 are needed`;
  if (dataset !== 'folder') return said;
  let enough = 2;
  while (testCount(enough, DEFAULT_TEST_FRACTION) < 2) enough++;
  return `${said}. A folder holds out a tenth of its pictures (at least 1; no flag sets the share), so 2 once it holds ${enough}: ` +
    'add pictures to the folder (or give a larger one with --data-dir), then train on it again (--init-from RUN keeps what the model learned), ' +
    'so that the held-out pictures are ones the model has not seen';
}
