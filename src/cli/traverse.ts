// `webgpu-vae traverse`: latent traversals, the figure beta-VAE users read. One row per latent
// dimension: a fixed z with that one coordinate swept from -range to +range (the prior's sigma is
// 1, so +-3 covers nearly all of it). Without --dataset, z is 0 (the prior's mean) and the rows
// come in index order; with it, z is the posterior mean of the first test example, and rows are
// ordered by each dimension's mean KL over --limit test examples (the dimensions the model uses
// come first; a collapsed one has KL ~ 0 and a constant row). The output line says which. On
// dSprites (grey or colour), whose pictures carry their generating factors, it also reports how
// much of each used dimension's posterior mean each factor explains (factorVarianceExplained):
// the number behind "this row moves the sprite sideways", and the literature's single figure for
// the code, the mutual information gap (mutualInformationGap; comparable at --limit 10000).
// A conditional model decodes every tile as one class: --label N, else with --dataset the test
// picture's own label (the class its code was encoded with), else class 0; the line says which.
import { imageGridPng } from '../io/png';
import { choiceFlag, defineFlags, intFlag, numberFlag, parseFlags, stringFlag, UsageError } from './args';
import { checkDataDir, checkDatasetFits, checkpointDataset, DATASETS, getDevice, heldOutTestSet, makeReporter, otherClassesWarning, readCheckpointFile, recordedDataDir, trainedOn } from './io';
import { checkPictureOut, writePicture } from './output-file';
import { dataSource } from '../data/sources';
import { dspritesFactorNames, factorGaps, factorVarianceExplained, klPerDimension, MIG_BINS, mutualInformationGap, traversalGrid, USED_KL } from '../model/traversal';
import { firstPictures, gridFor } from './pictures';
import { orientationWithinShapes } from '../model/orientation';
import { DSPRITES_SHAPES } from '../data/dsprites';
import { modelForReading, refuseNonFinite } from './reading-model';
import { checkLabelForm, classNames, classWords, labelForCheckpoint } from './commands';

export { factorGaps, factorVarianceExplained, klPerDimension, traversalGrid };

const FLAGS = defineFlags('traverse', {
  checkpoint: { type: 'string' }, out: { type: 'string' }, steps: { type: 'string' }, range: { type: 'string' },
  dataset: { type: 'string' }, 'data-dir': { type: 'string' }, limit: { type: 'string' }, label: { type: 'string' }, json: { type: 'boolean' },
} as const);

/**
 * The refusal of --limit or --data-dir given without --dataset, suggesting the data set the
 * checkpoint was trained on (MNIST when it does not say), with or without --data-dir as that set
 * needs: a folder checkpoint gets `--dataset folder`, never `--dataset dsprites`, and the folder
 * its run read when the run's record says (`recorded`: recordedDataDir).
 */
export function needsDataset(flag: '--limit' | '--data-dir', metadata: Record<string, string>, dataDir: string | undefined, recorded: string | null = null): string {
  const trained = trainedOn(metadata) ?? 'mnist';
  const source = dataSource(trained);
  const fix = source.generated && dataDir !== undefined
    ? `the checkpoint was trained on ${trained}, which is drawn in code: add --dataset ${trained} and leave out --data-dir`
    : `e.g. --dataset ${trained}${source.needsDir && dataDir === undefined ? ` --data-dir ${recorded ?? 'DIR'}` : ''}${trainedOn(metadata) ? `, the data set${recorded && dataDir === undefined ? ' and folder' : ''} the checkpoint was trained on` : ''}`;
  return `${flag} needs --dataset (the pictures whose codes order the rows); ${fix}`;
}

/** The "wrote" line's account of the rows: what each sweeps around and in which order they come. */
export function describeRows(rows: number, steps: number, range: number, ordered: { dataset: string; pictures: number; order: number[]; kl: number[] } | null): string {
  const sweep = `each one latent dimension swept over [-${range}, ${range}] in ${steps} steps`;
  if (!ordered) {
    return `${rows} rows, ${sweep} around z = 0 (the prior's mean), in index order z0..z${rows - 1}; ` +
      '--dataset NAME centres them on a test picture\'s code and orders them by KL';
  }
  const { dataset, pictures, order, kl } = ordered;
  return `${rows} rows, ${sweep} around the posterior mean of the first ${dataset} test picture, ` +
    `ordered by mean KL over ${pictures} test picture${pictures === 1 ? '' : 's'}, largest first: ${order.map((j) => `z${j} ${kl[j].toFixed(2)}`).join(', ')}`;
}

