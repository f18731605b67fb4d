// `npm run bench`: runs the selected benchmarks in Node and/or headless Chromium and prints either
// readable tables (default) or one JSON object per line (--json). Progress goes to stderr.
import { describeAdapter } from '../src/gpu/device';
import { parseOrSayUsage, USAGE, type CliOptions } from './args';
import type { BenchRecord } from './common';
import { formatReport } from './report';
import { runSuite } from './suite';

type Emit = (r: BenchRecord) => void;
type Log = (line: string) => void;

async function runNode(opts: CliOptions, emit: Emit, log: Log): Promise<void> {
  const { acquireBenchDevice, loadBenchData, loadTfNode, releaseTfNode } = await import('./node-env');
  const { releaseNodeGpu } = await import('../src/gpu/node-device');
  // --bounds-checks given wins over the environment's WEBGPU_VAE_BOUNDS_CHECKS.
  const acquired = await acquireBenchDevice(log, opts.boundsChecks === undefined ? {} : { boundsChecks: opts.boundsChecks });
  log(`node: adapter ${describeAdapter(acquired.adapter)}${acquired.boundsChecks === false ? " (webgpu-vae's shaders without WebGPU's bounds checks)" : ''}`);
  try {
    const data = await loadBenchData(opts);
    const { fileAutotuneCache } = await import('../src/model/autotune-file-cache');
    await runSuite({ env: 'node', acquired, data, loadTf: loadTfNode, emit, log, autotuneCache: fileAutotuneCache() }, opts);
  } finally {
    await releaseTfNode();
    acquired.device.destroy();
    releaseNodeGpu();
  }
}

async function runChromium(opts: CliOptions, emit: Emit, log: Log): Promise<void> {
  const { runInChromium } = await import('./chromium');
  await runInChromium(opts, emit, log);
}

export async function main(argv: string[]): Promise<number> {
  const opts = parseOrSayUsage(argv);
  if (!opts) return 2;
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const records: BenchRecord[] = [];
  const log: Log = (line) => process.stderr.write(`[bench] ${line}\n`);
  const emit: Emit = (r) => {
    records.push(r);
    if (opts.json) console.log(JSON.stringify(r));
    else if (r.bench === 'note') log(`note: ${r.message}`);
  };
  let code = 0;
  for (const env of opts.envs) {
    const t0 = performance.now();
    try {
      if (env === 'node') await runNode(opts, emit, log);
      else await runChromium(opts, emit, log);
    } catch (e) {
      code = 1;
      emit({ bench: 'note', env, message: `${env} run failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` });
    }
    log(`${env}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  if (!opts.json) console.log(await formatReport(records));
  return code;
}
