// The status line under the controls: where the run stands, in one line per state. The page puts
// it in the visible status (data-testid="status") and, on a change of state only, in the live
// region screen readers announce.
import type { VaeConfig } from '../../src/model/config';
import type { RunState } from '../shared/protocol';

export interface StatusFacts {
  state: RunState;
  /** What the worker said with its last state (a loading step, what a pause restored or loaded). */
  detail: string;
  hasModel: boolean;
  epoch: number;
  step: number;
  loss: number;
  /** Examples per second, 0 when not known. */
  rate: number;
  /** What `loss` is (`lossName`). */
  lossName: string;
  /** Reset was pressed and the worker has not said Ready yet (a model being compiled finishes its current kernels first). */
  resetting?: boolean;
  /** Kernels being compiled ("Compiling the views: kernels 2/4…"), said in place of `detail` without changing the state. */
  compiling?: string | null;
}

/**
 * The name of the quantity a model trains on, as the status line shows it: the -ELBO only when
 * nothing reweights its KL term (the charts and the summary show the -ELBO, rec + KL, where β, a
 * warm-up, free bits or a capacity make the trained quantity a different number; for an IWAE
 * model they show the bound it trains on).
 */
export function lossName(config: VaeConfig | null): string {
  if (!config) return 'loss';
  if (config.objective === 'iwae') return '−IWAE bound';
  if (config.objective === 'tcvae') return 'β-TCVAE loss';
  const plain = config.beta === 1 && !config.warmupSteps && !config.freeBits && !config.klCapacity;
  return plain ? '−ELBO' : 'training loss';
}

export function statusText(facts: StatusFacts): string {
  const f = facts.compiling ? { ...facts, detail: facts.compiling } : facts;
  const loss = Number.isFinite(f.loss) ? ` · ${f.lossName} ${f.loss.toFixed(2)}` : '';
  const where = `epoch ${f.epoch} · step ${f.step}${loss}`;
  if (f.resetting && f.state !== 'idle' && f.state !== 'starting') return `Resetting: stopping the model${f.detail ? ` (${f.detail.replace(/…$/, '')})` : ''}…`;
  switch (f.state) {
    case 'starting': return 'Starting the GPU worker…';
    case 'idle': return f.hasModel ? 'Ready' : 'Ready. Choose settings and press Start.';
    case 'loading': return f.detail || 'Loading…';
    // Between steps (a test evaluation, a redraw) the rate of the steps before says nothing.
    case 'training': return `Training · ${where}${f.detail ? ` · ${f.detail}` : f.rate ? ` · ${Math.round(f.rate).toLocaleString('en')} examples/s` : ''}`;
    case 'pausing': return `Pausing · ${where}`;
    case 'paused': return `Paused · ${where}${f.detail ? ` · ${f.detail}` : ''}`;
    case 'lost': return 'GPU device lost';
    case 'failed': return 'Stopped: see the message above';
  }
}
