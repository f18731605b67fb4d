// What `webgpu-vae train` tells about a run: the model line and the JSON start event, where a
// resumed run goes on from, the run's record (config.json) and log (metrics.jsonl) opened as it
// starts, the name of the epoch's training figure, and the pictures written at its end
// (samples.png, reconstructions.png).
import { describeAdapter } from '../gpu/device';
import { imageGridPng } from '../io/png';
import type { Dataset } from '../data/mnist';
import { describeTuning, type AutotuneMode } from '../model/autotune';
import { configForFile, type VaeConfig } from '../model/config';
import { describeLikelihood, describeObjective, describeShape } from '../model/describe';
import type { KernelChoice } from '../model/kernel-choice';
import type { VAE } from '../model/vae';
import type { TrainingProgress, TrainingState } from '../training-state';
import { JsonLog, removeStaleTempFiles } from './files';
import { natsText } from './figure-text';
import { writeOutput } from './io';
import { endSampleCount, gridFor, reconstructionsPng, samplesByClass } from './pictures';
import { discardOldRun, readRunRecord, RUN_FILES, runPaths, writeRunRecord, type RunRecord } from './run-dir';
import type { RunOptions } from './train-options';
import { PICTURE_LIST_FILE } from '../data/picture-list';

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** What the autotuner chose, counted by choice: e.g. `matmul 11 products (8 register-subgroup 4x16/thread ...); conv 7 operations (5 im2col, 2 direct)`. */
export function describeAutotune(k: KernelChoice): string {
  const counted = (names: string[]) => {
    const n = new Map<string, number>();
    for (const name of names) n.set(name, (n.get(name) ?? 0) + 1);
    return [...n].sort((a, b) => b[1] - a[1]).map(([name, count]) => `${count} ${name}`).join(', ');
  };
  const products = Object.values(k.matmulTuned ?? {}), convs = Object.values(k.convTuned ?? {});
  const parts = [
    products.length ? `matmul ${plural(products.length, 'product')} (${counted(products.map(describeTuning))})` : 'no matmul product decided',
    ...(k.convTuned ? [convs.length ? `conv ${plural(convs.length, 'operation')} (${counted(convs)})` : 'no convolution decided'] : []),
  ];
  return `${parts.join('; ')}; the rest keep the adapter's defaults (${k.matmul}${k.matmulGeneric ? ' generic' : ''}, conv ${k.conv}${k.convNarrow ? `, narrow conv ${k.convNarrow}` : ''}${k.convInputGrad ? `, conv input gradients ${k.convInputGrad}` : ''})`;
}

/**
 * What the epoch's training figure is: the -ELBO only for the plain ELBO; with beta, warm-up, free
 * bits, capacity control or the TC term it is the objective trained on, which the test -ELBO beside it is not.
 */
export function trainingLossName(c: VaeConfig): string {
  if (c.objective === 'iwae') return `-IWAE bound (K=${c.samples})`;
  const plain = c.objective === 'elbo' && c.beta === 1 && c.warmupSteps === 0 && c.freeBits === 0 && c.klCapacity === 0;
  return plain ? '-ELBO' : 'loss';
}

/** The line an epoch ends with: its training figure, the test -ELBO and its terms, the speed of the steps it ran, skipped steps. */
export function epochSummary(c: VaeConfig, e: { epoch: number; train_loss: number; test_loss: number; test_rec: number; test_kl: number; seconds: number; samples_per_s: number; skipped_steps: number; epoch_steps: number }, stepsRun: number, trainSeconds: number): string {
  return `epoch ${e.epoch}: train ${trainingLossName(c)} ${natsText(e.train_loss)} | test -ELBO ${natsText(e.test_loss)} nats (rec ${natsText(e.test_rec)}, KL ${natsText(e.test_kl)}) | ` +
    (stepsRun > 0 ? `${e.samples_per_s.toFixed(0)} examples/s, ${(1000 * trainSeconds / stepsRun).toFixed(0)} ms/step, ` : '') + `${e.seconds.toFixed(1)} s` +
    `${e.skipped_steps ? ` | ${e.skipped_steps} of ${e.epoch_steps} steps skipped` : ''}`;
}

