// `webgpu-vae eval` (test-set -ELBO of a checkpoint, as reported during training, and with
// --iwae K the importance-weighted estimate of the test log-likelihood) and `webgpu-vae sample`
// (a grid of images decoded from prior samples: of a conditional model, a row per class, or one
// class with --label).
import { describeAdapter } from '../gpu/device';
import { bitsPerDim, noBitsPerDim } from '../model/iwae-eval';
import { imageGridPng } from '../io/png';
import { choiceFlag, defineFlags, intFlag, parseFlags, stringFlag, UsageError } from './args';
import { checkDataDir, checkDatasetFits, checkpointDataset, DATASETS, type DatasetName, getDevice, heldOutTestSet, makeReporter, otherClassesWarning, readCheckpointFile, recordedDataDir, trainedOn } from './io';
import { progressBar } from './progress';
import { natsText } from './figure-text';
import { nearestName } from '../edit-distance';
import { dataSource, generatedSplitSizes } from '../data/sources';
import { checkPictureOut, writePicture } from './output-file';
import { gridFor, samplesByClass } from './pictures';
import { toFlags } from './messages';
import { modelForReading, refuseNonFinite } from './reading-model';
import { testExamples } from './train-report';

/** A flag the command cannot do without; the refusal is printed after "webgpu-vae COMMAND: error:". */
function requireFlag(name: string, raw: string | boolean | undefined, example: string): string {
  const v = stringFlag(name, raw);
  if (v === undefined) throw new UsageError(`--${name} is required (e.g. ${example})`);
  return v;
}

/** A --label that is a number (checked as one) rather than a class name. */
const CLASS_NUMBER = /^\s*-?\d+\s*$/;

/**
 * --label checked against the checkpoint, before the device starts: undefined when not given; a
 * refusal naming the fix when the checkpoint is not conditional or has no such class.
 */
export function labelForCheckpoint(raw: string | boolean | undefined, classes: number, path: string, metadata: Record<string, string> = {}): number | undefined {
  if (raw === undefined) return undefined;
  if (!classes) throw new UsageError(`--label needs a conditional checkpoint (trained with --conditional), and ${path} is not one; leave out --label`);
  const names = classNames(metadata, classes);
  if (typeof raw === 'string' && !CLASS_NUMBER.test(raw)) {
    // A class by its name (Fashion-MNIST's 'Sneaker', dSprites' 'heart'), in any case.
    const k = names?.findIndex((name) => name.toLowerCase() === raw.trim().toLowerCase()) ?? -1;
    if (k >= 0) return k;
    const known = names ? ` or one of its class names (${names.join(', ')})` : '';
    // Only words are suggested: digits named by themselves would turn any short word into a guess.
    const words = names?.some((name, k) => name !== String(k)) ? names : null;
    const near = words ? nearestName(raw.trim(), words) : undefined;
    throw new UsageError(`--label must be a class number 0..${classes - 1}${known}, got '${raw}'${near ? `; did you mean '${near}'?` : ''}`);
  }
  return intFlag('label', raw, 0, 0, classes - 1);
}

/** Checks --label's form before the checkpoint is read: a class number, or a name looked up with it. */
export function checkLabelForm(raw: string | boolean | undefined): void {
  if (raw === undefined || (typeof raw === 'string' && raw.trim() !== '' && !CLASS_NUMBER.test(raw))) return;
  intFlag('label', raw, 0, 0);
}

/** The class names of the data set a checkpoint was trained on, when it has as many as the model's classes. */
export function classNames(metadata: Record<string, string>, classes: number): readonly string[] | null {
  const dataset = trainedOn(metadata), names = dataset ? dataSource(dataset).classes : null;
  return names && names.length === classes ? names : null;
}

/** Class k as the messages name it: "7 (Sneaker)" where the data set names its classes. */
export const classWords = (k: number, names: readonly string[] | null): string => (names && names[k] !== String(k) ? `${k} (${names[k]})` : `${k}`);

/** Samples of a class each in a conditional model's default grid, as the end of a training run draws them. */
export const SAMPLES_PER_CLASS = 8;

