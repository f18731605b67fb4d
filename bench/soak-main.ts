// Entry of `npm run bench -- --soak` (bin/bench.mjs sends --soak here): acquires the Node device,
// loads MNIST, runs bench/soak.ts, prints each sample as it comes (stderr), then the series and
// the verdict (stdout; one JSON object per line with --json). Exits 1 when the verdict finds growth,
// 3 when it is inconclusive (fewer than two samples: a run stopped early).
// Ctrl-C stops the run at the next step and prints the verdict on the samples taken so far.
import { describeAdapter } from '../src/gpu/device';
import { acquireNodeDevice, releaseNodeGpu } from '../src/gpu/node-device';
import { loadMnistNode } from '../src/data/mnist-node';
import { parseOrSayUsage, USAGE } from './args';
import { runSoak } from './soak';
import { formatSoak, soakExitStatus } from './soak-verdict';

export async function main(argv: string[]): Promise<number> {
  const opts = parseOrSayUsage(argv);
  if (!opts) return 2;
  const soak = opts.soak;
  if (!soak || opts.help) {
    console.log(USAGE);
    return soak ? 0 : 2;
  }
  const log = (line: string) => process.stderr.write(`[soak] ${line}\n`);
  const acquired = await acquireNodeDevice({ log });
  const adapter = describeAdapter(acquired.adapter);
  try {
    const train = await loadMnistNode('train', { limit: soak.examples });
    const test = await loadMnistNode('test', { limit: soak.testExamples });
    log(`adapter ${adapter}; model 784-${opts.hidden.join('-')}-${opts.latent}, batch ${opts.batch}, ${soak.steps} steps over ${train.count} examples, ` +
      `eval of ${test.count} every ${soak.evalEvery}, sample every ${soak.sampleEvery}`);
    const t0 = performance.now();
    let stop = false;
    const onSigint = () => {
      if (stop) process.exit(130);
      stop = true;
      log('stopping at the next step; the verdict covers the samples taken so far (Ctrl-C again to quit at once)');
    };
    process.on('SIGINT', onSigint);
    const result = await runSoak(acquired, train, test, { ...soak, batch: opts.batch, hidden: opts.hidden, latent: opts.latent, lr: opts.lr, seed: 0 }, {
      log,
      stopRequested: () => stop,
      onEval: (e) => {
        log(`step ${e.step}: test -ELBO ${e.testLoss.toFixed(2)} (${(e.ms / 1000).toFixed(1)} s)`);
        if (opts.json) console.log(JSON.stringify({ bench: 'soak_eval', ...e }));
      },
      onSample: (s) => {
        log(`step ${s.step}: ${s.buffers} buffers, ${s.gpuBytes} GPU bytes, heap ${(s.heapBytes / 2 ** 20).toFixed(2)} MiB, ` +
          `RSS ${((s.rssBytes ?? 0) / 2 ** 20).toFixed(0)} MiB, ${s.stepMs?.toFixed(1)} ms/step`);
        if (opts.json) console.log(JSON.stringify({ bench: 'soak_sample', ...s }));
      },
    });
    process.off('SIGINT', onSigint);
    const minutes = (performance.now() - t0) / 60000;
    if (opts.json) {
      console.log(JSON.stringify({ bench: 'soak_verdict', adapter, steps: soak.steps, steps_run: result.stepsRun, minutes, arena_bytes: result.arenaBytes, last_loss: result.lastLoss, ...result.verdict }));
    } else {
      console.log(`soak: ${result.stepsRun}${result.stepsRun < soak.steps ? ` of ${soak.steps} (stopped early)` : ''} steps on ${adapter} in ${minutes.toFixed(1)} min; last training loss ${result.lastLoss.toFixed(2)}; ` +
        `model arena ${result.arenaBytes[0]} -> ${result.arenaBytes[1]} bytes`);
      console.log(`test -ELBO: ${result.evals.map((e) => `${e.step}: ${e.testLoss.toFixed(2)}`).join(', ')}\n`);
      console.log(formatSoak(result.samples, result.verdict));
    }
    return soakExitStatus(result.verdict);
  } finally {
    acquired.device.destroy();
    releaseNodeGpu();
  }
}