/** The printed line's account of the class a conditional model's traversal is decoded as. */
export function describeLabel(label: number, from: '--label' | 'picture' | 'default', names: readonly string[] | null = null, typed: string = String(label)): string {
  const cls = classWords(label, names);
  if (from === '--label') return `every tile decoded as class ${cls} (--label ${typed})`;
  if (from === 'picture') return `every tile decoded as class ${cls}, the test picture's own label (--label N for another class)`;
  return `every tile decoded as class ${cls} (--label N for another class; --dataset NAME for a test picture's own)`;
}

export async function traverseCommand(argv: string[]): Promise<void> {
  const f = parseFlags('traverse', argv, FLAGS);
  const steps = intFlag('steps', f.steps, 9, 2, 64);
  const range = numberFlag('range', f.range, 3, (v) => v > 0 && v <= 100, 'a number in (0, 100] of prior standard deviations (e.g. 3)');
  const dataset = f.dataset === undefined ? undefined : choiceFlag('dataset', f.dataset, 'mnist', DATASETS);
  const limit = intFlag('limit', f.limit, 256, 1, 100_000);
  checkLabelForm(f.label);
  const dataDir = stringFlag('data-dir', f['data-dir']);
  const path = stringFlag('checkpoint', f.checkpoint);
  const out = stringFlag('out', f.out);
  if (!path) throw new UsageError('--checkpoint is required (e.g. runs/NAME/model.safetensors)');
  if (!out) throw new UsageError('--out is required (e.g. traversal.png)');
  // The pictures are read only with --dataset, but a --data-dir given alone is still the user's pictures.
  checkPictureOut('traverse', out, { checkpoint: path, dataDir });
  if (!out.toLowerCase().endsWith('.png')) throw new UsageError(`--out must name a .png file, got '${out}'`);
  // A data set's folder is checked now, or, left out, found from the run's record once the checkpoint is read.
  if (dataset && dataDir !== undefined) checkDataDir(dataset, dataDir);
  const report = makeReporter(!!f.json);
  const checkpoint = await readCheckpointFile(path);
  const runFolder = recordedDataDir(path, checkpoint.config, checkpoint.metadata);
  const found = dataset && dataDir === undefined ? checkpointDataset(dataset, checkpoint.metadata, undefined, runFolder) : null;
  if (found?.note) report.status(found.note);
  const testDir = found ? found.dataDir : dataDir;
  if (found) checkDataDir(found.dataset, testDir); // no folder given, and none the run recorded: ask for it
  const inputs = { checkpoint: path, dataDir: testDir, runFolder };
  checkPictureOut('traverse', out, inputs);
  // Without a data set these flags would be ignored without a word; the fix names the checkpoint's own.
  if (!dataset && (f.limit !== undefined || dataDir !== undefined)) throw new UsageError(needsDataset(f.limit !== undefined ? '--limit' : '--data-dir', checkpoint.metadata, dataDir, runFolder));
  if (dataset) checkDatasetFits(path, checkpoint.config, checkpoint.metadata, dataset);
  const otherClasses = dataset ? otherClassesWarning(path, checkpoint.config.classes, checkpoint.metadata, dataset) : null;
  if (otherClasses) report.warn(otherClasses);
  // The label is checked against the checkpoint before the device starts.
  const { classes } = checkpoint.config;
  const labelGiven = labelForCheckpoint(f.label, classes, path, checkpoint.metadata);
  const acquired = await getDevice(report.status);
  // Rows: the sweep's latent x steps pictures, and the test pictures encoded to order the dimensions.
  const vae = await modelForReading(checkpoint, acquired, Math.max(checkpoint.config.latent * steps, f.limit === undefined ? 1000 : Number(f.limit)));
  try {
    const { latent: Z } = vae.config;
    let base = new Float32Array(Z);
    let order = Array.from({ length: Z }, (_, j) => j);
    let kl: number[] | null = null;
    let explained: Record<string, Record<string, number>> | null = null;
    let gaps: Record<string, { dimension: string; share: number; gap: number }> | null = null;
    let mig: { value: number; bins: number; pictures: number; factors: Record<string, { dimension: string; next: string; share: number; gap: number; entropy: number }> } | null = null;
    let turns: Record<string, Record<string, number>> | null = null;
    let encoded = 0;
    let pictureLabel: number | undefined;
    if (dataset) {
      const test = await heldOutTestSet(vae, checkpoint.metadata, path, dataset, limit, testDir, report.warn);
      const { x, labels } = firstPictures(test, vae.config);
      const { mu, logvar } = await vae.encode(x, labels);
      refuseNonFinite(path, 'codes for the test pictures', [...mu, ...logvar]);
      kl = klPerDimension(mu, logvar, Z);
      encoded = mu.length / Z;
      base = mu.slice(0, Z);
      pictureLabel = labels?.[0];
      order = [...order].sort((a, b) => kl![b] - kl![a]);
      const factors = (test as { factors?: Uint8Array }).factors;
      const names = factors ? dspritesFactorNames(factors.length / test.count) : [];
      if (factors && names.length) {
        const eta = factorVarianceExplained(mu, Z, factors, names.length);
        const used = order.filter((j) => kl![j] >= USED_KL);
        explained = Object.fromEntries(used.map((j) => [`z${j}`, Object.fromEntries(names.map((n, f) => [n, Number(eta[j][f].toFixed(3))]))]));
        const dim = (j: number) => (j >= 0 ? `z${j}` : '-');
        gaps = Object.fromEntries(factorGaps(eta, used).map((g, f) => [names[f], { dimension: dim(g.best), share: Number(g.share.toFixed(3)), gap: Number(g.gap.toFixed(3)) }]));
        const [shapeColumn, orientationColumn] = [names.indexOf('shape'), names.indexOf('orientation')];
        if (shapeColumn >= 0 && orientationColumn >= 0) {
          const within = orientationWithinShapes(mu, Z, factors, names.length, shapeColumn, orientationColumn);
          const round = (v: number) => Number(v.toFixed(3));
          turns = Object.fromEntries(used.map((j) => [`z${j}`, { all: round(within[j].pooled), ...Object.fromEntries(DSPRITES_SHAPES.map((shape, k) => [shape, round(within[j].byShape[k])])) }]));
        }
        const m = mutualInformationGap(mu, Z, factors, names.length);
        mig = {
          value: Number(m.mig.toFixed(4)), bins: MIG_BINS, pictures: encoded,
          factors: Object.fromEntries(m.factors.map((g, f) => [names[f], { dimension: dim(g.best), next: dim(g.second), share: Number(g.share.toFixed(3)), gap: Number(g.gap.toFixed(3)), entropy: Number(g.entropy.toFixed(4)) }])),
        };
      }
    }
    const z = traversalGrid(base, order, steps, range);
    // The code of a picture encoded as its own class decodes to that picture as that class, not as class 0.
    const label = labelGiven ?? pictureLabel ?? 0;
    const labelFrom = labelGiven !== undefined ? '--label' : pictureLabel !== undefined ? 'picture' : 'default';
    const images = await vae.decode(z, classes ? new Array(order.length * steps).fill(label) : undefined);
    refuseNonFinite(path, 'pictures', images);
    const [rows, cols] = vae.config.imageShape;
    await writePicture('traverse', out, imageGridPng(images, order.length * steps, rows, cols, steps, gridFor(vae.config)), inputs);
    report.event({
      event: 'done', files: { traversal: out }, order, steps, range,
      centred_on: kl ? 'first test picture' : 'prior mean', ordered_by: kl ? 'mean KL' : 'index',
      ...(kl ? { kl_per_dimension: kl } : {}), ...(explained ? { factor_variance_explained: explained, factor_gaps: gaps, mig } : {}),
      ...(turns ? { orientation_within_shape: turns } : {}),
      ...(classes ? { label, label_from: labelFrom } : {}),
    });
    report.info(`wrote ${out}: ${describeRows(order.length, steps, range, kl && dataset ? { dataset, pictures: encoded, order, kl } : null)}${classes ? `; ${describeLabel(label, labelFrom, classNames(checkpoint.metadata, classes), typeof f.label === 'string' ? f.label : undefined)}` : ''}`);
    if (explained) {
      report.info(`share of each used dimension's posterior mean explained by each factor (correlation ratio over ${encoded} test pictures):`);
      for (const [dim, byFactor] of Object.entries(explained)) report.info(`  ${dim}: ${Object.entries(byFactor).map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', ')}`);
      report.info(`each factor's best dimension, its share and the gap to the next (a factor with a dimension of its own has a large gap): ${Object.entries(gaps!).map(([n, g]) => `${n} ${g.dimension} ${g.share.toFixed(2)} (gap ${g.gap.toFixed(2)})`).join(', ')}`);
      if (turns) {
        report.info('share of each used dimension\'s variance within a shape explained by its orientation, angles that draw the same picture taken as one (a square\'s quarter turn, an ellipse\'s half turn; corrected for the number of angles):');
        for (const [dim, t] of Object.entries(turns)) report.info(`  ${dim}: ${t.all.toFixed(2)} (${DSPRITES_SHAPES.map((shape) => `${shape} ${t[shape].toFixed(2)}`).join(', ')})`);
      }
      report.info(`mutual information gap (MIG, ${MIG_BINS} bins, ${encoded} pictures${encoded < 10_000 ? '; the literature uses 10,000: --limit 10000' : ''}): ${mig!.value.toFixed(3)}; by factor, its normalized mutual information with the best dimension and the gap to the next: ${Object.entries(mig!.factors).map(([n, g]) => `${n} ${g.dimension} ${g.share.toFixed(2)} (gap ${g.gap.toFixed(2)})`).join(', ')}`);
    }
  } finally {
    vae.destroy();
  }
}
