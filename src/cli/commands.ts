// `webgpu-vae eval` (test-set -ELBO of a checkpoint, as reported during training) and
// `webgpu-vae sample` (a grid of images decoded from prior samples).
import { loadCheckpoint } from '../checkpoint';
import { describeAdapter } from '../gpu/device';
import { releaseNodeGpu } from '../gpu/node-device';
import { imageGridPng } from '../io/png';
import { choiceFlag, intFlag, parseFlags, stringFlag, UsageError } from './args';
import { DATASETS, getDevice, loadDataset, makeReporter, readCheckpointFile, writeOutput } from './io';

function requireFlag(command: string, name: string, raw: string | boolean | undefined): string {
  const v = stringFlag(name, raw);
  if (v === undefined) throw new UsageError(`${command}: --${name} is required`);
  return v;
}

export async function evalCommand(argv: string[]): Promise<void> {
  const f = parseFlags('eval', argv, {
    checkpoint: { type: 'string' }, dataset: { type: 'string' }, 'data-dir': { type: 'string' }, limit: { type: 'string' },
    seed: { type: 'string' }, json: { type: 'boolean' },
  });
  const path = requireFlag('eval', 'checkpoint', f.checkpoint);
  const dataset = choiceFlag('dataset', f.dataset, 'mnist', DATASETS);
  const limit = f.limit === undefined ? undefined : intFlag('limit', f.limit, 0);
  const seed = intFlag('seed', f.seed, 0, 0);
  const report = makeReporter(!!f.json);
  const bytes = await readCheckpointFile(path);
  const acquired = await getDevice(report.info);
  const vae = await loadCheckpoint(bytes, { device: acquired, seed }, path);
  const test = await loadDataset(dataset, 'test', limit, stringFlag('data-dir', f['data-dir']));
  const data = vae.upload(test);
  const r = await vae.elbo(data, { seed });
  report.event({ event: 'eval', checkpoint: path, dataset, adapter: describeAdapter(acquired.adapter), test_loss: r.loss, test_rec: r.rec, test_kl: r.kl, examples: r.examples });
  report.info(`${path}: test -ELBO ${r.loss.toFixed(2)} (rec ${r.rec.toFixed(2)}, KL ${r.kl.toFixed(2)}) over ${r.examples} ${dataset} test examples`);
  vae.destroy();
  releaseNodeGpu();
}

export async function sampleCommand(argv: string[]): Promise<void> {
  const f = parseFlags('sample', argv, {
    checkpoint: { type: 'string' }, n: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' },
  });
  const path = requireFlag('sample', 'checkpoint', f.checkpoint);
  const out = requireFlag('sample', 'out', f.out);
  if (!out.toLowerCase().endsWith('.png')) throw new UsageError(`sample: --out must name a .png file, got '${out}'`);
  const n = intFlag('n', f.n, 64, 1, 4096);
  const seed = intFlag('seed', f.seed, 0, 0);
  const report = makeReporter(!!f.json);
  const bytes = await readCheckpointFile(path);
  const acquired = await getDevice(report.info);
  const vae = await loadCheckpoint(bytes, { device: acquired, seed }, path);
  const [rows, cols] = vae.config.imageShape;
  await writeOutput(out, imageGridPng(await vae.sample(n, seed), n, rows, cols, Math.ceil(Math.sqrt(n)), { scale: 2 }));
  report.event({ event: 'done', files: { samples: out }, n, seed });
  report.info(`wrote ${n} samples to ${out}`);
  vae.destroy();
  releaseNodeGpu();
}