/** Labels of `n` samples spread over `classes` in class order: class k gets floor(n / classes), one more for k < n % classes. */
export function spreadLabels(n: number, classes: number): number[] {
  const base = Math.floor(n / classes), extra = n % classes;
  return Array.from({ length: classes }, (_, k) => new Array<number>(base + (k < extra ? 1 : 0)).fill(k)).flat();
}

/**
 * A conditional model's samples as grid cells, a row per class (class 0 at the top); a class with
 * one sample fewer than the others ends in an empty cell, filled with the grid's background grey
 * (0.5, what imageGridPng pads with) so it reads as no picture. No more samples than classes: one row.
 */
export function classRows(images: Float32Array, labels: number[], classes: number, valuesPerImage: number): { cells: Float32Array; count: number; perRow: number } {
  const n = labels.length;
  if (n <= classes) return { cells: images, count: n, perRow: n };
  const perRow = Math.ceil(n / classes);
  const cells = new Float32Array(classes * perRow * valuesPerImage).fill(0.5);
  const filled = new Array<number>(classes).fill(0);
  labels.forEach((k, i) => cells.set(images.subarray(i * valuesPerImage, (i + 1) * valuesPerImage), (k * perRow + filled[k]++) * valuesPerImage));
  return { cells, count: classes * perRow, perRow };
}

/** The printed line's account of how a conditional model's samples were labelled, without --label. */
export function describeSpread(n: number, classes: number): string {
  const alone = '; --label N draws class N alone';
  const span = (from: number, to: number) => (from === to ? `${from}` : `${from}-${to}`);
  if (n < classes) return `${n === 1 ? 'one of class 0' : `one each of classes ${span(0, n - 1)}, in a row`} (--n ${classes} or more for all ${classes} classes)${alone}`;
  if (n === classes) return `one of each of the ${classes} classes, in a row (0 at the left)${alone}`;
  const base = Math.floor(n / classes), extra = n % classes;
  if (!extra) return `${base} of each of the ${classes} classes, a row per class (0 at the top)${alone}`;
  const even = [base * classes, (base + 1) * classes].filter((v) => v <= 4096).map((v) => `--n ${v}`).join(' or ');
  // "2 of class 0, 1 of each of classes 1-9": a lone class is named as one, so no "0 and 1" reads as two.
  const part = (count: number, from: number, to: number) => (from === to ? `${count} of class ${from}` : `${count} of each of classes ${span(from, to)}`);
  return `a row per class (0 at the top): ${part(base + 1, 0, extra - 1)}, ${part(base, extra, classes - 1)} (${even} for equal rows)${alone}`;
}

const EVAL_FLAGS = defineFlags('eval', {
  checkpoint: { type: 'string' }, dataset: { type: 'string' }, 'data-dir': { type: 'string' }, limit: { type: 'string' },
  seed: { type: 'string' }, iwae: { type: 'string' }, json: { type: 'boolean' },
} as const);

const SAMPLE_FLAGS = defineFlags('sample', {
  checkpoint: { type: 'string' }, n: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, label: { type: 'string' }, json: { type: 'boolean' },
} as const);

/**
 * How many held-out pictures the checkpoint's run tested on, where eval without --limit reads
 * that many: a generated set (dSprites), whose held-out tenth is far more than a run tests on.
 * Null for other data (eval reads their whole test split), another data set than the run's, or a
 * checkpoint that does not record it (the loader's default then: a tenth of 20,000).
 */
function runTestCount(metadata: Record<string, string>, dataset: DatasetName): number | null {
  const recorded = Number(metadata.testExamples);
  const generated = generatedSplitSizes(dataset);
  return generated && trainedOn(metadata) === dataset && Number.isSafeInteger(recorded) && recorded > 0 ? Math.min(recorded, generated.test) : null;
}

/** The seed a checkpoint's run trained with (0 for a checkpoint that does not say). */
function runSeed(metadata: Record<string, string>): number {
  const recorded = Number(metadata.seed);
  return Number.isSafeInteger(recorded) && recorded >= 0 ? recorded : 0;
}

