// Two kernel choices for the same model, timed against each other in one process: the step of a
// dense VAE on MNIST under kernel overrides A and under B (each a `kernels` object of VAE.create,
// e.g. {"skipInputZeros":false}), in alternating blocks so that a shared machine's drift falls on
// both alike. Per round: ms per step of each (wall time of `--steps` queued steps and a loss read)
// and B / A; then the medians, and the medians of each side's GPU time per step (timestamps of the
// train graph, each dispatch in its own pass, on the batch the last step left in x). Both models
// start from the same seed and see the same batches, so their losses are printed to show whether
// the choice changes the numbers.
//
//   npx tsx bench/ab-step.ts [--a='{}'] [--b='{"skipInputZeros":false}'] [--hidden=400] [--latent=20]
//       [--batch=128] [--steps=10] [--rounds=8] [--json]
import { pathToFileURL } from 'node:url';
import { median } from './common';
import { prepareVae } from './step';
import { timeGraph } from './time-graph';
import { describeAdapter } from '../src/gpu/device';
import type { KernelChoice } from '../src/model/kernel-choice';
import { VAE } from '../src/model/vae';

interface Side { label: 'A' | 'B'; kernels: Partial<KernelChoice>; wall: number[]; gpu: number[]; loss: number | null }

export interface AbOptions { a: Partial<KernelChoice>; b: Partial<KernelChoice>; hidden: number[]; latent: number; batch: number; steps: number; rounds: number }

export async function runAbStep(o: AbOptions, onRound: (r: { round: number; a_ms: number; b_ms: number; ratio: number }) => void) {
  const { acquireBenchDevice } = await import('./node-env');
  const { loadMnistNode } = await import('../src/data/mnist-node');
  const acquired = await acquireBenchDevice(() => {});
  const examples = Math.max(4096, 2 * o.batch);
  const ds = await loadMnistNode('train', { limit: examples });
  const data = { images: ds.images, count: ds.count, dim: ds.rows * ds.cols };
  const sides: Side[] = [{ label: 'A', kernels: o.a, wall: [], gpu: [], loss: null }, { label: 'B', kernels: o.b, wall: [], gpu: [], loss: null }];
  const models = [];
  for (const side of sides) {
    // Both sides start from the default seed and cycle over the same batches in the same order.
    const prepared = await prepareVae({ acquired, data }, { batch: o.batch, hidden: o.hidden, latent: o.latent, lr: 1e-3, kernels: side.kernels, lossEvery: 1 }, examples);
    const { vae } = prepared;
    models.push({ side, vae, step: () => vae.trainStep(prepared.next()), graph: (await vae.plan('train', o.batch)).graph });
  }
  for (let r = 0; r < o.rounds; r++) {
    for (const m of r % 2 ? [...models].reverse() : models) {
      const t0 = performance.now();
      for (let s = 0; s < o.steps; s++) await m.step();
      const losses = await m.vae.readLosses();
      m.side.wall.push((performance.now() - t0) / o.steps);
      m.side.loss = losses.at(-1)?.loss ?? m.side.loss;
      m.side.gpu.push(median(await timeGraph(acquired.device, m.graph, 0, 1)));
    }
    onRound({ round: r, a_ms: sides[0].wall[r], b_ms: sides[1].wall[r], ratio: sides[1].wall[r] / sides[0].wall[r] });
  }
  const result = {
    bench: 'ab_step', adapter: describeAdapter(acquired.adapter), a: o.a, b: o.b, batch: o.batch, hidden: o.hidden, latent: o.latent,
    a_ms: median(sides[0].wall), b_ms: median(sides[1].wall), ratio: median(sides[1].wall.map((b, i) => b / sides[0].wall[i])),
    a_gpu_ms: median(sides[0].gpu), b_gpu_ms: median(sides[1].gpu), a_loss: sides[0].loss, b_loss: sides[1].loss,
    a_dispatches: models[0].graph.dispatchCount, b_dispatches: models[1].graph.dispatchCount,
  };
  for (const m of models) m.vae.destroy();
  acquired.device.destroy();
  return result;
}

async function main(argv: string[]): Promise<void> {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const json = argv.includes('--json');
  const kernels = (name: 'a' | 'b', fallback: string) => {
    const text = value(name) ?? fallback;
    try {
      return JSON.parse(text) as Partial<KernelChoice>;
    } catch {
      throw new Error(`--${name} must be a JSON object of kernel choices, e.g. --${name}='{"skipInputZeros":false}'; got ${text}`);
    }
  };
  const int = (name: string, fallback: number) => {
    const v = Number(value(name) ?? fallback);
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`--${name} must be a positive integer, got ${value(name)}`);
    return v;
  };
  const o: AbOptions = {
    a: kernels('a', '{}'), b: kernels('b', '{"skipInputZeros":false}'),
    hidden: (value('hidden') ?? '400').split(',').map(Number), latent: int('latent', 20), batch: int('batch', 128), steps: int('steps', 10), rounds: int('rounds', 8),
  };
  const r = await runAbStep(o, (round) => {
    if (json) console.log(JSON.stringify({ bench: 'ab_step_round', ...round }));
    else console.log(`round ${round.round}: A ${round.a_ms.toFixed(1)} ms, B ${round.b_ms.toFixed(1)} ms, B/A ${round.ratio.toFixed(3)}`);
  });
  if (json) console.log(JSON.stringify(r));
  else {
    console.log(`${r.adapter}; A ${JSON.stringify(r.a)} against B ${JSON.stringify(r.b)}, batch ${r.batch}`);
    console.log(`median ms/step: A ${r.a_ms.toFixed(1)}, B ${r.b_ms.toFixed(1)}; median of the rounds' B/A ${r.ratio.toFixed(3)}`);
    console.log(`median GPU ms/step: A ${r.a_gpu_ms.toFixed(1)}, B ${r.b_gpu_ms.toFixed(1)}; dispatches A ${r.a_dispatches}, B ${r.b_dispatches}`);
    console.log(`last loss: A ${r.a_loss}, B ${r.b_loss}${r.a_loss === r.b_loss ? ' (the same)' : ''}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(() => process.exit(0), (e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
}