/** The model as built: its shape, likelihood and objective, parameters, GPU memory, dispatches and compile time; then what it starts from. */
export async function describeBuiltModel(vae: VAE, run: RunOptions, compileSeconds: number, fromParams: boolean): Promise<string[]> {
  const config = vae.config, memory = await vae.trainMemory();
  const lines = [`model ${describeShape(config)} (${describeLikelihood(config)}, ${config.activation}, ${describeObjective(config)}` +
    `${config.classes ? `, conditional on ${config.classes} classes` : ''}${config.binarize !== 'none' ? `, ${config.binarize} binarization` : ''}${run.precision === 'f16' ? ', f16 activations' : ''}), ${vae.layout.paramCount} parameters; ` +
    `${mib(vae.allocatedBytes)} MiB on the GPU (step tensors planned in ${mib(memory.plannedBytes)} MiB, ${mib(memory.savedBytes)} MiB saved by reuse); ` +
    `${await vae.dispatchesPerStep()} dispatches per step; compiled in ${compileSeconds.toFixed(1)} s`];
  if (fromParams) lines.push(`parameters from ${run.initFrom}; the optimizer and the step count start afresh`);
  if (run.lrDecay === 'cosine') lines.push(`learning rate: cosine from ${run.lr} to ${run.lrMin} over ${run.lrDecaySteps} steps`);
  return lines;
}

/** How many pictures a run of stored data trains and tests on, and a --limit or --test-limit beyond what the set holds. */
export function describeStoredData(dataset: string, train: number, test: number, limit: number | null, testLimit: number | null = null): string {
  const beyond = limit !== null && limit > train ? `; --limit ${limit} is more than the set holds, so all ${train}` : '';
  const testBeyond = testLimit !== null && testLimit > test ? `; --test-limit ${testLimit} is more than the test split holds, so all ${test}` : '';
  return `${dataset}: ${trainAndTest(train, test, dataset === 'folder' ? 'picture' : 'example')}${beyond}${testBeyond}`;
}

/** "1 mnist test example", "40 folder test examples": what an evaluation read. */
export function testExamples(count: number, dataset: string): string {
  return `${count} ${dataset} test example${count === 1 ? '' : 's'}`;
}

/** "9 training and 2 test pictures"; each count with its own noun where one of them is 1 ("9 training pictures and 1 test picture"). */
export function trainAndTest(train: number, test: number, noun: string): string {
  const of = (n: number) => `${noun}${n === 1 ? '' : 's'}`;
  return (train === 1) === (test === 1) ? `${train} training and ${test} test ${of(test)}` : `${train} training ${of(train)} and ${test} test ${of(test)}`;
}

/**
 * Training pictures drawn on the GPU at each step (dSprites): what that saves, and a --limit or
 * --test-limit beyond what the set gives (`test`: the test pictures taken).
 */
export function describeDrawnData(dataset: string, count: number, inputDim: number, test: number, limit: number | null, testLimit: number | null): string {
  const held = 'a tenth of the set is held out for testing';
  const beyond = limit !== null && limit > count ? `; --limit ${limit} is more than the set gives to training (${held}), so all ${count}` : '';
  const testBeyond = testLimit !== null && testLimit > test ? `; --test-limit ${testLimit} is more than its held-out tenth, so all ${test}` : '';
  return `${dataset}: the ${count} training pictures are drawn on the GPU at each step (${mib(8 * count)} MiB of indices and order, not ${mib(count * inputDim)} MiB of pictures)${beyond}${testBeyond}`;
}

/**
 * What a resumed run says as it starts: where it goes on from and to, the learning rate and
 * precision it changed (`lrWas`, `precisionWas`: as saved), and where a cosine decay it keeps ends.
 */