export async function evalCommand(argv: string[]): Promise<void> {
  const f = parseFlags('eval', argv, EVAL_FLAGS);
  const iwae = f.iwae === undefined ? 0 : intFlag('iwae', f.iwae, 0, 1, 1_000_000);
  const path = requireFlag('checkpoint', f.checkpoint, 'runs/NAME/model.safetensors');
  const given = f.dataset === undefined ? undefined : choiceFlag('dataset', f.dataset, 'mnist', DATASETS);
  const limit = f.limit === undefined ? undefined : intFlag('limit', f.limit, 0);
  const seedGiven = f.seed === undefined ? undefined : intFlag('seed', f.seed, 0, 0);
  const dataDirFlag = stringFlag('data-dir', f['data-dir']);
  if (given) checkDataDir(given, dataDirFlag);
  const report = makeReporter(!!f.json);
  const checkpoint = await readCheckpointFile(path);
  // The run's own seed keyed its test figures' noise: eval repeats them unless told another.
  const seed = seedGiven ?? runSeed(checkpoint.metadata);
  const { dataset, dataDir, note } = checkpointDataset(given, checkpoint.metadata, dataDirFlag, recordedDataDir(path, checkpoint.config, checkpoint.metadata));
  if (note) report.status(note);
  checkDatasetFits(path, checkpoint.config, checkpoint.metadata, dataset);
  const otherClasses = otherClassesWarning(path, checkpoint.config.classes, checkpoint.metadata, dataset);
  if (otherClasses) report.warn(otherClasses);
  const acquired = await getDevice(report.status);
  const runCount = limit === undefined ? runTestCount(checkpoint.metadata, dataset) : null;
  const test = await heldOutTestSet(checkpoint, checkpoint.metadata, path, dataset, limit ?? runCount ?? undefined, dataDir, report.warn);
  const vae = await modelForReading(checkpoint, acquired, test.count, seed);
  const data = vae.upload(test);
  const r = await vae.elbo(data, { seed });
  refuseNonFinite(path, 'a test -ELBO', [r.loss]);
  // The figure training's epoch lines call test -ELBO; a conditional model's bounds log p(x | label).
  const givenLabel = vae.config.classes > 0 ? ', each picture given its label' : '';
  // bits/dim only where the nats are those of a discrete likelihood (null in the JSON otherwise).
  const why = noBitsPerDim(vae.config, data);
  const bpd = (nats: number) => (why ? null : bitsPerDim(nats, vae.config));
  const bits = (nats: number) => (why ? '' : `; ${bpd(nats)!.toFixed(4)} bits/dim`);
  report.event({ event: 'eval', checkpoint: path, dataset, adapter: describeAdapter(acquired.adapter), test_loss: r.loss, test_rec: r.rec, test_kl: r.kl, test_bits_per_dim: bpd(r.loss), examples: r.examples });
  report.info(`${path}: test -ELBO ${natsText(r.loss)} nats (rec ${natsText(r.rec)}, KL ${natsText(r.kl)}${bits(r.loss)}) over ${testExamples(r.examples, dataset)}${givenLabel}${limit !== undefined && limit > r.examples ? ` (--limit ${limit} is more than the test split holds, so all ${r.examples})` : ''}${runCount !== null ? ' (the held-out pictures its run tested on; --limit N for another count)' : ''}`);
  if (why) report.info(`  (no bits/dim: ${toFlags(why)})`);
  if (iwae) {
    const bar = report.json ? null : progressBar(`importance sampling K=${iwae} [{bar}] {percentage}% | {eta_formatted} left`);
    bar?.start(1, 0);
    // --json reports progress as events, at most every 10 s, so a long estimate shows it is alive.
    let lastEvent = performance.now();
    const onProgress = (done: number, total: number) => {
      bar?.setTotal(total);
      bar?.update(done);
      if (report.json && (performance.now() - lastEvent > 10_000 || done === total)) {
        lastEvent = performance.now();
        report.event({ event: 'progress', done, total });
      }
    };
    // The bar's redraw timer would keep a failed run's process alive: stopped on every way out.
    const ll = await vae.logLikelihood(data, { samples: iwae, seed, onProgress }).finally(() => bar?.stop());
    refuseNonFinite(path, 'an importance-weighted bound', [ll.nll]);
    // A conditional model's bound is of log p(x | y), given each picture's own label.
    const target = vae.config.classes > 0 ? '-log p(x | label)' : '-log p(x)';
    // The JSON names the figure as the line does: no -log p(x) where the nats are no likelihood of the pixels.
    report.event({ event: 'iwae', checkpoint: path, dataset, samples: iwae, estimates: why ? 'IWAE loss' : target, ...(why ? { not_a_likelihood: toFlags(why) } : {}), nll: ll.nll, stderr: ll.stderr, bits_per_dim: ll.bitsPerDim, examples: ll.examples });
    // One example has no spread to give a standard error from.
    const spread = ll.examples > 1 ? ` ± ${natsText(ll.stderr)} nats (standard error over the examples${bits(ll.nll)})` : ` nats (one example: no standard error${bits(ll.nll)})`;
    const over = `with K=${iwae} over ${ll.examples} example${ll.examples === 1 ? '' : 's'}`;
    // Where the nats are no likelihood of the pixels (said above), the figure is not named one.
    report.info(why
      ? `${path}: test IWAE loss ~ ${natsText(ll.nll)}${spread}, the -ELBO's importance-weighted bound ${over} (not a ${target} of the pixels: see above)`
      : `${path}: test ${target} ~ ${natsText(ll.nll)}${spread}, IWAE bound ${over}`);
  }
  vae.destroy();
}

