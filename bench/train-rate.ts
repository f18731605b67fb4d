// The command line's own training rate: `webgpu-vae train` run as a user runs it, for one epoch,
// and its epoch line's examples per second turned into milliseconds per step. Where the train
// graph's GPU time (bench/conv-model.ts) is far below this, the loop around it (recording, data
// drawing, loss reads, the pacing of slow steps) is what a long run waits on.
//
//   npx tsx bench/train-rate.ts [--steps=1000] [--batch=64] [--json] [-- extra train flags]
//
// The default model is the dSprites conv beta-TCVAE of bench/quality/dsprites-beta4.sh (four
// 16-channel convolutions, dense 256, 10 latents, beta 6); its pictures are drawn on the GPU.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface TrainRateRecord {
  bench: 'train_cli';
  dataset: string;
  model: string;
  batch: number;
  steps: number;
  ms_per_step: number;
  examples_per_s: number;
  /** Wall time of the whole command: start-up, compiles, the epoch and its test pass. */
  command_s: number;
}

const MODEL = ['--arch', 'conv', '--channels', '16,16,16,16', '--dense', '256', '--latent', '10', '--objective', 'tcvae', '--beta', '6'];

export function trainRate(steps: number, batch: number, extra: string[] = []): TrainRateRecord {
  if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`train-rate: --steps must be a positive integer, got ${steps}`);
  if (!(Number.isInteger(batch) && batch >= 1)) throw new Error(`train-rate: --batch must be a positive integer, got ${batch}`);
  const out = mkdtempSync(join(tmpdir(), 'train-rate-'));
  const args = ['bin/webgpu-vae.mjs', 'train', '--dataset', 'dsprites', '--limit', String(steps * batch), '--test-limit', String(batch), ...MODEL,
    '--batch', String(batch), '--epochs', '1', '--seed', '0', '--json', '--out', out, '--force', ...extra];
  const t0 = performance.now();
  try {
    const run = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (run.status !== 0) throw new Error(`train-rate: \`node ${args.join(' ')}\` exited ${run.status}: ${run.stderr.slice(-2000)}`);
    const epoch = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event?: string; samples_per_s?: number })
      .find((e) => e.event === 'epoch');
    if (!epoch?.samples_per_s) throw new Error(`train-rate: no epoch line with samples_per_s in the output:\n${run.stdout.slice(-2000)}`);
    return {
      bench: 'train_cli', dataset: 'dsprites', model: [...MODEL, ...extra].join(' '), batch, steps,
      ms_per_step: Number(((1000 * batch) / epoch.samples_per_s).toFixed(3)), examples_per_s: Number(epoch.samples_per_s.toFixed(1)),
      command_s: Number(((performance.now() - t0) / 1000).toFixed(1)),
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function main(argv: string[]): void {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash), extra = dash < 0 ? [] : argv.slice(dash + 1);
  const value = (name: string) => own.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const r = trainRate(Number(value('steps') ?? 1000), Number(value('batch') ?? 64), extra);
  if (own.includes('--json')) console.log(JSON.stringify(r));
  else console.log(`${r.steps} steps of batch ${r.batch}: ${r.ms_per_step} ms a step (${r.examples_per_s} examples/s); the command took ${r.command_s} s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
