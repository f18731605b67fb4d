// `webgpu-vae train`: trains on MNIST (or Fashion-MNIST) entirely on the GPU, reports per-epoch
// train/test -ELBO with its KL and reconstruction terms, and writes model.safetensors,
// samples.png (8x8 from the prior) and reconstructions.png (test images above their
// reconstructions) into the run directory.
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import { ACTIVATIONS, type Activation } from '../../shaders/activation';
import { saveCheckpoint } from '../checkpoint';
import { describeAdapter } from '../gpu/device';
import { releaseNodeGpu } from '../gpu/node-device';
import { imageGridPng, pairsGridPng } from '../io/png';
import { resolveConfig, type GaussianSigma } from '../model/config';
import { OBJECTIVES, type ObjectiveName } from '../model/objectives/objective';
import { VAE } from '../model/vae';
import { Philox } from '../rng';
import { choiceFlag, intFlag, listFlag, numberFlag, parseFlags, stringFlag, UsageError } from './args';
import { DATASETS, getDevice, loadDataset, makeReporter, writeOutput } from './io';

const FLAGS = {
  dataset: { type: 'string' }, 'data-dir': { type: 'string' }, epochs: { type: 'string' }, batch: { type: 'string' },
  latent: { type: 'string' }, hidden: { type: 'string' }, activation: { type: 'string' }, likelihood: { type: 'string' },
  sigma: { type: 'string' }, 'samples-per-x': { type: 'string' }, samples: { type: 'string' }, objective: { type: 'string' },
  beta: { type: 'string' }, 'warmup-steps': { type: 'string' }, 'free-bits': { type: 'string' }, conditional: { type: 'boolean' },
  binarize: { type: 'string' }, optimizer: { type: 'string' },
  lr: { type: 'string' }, seed: { type: 'string' }, limit: { type: 'string' }, 'test-limit': { type: 'string' },
  out: { type: 'string' }, json: { type: 'boolean' },
} as const;

/** MNIST and Fashion-MNIST have ten classes. */
const CLASSES = 10;

/** --samples K (the objective's samples per example); --samples-per-x is its older name. */
function samplesFlag(f: Record<string, string | boolean | undefined>, objective: ObjectiveName): number {
  if (f.samples !== undefined && f['samples-per-x'] !== undefined) throw new UsageError('give --samples or --samples-per-x, not both');
  const max = objective === 'iwae' ? 5000 : 64;
  return f.samples !== undefined ? intFlag('samples', f.samples, 1, 1, max) : intFlag('samples-per-x', f['samples-per-x'], 1, 1, max);
}