export function describeResume(outDir: string, progress: TrainingProgress, stepsPerEpoch: number, run: RunOptions, lrWas: number | null, precisionWas: RunOptions['precision'] | null): string[] {
  const lines = [`resuming ${outDir} at step ${progress.step} (epoch ${progress.epochsDone + 1}, ${progress.epochStep}/${stepsPerEpoch} steps done), training to epoch ${run.epochs}` +
    (lrWas !== null && run.lr !== lrWas ? `, learning rate ${run.lr} (was ${lrWas})` : '') +
    (precisionWas !== null && run.precision !== precisionWas ? `, ${run.precision} activations (was ${precisionWas})` : '')];
  // A cosine keeps the span the run started with (train-setup.ts refuses the case of --lr-min 0).
  if (run.lrDecay === 'cosine' && run.epochs * stepsPerEpoch > run.lrDecaySteps) {
    lines.push(`note: the learning rate reaches --lr-min ${run.lrMin} at step ${run.lrDecaySteps}, where the run's cosine decay ends; the steps after it train at that rate`);
  }
  return lines;
}

/** The JSON start event (`--json`): the adapter, model, optimizer, data, memory and where the run starts from. */
export async function startEvent(vae: VAE, run: RunOptions, autotune: AutotuneMode, outDir: string, data: { train: Dataset; test: Dataset; drawn: boolean }, resumedAt: TrainingProgress | null, fromParams: boolean): Promise<Record<string, unknown>> {
  const memory = await vae.trainMemory(), k = vae.kernels;
  return {
    event: 'start', adapter: describeAdapter(vae.adapter), config: vae.config, batch: vae.training.batch, optimizer: run.optimizer, lr: run.lr, seed: run.seed,
    ...(run.lrDecay !== 'none' ? { lr_decay: { kind: run.lrDecay, min: run.lrMin, steps: run.lrDecaySteps } } : {}),
    train_examples: data.train.count, test_examples: data.test.count, gpu_bytes: vae.allocatedBytes, planned_bytes: memory.plannedBytes, saved_bytes: memory.savedBytes,
    params: vae.layout.paramCount, out: outDir, train_drawn_on_gpu: data.drawn,
    ...(autotune !== 'off' ? { autotune: { mode: autotune, matmul: k.matmulTuned ?? {}, conv: k.convTuned ?? {} } } : {}),
    ...(resumedAt ? { resumed_from: { step: resumedAt.step, epoch: resumedAt.epochsDone + 1 } } : {}),
    ...(fromParams ? { init_from: run.initFrom } : {}),
  };
}

export interface RunLogStart {
  outDir: string;
  vae: VAE;
  /** The run's options as recorded, with its data's counts and digest. */
  runRecord: Record<string, unknown> & RunOptions;
  progress: TrainingProgress;
  resumed: TrainingState | null;
  /** A resumed run's learning rate and precision as saved, to record a change. */
  lrWas: number | null;
  precisionWas: RunOptions['precision'] | null;
  /** The run goes on after a lost device or a rollback (recovery.ts). */
  restart: { reason: string } | null;
  /** --force: a new run replaces the one in outDir, which is cleared only now that it is sure to start. */
  force: boolean;
  warn(line: string): void;
}

/** The run's options as config.json shows them: a built-in data set's record leaves out the folder-only picture flags. */
export function recordedRun(run: Record<string, unknown> & RunOptions): Record<string, unknown> {
  if (run.dataset === 'folder') return run;
  const { imageSize: _size, imageChannels: _channels, strict: _strict, pictureListing: _listing, ...rest } = run;
  return rest;
}