export async function sampleCommand(argv: string[]): Promise<void> {
  const f = parseFlags('sample', argv, SAMPLE_FLAGS);
  const path = requireFlag('checkpoint', f.checkpoint, 'runs/NAME/model.safetensors');
  const out = requireFlag('out', f.out, 'samples.png');
  checkPictureOut('sample', out, { checkpoint: path });
  if (!out.toLowerCase().endsWith('.png')) throw new UsageError(`--out must name a .png file, got '${out}'`);
  intFlag('n', f.n, 64, 1, 4096);
  const seedGiven = f.seed === undefined ? undefined : intFlag('seed', f.seed, 0, 0);
  // The label's range depends on the checkpoint; its form is checked before anything is loaded.
  checkLabelForm(f.label);
  const report = makeReporter(!!f.json);
  const checkpoint = await readCheckpointFile(path);
  // The run drew its samples.png with its own seed: by default sample draws the same z.
  const seed = seedGiven ?? runSeed(checkpoint.metadata);
  const classes = checkpoint.config.classes;
  const label = labelForCheckpoint(f.label, classes, path, checkpoint.metadata);
  const inputs = { checkpoint: path, runFolder: recordedDataDir(path, checkpoint.config, checkpoint.metadata) };
  checkPictureOut('sample', out, inputs);
  // A conditional model without --label: the samples spread evenly over the classes, by default
  // SAMPLES_PER_CLASS of each as the run's own samples.png, so every class shows.
  const spread = classes > 0 && label === undefined;
  // By default SAMPLES_PER_CLASS of each class, as many whole rows as --n's 4096 holds for a model of very many classes.
  const n = intFlag('n', f.n, spread ? Math.min(SAMPLES_PER_CLASS * classes, Math.max(classes, 4096 - (4096 % classes))) : 64, 1, 4096);
  const acquired = await getDevice(report.status);
  const vae = await modelForReading(checkpoint, acquired, n, seed);
  const labels = !classes ? undefined : spread ? spreadLabels(n, classes) : new Array<number>(n).fill(label!);
  const [rows, cols] = vae.config.imageShape;
  const images = spread ? await samplesByClass(vae, labels!, seed) : await vae.sample(n, seed, labels);
  refuseNonFinite(path, 'samples', images);
  const grid = spread ? classRows(images, labels!, classes, vae.config.inputDim) : { cells: images, count: n, perRow: Math.ceil(Math.sqrt(n)) };
  await writePicture('sample', out, imageGridPng(grid.cells, grid.count, rows, cols, grid.perRow, gridFor(vae.config)), inputs);
  const perClass = spread ? Array.from({ length: classes }, (_, k) => labels!.filter((l) => l === k).length) : undefined;
  report.event({ event: 'done', files: { samples: out }, n, seed, ...(label !== undefined ? { label } : {}), ...(perClass ? { per_class: perClass } : {}) });
  report.info(`wrote ${n} sample${n === 1 ? '' : 's'}${label !== undefined ? ` of class ${classWords(label, classNames(checkpoint.metadata, classes))}` : ''} to ${out}${spread ? `: ${describeSpread(n, classes)}` : ''}`);
  vae.destroy();
}