function parseSigma(raw: string | boolean | undefined): GaussianSigma {
  if (raw === undefined) return 1;
  if (raw === 'learned' || raw === 'learned-pixel') return raw;
  return numberFlag('sigma', raw, 1, (v) => v > 0, "a positive number, 'learned' or 'learned-pixel'");
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

export async function trainCommand(argv: string[]): Promise<void> {
  const f = parseFlags('train', argv, FLAGS);
  const epochs = intFlag('epochs', f.epochs, 10);
  const seed = intFlag('seed', f.seed, 0, 0);
  const activation = choiceFlag<Activation>('activation', f.activation, 'relu', ACTIVATIONS.filter((a) => a !== 'none'));
  const objective = choiceFlag('objective', f.objective, 'elbo', OBJECTIVES);
  const config = resolveConfig({
    hidden: listFlag('hidden', f.hidden, [400]),
    latent: intFlag('latent', f.latent, 20),
    activation,
    likelihood: choiceFlag('likelihood', f.likelihood, 'bernoulli', ['bernoulli', 'gaussian'] as const),
    sigma: parseSigma(f.sigma),
    objective,
    samples: samplesFlag(f, objective),
    beta: numberFlag('beta', f.beta, 1, (v) => v >= 0, 'a number >= 0'),
    warmupSteps: intFlag('warmup-steps', f['warmup-steps'], 0, 0),
    freeBits: numberFlag('free-bits', f['free-bits'], 0, (v) => v >= 0, 'a number of nats >= 0 per latent dimension'),
    classes: f.conditional ? CLASSES : 0,
    binarize: choiceFlag('binarize', f.binarize, 'none', ['none', 'dynamic', 'fixed'] as const),
  });
  const batch = intFlag('batch', f.batch, 128, 1, 65535);
  const optimizer = choiceFlag('optimizer', f.optimizer, 'adam', ['adam', 'sgd'] as const);
  const lr = numberFlag('lr', f.lr, 1e-3, (v) => v > 0, 'a positive number (e.g. 1e-3)');
  const dataset = choiceFlag('dataset', f.dataset, 'mnist', DATASETS);
  const limit = f.limit === undefined ? undefined : intFlag('limit', f.limit, 0);
  const testLimit = f['test-limit'] === undefined ? undefined : intFlag('test-limit', f['test-limit'], 0);
  const stamp = new Date().toISOString().replace(/[:T]/g, '-').slice(0, 19);
  const outDir = stringFlag('out', f.out) ?? join('runs', `${dataset}-${stamp}`);
  const report = makeReporter(!!f.json);

  const acquired = await getDevice(report.info);
  const [train, test] = await Promise.all([
    loadDataset(dataset, 'train', limit, stringFlag('data-dir', f['data-dir'])),
    loadDataset(dataset, 'test', testLimit, stringFlag('data-dir', f['data-dir'])),
  ]);
  if (train.rows * train.cols !== config.inputDim) throw new UsageError(`dataset images are ${train.rows}x${train.cols}, the model expects ${config.inputDim} values`);
  if (train.count < batch) report.info(`note: --limit ${train.count} is smaller than --batch ${batch}; each step uses all ${train.count} examples`);

  const t0 = performance.now();
  const vae = await VAE.create(config, { device: acquired, batch: Math.min(batch, train.count), optimizer, lr, seed });
  const trainData = vae.upload(train), testData = vae.upload(test);
  const stepsPerEpoch = Math.ceil(train.count / vae.training.batch);
  const memory = await vae.trainMemory();
  const objectiveText = config.objective === 'iwae' ? `IWAE K=${config.samples}` : `ELBO L=${config.samples}${config.beta !== 1 ? ` beta=${config.beta}` : ''}` +
    `${config.warmupSteps ? ` warm-up ${config.warmupSteps} steps` : ''}${config.freeBits ? ` free bits ${config.freeBits}` : ''}`;
  report.info(`model ${[config.inputDim, ...config.hidden, config.latent].join('-')} (${config.likelihood}, ${config.activation}, ${objectiveText}` +
    `${config.classes ? `, conditional on ${config.classes} classes` : ''}${config.binarize !== 'none' ? `, ${config.binarize} binarization` : ''}), ${vae.layout.paramCount} parameters; ` +
    `${mib(vae.allocatedBytes)} MiB on the GPU (step tensors planned in ${mib(memory.plannedBytes)} MiB, ${mib(memory.savedBytes)} MiB saved by reuse); ` +
    `${await vae.dispatchesPerStep()} dispatches per step; compiled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  report.event({ event: 'start', adapter: describeAdapter(acquired.adapter), config, batch: vae.training.batch, optimizer, lr, seed,
    train_examples: train.count, test_examples: test.count, gpu_bytes: vae.allocatedBytes, planned_bytes: memory.plannedBytes, saved_bytes: memory.savedBytes,
    params: vae.layout.paramCount });

  const order = new Philox(seed, 1);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const start = performance.now();
    trainData.setOrder(order.permutation(train.count));
    vae.epoch = epoch; // keys the dynamic binarization: fresh pixels every epoch
    let lastLoss = NaN, sum = 0, n = 0;
    const bar = report.json ? null : new SingleBar({
      format: `epoch ${epoch}/${epochs} [{bar}] {value}/{total} steps | {rate} steps/s | loss {loss}`, hideCursor: true, clearOnComplete: true,
    });
    bar?.start(stepsPerEpoch, 0, { rate: '-', loss: '-' });
    const collect = () => {
      for (const l of vae.losses.take()) { sum += l.loss * l.examples; n += l.examples; lastLoss = l.loss; }
    };
    for (let i = 0; i < stepsPerEpoch; i++) {
      await vae.trainStep({ data: trainData, index: i });
      collect();
      bar?.update(i + 1, { rate: ((i + 1) / ((performance.now() - start) / 1000)).toFixed(2), loss: lastLoss.toFixed(2) });
    }
    await vae.readLosses().then((rest) => { for (const l of rest) { sum += l.loss * l.examples; n += l.examples; } });
    bar?.stop();
    const trainSeconds = (performance.now() - start) / 1000;
    const t = await vae.elbo(testData, { seed });
    const seconds = (performance.now() - start) / 1000;
    const trainLoss = sum / n;
    if (!Number.isFinite(trainLoss) || !Number.isFinite(t.loss)) throw new Error(`training diverged in epoch ${epoch} (loss ${trainLoss}); try a smaller --lr`);
    report.event({ event: 'epoch', epoch, train_loss: trainLoss, test_loss: t.loss, test_kl: t.kl, test_rec: t.rec, seconds, samples_per_s: train.count / trainSeconds });
    report.info(`epoch ${epoch}: train ${config.objective === 'iwae' ? `IWAE bound (K=${config.samples})` : '-ELBO'} ${trainLoss.toFixed(2)} | test -ELBO ${t.loss.toFixed(2)} (rec ${t.rec.toFixed(2)}, KL ${t.kl.toFixed(2)}) | ` +
      `${(train.count / trainSeconds).toFixed(0)} examples/s, ${(1000 * trainSeconds / stepsPerEpoch).toFixed(0)} ms/step, ${seconds.toFixed(1)} s`);
  }

  const files = { model: join(outDir, 'model.safetensors'), samples: join(outDir, 'samples.png'), reconstructions: join(outDir, 'reconstructions.png') };
  await writeOutput(files.model, await saveCheckpoint(vae, { dataset, epochs: String(epochs), seed: String(seed) }));
  const [rows, cols] = config.imageShape;
  // A conditional model draws one row per class, 8 samples each.
  const labels = config.classes ? Array.from({ length: 8 * config.classes }, (_, i) => Math.floor(i / 8)) : undefined;
  const shownSamples = labels?.length ?? 64;
  await writeOutput(files.samples, imageGridPng(await vae.sample(shownSamples, seed, labels), shownSamples, rows, cols, 8, { scale: 2 }));
  const shown = Math.min(32, test.count);
  const originals = Float32Array.from(test.images.subarray(0, shown * config.inputDim), (v) => v / 255);
  const testLabels = config.classes ? Array.from(test.labels!.subarray(0, shown)) : undefined;
  await writeOutput(files.reconstructions, pairsGridPng(originals, await vae.reconstruct(originals, testLabels), shown, rows, cols, 8, { scale: 2 }));
  report.event({ event: 'done', files, steps: vae.step, seconds: (performance.now() - t0) / 1000 });
  report.info(`wrote ${files.model}, ${files.samples}, ${files.reconstructions}`);
  vae.destroy();
  releaseNodeGpu();
}
