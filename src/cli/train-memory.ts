// The memory checks of `webgpu-vae train` beyond the training step's own (which VAE.create makes):
// the model's fixed memory against the budget before any data is read, and the graphs a run needs
// besides the step planned before its first step, so that a budget too small is refused before
// anything is trained, naming the budget that would do.
import { BufferArena, formatBytes, MemoryBudgetError } from '../gpu/buffers';
import { paramLayout } from '../model/build';
import type { VaeConfig } from '../model/config';
import type { GraphKind } from '../model/graphs';
import { reserveParameterState } from '../model/model-buffers';
import type { VAE } from '../model/vae';
import { restateRefusal } from '../model/vae-options';
import { RUN_FILES } from './run-dir';
import type { RunOptions } from './train-options';

/**
 * Refuses a model whose parameters and optimizer state alone exceed `budget`, before the data is
 * read: a picture folder at a large --image-size takes minutes to decode and leaves a large cache
 * beside the pictures.
 */
export function checkFixedMemory(device: GPUDevice, budget: number, config: VaeConfig, run: RunOptions): void {
  const probe = new BufferArena(device);
  probe.budget = budget;
  try {
    reserveParameterState(probe, paramLayout(config).totalFloats, run.optimizer);
  } catch (e) {
    throw restateRefusal(e, run.batch);
  }
}

/**
 * Plans, before the first step, the graphs a run needs besides the step: the test evaluation at
 * each epoch's end and the pictures drawn at the run's end (samples.png, reconstructions.png).
 * They are cached, so this allocates what they would take anyway, only sooner. `fromFlag`: the
 * budget came from --max-gpu-memory (else from the software adapter's default).
 */
export async function planAfterSteps(vae: VAE, fromFlag: boolean): Promise<void> {
  const B = vae.training.batch;
  const parts: [GraphKind, string][] = [['eval', 'the test evaluation after each epoch'], ['sample', RUN_FILES.samples], ['reconstruct', RUN_FILES.reconstructions]];
  const short: { what: string; bytes: number }[] = [];
  for (const [kind, what] of parts) {
    try {
      await vae.plan(kind, B);
    } catch (e) {
      if (!(e instanceof MemoryBudgetError)) throw e;
      short.push({ what, bytes: e.needed });
    }
  }
  if (!short.length) return;
  const budget = vae.arena.budget, inUse = vae.allocatedBytes;
  const more = short.reduce((sum, p) => sum + p.bytes, 0), total = inUse + more;
  const names = short.map((p) => p.what);
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0];
  throw new MemoryBudgetError(
    `${list} need${names.length > 1 ? '' : 's'} ${formatBytes(more)} of GPU memory at batch ${B} beside the ${formatBytes(inUse)} planned before them (the model, its training step, the data): ` +
      `${formatBytes(total)} in all, more than the memory budget of ${formatBytes(budget)}${fromFlag ? '' : ' (half of this machine\'s RAM, for a software adapter)'}; ` +
      `give --max-gpu-memory ${Math.ceil(total / 2 ** 20)} or more, or use a smaller --batch (refused before the first step, so nothing was trained)`,
    `graph ${short[0].what}`, more, inUse, budget,
  );
}