/** Writes the run's record (config.json; a resume is added to it) and opens its log (metrics.jsonl) with the start. */
export function openRunLog(s: RunLogStart): JsonLog {
  const { outDir, vae, progress, resumed, restart } = s;
  const options = s.runRecord;
  const runRecord = recordedRun(options);
  const now = new Date().toISOString();
  // A checkpoint write killed midway (kill -9) leaves its temporary file; the folder is ours now.
  removeStaleTempFiles(outDir, [...Object.values(RUN_FILES), PICTURE_LIST_FILE]);
  if (resumed) {
    const record = readRunRecord(outDir, (): RunRecord => ({ format: 'webgpu-vae-run', started: '', config: configForFile(vae.config), training: vae.training, run: runRecord, resumed: [] }), s.warn);
    record.run = runRecord;
    const lrChanged = s.lrWas !== null && options.lr !== s.lrWas && !restart;
    const precisionChanged = s.precisionWas !== null && options.precision !== s.precisionWas;
    record.resumed.push({ at: now, step: progress.step, epochs: options.epochs, ...(lrChanged ? { lr: options.lr } : {}), ...(precisionChanged ? { precision: options.precision } : {}) });
    writeRunRecord(outDir, record);
  } else {
    if (s.force && !restart) discardOldRun(outDir);
    writeRunRecord(outDir, { format: 'webgpu-vae-run', started: now, config: configForFile(vae.config), training: vae.training, run: runRecord, resumed: [] });
  }
  const log = new JsonLog(runPaths(outDir).metrics, !!resumed || !!restart);
  log.write(resumed
    ? { event: 'resume', time: now, step: progress.step, epoch: progress.epochsDone + 1, epochs: runRecord.epochs, lr: runRecord.lr }
    : { event: 'start', time: now, step: 0, epochs: runRecord.epochs });
  if (restart) log.write({ event: 'restart', time: now, step: progress.step, reason: restart.reason, lr: runRecord.lr });
  return log;
}

/**
 * Draws the run's end pictures: samples from the prior (a conditional model: 8 a class, the same 8
 * draws of z as each class: samplesByClass) and test
 * pictures above their reconstructions. Checks `stopped` before each; false when it stopped them.
 */
export async function writeFinalPictures(vae: VAE, test: Dataset, files: { samples: string; reconstructions: string }, seed: number, stopped: () => boolean = () => false): Promise<boolean> {
  const config = vae.config, [rows, cols] = config.imageShape;
  const labels = config.classes ? Array.from({ length: 8 * config.classes }, (_, i) => Math.floor(i / 8)) : undefined;
  const shown = labels?.length ?? endSampleCount(config);
  if (stopped()) return false;
  const samples = labels ? await samplesByClass(vae, labels, seed) : await vae.sample(shown, seed);
  if (stopped()) return false;
  await writeOutput(files.samples, imageGridPng(samples, shown, rows, cols, 8, gridFor(config)));
  if (stopped()) return false;
  const reconstructions = (await reconstructionsPng(vae, test, Math.min(32, endSampleCount(config) / 2))).png;
  if (stopped()) return false;
  await writeOutput(files.reconstructions, reconstructions);
  return true;
}

/**
 * A conv model whose picture sides stop halving early (30 -> 15) gets few convolutions and a wide
 * dense layer after them: it trains, but is rarely what was meant. The warning, or null.
 */
export function coarseConvWarning(config: VaeConfig, channelsGiven: boolean): string | null {
  if (config.arch !== 'conv' || channelsGiven) return null;
  const halvings = config.channels.length;
  const [rows, cols] = config.imageShape.map((side) => side / 2 ** halvings);
  if (Math.min(rows, cols) <= 7) return null;
  const width = config.channels[halvings - 1] * rows * cols;
  return `${config.imageShape.join('x')} pictures halve evenly only ${halvings === 1 ? 'once' : `${halvings} times`}, to ${rows}x${cols}, ` +
    `so the conv model has ${halvings} convolution${halvings === 1 ? '' : 's'} and a ${width}-wide input to its dense layer; ` +
    `an --image-size that halves down to 4-7 (e.g. 32 or 64) gives the usual stack, or set the widths with --channels`;
}
